import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, maxRetryBudgetMs, sleep, validateRetryPolicy } from './backoff';

/** A seeded generator (mulberry32), so "random" jitter is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const policy = { attempts: 6, initialDelayMs: 100, maxDelayMs: 1000 };

describe('backoffDelay', () => {
  it('when random is at its extremes, then the delay spans exactly [cap/2, cap] of the doubling cap', () => {
    const caps = [100, 200, 400, 800, 1000, 1000];
    caps.forEach((cap, i) => {
      assert.equal(
        backoffDelay(i + 1, policy, () => 0),
        cap / 2,
      );
      assert.equal(
        backoffDelay(i + 1, policy, () => 0.9999999999),
        cap,
      );
    });
  });

  it('when drawn many times with a seeded generator, then every delay stays within its bounds and varies', () => {
    const random = seeded(42);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      const seen = new Set<number>();
      for (let i = 0; i < 500; i++) {
        const delay = backoffDelay(attempt, policy, random);
        assert.ok(
          delay >= cap / 2 && delay <= cap,
          `attempt ${attempt}: ${delay} outside [${cap / 2}, ${cap}]`,
        );
        seen.add(delay);
      }
      assert.ok(seen.size > 10, `attempt ${attempt}: jitter produced only ${seen.size} values`);
    }
  });

  it('when the attempt number is huge, then the delay is still capped (no overflow)', () => {
    assert.equal(
      backoffDelay(10_000, policy, () => 0.9999999999),
      1000,
    );
  });

  it('when the policy has 6 attempts, then the budget is the sum of the 5 longest waits', () => {
    assert.equal(maxRetryBudgetMs(policy), 100 + 200 + 400 + 800 + 1000);
    assert.equal(maxRetryBudgetMs({ ...policy, attempts: 1 }), 0);
  });

  it('when a policy is inconsistent, then validation throws', () => {
    assert.throws(
      () => validateRetryPolicy({ attempts: 0, initialDelayMs: 1, maxDelayMs: 2 }),
      RangeError,
    );
    assert.throws(
      () => validateRetryPolicy({ attempts: 2, initialDelayMs: 5, maxDelayMs: 2 }),
      RangeError,
    );
    assert.throws(
      () => validateRetryPolicy({ attempts: 2, initialDelayMs: Number.NaN, maxDelayMs: 2 }),
      RangeError,
    );
  });
});

describe('sleep', () => {
  it('when the signal aborts, then the sleep ends early', async () => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => {
      controller.abort();
    }, 20);
    await sleep(10_000, controller.signal);
    assert.ok(performance.now() - started < 2000);
  });
});
