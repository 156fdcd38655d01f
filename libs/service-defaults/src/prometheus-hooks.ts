import { deadLetterTopic, type MessagingMetrics } from '@platform/messaging';
import type { ProjectionMetrics } from '@platform/projections';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Seconds buckets for asynchronous work: publishing, handling, lag (milliseconds up to minutes). */
export const ASYNC_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/**
 * Caps the distinct values one label may take. Message types come from record headers, so a
 * producer sending garbage could otherwise create a series per message; past the cap a value
 * becomes `other`.
 */
export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly max = 100) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(raw);
    return raw;
  }
}

/** The messaging library's hooks as Prometheus metrics (names in libs/service-defaults/README.md). */
export class PrometheusMessagingMetrics implements MessagingMetrics {
  private readonly backlog: Gauge<'store'>;
  private readonly oldestAge: Gauge<'store'>;
  private readonly publishLatency: Histogram<'topic'>;
  private readonly rejected: Counter<'topic'>;
  private readonly handlerDuration: Histogram<'topic' | 'type' | 'outcome'>;
  private readonly retries: Counter<'topic' | 'type'>;
  private readonly deadLetters: Counter<'topic' | 'type' | 'reason'>;
  private readonly consumed: Counter<'topic' | 'outcome'>;
  private readonly produced: Counter<'topic'>;
  private readonly lag: Gauge<'group' | 'topic' | 'partition'>;
  private readonly topics = new BoundedLabel();
  private readonly types = new BoundedLabel();

  constructor(registry: Registry) {
    const registers = [registry];
    this.backlog = new Gauge({
      name: 'outbox_backlog_messages',
      help: 'Outbox messages not yet published, after the last relay pass.',
      labelNames: ['store'],
      registers,
    });
    this.oldestAge = new Gauge({
      name: 'outbox_oldest_message_age_seconds',
      help: 'Age of the oldest unpublished outbox message (0 when empty), after the last relay pass.',
      labelNames: ['store'],
      registers,
    });
    this.publishLatency = new Histogram({
      name: 'messaging_publish_latency_seconds',
      help: 'Time from a message being written to the outbox to the broker acknowledging it.',
      labelNames: ['topic'],
      buckets: ASYNC_DURATION_BUCKETS,
      registers,
    });
    this.rejected = new Counter({
      name: 'messaging_publish_rejected_total',
      help: 'Outbox messages the broker refused outright; parked for an operator.',
      labelNames: ['topic'],
      registers,
    });
    this.handlerDuration = new Histogram({
      name: 'messaging_handler_duration_seconds',
      help: 'Consumer handler runs by outcome (success, duplicate, skipped, retry, dead-lettered), in seconds.',
      labelNames: ['topic', 'type', 'outcome'],
      buckets: ASYNC_DURATION_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: 'messaging_handler_retries_total',
      help: 'Handler attempts that failed and will be retried.',
      labelNames: ['topic', 'type'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'messaging_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by reason.',
      labelNames: ['topic', 'type', 'reason'],
      registers,
    });
    this.consumed = new Counter({
      name: 'messaging_messages_consumed_total',
      help: 'Records a consumer finished with, by outcome (success, duplicate, skipped, dead-lettered); retried attempts are not counted again.',
      labelNames: ['topic', 'outcome'],
      registers,
    });
    this.produced = new Counter({
      name: 'messaging_messages_produced_total',
      help: 'Records the broker acknowledged from this service: outbox messages and dead letters (topic ending in .dlq).',
      labelNames: ['topic'],
      registers,
    });
    this.lag = new Gauge({
      name: 'messaging_consumer_lag_messages',
      help: 'Records a consumer group has not committed past, per partition (high watermark - committed offset), at the last sample.',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    });
  }

  outboxBacklog(store: string, backlog: number, oldestAgeMs: number): void {
    this.backlog.set({ store }, backlog);
    this.oldestAge.set({ store }, backlog === 0 ? 0 : Math.max(0, oldestAgeMs) / 1000);
  }

  published(topic: string, latencyMs: number): void {
    const label = this.topics.value(topic);
    this.publishLatency.observe({ topic: label }, Math.max(0, latencyMs) / 1000);
    this.produced.inc({ topic: label });
  }

  // The reason is free text (the broker's error message): logged by the relay, never a label.
  publishRejected(topic: string): void {
    this.rejected.inc({ topic: this.topics.value(topic) });
  }

  handled(
    topic: string,
    type: string,
    outcome: 'success' | 'duplicate' | 'skipped' | 'retry' | 'dead-lettered',
    durationMs: number,
  ): void {
    const topicLabel = this.topics.value(topic);
    this.handlerDuration.observe(
      { topic: topicLabel, type: this.types.value(type), outcome },
      Math.max(0, durationMs) / 1000,
    );
    // A retry is one more attempt at the same record; the record counts once, when it is done.
    if (outcome !== 'retry') this.consumed.inc({ topic: topicLabel, outcome });
  }

  retried(topic: string, type: string): void {
    this.retries.inc({ topic: this.topics.value(topic), type: this.types.value(type) });
  }

  // Called once the dead-letter topic acknowledged the record, so it is a produced record too.
  deadLettered(topic: string, type: string, reason: string): void {
    this.deadLetters.inc({ topic: this.topics.value(topic), type: this.types.value(type), reason });
    this.produced.inc({ topic: this.topics.value(deadLetterTopic(topic)) });
  }

  // Partitions per topic are fixed by the topic's configuration and groups by the service's own
  // config, so only the topic needs a cap.
  consumerLag(group: string, topic: string, partition: number, lag: number): void {
    this.lag.set(
      { group, topic: this.topics.value(topic), partition: String(partition) },
      Math.max(0, lag),
    );
  }
}

/** The projection runner's hooks as Prometheus metrics. */
export class PrometheusProjectionMetrics implements ProjectionMetrics {
  private readonly appliedEvents: Counter<'projection'>;
  private readonly lagSeconds: Gauge<'projection'>;
  private readonly failures: Counter<'projection'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.appliedEvents = new Counter({
      name: 'projection_events_applied_total',
      help: 'Events applied to a read model.',
      labelNames: ['projection'],
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'projection_lag_seconds',
      help: 'Time between the newest applied event being recorded and now (0 when caught up).',
      labelNames: ['projection'],
      registers,
    });
    this.failures = new Counter({
      name: 'projection_failures_total',
      help: 'Projection passes that failed and will be retried.',
      labelNames: ['projection'],
      registers,
    });
  }

  applied(projection: string, events: number): void {
    this.appliedEvents.inc({ projection }, events);
  }

  lag(projection: string, lagMs: number): void {
    this.lagSeconds.set({ projection }, Math.max(0, lagMs) / 1000);
  }

  failed(projection: string): void {
    this.failures.inc({ projection });
  }
}
