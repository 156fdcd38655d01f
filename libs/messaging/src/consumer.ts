import type { Span } from '@opentelemetry/api';
import type { Consumer, ConsumerRunConfig, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  sleep,
  validateRetryPolicy,
  type RetryPolicy,
} from './backoff';
import { decodeRecord, HEADER, MalformedMessageError } from './codec';
import { ConsumerLagMonitor } from './consumer-lag';
import {
  deadLetterHeaders,
  textHeaders,
  type DeadLetterDetails,
  type DeadLetterReason,
} from './dead-letter';
import type { IncomingMessage } from './envelope';
import {
  DependencyUnavailableError,
  PermanentHandlerError,
  type HandlerContext,
  type MessageHandler,
} from './handler';
import type { Inbox } from './inbox';
import { createKafka, errorMessage, type KafkaConnectionConfig } from './kafka-client';
import { jsonLogger, type MessagingLogger } from './logger';
import { noopMessagingMetrics, type MessagingMetrics } from './metrics';
import type { RawRecord, RawRecordPublisher } from './publisher';
import { activeTraceContext, envelopeAttributes, inConsumerSpan } from './tracing';
import type { MessageRegistry } from './schemas';
import { deadLetterTopic } from './topics';

export interface MessageConsumerOptions<Tx> {
  readonly kafka: KafkaConnectionConfig;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly registry: MessageRegistry;
  /** One per message type, for the type's current version (see `handler`, `idempotentHandler`). */
  readonly handlers: readonly MessageHandler<Tx>[];
  /** Required unless every handler is an `idempotentHandler`. */
  readonly inbox?: Inbox<Tx>;
  /** Where dead letters go (`<topic>.dlq`). */
  readonly publisher: RawRecordPublisher;
  /** In-place retries of a failing handler. Default 5 attempts, 200 ms doubling to at most 5 s. */
  readonly retry?: Partial<RetryPolicy>;
  readonly metrics?: MessagingMetrics;
  /**
   * The broker evicts the consumer from the group after this long without a heartbeat, and only
   * then gives its partitions to another member. Default 30000 ms (the broker's
   * group.min.session.timeout.ms bounds it from below).
   */
  readonly sessionTimeoutMs?: number;
  /** Default: a third of the session timeout, at most 3000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Longest a fetch waits for data when the partitions are idle; also bounds how fast stop() is. Default 1000 ms. */
  readonly maxWaitTimeMs?: number;
  /** Where a group with no committed offset starts: the earliest record (default) or only new ones. */
  readonly fromBeginning?: boolean;
  /** Partitions handled in parallel by this process (order within a partition is always kept). Default 1. */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * A registered type with no handler here: dead-letter it (default; nothing is dropped silently)
   * or skip it, for topics that carry types this consumer does not care about.
   */
  readonly unhandledTypes?: 'dead-letter' | 'skip';
  /** stop() gives up waiting after this long. Default 30000 ms. */
  readonly stopTimeoutMs?: number;
  readonly clock?: () => Date;
  /** For jitter; Math.random unless a test pins it. */
  readonly random?: () => number;
  readonly logger?: MessagingLogger;
}

export type ConsumerState = 'new' | 'running' | 'stopping' | 'stopped';

/** Floor for waits that repeat without bound (dependency down, dead-letter write failing). */
const MIN_REPEAT_DELAY_MS = 100;

/** The consumer is stopping; the message in hand is left for redelivery (its offset is not committed). */
class StopRequested extends Error {
  override readonly name = 'StopRequested';
}

interface Failure {
  readonly reason: DeadLetterReason;
  readonly error: unknown;
  readonly attempts: number;
}

/**
 * Consumes topics in a consumer group: decode (codec) -> validate and upcast (registry) ->
 * dedupe and handle (inbox + handler, one transaction) -> commit the offset.
 *
 * - A failing handler is retried in place with jittered exponential backoff, heartbeating while it
 *   waits, so the partition keeps its order and the group keeps the member.
 * - Records that can never succeed (not an envelope, unknown type, future or retired version,
 *   invalid payload, PermanentHandlerError) skip the retries.
 * - After the last attempt the original record goes to `<topic>.dlq` with the reason in headers;
 *   only once that write is acknowledged does the offset move on. If it cannot be written the
 *   record is retried, never dropped.
 * - Offsets are committed after every handled or dead-lettered record (at-least-once: a crash
 *   redelivers at most the records in flight, and the inbox makes that harmless).
 */
export class MessageConsumer<Tx = unknown> {
  private readonly kafka: Kafka;
  private readonly handlers = new Map<string, MessageHandler<Tx>>();
  private readonly retry: RetryPolicy;
  private readonly metrics: MessagingMetrics;
  private readonly logger: MessagingLogger;
  private readonly clock: () => Date;
  private readonly random: () => number;
  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly stopController = new AbortController();
  private consumer: Consumer | undefined;
  private runConfig: ConsumerRunConfig | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private stopResult: Promise<'stopped' | 'timed-out'> | undefined;
  private currentState: ConsumerState = 'new';
  private readinessProbe: Promise<{ consumer: ConsumerState; topics: number }> | undefined;

  constructor(private readonly options: MessageConsumerOptions<Tx>) {
    if (options.topics.length === 0) throw new RangeError('consumer: no topics');
    this.kafka = createKafka(options.kafka, `consumer-${options.groupId}`);
    this.retry = validateRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry });
    this.logger = options.logger ?? jsonLogger('info', 'consumer');
    this.metrics = guarded(options.metrics ?? noopMessagingMetrics, this.logger);
    this.clock = options.clock ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs =
      options.heartbeatIntervalMs ?? Math.min(3000, Math.floor(this.sessionTimeoutMs / 3));

    for (const handler of options.handlers) {
      const { type, version } = handler.definition;
      if (this.handlers.has(type)) throw new RangeError(`consumer: two handlers for ${type}`);
      const current = options.registry.current(type);
      if (current === undefined) {
        throw new RangeError(`consumer: handler for ${type}, which the registry does not know`);
      }
      if (current.version !== version) {
        throw new RangeError(
          `consumer: the handler for ${type} is written for v${version}, but the current version is v${current.version}; handlers always receive the current version`,
        );
      }
      if (handler.kind === 'inbox' && options.inbox === undefined) {
        throw new RangeError(
          `consumer: the handler for ${type} needs an inbox (or declare it with idempotentHandler)`,
        );
      }
      this.handlers.set(type, handler);
    }
  }

  get state(): ConsumerState {
    return this.currentState;
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /**
   * A lag monitor for this consumer's group and topics, on the same connection settings, metrics
   * and logger (for the lag gauge and the readiness check). Start and stop it beside the consumer.
   */
  lagMonitor(options: { readonly intervalMs?: number } = {}): ConsumerLagMonitor {
    return new ConsumerLagMonitor({
      kafka: this.options.kafka,
      groupId: this.options.groupId,
      topics: this.options.topics,
      logger: this.logger,
      ...(this.options.metrics !== undefined && { metrics: this.options.metrics }),
      ...(options.intervalMs !== undefined && { intervalMs: options.intervalMs }),
    });
  }

  /**
   * For a service's readiness check: resolves when this consumer runs and the broker answers
   * metadata for its topics, rejects with the reason otherwise. Read-only (it never creates a
   * topic), with short timeouts and no retries, and concurrent callers share one probe so a
   * broker that hangs does not pile probes up.
   */
  checkReady(): Promise<{ consumer: ConsumerState; topics: number }> {
    if (this.currentState !== 'running') {
      return Promise.reject(new Error(`consumer ${this.options.groupId} is ${this.currentState}`));
    }
    this.readinessProbe ??= this.probeBroker().finally(() => {
      this.readinessProbe = undefined;
    });
    return this.readinessProbe;
  }

  private async probeBroker(): Promise<{ consumer: ConsumerState; topics: number }> {
    const admin = createKafka(
      { ...this.options.kafka, connectionTimeoutMs: 1000, requestTimeoutMs: 1500 },
      `readiness-${this.options.groupId}`,
    ).admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...this.options.topics] });
      return { consumer: this.currentState, topics: metadata.topics.length };
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /**
   * Joins the group and starts consuming; resolves once the group has been joined. Rejects when
   * the broker cannot be reached or a topic does not exist; start() may then be called again.
   */
  async start(): Promise<void> {
    if (this.currentState !== 'new') throw new Error(`consumer ${this.groupId} is ${this.state}`);
    this.currentState = 'running';
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 1000,
      allowAutoTopicCreation: false,
      retry: {
        initialRetryTime: 300,
        maxRetryTime: 5000,
        retries: 8,
        restartOnFailure: () => Promise.resolve(this.currentState === 'running'),
      },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.logger.error('consumer crashed', { groupId: this.groupId, error, restart });
      // kafkajs restarts by itself after retriable errors; after the others it stays down.
      if (!restart) this.scheduleRestart();
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.restarts = 0;
      this.logger.info('joined consumer group', {
        groupId: this.groupId,
        memberAssignment: event.payload.memberAssignment,
      });
    });

    this.runConfig = {
      // Commit after every record: a crash then redelivers at most the record in hand.
      autoCommit: true,
      autoCommitThreshold: 1,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachMessage: (payload) => this.onTracedMessage(payload),
    };
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [...this.options.topics],
        fromBeginning: this.options.fromBeginning ?? true,
      });
      await consumer.run(this.runConfig);
    } catch (error) {
      // Nothing runs: the caller may call start() again (e.g. the broker was down at boot).
      this.consumer = undefined;
      this.currentState = 'new';
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Stops fetching, lets the record in hand finish (a failing one is not retried further and
   * stays uncommitted for redelivery), commits, leaves the group and disconnects. Resolves with
   * 'timed-out' if that takes longer than `stopTimeoutMs`; the uncommitted records are then
   * redelivered to whoever takes the partitions over.
   */
  stop(): Promise<'stopped' | 'timed-out'> {
    this.stopResult ??= this.doStop();
    return this.stopResult;
  }

  private async doStop(): Promise<'stopped' | 'timed-out'> {
    this.currentState = 'stopping';
    this.stopController.abort();
    clearTimeout(this.restartTimer);
    const consumer = this.consumer;
    if (consumer === undefined) {
      this.currentState = 'stopped';
      return 'stopped';
    }
    const timeoutMs = this.options.stopTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      consumer.disconnect().then(
        () => 'stopped' as const,
        (error: unknown) => {
          this.logger.warn('consumer did not disconnect cleanly', { groupId: this.groupId, error });
          return 'stopped' as const;
        },
      ),
      new Promise<'timed-out'>((resolve) => {
        timer = setTimeout(() => {
          resolve('timed-out');
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (result === 'timed-out') {
      this.logger.warn('consumer stop timed out', { groupId: this.groupId, timeoutMs });
    }
    this.currentState = 'stopped';
    return result;
  }

  private scheduleRestart(): void {
    if (this.currentState !== 'running' || this.consumer === undefined) return;
    const consumer = this.consumer;
    const runConfig = this.runConfig;
    this.restarts += 1;
    const delay = Math.max(
      MIN_REPEAT_DELAY_MS,
      backoffDelay(this.restarts, this.retry, this.random),
    );
    this.logger.warn('restarting consumer', { groupId: this.groupId, inMs: delay });
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.currentState !== 'running' || runConfig === undefined) return;
      // A failed start reports through the CRASH event again, which comes back here.
      consumer.run(runConfig).catch((error: unknown) => {
        this.logger.error('consumer restart failed', { groupId: this.groupId, error });
        this.scheduleRestart();
      });
    }, delay);
  }

  /**
   * Handles the record inside a CONSUMER span continuing the record's trace. Handlers receive the
   * envelope with its trace context moved to that span, so the messages they cause (built from
   * the envelope's trace context) are its children rather than its siblings.
   */
  private onTracedMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    const headers = textHeaders(message.headers);
    return inConsumerSpan(
      {
        topic,
        partition,
        offset: message.offset,
        groupId: this.groupId,
        key: message.key?.toString('utf8'),
        headers,
      },
      (span) => this.onMessage(payload, headers, span),
    );
  }

  private async onMessage(
    payload: EachMessagePayload,
    headers: Readonly<Record<string, string>>,
    span: Span,
  ): Promise<void> {
    const { topic, partition, message } = payload;
    const heartbeat = () => payload.heartbeat();
    const started = performance.now();
    const typeLabel = headers[HEADER.type] ?? 'unknown';
    const elapsed = () => performance.now() - started;

    let decoded: ReturnType<typeof decodeRecord>;
    try {
      decoded = decodeRecord({
        key: message.key === null ? null : message.key.toString('utf8'),
        value: message.value,
        headers,
      });
    } catch (error) {
      const reason = 'malformed';
      const cause =
        error instanceof MalformedMessageError
          ? error
          : new MalformedMessageError(errorMessage(error), { cause: error });
      await this.deadLetter({ topic, partition, message, heartbeat }, typeLabel, {
        reason,
        error: cause,
        attempts: 0,
      });
      this.metrics.handled(topic, typeLabel, 'dead-lettered', elapsed());
      return;
    }

    const validation = this.options.registry.validateIncoming(decoded.envelope);
    if (!validation.ok) {
      await this.deadLetter({ topic, partition, message, heartbeat }, typeLabel, {
        reason: validation.error.reason,
        error: validation.error,
        attempts: 0,
      });
      this.metrics.handled(topic, typeLabel, 'dead-lettered', elapsed());
      return;
    }

    const envelope = { ...validation.envelope, ...activeTraceContext(validation.envelope) };
    span.setAttributes(envelopeAttributes(envelope));
    const handler = this.handlers.get(envelope.type);
    if (handler === undefined) {
      if (this.options.unhandledTypes === 'skip') {
        this.logger.debug?.('skipping a message type without handler', {
          groupId: this.groupId,
          type: envelope.type,
          messageId: envelope.id,
        });
        this.metrics.handled(topic, envelope.type, 'skipped', elapsed());
        return;
      }
      await this.deadLetter({ topic, partition, message, heartbeat }, typeLabel, {
        reason: 'no-handler',
        error: new Error(`consumer group ${this.groupId} has no handler for ${envelope.type}`),
        attempts: 0,
      });
      this.metrics.handled(topic, typeLabel, 'dead-lettered', elapsed());
      return;
    }

    const incoming: IncomingMessage = {
      topic,
      partition,
      offset: message.offset,
      envelope,
      extraHeaders: decoded.extraHeaders,
    };
    const failure = await this.handleWithRetries(
      handler,
      incoming,
      validation.receivedSchemaVersion,
      heartbeat,
    );
    if (failure === undefined) return;
    await this.deadLetter({ topic, partition, message, heartbeat }, envelope.type, failure);
    this.metrics.handled(topic, envelope.type, 'dead-lettered', elapsed());
  }

  /** Runs the handler until it succeeds (undefined) or must be dead-lettered (the failure). */
  private async handleWithRetries(
    handler: MessageHandler<Tx>,
    message: IncomingMessage,
    receivedSchemaVersion: number,
    heartbeat: () => Promise<void>,
  ): Promise<Failure | undefined> {
    const { topic } = message;
    const { type, id } = message.envelope;
    let attempt = 0;
    for (;;) {
      if (this.currentState !== 'running') throw new StopRequested(`stopping before ${id}`);
      attempt += 1;
      const started = performance.now();
      try {
        const outcome = await this.runHandler(handler, message, receivedSchemaVersion, attempt);
        const durationMs = performance.now() - started;
        this.metrics.handled(
          topic,
          type,
          outcome === 'duplicate' ? 'duplicate' : 'success',
          durationMs,
        );
        this.logger.debug?.('message handled', {
          groupId: this.groupId,
          topic,
          partition: message.partition,
          offset: message.offset,
          type,
          messageId: id,
          key: message.envelope.key,
          outcome: outcome === 'duplicate' ? 'duplicate' : 'handled',
          attempt,
          durationMs: Math.round(durationMs),
        });
        return undefined;
      } catch (error) {
        const fields = { groupId: this.groupId, topic, type, messageId: id, attempt, error };
        if (error instanceof DependencyUnavailableError) {
          // Says nothing about the message: not an attempt. Wait and try again.
          attempt -= 1;
          this.logger.warn('dependency unavailable, waiting', fields);
          await this.pause(this.unavailableDelay(), heartbeat);
          continue;
        }
        if (error instanceof PermanentHandlerError) {
          return { reason: 'permanent-error', error, attempts: attempt };
        }
        if (attempt >= this.retry.attempts) {
          return { reason: 'retries-exhausted', error, attempts: attempt };
        }
        this.metrics.handled(topic, type, 'retry', performance.now() - started);
        this.metrics.retried(topic, type, attempt);
        this.logger.warn('handler failed, retrying', fields);
        await this.pause(backoffDelay(attempt, this.retry, this.random), heartbeat);
      }
    }
  }

  private async runHandler(
    handler: MessageHandler<Tx>,
    message: IncomingMessage,
    receivedSchemaVersion: number,
    attempt: number,
  ): Promise<'applied' | 'duplicate'> {
    const context: HandlerContext = { attempt, consumerGroup: this.groupId, receivedSchemaVersion };
    if (handler.kind === 'idempotent') {
      await handler.handle(message, context);
      return 'applied';
    }
    const { inbox } = this.options;
    // The constructor refuses inbox handlers without an inbox.
    if (inbox === undefined) throw new PermanentHandlerError('no inbox configured');
    return inbox.runOnce(
      {
        consumerGroup: this.groupId,
        messageId: message.envelope.id,
        messageType: message.envelope.type,
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
      },
      (tx) => handler.handle(message, { ...context, tx }),
    );
  }

  /**
   * Writes the original record to `<topic>.dlq` and returns once the broker acknowledged it. A
   * failed write is retried (heartbeating) for as long as the consumer runs; when it stops, the
   * record stays uncommitted and comes back on the next start.
   */
  private async deadLetter(
    source: {
      topic: string;
      partition: number;
      message: KafkaMessage;
      heartbeat: () => Promise<void>;
    },
    type: string,
    failure: Failure,
  ): Promise<void> {
    const { topic, partition, message, heartbeat } = source;
    const details: DeadLetterDetails = {
      reason: failure.reason,
      error: errorMessage(failure.error),
      errorName: failure.error instanceof Error ? failure.error.name : typeof failure.error,
      attempts: failure.attempts,
      originalTopic: topic,
      originalPartition: partition,
      originalOffset: message.offset,
      consumerGroup: this.groupId,
      failedAt: this.clock().toISOString(),
    };
    const headers: Record<string, Buffer | string | (Buffer | string)[]> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value !== undefined) headers[name] = value;
    }
    const record: RawRecord = {
      topic: deadLetterTopic(topic),
      key: message.key,
      value: message.value,
      headers: { ...headers, ...deadLetterHeaders(details) },
    };
    const fields = {
      groupId: this.groupId,
      topic,
      partition,
      offset: message.offset,
      type,
      messageId: textHeaders(message.headers)[HEADER.id],
      reason: failure.reason,
      attempts: failure.attempts,
      error: failure.error,
    };
    for (let tries = 1; ; tries++) {
      try {
        await this.options.publisher.publishRaw([record]);
        break;
      } catch (error) {
        this.logger.error('could not write dead letter, will retry', {
          ...fields,
          publishError: error,
        });
        if (this.currentState !== 'running')
          throw new StopRequested('stopping with a dead letter unwritten');
        await this.pause(
          Math.max(MIN_REPEAT_DELAY_MS, backoffDelay(tries, this.retry, this.random)),
          heartbeat,
        );
      }
    }
    this.logger.warn('message dead-lettered', fields);
    this.metrics.deadLettered(topic, type, failure.reason);
  }

  /** The wait between tries while a dependency is down: around the longest retry delay. */
  private unavailableDelay(): number {
    const max = Math.max(MIN_REPEAT_DELAY_MS, this.retry.maxDelayMs);
    return Math.round(max / 2 + (max / 2) * this.random());
  }

  /**
   * Waits `ms`, heartbeating so the group keeps this member. A heartbeat error (rebalance,
   * broker gone) propagates: kafkajs then rejoins and the record is fetched again from the last
   * committed offset. Stopping cuts the wait short and abandons the record the same way.
   */
  private async pause(ms: number, heartbeat: () => Promise<void>): Promise<void> {
    const until = performance.now() + ms;
    for (;;) {
      const remaining = until - performance.now();
      if (remaining <= 0) return;
      await sleep(Math.min(remaining, this.heartbeatIntervalMs), this.stopController.signal);
      if (this.currentState !== 'running') throw new StopRequested('stopping during a retry wait');
      await heartbeat();
    }
  }
}

/**
 * Metrics hooks that cannot break consumption: a throwing hook after the inbox committed would
 * otherwise fail the record and have it redelivered.
 */
function guarded(metrics: MessagingMetrics, logger: MessagingLogger): MessagingMetrics {
  const safe = (name: string, call: () => void): void => {
    try {
      call();
    } catch (error) {
      logger.warn('metrics hook threw', { hook: name, error });
    }
  };
  return {
    outboxBacklog: (...args) => {
      safe('outboxBacklog', () => {
        metrics.outboxBacklog(...args);
      });
    },
    published: (...args) => {
      safe('published', () => {
        metrics.published(...args);
      });
    },
    publishRejected: (...args) => {
      safe('publishRejected', () => {
        metrics.publishRejected(...args);
      });
    },
    handled: (...args) => {
      safe('handled', () => {
        metrics.handled(...args);
      });
    },
    retried: (...args) => {
      safe('retried', () => {
        metrics.retried(...args);
      });
    },
    deadLettered: (...args) => {
      safe('deadLettered', () => {
        metrics.deadLettered(...args);
      });
    },
  };
}
