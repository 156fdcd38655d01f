/** How a consumer retries a failing message in place. */
export interface RetryPolicy {
  /** Handler runs in total, the first included. 1 = no retry. */
  readonly attempts: number;
  /** Upper bound of the wait after the first failed attempt. */
  readonly initialDelayMs: number;
  /** No wait is longer than this. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attempts: 5,
  initialDelayMs: 200,
  maxDelayMs: 5000,
});

export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new RangeError(`retry.attempts must be an integer >= 1, got ${policy.attempts}`);
  }
  if (!(policy.initialDelayMs >= 0) || !(policy.maxDelayMs >= policy.initialDelayMs)) {
    throw new RangeError(
      `retry delays must satisfy 0 <= initialDelayMs <= maxDelayMs, got ${policy.initialDelayMs} and ${policy.maxDelayMs}`,
    );
  }
  return policy;
}

/**
 * The wait after failed attempt number `attempt` (1-based): exponential growth capped at
 * `maxDelayMs`, with "equal jitter": uniformly in [cap / 2, cap]. Jitter keeps the consumers of
 * many partitions from hammering a recovering dependency in lockstep; the lower half-bound keeps a
 * minimum pause so a retry does not come back at once.
 *
 * `random` returns a number in [0, 1), like Math.random (injectable for tests).
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(cap / 2 + (cap / 2) * r);
}

/** The longest a message can spend in retries before it is dead-lettered (waits only). */
export function maxRetryBudgetMs(policy: RetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt < policy.attempts; attempt++) {
    total += backoffDelay(attempt, policy, () => 1);
  }
  return total;
}

/** Resolves after `ms`, or as soon as `signal` aborts (without rejecting). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
