import type { ConsumerLagSnapshot, OutboxBacklog } from '@platform/messaging';
import { setting, SettingError } from './config';
import { ReadinessCheckError, type ReadinessCheck } from './lifecycle';
import { scrubConnectionStrings } from './logging';

/**
 * How far behind a service may be and still take traffic. The defaults are generous on purpose:
 * every instance of a service sees the same outbox and the same group lag, so a tight threshold
 * takes the whole fleet out of rotation at once under a burst, which is worse than serving
 * slowly. These are for "hopelessly behind", the alerts are for "falling behind".
 */
export interface ReadinessThresholds {
  /** `READY_MAX_OUTBOX_BACKLOG`: unpublished outbox messages. Default 10000. */
  readonly maxOutboxBacklog: number;
  /** `READY_MAX_CONSUMER_LAG`: records the service's consumer groups have not committed past. Default 10000. */
  readonly maxConsumerLag: number;
  /** `CONSUMER_LAG_POLL_MS`: how often the lag is sampled (also feeds the lag gauge). Default 5000. */
  readonly consumerLagPollMs: number;
}

/** The thresholds from the environment (see `ReadinessThresholds`). */
export function readinessThresholds(): ReadinessThresholds {
  const thresholds = {
    maxOutboxBacklog: setting.int('READY_MAX_OUTBOX_BACKLOG', 10_000),
    maxConsumerLag: setting.int('READY_MAX_CONSUMER_LAG', 10_000),
    consumerLagPollMs: setting.int('CONSUMER_LAG_POLL_MS', 5_000),
  };
  if (thresholds.maxOutboxBacklog < 0 || thresholds.maxConsumerLag < 0) {
    throw new SettingError('READY_MAX_OUTBOX_BACKLOG and READY_MAX_CONSUMER_LAG must be >= 0');
  }
  if (thresholds.consumerLagPollMs < 1) {
    throw new SettingError('CONSUMER_LAG_POLL_MS must be at least 1');
  }
  return thresholds;
}

/**
 * `outbox`: fails while more than `max` messages wait to be published. `measure` is the relay's
 * own backlog measure (`PostgresOutbox.backlog`, `mongoOutboxBacklog`): read-only, one query.
 */
export function outboxBacklogCheck(
  measure: () => Promise<OutboxBacklog>,
  max: number,
  name = 'outbox',
): ReadinessCheck {
  return {
    name,
    check: async () => {
      const { backlog, oldestAgeMs } = await measure();
      const details = { backlog, max, oldestAgeSeconds: Math.round(oldestAgeMs / 1000) };
      if (backlog > max) {
        throw new ReadinessCheckError(`outbox backlog ${backlog} exceeds ${max}`, details);
      }
      return details;
    },
  };
}

/** What the lag check reads from a `ConsumerLagMonitor`. */
export interface ConsumerLagSource {
  readonly groupId: string;
  readonly intervalMs: number;
  snapshot(): ConsumerLagSnapshot;
}

/** A sample older than this many poll intervals is not judged on (the poll is failing). */
const STALE_AFTER_INTERVALS = 3;

/**
 * `consumer-lag`: fails while the summed lag of the service's consumer groups exceeds `max`.
 * It reads the monitors' last samples, so it costs nothing and never waits on the broker.
 *
 * A missing sample (not taken yet) or a stale one (older than three poll intervals, because
 * polls fail) does not fail readiness by itself and is left out of the sum: the `kafka` check
 * already fails when the broker is unreachable, and a lag poll that is broken while consumption
 * works must not hold an instance out of rotation. Such groups are listed with their error.
 */
export function consumerLagCheck(
  sources: readonly ConsumerLagSource[],
  max: number,
  options: { readonly clock?: () => Date; readonly name?: string } = {},
): ReadinessCheck {
  const clock = options.clock ?? (() => new Date());
  return {
    name: options.name ?? 'consumer-lag',
    check: () => {
      const now = clock().getTime();
      let lag = 0;
      const groups: Record<string, Record<string, unknown>> = {};
      for (const source of sources) {
        const snapshot = source.snapshot();
        const error =
          snapshot.error === undefined ? {} : { error: scrubConnectionStrings(snapshot.error) };
        if (snapshot.sampledAt === undefined) {
          groups[source.groupId] = { sample: 'none', ...error };
          continue;
        }
        const ageMs = Math.max(0, now - snapshot.sampledAt.getTime());
        if (ageMs > STALE_AFTER_INTERVALS * source.intervalMs) {
          groups[source.groupId] = { sample: 'stale', lag: snapshot.total, ageMs, ...error };
          continue;
        }
        lag += snapshot.total;
        groups[source.groupId] = { lag: snapshot.total, ageMs, ...error };
      }
      const details = { lag, max, groups };
      if (lag > max) {
        return Promise.reject(
          new ReadinessCheckError(`consumer lag ${lag} exceeds ${max}`, details),
        );
      }
      return Promise.resolve(details);
    },
  };
}
