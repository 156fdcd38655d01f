/**
 * Hooks the messaging components call so the observability work can expose them as Prometheus
 * metrics without this library depending on prom-client. `noopMessagingMetrics` ignores
 * everything; methods marked optional (added later) may be left out of an implementation.
 */
export interface MessagingMetrics {
  /** Unpublished outbox rows and the age of the oldest, after each relay pass. */
  outboxBacklog(store: string, backlog: number, oldestAgeMs: number): void;
  /** One message published by a relay: time from outbox insert to broker ack. */
  published(topic: string, latencyMs: number): void;
  /** A message the relay could not publish at all (e.g. larger than the broker accepts). */
  publishRejected(topic: string, reason: string): void;
  /** One handler run, by outcome. */
  handled(
    topic: string,
    type: string,
    outcome: 'success' | 'duplicate' | 'skipped' | 'retry' | 'dead-lettered',
    durationMs: number,
  ): void;
  /** A handler attempt failed and will be retried. */
  retried(topic: string, type: string, attempt: number): void;
  /** A message went to the dead-letter topic. */
  deadLettered(topic: string, type: string, reason: string): void;
  /**
   * A consumer group's lag on one partition (high watermark minus committed offset), from each
   * `ConsumerLagMonitor` sample. Optional: implementations written before it ignore it.
   */
  consumerLag?(groupId: string, topic: string, partition: number, lag: number): void;
}

export const noopMessagingMetrics: MessagingMetrics = {
  outboxBacklog: () => undefined,
  published: () => undefined,
  publishRejected: () => undefined,
  handled: () => undefined,
  retried: () => undefined,
  deadLettered: () => undefined,
  consumerLag: () => undefined,
};
