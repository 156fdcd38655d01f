import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import { isPlatformEndpoint, routeTemplate } from './metrics';

export const CORRELATION_HEADER = 'x-correlation-id';

/**
 * Paths pino removes before a line is written. Secrets (credentials, cookies) and personal data
 * (card numbers) never reach stdout, wherever they appear in a logged object.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'card',
  '*.card',
  'cardNumber',
  '*.cardNumber',
  'cvv',
  '*.cvv',
];

/**
 * Secrets inside free text, e.g. a database URL in an error message:
 * `scheme://user:secret@host` → `scheme://user:[Redacted]@host`, `password=secret` →
 * `password=[Redacted]` (connection-string and query-string style).
 */
export function scrubConnectionStrings(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1[Redacted]@')
    .replace(/\b(password|passwd|pwd|secret|token|api[_-]?key)=[^&;\s]*/gi, '$1=[Redacted]');
}

export interface LoggingOptions {
  /** Where the JSON lines go; stdout when absent. Tests pass a stream to read them. */
  readonly logDestination?: DestinationStream;
  /** Default `LOG_LEVEL` or `info`. */
  readonly logLevel?: string;
}

/** The service's root pino logger: JSON, `service` on every line, ISO time, redaction. */
export function createServiceLogger(service: string, options: LoggingOptions = {}): Logger {
  const config: LoggerOptions = {
    level: options.logLevel ?? process.env.LOG_LEVEL ?? 'info',
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => {
        const scrubbed: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(object))
          scrubbed[key] = typeof value === 'string' ? scrubConnectionStrings(value) : value;
        return scrubbed;
      },
    },
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    serializers: { err: errorSerializer },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((arg: unknown) =>
          typeof arg === 'string' ? scrubConnectionStrings(arg) : arg,
        );
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  return options.logDestination ? pino(config, options.logDestination) : pino(config);
}

function errorSerializer(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error);
  if (typeof serialized !== 'object') return serialized;
  return {
    ...serialized,
    message: scrubConnectionStrings(serialized.message),
    stack: scrubConnectionStrings(serialized.stack),
  };
}

const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Names a correlation id from the request line when the caller sent none, e.g. the order id in
 * `/orders/<id>`. Runs before routing, on the raw request.
 */
export type CorrelationIdSource = (request: IncomingMessage) => string | undefined;

/** Fields a service adds to its finished-request log lines (e.g. the faults the simulator injected). */
export type RequestLogFields = (
  request: IncomingMessage,
  response: ServerResponse,
) => Record<string, unknown>;

function sane(value: string | undefined): string | undefined {
  return value !== undefined && SAFE_CORRELATION_ID.test(value) ? value : undefined;
}

function headerCorrelationId(request: IncomingMessage): string | undefined {
  const raw = request.headers[CORRELATION_HEADER];
  return sane(Array.isArray(raw) ? raw[0] : raw);
}

/**
 * pino-http settings: one line per finished request with method, route template, status and
 * duration; health and /metrics not logged. The correlation id (on the request line and on every
 * line logged while serving it) is the `x-correlation-id` header when the caller sent a sane one,
 * else what `correlationId` names (the order id), else a new UUID; it is echoed back in the
 * response header.
 */
export function httpLoggingOptions(
  logger: Logger,
  correlationId?: CorrelationIdSource,
  requestFields?: RequestLogFields,
): PinoHttpOptions {
  return {
    logger,
    quietReqLogger: true,
    genReqId: (request: IncomingMessage, response: ServerResponse) => {
      const id = headerCorrelationId(request) ?? sane(correlationId?.(request)) ?? randomUUID();
      response.setHeader(CORRELATION_HEADER, id);
      return id;
    },
    customAttributeKeys: { reqId: 'correlationId', responseTime: 'durationMs' },
    autoLogging: {
      ignore: (request: IncomingMessage) =>
        isPlatformEndpoint((request.url ?? '').split('?')[0] ?? ''),
    },
    customLogLevel: (_request, response, error) =>
      error !== undefined || response.statusCode >= 500
        ? 'error'
        : response.statusCode >= 400
          ? 'warn'
          : 'info',
    // Called when the request starts (no route yet) and when it finishes (route matched or not).
    customProps: (request: IncomingMessage, response: ServerResponse) =>
      response.writableFinished || response.headersSent
        ? { ...requestFields?.(request, response), route: routeTemplate(request as Request) }
        : {},
    // Keep request lines lean: the raw URL is fine in logs (not a metric label), bodies never are.
    serializers: {
      req: (request: { method: string; url: string; headers: Record<string, unknown> }) => ({
        method: request.method,
        url: request.url,
        headers: request.headers,
      }),
      res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
    },
  };
}

/** Context handed to an ErrorReporter with each 5xx. */
export interface ErrorContext {
  readonly method: string;
  readonly url: string;
  readonly route: string;
  readonly status: number;
  readonly correlationId?: string;
}

/**
 * An error nothing caught, outside any request: `runService` reports it once, then the process
 * exits (its state is unknown; a supervisor restarts it and at-least-once delivery redoes the
 * message in hand).
 */
export interface ProcessErrorContext {
  readonly origin: 'uncaughtException' | 'unhandledRejection';
  readonly service: string;
}

/**
 * Exception tracking: `ProblemDetailsFilter` hands every 5xx to this, once, and `runService`
 * every uncaught exception and unhandled rejection. Implement it to forward to a tracker (Sentry,
 * Rollbar, ...); the default writes one error line with the context.
 */
export interface ErrorReporter {
  report(error: unknown, context: ErrorContext | ProcessErrorContext): void;
}

export class LogErrorReporter implements ErrorReporter {
  constructor(private readonly logger: Logger) {}

  report(error: unknown, context: ErrorContext | ProcessErrorContext): void {
    this.logger.error(
      { err: error, ...context },
      'origin' in context
        ? `${context.origin}: the process exits`
        : 'unhandled error while serving a request',
    );
  }
}
