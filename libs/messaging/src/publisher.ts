import type { OutgoingMessage } from './envelope';

/**
 * Publishes envelopes to the broker. Implemented over kafkajs by KafkaPublisher (idempotent
 * producer, acks=all, one in-flight request so retries cannot reorder a key's messages).
 * Everything above this interface (outbox relays, dead-lettering, redrive) is client-agnostic, so
 * a KafkaJS-compatible client could replace kafkajs here alone.
 */
export interface MessagePublisher {
  /**
   * Publishes the messages in order per key and resolves once the broker acknowledged all of
   * them. Rejects with PermanentPublishError when a message can never be accepted (too large,
   * unknown topic), or with any other error for conditions worth retrying (broker down).
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
}

/** The broker will never accept this message as it is; retrying cannot help. */
export class PermanentPublishError extends Error {
  override readonly name = 'PermanentPublishError';

  constructor(
    message: string,
    /** Message ids known to be refused, when the client can tell (else empty: isolate one by one). */
    readonly messageIds: readonly string[],
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A record copied as it was received: key, value and headers byte for byte, no envelope required.
 * Dead letters and redriven messages travel this way, since a poison record may not even be an
 * envelope.
 */
export interface RawRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header values as received; an array when the record repeats a header name. */
  readonly headers: Readonly<Record<string, Buffer | string | readonly (Buffer | string)[]>>;
}

/** Publishes raw records (dead-lettering, redrive). Same guarantees and errors as MessagePublisher. */
export interface RawRecordPublisher {
  publishRaw(records: readonly RawRecord[]): Promise<void>;
}
