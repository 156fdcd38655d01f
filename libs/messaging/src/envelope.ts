/**
 * The message envelope every platform message travels in. On Kafka it uses the CloudEvents
 * Kafka protocol binding in binary mode: envelope fields are `ce_*` headers, the payload is the
 * JSON record value, and the partition key is the record key (always the order id for the saga's
 * messages, so one order's messages stay in order). Trace context uses the W3C header names
 * (`traceparent`, `tracestate`) that OpenTelemetry's propagators read.
 */
export interface Envelope<Payload = unknown> {
  /** Unique message id; consumers dedupe on it. Stable across retries and redelivery. */
  readonly id: string;
  /** Message type, e.g. `ReserveStock`, `StockReserved`. */
  readonly type: string;
  /** Schema version of `payload` for this type. */
  readonly schemaVersion: number;
  /** Producing service, e.g. `order-service`. */
  readonly source: string;
  /** ISO-8601 time the message was created (by the producer's clock, passed in). */
  readonly time: string;
  /** Partition key: the order id for saga messages. */
  readonly key: string;
  readonly correlationId: string;
  readonly causationId?: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly payload: Payload;
}

/** An envelope bound for a topic, as the outbox stores it and the relay publishes it. */
export interface OutgoingMessage<Payload = unknown> {
  readonly topic: string;
  readonly envelope: Envelope<Payload>;
}

/** A message as received from the broker, with where it came from. */
export interface IncomingMessage<Payload = unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly envelope: Envelope<Payload>;
  /** Headers other than the envelope's (dead-letter details, redrive marks). */
  readonly extraHeaders: Readonly<Record<string, string>>;
}

/** Raw record on the wire: what the transport sends and receives. */
export interface WireRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}
