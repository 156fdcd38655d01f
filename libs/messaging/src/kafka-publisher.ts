import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs';
import { encodeEnvelope, HEADER } from './codec';
import type { OutgoingMessage } from './envelope';
import {
  createKafka,
  errorChain,
  errorMessage,
  protocolErrorType,
  type KafkaConnectionConfig,
} from './kafka-client';
import {
  PermanentPublishError,
  type MessagePublisher,
  type RawRecord,
  type RawRecordPublisher,
} from './publisher';
import { MessageValidationError, type MessageRegistry } from './schemas';
import { headerText } from './dead-letter';
import { startProducerSpans } from './tracing';

export interface KafkaPublisherOptions {
  /** When set, every envelope is validated before anything is sent (PermanentPublishError). */
  readonly registry?: MessageRegistry;
  /** How long the broker may take to replicate a write before answering (acks=all). Default 5000 ms. */
  readonly ackTimeoutMs?: number;
  /**
   * Upper bound for one publish call, kafkajs's own retries included. Past it the call rejects
   * (retriable) and the producer is replaced. Default 30000 ms.
   */
  readonly publishTimeoutMs?: number;
  /** kafkajs's in-call retries for transient broker errors. Default 5. */
  readonly retries?: number;
}

/** A publish call gave up waiting; the messages may or may not have been written (retry them). */
export class PublishTimeoutError extends Error {
  override readonly name = 'PublishTimeoutError';
}

/** Broker errors after which sending the same records again cannot succeed. */
const PERMANENT_PROTOCOL_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'POLICY_VIOLATION',
]);

interface ProducerSession {
  readonly producer: Producer;
  readonly ready: Promise<void>;
}

/**
 * MessagePublisher over a kafkajs idempotent producer: acks=all and one request in flight, so the
 * broker dedupes the producer's own retries and a retry can never overtake an earlier message of
 * the same key.
 *
 * kafkajs's idempotent producer retries forever by default; here retries are bounded (a call must
 * end), which kafkajs warns "may invalidate EoS guarantees": after a failed send it rewinds its
 * sequence numbers, and if the failed request had in fact been written, the next (different)
 * records would reuse those numbers and the broker would drop them as duplicates. So after any
 * failed send this publisher discards the producer; the next call starts a new producer id with
 * fresh sequences. The failed records are then re-sent by the caller at least once (consumers
 * dedupe by message id).
 *
 * Connects on first use. Topics are never auto-created.
 */
export class KafkaPublisher implements MessagePublisher, RawRecordPublisher {
  private readonly kafka: Kafka;
  private session: ProducerSession | undefined;
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  private readonly ackTimeoutMs: number;
  private readonly publishTimeoutMs: number;
  private readonly retries: number;

  constructor(
    config: KafkaConnectionConfig,
    private readonly options: KafkaPublisherOptions = {},
  ) {
    this.kafka = createKafka(config, 'publisher');
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.retries = options.retries ?? 5;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const { registry } = this.options;
    if (registry !== undefined) {
      const invalid: { id: string; error: MessageValidationError }[] = [];
      for (const { envelope } of messages) {
        try {
          registry.validateOutgoing(envelope);
        } catch (error) {
          if (!(error instanceof MessageValidationError)) throw error;
          invalid.push({ id: envelope.id, error });
        }
      }
      const first = invalid[0];
      if (first !== undefined) {
        throw new PermanentPublishError(
          `refusing to publish ${invalid.length} invalid message(s): ${first.error.message}`,
          invalid.map((i) => i.id),
          first.error.reason,
          { cause: first.error },
        );
      }
    }
    // One PRODUCER span per record, child of the trace the record was written in.
    const producing = startProducerSpans(messages);
    try {
      await this.send(
        producing.messages.map(({ topic, envelope }) => {
          const record = encodeEnvelope(envelope);
          return {
            topic,
            id: envelope.id,
            message: { key: record.key, value: record.value, headers: { ...record.headers } },
          };
        }),
      );
    } catch (error) {
      producing.end(error);
      throw error;
    }
    producing.end();
  }

  async publishRaw(records: readonly RawRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.send(
      records.map((record) => {
        const id = headerText(record.headers[HEADER.id]);
        const headers: Record<string, Buffer | string | (Buffer | string)[]> = {};
        for (const [name, value] of Object.entries(record.headers)) {
          headers[name] = typeof value === 'string' || Buffer.isBuffer(value) ? value : [...value];
        }
        return {
          topic: record.topic,
          ...(id !== undefined && { id }),
          message: { key: record.key, value: record.value, headers },
        };
      }),
    );
  }

  /**
   * Disconnects. Publishing afterwards fails. Waits (up to 10 s) for producers abandoned after a
   * timeout to wind down; they disconnect by themselves once their last kafkajs retry ends.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.session !== undefined) this.discard(this.session);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.retiring),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 10_000);
      }),
    ]);
    clearTimeout(timer);
  }

  private async send(
    items: readonly { topic: string; id?: string; message: Message }[],
  ): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of items) {
      const list = byTopic.get(topic) ?? [];
      list.push(message);
      byTopic.set(topic, list);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({
      topic,
      messages,
    }));

    const used: { session?: ProducerSession } = {};
    const sending = (async () => {
      const session = await this.connected();
      used.session = session;
      await session.producer.sendBatch({ topicMessages, acks: -1, timeout: this.ackTimeoutMs });
    })();
    sending.catch(() => undefined); // settled below, or abandoned on timeout
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new PublishTimeoutError(
            `publish of ${items.length} record(s) not acknowledged within ${this.publishTimeoutMs} ms`,
          ),
        );
      }, this.publishTimeoutMs);
    });
    try {
      await Promise.race([sending, timeout]);
    } catch (error) {
      if (used.session !== undefined) this.discard(used.session, sending);
      throw await this.classify(error, items);
    } finally {
      clearTimeout(timer);
    }
  }

  private async connected(): Promise<ProducerSession> {
    if (this.closed) throw new Error('KafkaPublisher is closed');
    if (this.session === undefined) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { retries: this.retries, initialRetryTime: 200, maxRetryTime: 5000 },
      });
      const session: ProducerSession = { producer, ready: producer.connect() };
      this.session = session;
      session.ready.catch(() => {
        this.discard(session);
      });
    }
    const session = this.session;
    await session.ready;
    return session;
  }

  /**
   * Retires a producer. kafkajs keeps going after disconnect() in two places: a pending connect
   * keeps retrying, and a send in its retry loop reconnects the cluster. Either would leave an
   * abandoned producer connected, so it is disconnected again once both have settled.
   */
  private discard(session: ProducerSession, pending?: Promise<unknown>): void {
    if (this.session === session) this.session = undefined;
    const disconnect = () => session.producer.disconnect().catch(() => undefined);
    void disconnect();
    const retired = Promise.allSettled([session.ready, pending])
      .then(disconnect)
      .then(() => undefined);
    this.retiring.add(retired);
    void retired.finally(() => this.retiring.delete(retired));
  }

  /** PermanentPublishError when resending cannot help, else the error as it is (retry). */
  private async classify(
    error: unknown,
    items: readonly { topic: string; id?: string }[],
  ): Promise<unknown> {
    const type = protocolErrorType(error);
    const ids = (filter: (topic: string) => boolean) =>
      items.flatMap((i) => (filter(i.topic) && i.id !== undefined ? [i.id] : []));
    if (type !== undefined && PERMANENT_PROTOCOL_ERRORS.has(type)) {
      // kafkajs does not say which record of a batch was refused; with one record we know.
      return new PermanentPublishError(
        `broker refused the records: ${type}: ${errorMessage(error)}`,
        items.length === 1 ? ids(() => true) : [],
        type,
        { cause: error },
      );
    }
    const looksMissing =
      type === 'UNKNOWN_TOPIC_OR_PARTITION' ||
      errorChain(error).some(
        (e) => e instanceof Error && e.name === 'KafkaJSTopicMetadataNotLoaded',
      );
    if (looksMissing) {
      // kafkajs refreshed metadata on each of its retries; ask once more, independently, so a
      // broker that is still loading its metadata after a restart is not taken for a missing topic.
      const missing = await this.missingTopics([...new Set(items.map((i) => i.topic))]);
      if (missing !== undefined && missing.length > 0) {
        return new PermanentPublishError(
          `topic(s) do not exist: ${missing.join(', ')} (topics are created explicitly, never on first write)`,
          ids((topic) => missing.includes(topic)),
          'UNKNOWN_TOPIC_OR_PARTITION',
          { cause: error },
        );
      }
    }
    return error;
  }

  /** The topics the broker does not know, or undefined when it cannot be asked right now. */
  private async missingTopics(topics: readonly string[]): Promise<string[] | undefined> {
    const admin = this.kafka.admin({ retry: { retries: 1 } });
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      return topics.filter((t) => !existing.has(t));
    } catch {
      return undefined;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
