import { jsonLogger, type MessagingLogger } from '@platform/messaging';
import {
  BrokenCircuitError,
  bulkhead,
  BulkheadRejectedError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { z } from 'zod';
import type {
  AuthorizeAtProvider,
  PaymentProvider,
  ProviderAuthorization,
  ProviderAuthorizationView,
  ProviderCapture,
  ProviderOutcome,
  ProviderRefund,
  ProviderVoid,
} from '../features/commands/payment-provider';

/**
 * The payment provider over HTTP, behind four cockatiel policies (outermost first):
 *
 *   retry ─► circuit breaker ─► bulkhead ─► timeout ─► fetch
 *
 * - timeout: every attempt, response body included, ends within `timeoutMs` (the request is
 *   aborted, so the socket is freed too);
 * - bulkhead: at most `limit` calls in flight and `queue` waiting, so a slow provider cannot take
 *   every connection and database session of the service with it;
 * - circuit breaker: after `consecutiveFailures` transient failures in a row, calls fail at once
 *   without touching the network for `halfOpenAfterMs`, then one trial call decides;
 * - retry: transient failures only (timeouts, connection errors, 5xx, 408/429, a full bulkhead),
 *   with exponential backoff and decorrelated jitter; never a 4xx or a decline, which would answer
 *   the same again, and never an open breaker, which is the point of failing fast.
 *
 * Retrying a payment call is safe only because every mutating call carries an idempotency key the
 * caller derives from the order: the provider replays its stored answer to a repeated key.
 */

export interface ProviderPolicyOptions {
  /** Per attempt, response body included. */
  readonly timeoutMs: number;
  /** Attempts in total, the first included. */
  readonly attempts: number;
  readonly backoff: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly breaker: { readonly consecutiveFailures: number; readonly halfOpenAfterMs: number };
  readonly bulkhead: { readonly limit: number; readonly queue: number };
}

/**
 * Defaults, and why:
 * - 2 s per attempt: a healthy card authorization answers in well under a second; past 2 s the
 *   provider is degraded, and waiting longer only holds a database session and the partition.
 * - 3 attempts with 100 ms → 1 s jittered backoff: rides over a blip (a reset, one 503) while
 *   one call stays within 8 s (3 × 2 s + 2 × 1 s), below the consumer's default session timeout
 *   and the database's idle-in-transaction timeout (see config.ts).
 * - breaker after 5 consecutive failures, trial after 10 s: two or three failing commands open
 *   it, so an outage costs seconds, not a timeout per order; 10 s lets a restarting provider
 *   come back before the trial call.
 * - bulkhead 8 in flight + 16 queued: above the consumer's partition concurrency, so it only
 *   bites when something else (more partitions, an HTTP path) starts calling the provider.
 */
export const DEFAULT_PROVIDER_POLICY: ProviderPolicyOptions = {
  timeoutMs: 2000,
  attempts: 3,
  backoff: { initialDelayMs: 100, maxDelayMs: 1000 },
  breaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
  bulkhead: { limit: 8, queue: 16 },
};

export interface ProviderClientOptions {
  /** e.g. http://127.0.0.1:4010 */
  readonly baseUrl: string;
  readonly policy?: ProviderPolicyOptions;
  /** For tests: a fake transport. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  readonly logger?: MessagingLogger;
}

/** The provider answered with an error status. */
export class ProviderHttpError extends Error {
  override readonly name = 'ProviderHttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`provider answered ${status} ${code}: ${detail}`);
  }
}

/** The provider answered 2xx with a body that is not what its API promises. */
export class ProviderProtocolError extends Error {
  override readonly name = 'ProviderProtocolError';
}

export type FailureKind =
  /** Worth another attempt: the provider may answer next time. */
  | 'transient'
  /** The provider refused (4xx other than 408/429): it will refuse again. */
  | 'rejected'
  /** The breaker is open: nothing was sent. */
  | 'circuit-open'
  /** Too many calls in flight: nothing was sent. */
  | 'bulkhead-full'
  /** A bug on our side; not the provider's doing. */
  | 'unexpected';

/** Error codes of connection attempts that never got a connection: the request was not sent. */
const NOT_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const TRANSIENT_STATUSES = new Set([408, 429]);

function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if ('code' in current && typeof current.code === 'string') codes.push(current.code);
    current = current.cause;
  }
  return codes;
}

// cockatiel 3.2.1's isTaskCancelledError tests for the bulkhead's marker (a bug), so these use
// instanceof: there is one copy of cockatiel in the service.
const isBrokenCircuitError = (error: unknown) => error instanceof BrokenCircuitError;
const isBulkheadRejectedError = (error: unknown) => error instanceof BulkheadRejectedError;
const isTaskCancelledError = (error: unknown) => error instanceof TaskCancelledError;

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** fetch reports every transport failure as `TypeError: fetch failed` with the cause inside. */
function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && error.message === 'fetch failed';
}

export function classifyFailure(error: unknown): FailureKind {
  if (isBrokenCircuitError(error)) return 'circuit-open';
  if (isBulkheadRejectedError(error)) return 'bulkhead-full';
  if (isTaskCancelledError(error) || isAbort(error) || isNetworkError(error)) return 'transient';
  if (error instanceof ProviderHttpError) {
    return error.status >= 500 || TRANSIENT_STATUSES.has(error.status) ? 'transient' : 'rejected';
  }
  // A 2xx we cannot read: the call happened; a retry with the same key replays the answer.
  if (error instanceof ProviderProtocolError) return 'transient';
  return 'unexpected';
}

/**
 * Whether a failed attempt may have had an effect at the provider. Only failures that prove the
 * request never left (an open breaker, a full bulkhead, no connection) say no; a timeout, a reset
 * or a 5xx may come after the provider acted.
 */
export function couldHaveReachedProvider(error: unknown): boolean {
  const kind = classifyFailure(error);
  if (kind === 'circuit-open' || kind === 'bulkhead-full') return false;
  if (isNetworkError(error) && causeCodes(error).some((code) => NOT_CONNECTED_CODES.has(code))) {
    return false;
  }
  return true;
}

function describe(error: unknown): string {
  if (isBrokenCircuitError(error)) return 'circuit breaker open';
  if (isBulkheadRejectedError(error)) return 'too many provider calls in flight';
  if (isTaskCancelledError(error)) return 'timed out';
  if (isNetworkError(error)) {
    const codes = causeCodes(error);
    return `network error${codes.length > 0 ? ` (${codes.join(', ')})` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

// What the provider answers; extra fields are ignored.
const AuthorizationReply = z.object({
  id: z.string().min(1),
  status: z.enum(['authorized', 'declined']),
  declineReason: z.string().optional(),
});
const CaptureReply = z.object({ id: z.string().min(1), amount: z.number().int() });
const VoidReply = z.object({ id: z.string().min(1) });
const RefundReply = z.object({ id: z.string().min(1), amount: z.number().int() });
const AuthorizationView = z.object({
  id: z.string().min(1),
  status: z.enum(['declined', 'authorized', 'voided', 'captured', 'refunded']),
  reference: z.string(),
  amount: z.number().int(),
  amounts: z.object({
    authorized: z.number().int(),
    captured: z.number().int(),
    voided: z.number().int(),
    refunded: z.number().int(),
  }),
  captureId: z.string().optional(),
});
const AuthorizationList = z
  .object({ items: z.array(AuthorizationView) })
  .transform((list) => list.items);
const ProblemBody = z.object({ code: z.string().optional(), detail: z.string().optional() });

export class ProviderClient implements PaymentProvider {
  readonly policyOptions: ProviderPolicyOptions;
  private readonly baseUrl: URL;
  private readonly fetchFn: typeof fetch;
  private readonly logger: MessagingLogger;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly policy: IPolicy;

  constructor(options: ProviderClientOptions) {
    this.policyOptions = options.policy ?? DEFAULT_PROVIDER_POLICY;
    this.baseUrl = new URL(options.baseUrl);
    this.fetchFn = options.fetch ?? fetch;
    this.logger = options.logger ?? jsonLogger('info', 'payment-provider-client');
    const p = this.policyOptions;
    if (p.attempts < 1 || p.timeoutMs < 1)
      throw new RangeError('provider policy: attempts and timeoutMs must be >= 1');

    const retryPolicy = retry(
      handleWhen((error) => {
        const kind = classifyFailure(error);
        return kind === 'transient' || kind === 'bulkhead-full';
      }),
      {
        maxAttempts: p.attempts - 1, // cockatiel counts retries, not attempts
        backoff: new ExponentialBackoff({
          initialDelay: p.backoff.initialDelayMs,
          maxDelay: p.backoff.maxDelayMs,
          generator: decorrelatedJitterGenerator,
        }),
      },
    );
    // Only the provider's own failures count towards opening; a 4xx is a healthy answer.
    this.breaker = circuitBreaker(
      handleWhen((error) => classifyFailure(error) === 'transient'),
      {
        halfOpenAfter: p.breaker.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(p.breaker.consecutiveFailures),
      },
    );
    const bulkheadPolicy = bulkhead(p.bulkhead.limit, p.bulkhead.queue);
    // Aggressive: the attempt ends at the deadline even if something ignores the abort signal.
    const timeoutPolicy = timeout(p.timeoutMs, TimeoutStrategy.Aggressive);
    this.policy = wrap(retryPolicy, this.breaker, bulkheadPolicy, timeoutPolicy);

    retryPolicy.onRetry((event) => {
      this.logger.warn('provider call failed, retrying', {
        attempt: event.attempt,
        delayMs: Math.round(event.delay),
        error: 'error' in event ? describe(event.error) : 'unexpected result',
      });
    });
    this.breaker.onStateChange((state) => {
      this.logger.warn('provider circuit breaker changed state', { state: BREAKER_STATES[state] });
    });
  }

  /** The breaker's state now, for metrics and readiness details. */
  get breakerState(): BreakerState {
    return BREAKER_STATES[this.breaker.state];
  }

  /** Calls `listener` on every breaker transition; returns an unsubscribe function. */
  onBreakerStateChange(listener: (state: BreakerState) => void): () => void {
    const subscription = this.breaker.onStateChange((state) => {
      listener(BREAKER_STATES[state]);
    });
    return () => {
      subscription.dispose();
    };
  }

  authorize(
    request: AuthorizeAtProvider,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<ProviderAuthorization>> {
    return this.call((signal) =>
      this.send(
        'POST',
        '/v1/authorizations',
        { body: request, idempotencyKey, signal },
        AuthorizationReply,
      ),
    );
  }

  capture(
    authorizationId: string,
    amount: number,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<ProviderCapture>> {
    return this.call((signal) =>
      this.send(
        'POST',
        `/v1/authorizations/${encodeURIComponent(authorizationId)}/capture`,
        { body: { amount }, idempotencyKey, signal },
        CaptureReply,
      ),
    );
  }

  void(authorizationId: string, idempotencyKey: string): Promise<ProviderOutcome<ProviderVoid>> {
    return this.call((signal) =>
      this.send(
        'POST',
        `/v1/authorizations/${encodeURIComponent(authorizationId)}/void`,
        { idempotencyKey, signal },
        VoidReply,
      ),
    );
  }

  refund(
    captureId: string,
    amount: number,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<ProviderRefund>> {
    return this.call((signal) =>
      this.send(
        'POST',
        `/v1/captures/${encodeURIComponent(captureId)}/refund`,
        { body: { amount }, idempotencyKey, signal },
        RefundReply,
      ),
    );
  }

  getAuthorization(authorizationId: string): Promise<ProviderOutcome<ProviderAuthorizationView>> {
    return this.call((signal) =>
      this.send(
        'GET',
        `/v1/authorizations/${encodeURIComponent(authorizationId)}`,
        { signal },
        AuthorizationView,
      ),
    );
  }

  listAuthorizations(reference: string): Promise<ProviderOutcome<ProviderAuthorizationView[]>> {
    return this.call((signal) =>
      this.send(
        'GET',
        `/v1/authorizations?reference=${encodeURIComponent(reference)}`,
        { signal },
        AuthorizationList,
      ),
    );
  }

  /** Runs one logical call through the policies and says what is known about its effect. */
  private async call<T>(attempt: (signal: AbortSignal) => Promise<T>): Promise<ProviderOutcome<T>> {
    // Attempts that may have reached the provider; one that provably did not is removed again.
    const mayHaveReached = new Set<number>();
    let attempts = 0;
    try {
      const value = await this.policy.execute(async ({ signal }) => {
        const attemptNo = ++attempts;
        mayHaveReached.add(attemptNo);
        try {
          return await attempt(signal);
        } catch (error) {
          if (!couldHaveReachedProvider(error)) mayHaveReached.delete(attemptNo);
          throw error;
        }
      });
      return { kind: 'ok', value };
    } catch (error) {
      const kind = classifyFailure(error);
      if (kind === 'unexpected') throw error;
      if (kind === 'rejected' && error instanceof ProviderHttpError) {
        return { kind: 'rejected', status: error.status, code: error.code, detail: error.detail };
      }
      const reason = `${describe(error)} after ${attempts} attempt(s)`;
      return mayHaveReached.size === 0
        ? { kind: 'unavailable', reason }
        : { kind: 'unknown', reason };
    }
  }

  private async send<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; idempotencyKey?: string; signal: AbortSignal },
    schema: S,
  ): Promise<z.output<S>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    const response = await this.fetchFn(new URL(path, this.baseUrl), {
      method,
      headers,
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
      signal: options.signal,
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const problem = ProblemBody.safeParse(json);
      const code = (problem.success ? problem.data.code : undefined) ?? `http-${response.status}`;
      const detail = (problem.success ? problem.data.detail : undefined) ?? text.slice(0, 200);
      throw new ProviderHttpError(response.status, code, detail);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ProviderProtocolError(`${method} ${path}: unexpected answer ${text.slice(0, 200)}`);
    }
    return parsed.data;
  }
}
