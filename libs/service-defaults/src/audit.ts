import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { activeTraceContext } from '@platform/messaging';
import type { Logger } from 'pino';
import { createServiceLogger, scrubConnectionStrings } from './logging';

/**
 * Who did something. `id` is a user id or a token's name, never a credential. `via` says how it
 * was established (see `resolveActor`): a principal an auth guard set, an admin token's name, an
 * identity header from a trusted gateway, or nobody (`anonymous`).
 */
export interface Actor {
  readonly id: string;
  readonly via: 'principal' | 'admin-token' | 'trusted-header' | 'anonymous';
}

export const ANONYMOUS: Actor = { id: 'anonymous', via: 'anonymous' };

/** `succeeded`: it happened; `denied`: refused before trying (auth); `failed`: tried and failed. */
export type AuditOutcome = 'succeeded' | 'denied' | 'failed';

/** What was acted on, e.g. `{ type: 'order', id }`; no id when there is none yet (a failed create). */
export interface AuditSubject {
  readonly type: string;
  readonly id?: string;
}

/** What a caller records: `order.placed` by this actor on this order, succeeded, with details. */
export interface AuditEntry {
  /** `<noun>.<past-tense verb>`, e.g. `order.placed`, `stock.changed`, `dead-letter.redriven`. */
  readonly action: string;
  readonly actor: Actor;
  readonly subject: AuditSubject;
  readonly outcome: AuditOutcome;
  /** Free-form facts; secrets (tokens, passwords, card data) are redacted before any sink. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Defaults to the correlation id of the request being served. */
  readonly correlationId?: string;
}

/** What sinks receive: the entry, redacted, with when, where and the request it belongs to. */
export interface AuditRecord {
  /** ISO 8601. */
  readonly time: string;
  readonly service: string;
  readonly action: string;
  readonly actor: Actor;
  readonly subject: AuditSubject;
  readonly outcome: AuditOutcome;
  readonly details: Readonly<Record<string, unknown>>;
  readonly correlationId?: string;
  /** The W3C trace id of the active span, when tracing is on. */
  readonly traceId?: string;
}

/**
 * Where audit records go besides the log: implement it to keep them in a durable store (a table,
 * an append-only bucket, a SIEM). `write` may be async; `AuditLog.record` waits for it. A sink that
 * throws does not fail the action (it already happened): the record is logged with the error.
 */
export interface AuditSink {
  write(record: AuditRecord): void | Promise<void>;
}

/**
 * The default channel: one pino line per record on the service's logger (stdout, same redaction),
 * marked `audit: true` so a log pipeline can route audit lines to their own index and retention.
 * Written at `info` whatever `LOG_LEVEL` says (an audit trail is not verbosity), unless logging is
 * `silent`. The trace id comes from the OpenTelemetry pino instrumentation (`trace_id`) and the
 * service from the logger, so neither is repeated here.
 */
export class LogAuditSink implements AuditSink {
  private readonly logger: Logger;

  constructor(serviceLogger: Logger) {
    this.logger = serviceLogger.child(
      { audit: true },
      { level: serviceLogger.level === 'silent' ? 'silent' : 'info' },
    );
  }

  write(record: AuditRecord): void {
    const { time: _time, service: _service, traceId: _traceId, ...fields } = record;
    this.logger.info(fields, `audit: ${record.action} ${record.outcome}`);
  }
}

/** Keeps records in memory: for tests, and for asserting what an endpoint audited. */
export class MemoryAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];

  write(record: AuditRecord): void {
    this.records.push(record);
  }

  /** Records of one action, oldest first. */
  of(action: string): AuditRecord[] {
    return this.records.filter((record) => record.action === action);
  }
}

const SECRET_KEY =
  /password|passwd|^pwd$|secret|token|authori[sz]ation|cookie|api[-_]?key|^card$|card[-_]?number|^pan$|^cvc$|^cvv2?$|^iban$/i;
const MAX_DEPTH = 6;

/**
 * A copy of audit details safe to keep: values under secret-looking keys (password, token,
 * authorization, card, cvv, ... at any depth) become `[Redacted]`, and credentials inside strings
 * (`scheme://user:secret@host`, `token=...`) are scrubbed. Applied before any sink, so a durable
 * store never receives what the log would have hidden.
 */
export function redactAuditDetails(
  details: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return redactObject(details, 0);
}

function redactObject(value: object, depth: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = SECRET_KEY.test(key) ? '[Redacted]' : redactValue(item, depth + 1);
  }
  return copy;
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubConnectionStrings(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '[Truncated]';
  if (Array.isArray(value)) return value.map((item: unknown) => redactValue(item, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (value instanceof Error)
    return { name: value.name, message: scrubConnectionStrings(value.message) };
  return redactObject(value, depth);
}

interface RequestContext {
  readonly correlationId: string | undefined;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * Express middleware run after pino-http (which names the request's correlation id): makes the id
 * available to `AuditLog.record` for the rest of the request, without passing the request around.
 */
export function auditRequestContext(): (
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
) => void {
  return (request, _response, next) => {
    const id: unknown = (request as { id?: unknown }).id;
    requestContext.run({ correlationId: typeof id === 'string' ? id : undefined }, next);
  };
}

function currentTraceId(): string | undefined {
  // traceparent: version-traceid-spanid-flags
  return activeTraceContext().traceparent?.split('-')[1];
}

/**
 * The audit log: who did what, on what, with which outcome. One call per action at the edge
 * (controllers, guards), `await audit.record({ action, actor, subject, outcome, details })`.
 * Every record goes to the log channel (`LogAuditSink`) and to the sinks a service adds
 * (`ServiceOptions.auditSinks` or `addSink`). Provided by `ServiceDefaultsModule`.
 */
@Injectable()
export class AuditLog {
  private service = 'unknown-service';
  private readonly sinks: AuditSink[] = [];
  private logger: Logger | undefined;

  /** Called once by `createServiceApp`: the service's name and logger, and extra sinks. */
  configure(options: {
    readonly service: string;
    readonly logger: Logger;
    readonly sinks?: readonly AuditSink[];
  }): void {
    this.service = options.service;
    this.logger = options.logger;
    this.sinks.unshift(new LogAuditSink(options.logger), ...(options.sinks ?? []));
  }

  private configureDefault(logger: Logger): Logger {
    this.configure({ service: this.service, logger });
    return logger;
  }

  /** Adds a sink, e.g. a durable store opened by the service's module. */
  addSink(sink: AuditSink): void {
    this.sinks.push(sink);
  }

  async record(entry: AuditEntry): Promise<AuditRecord> {
    // Outside createServiceApp (a bare Nest app): still never drop a record.
    const logger = this.logger ?? this.configureDefault(createServiceLogger(this.service));
    const correlationId = entry.correlationId ?? requestContext.getStore()?.correlationId;
    const traceId = currentTraceId();
    const record: AuditRecord = {
      time: new Date().toISOString(),
      service: this.service,
      action: entry.action,
      actor: { id: entry.actor.id, via: entry.actor.via },
      subject: entry.subject,
      outcome: entry.outcome,
      details: redactAuditDetails(entry.details ?? {}),
      ...(correlationId !== undefined && { correlationId }),
      ...(traceId !== undefined && { traceId }),
    };
    for (const sink of this.sinks) {
      try {
        await sink.write(record);
      } catch (error) {
        // The record (already redacted) goes with the error, so it is at least on stdout.
        logger.error(
          { err: error, auditRecord: record, sink: sink.constructor.name },
          'audit sink failed',
        );
      }
    }
    return record;
  }
}
