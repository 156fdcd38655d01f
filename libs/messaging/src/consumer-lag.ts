import type { Admin, Kafka } from 'kafkajs';
import { createKafka, errorMessage, type KafkaConnectionConfig } from './kafka-client';
import { jsonLogger, type MessagingLogger } from './logger';
import { noopMessagingMetrics, type MessagingMetrics } from './metrics';

export interface ConsumerLagMonitorOptions {
  /** The same connection config the group's consumer uses. */
  readonly kafka: KafkaConnectionConfig;
  readonly groupId: string;
  /** The topics the group consumes. */
  readonly topics: readonly string[];
  /** Time between samples. Default 5000 ms. */
  readonly intervalMs?: number;
  /** Receives `consumerLag(group, topic, partition, lag)` for every partition of each sample. */
  readonly metrics?: MessagingMetrics;
  readonly logger?: MessagingLogger;
  readonly clock?: () => Date;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Records on the partition the group has not committed past. */
  readonly lag: number;
}

/** The last good sample, and why the latest poll failed if it did. */
export interface ConsumerLagSnapshot {
  readonly groupId: string;
  /** Sum of `partitions[].lag` (0 before the first sample). */
  readonly total: number;
  readonly partitions: readonly PartitionLag[];
  /** When the last good sample was taken; undefined until the first one. */
  readonly sampledAt: Date | undefined;
  /** The latest poll's failure; absent once a poll succeeds again. */
  readonly error?: string;
}

export const DEFAULT_CONSUMER_LAG_INTERVAL_MS = 5000;

// Like MessageConsumer's readiness probe: an unreachable broker must fail a poll in about a
// second, not after kafkajs's retries, so a sample is never older than it needs to be. These
// also bound a whole poll (a connect and a few requests, each enforced by kafkajs).
const CONNECTION_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 1500;

/**
 * Lag of one partition for a group that consumes from the beginning (the platform's consumers
 * do: `fromBeginning` defaults to true). With a committed offset, what lies between it and the
 * high watermark. Without one, everything the partition still retains (high - low): the group
 * will read all of it. A committed offset below the low watermark (records deleted by retention
 * since) counts from the low watermark, where the consumer will resume.
 */
export function partitionLag(committed: number | undefined, low: number, high: number): number {
  const from = committed === undefined || committed < 0 ? low : Math.max(committed, low);
  return Math.max(0, high - from);
}

/**
 * Samples a consumer group's lag every `intervalMs` through the Kafka admin API: the group's
 * committed offsets (`fetchOffsets`) against each partition's watermarks (`fetchTopicOffsets`).
 * It is read-only and runs beside the consumer, not inside it, so any process can watch any
 * group (a service watches its own, for its readiness check and the lag gauge).
 *
 * One admin connection is kept across polls and replaced after a failure. Polls never overlap,
 * never throw out of the timer, and use short timeouts without retries; a failed poll keeps the
 * last good sample (with its time) and records the error, so callers can judge staleness. The
 * timer does not keep the process alive.
 */
export class ConsumerLagMonitor {
  private readonly kafka: Kafka;
  private readonly metrics: MessagingMetrics;
  private readonly logger: MessagingLogger;
  private readonly clock: () => Date;
  readonly intervalMs: number;
  private admin: Promise<Admin> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;
  private failing = false;
  private last: ConsumerLagSnapshot;

  constructor(private readonly options: ConsumerLagMonitorOptions) {
    if (options.topics.length === 0) throw new RangeError('consumer lag: no topics');
    this.intervalMs = options.intervalMs ?? DEFAULT_CONSUMER_LAG_INTERVAL_MS;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs <= 0) {
      throw new RangeError(`consumer lag: intervalMs must be positive, got ${this.intervalMs}`);
    }
    this.kafka = createKafka(
      {
        ...options.kafka,
        connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
      },
      `lag-${options.groupId}`,
    );
    this.metrics = options.metrics ?? noopMessagingMetrics;
    this.logger = options.logger ?? jsonLogger('info', 'consumer-lag');
    this.clock = options.clock ?? (() => new Date());
    this.last = { groupId: options.groupId, total: 0, partitions: [], sampledAt: undefined };
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** Samples now, then every `intervalMs` until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops sampling, waits for a poll in flight and closes the admin connection. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.dropAdmin();
  }

  /** The last good sample, and the latest poll's error if it failed. */
  snapshot(): ConsumerLagSnapshot {
    return this.last;
  }

  /**
   * Polls now (or joins the poll in flight) and returns the snapshot afterwards. Never rejects:
   * a failure shows as `error` next to the previous sample.
   */
  async sample(): Promise<ConsumerLagSnapshot> {
    this.inFlight ??= this.poll().finally(() => {
      this.inFlight = undefined;
    });
    await this.inFlight;
    return this.last;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sample().then(() => {
        if (this.running) this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const { groupId } = this.options;
    try {
      const partitions = await this.measure();
      const total = partitions.reduce((sum, p) => sum + p.lag, 0);
      this.last = { groupId, total, partitions, sampledAt: this.clock() };
      if (this.failing) this.logger.info('consumer lag sampling recovered', { groupId });
      this.failing = false;
      this.report(partitions);
    } catch (error) {
      this.last = { ...withoutError(this.last), error: errorMessage(error) };
      // Once per outage, not once per poll: the broker check and the consumer log the rest.
      if (!this.failing) {
        this.logger.warn('could not sample consumer lag; keeping the last sample', {
          groupId,
          error,
        });
      }
      this.failing = true;
      await this.dropAdmin();
    }
  }

  /**
   * One request at a time: when one fails, none is left in flight to reconnect the admin client
   * after it was dropped (kafkajs reconnects on demand, and the broker would only close such a
   * stray connection after connections.max.idle.ms, ten minutes). Committed offsets first, so a
   * record produced in between shows as lag rather than being missed.
   */
  private async measure(): Promise<PartitionLag[]> {
    const admin = await this.connectedAdmin();
    const topics = [...this.options.topics];
    const committed = await admin.fetchOffsets({ groupId: this.options.groupId, topics });
    const watermarks: {
      topic: string;
      offsets: { partition: number; low: string; high: string }[];
    }[] = [];
    for (const topic of topics) {
      watermarks.push({ topic, offsets: await admin.fetchTopicOffsets(topic) });
    }
    const committedOf = new Map<string, number>();
    for (const { topic, partitions } of committed) {
      for (const { partition, offset } of partitions) {
        committedOf.set(`${topic}/${partition}`, Number(offset));
      }
    }
    const result: PartitionLag[] = [];
    for (const { topic, offsets } of watermarks) {
      for (const { partition, low, high } of offsets) {
        result.push({
          topic,
          partition,
          lag: partitionLag(committedOf.get(`${topic}/${partition}`), Number(low), Number(high)),
        });
      }
    }
    return result.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  private connectedAdmin(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: 0 } });
      try {
        await admin.connect();
      } catch (error) {
        await admin.disconnect().catch(() => undefined);
        throw error;
      }
      return admin;
    })();
    return this.admin;
  }

  private async dropAdmin(): Promise<void> {
    const pending = this.admin;
    this.admin = undefined;
    if (pending === undefined) return;
    const admin = await pending.catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  }

  /** A throwing metrics hook must not turn a good sample into a failed poll. */
  private report(partitions: readonly PartitionLag[]): void {
    try {
      for (const { topic, partition, lag } of partitions) {
        this.metrics.consumerLag?.(this.options.groupId, topic, partition, lag);
      }
    } catch (error) {
      this.logger.warn('metrics hook threw', { hook: 'consumerLag', error });
    }
  }
}

function withoutError(snapshot: ConsumerLagSnapshot): ConsumerLagSnapshot {
  const { error: _error, ...rest } = snapshot;
  return rest;
}
