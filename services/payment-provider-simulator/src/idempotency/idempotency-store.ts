import { DomainError } from '@platform/domain';

/** What a request under a key ended with: a result, or the refusal the provider answered with. */
export type StoredOutcome<T> =
  { kind: 'succeeded'; value: T } | { kind: 'refused'; error: DomainError };

export interface IdempotentRun<T> {
  outcome: StoredOutcome<T>;
  /** True when the outcome comes from an earlier request with the same key. */
  replayed: boolean;
}

export class IdempotencyKeyReused extends DomainError {
  override readonly name: string = 'IdempotencyKeyReused';

  constructor(key: string) {
    super(
      'idempotency-key-reused',
      `Idempotency-Key ${JSON.stringify(key)} was already used with a different request (endpoint or body)`,
    );
  }
}

/**
 * What the request is, for comparing a retry with the original: the operation, the resource it
 * targets and the validated body, serialized with sorted keys so key order does not matter.
 */
export function fingerprint(operation: string, target: string, body: unknown): string {
  return `${operation} ${target} ${canonicalJson(body)}`;
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`);
    return `{${fields.join(',')}}`;
  }
  // JSON.stringify gives undefined (typed as string) for undefined; fields like that are dropped.
  return value === undefined ? 'null' : JSON.stringify(value);
}

/**
 * Keys and outcomes for the process lifetime. `run` looks up and records in one synchronous step,
 * so two requests with the same key cannot both execute the effect. Results and expected refusals
 * (DomainError: not found, wrong state, amount too high) are stored and replayed; anything else
 * (a bug, a failing disk) is not stored, so a retry executes again.
 */
export class IdempotencyStore {
  private readonly records = new Map<
    string,
    { fingerprint: string; outcome: StoredOutcome<unknown> }
  >();

  get size(): number {
    return this.records.size;
  }

  run<T>(key: string, requestFingerprint: string, effect: () => T): IdempotentRun<T> {
    const stored = this.records.get(key);
    if (stored !== undefined) {
      if (stored.fingerprint !== requestFingerprint) throw new IdempotencyKeyReused(key);
      // The fingerprint names the operation, and each operation has one result type, so the
      // stored outcome is the T this caller's effect would have produced.
      return { outcome: stored.outcome as StoredOutcome<T>, replayed: true };
    }
    let outcome: StoredOutcome<T>;
    try {
      outcome = { kind: 'succeeded', value: effect() };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      outcome = { kind: 'refused', error };
    }
    this.records.set(key, { fingerprint: requestFingerprint, outcome });
    return { outcome, replayed: false };
  }

  clear(): void {
    this.records.clear();
  }
}
