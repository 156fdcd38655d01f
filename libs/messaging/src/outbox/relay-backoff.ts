import { backoffDelay } from '../backoff';

/** Jittered exponential backoff for a relay waiting on its broker or database. */
export interface RelayBackoffOptions {
  /** Nominal wait after the first failure; it doubles per consecutive failure. */
  readonly initialDelayMs: number;
  /** No wait is longer than this. */
  readonly maxDelayMs: number;
}

/** Counts consecutive failures and turns them into waits (the library's equal-jitter formula). */
export class RelayBackoff {
  private failures = 0;

  constructor(private readonly options: RelayBackoffOptions) {
    if (!(options.initialDelayMs > 0) || !(options.maxDelayMs >= options.initialDelayMs)) {
      throw new RangeError(`invalid backoff: ${JSON.stringify(options)}`);
    }
  }

  /** The wait before the next attempt; counts one more consecutive failure. */
  next(): number {
    this.failures += 1;
    return backoffDelay(this.failures, this.options);
  }

  get attempts(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }
}
