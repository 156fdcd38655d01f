import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ConsumerLagSnapshot } from '@platform/messaging';
import { SettingError } from './config';
import { ReadinessCheckError } from './lifecycle';
import {
  consumerLagCheck,
  outboxBacklogCheck,
  readinessThresholds,
  type ConsumerLagSource,
} from './readiness-checks';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);

/** A lag source as a ConsumerLagMonitor would show it, sampling every 5 s. */
function aLagSource(groupId: string, snapshot: Partial<ConsumerLagSnapshot>): ConsumerLagSource {
  return {
    groupId,
    intervalMs: 5000,
    snapshot: () => ({ groupId, total: 0, partitions: [], sampledAt: undefined, ...snapshot }),
  };
}

async function failure(promise: Promise<unknown>): Promise<ReadinessCheckError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ReadinessCheckError, String(error));
    return error;
  }
  throw new assert.AssertionError({ message: 'the check passed' });
}

describe('consumerLagCheck', () => {
  const clock = () => NOW;

  it('when the summed lag of fresh samples is at most the threshold, then it passes with the numbers', async () => {
    const check = consumerLagCheck(
      [
        aLagSource('a', { total: 60, sampledAt: secondsAgo(2) }),
        aLagSource('b', { total: 40, sampledAt: secondsAgo(1) }),
      ],
      100,
      { clock },
    );
    assert.equal(check.name, 'consumer-lag');
    assert.deepEqual(await check.check(), {
      lag: 100,
      max: 100,
      groups: { a: { lag: 60, ageMs: 2000 }, b: { lag: 40, ageMs: 1000 } },
    });
  });

  it('when the summed lag exceeds the threshold, then it fails with the lag, the threshold and each group', async () => {
    const check = consumerLagCheck(
      [
        aLagSource('a', { total: 60, sampledAt: secondsAgo(2) }),
        aLagSource('b', { total: 41, sampledAt: secondsAgo(1) }),
      ],
      100,
      { clock },
    );
    const error = await failure(check.check());
    assert.equal(error.message, 'consumer lag 101 exceeds 100');
    assert.deepEqual(error.details, {
      lag: 101,
      max: 100,
      groups: { a: { lag: 60, ageMs: 2000 }, b: { lag: 41, ageMs: 1000 } },
    });
  });

  it('when there is no sample yet, then it passes and says so (the kafka check judges the broker)', async () => {
    const check = consumerLagCheck(
      [aLagSource('a', { error: 'connect ECONNREFUSED 127.0.0.1:9092' })],
      0,
      { clock },
    );
    assert.deepEqual(await check.check(), {
      lag: 0,
      max: 0,
      groups: { a: { sample: 'none', error: 'connect ECONNREFUSED 127.0.0.1:9092' } },
    });
  });

  it('when the last sample is older than three poll intervals, then its lag is shown but not judged', async () => {
    const check = consumerLagCheck(
      [aLagSource('a', { total: 5000, sampledAt: secondsAgo(16), error: 'timeout' })],
      100,
      { clock },
    );
    assert.deepEqual(await check.check(), {
      lag: 0,
      max: 100,
      groups: { a: { sample: 'stale', lag: 5000, ageMs: 16_000, error: 'timeout' } },
    });
  });

  it('when a poll just failed but the last sample is recent, then that sample is still judged', async () => {
    const check = consumerLagCheck(
      [aLagSource('a', { total: 5000, sampledAt: secondsAgo(6), error: 'timeout' })],
      100,
      { clock },
    );
    assert.equal((await failure(check.check())).details.lag, 5000);
  });
});

describe('outboxBacklogCheck', () => {
  it('when the backlog is at most the threshold, then it passes with backlog, threshold and oldest age', async () => {
    const check = outboxBacklogCheck(() => Promise.resolve({ backlog: 10, oldestAgeMs: 2600 }), 10);
    assert.equal(check.name, 'outbox');
    assert.deepEqual(await check.check(), { backlog: 10, max: 10, oldestAgeSeconds: 3 });
  });

  it('when the backlog exceeds the threshold, then it fails with the numbers', async () => {
    const check = outboxBacklogCheck(() => Promise.resolve({ backlog: 11, oldestAgeMs: 0 }), 10);
    const error = await failure(check.check());
    assert.equal(error.message, 'outbox backlog 11 exceeds 10');
    assert.deepEqual(error.details, { backlog: 11, max: 10, oldestAgeSeconds: 0 });
  });
});

describe('readinessThresholds', () => {
  const names = ['READY_MAX_OUTBOX_BACKLOG', 'READY_MAX_CONSUMER_LAG', 'CONSUMER_LAG_POLL_MS'];
  const saved = names.map((name) => process.env[name]);
  afterEach(() => {
    names.forEach((name, i) => {
      const value = saved[i];
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    });
  });

  it('when nothing is set, then the generous defaults apply', () => {
    for (const name of names) Reflect.deleteProperty(process.env, name);
    assert.deepEqual(readinessThresholds(), {
      maxOutboxBacklog: 10_000,
      maxConsumerLag: 10_000,
      consumerLagPollMs: 5000,
    });
  });

  it('when the variables are set, then they are read, and a negative threshold is refused', () => {
    process.env.READY_MAX_OUTBOX_BACKLOG = '50';
    process.env.READY_MAX_CONSUMER_LAG = '0';
    process.env.CONSUMER_LAG_POLL_MS = '1000';
    assert.deepEqual(readinessThresholds(), {
      maxOutboxBacklog: 50,
      maxConsumerLag: 0,
      consumerLagPollMs: 1000,
    });
    process.env.READY_MAX_CONSUMER_LAG = '-1';
    assert.throws(() => readinessThresholds(), SettingError);
  });
});
