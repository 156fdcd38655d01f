/**
 * The payment provider as the command handlers see it (the port). The adapter over HTTP, with its
 * timeout, retries, circuit breaker and bulkhead, is infrastructure/provider-client.ts.
 *
 * Every call ends in one of four outcomes, because "it failed" is not enough to decide safely:
 * - `ok`: the provider answered with a result;
 * - `rejected`: the provider answered with a refusal (4xx); it did nothing;
 * - `unavailable`: no request reached the provider (breaker open, bulkhead full, connection
 *   refused); it did nothing;
 * - `unknown`: a request may have reached the provider but no answer came back (timeouts, resets,
 *   5xx) within the retry budget; it may or may not have done it.
 */
export type ProviderOutcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | {
      readonly kind: 'rejected';
      readonly status: number;
      readonly code: string;
      readonly detail: string;
    }
  | { readonly kind: 'unavailable'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

export interface AuthorizeAtProvider {
  readonly amount: number;
  readonly currency: string;
  readonly customerId: string;
  /** Our order id: what the provider lists authorizations by. */
  readonly reference: string;
}

export interface ProviderAuthorization {
  readonly id: string;
  readonly status: 'authorized' | 'declined';
  readonly declineReason?: string | undefined;
}

export interface ProviderCapture {
  readonly id: string;
  readonly amount: number;
}

export interface ProviderVoid {
  readonly id: string;
}

export interface ProviderRefund {
  readonly id: string;
  readonly amount: number;
}

/** An authorization as the provider currently sees it. */
export interface ProviderAuthorizationView {
  readonly id: string;
  readonly status: 'declined' | 'authorized' | 'voided' | 'captured' | 'refunded';
  readonly reference: string;
  readonly amount: number;
  readonly amounts: {
    readonly authorized: number;
    readonly captured: number;
    readonly voided: number;
    readonly refunded: number;
  };
  readonly captureId?: string | undefined;
}

export interface PaymentProvider {
  authorize(
    request: AuthorizeAtProvider,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<ProviderAuthorization>>;
  capture(
    authorizationId: string,
    amount: number,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<ProviderCapture>>;
  void(authorizationId: string, idempotencyKey: string): Promise<ProviderOutcome<ProviderVoid>>;
  refund(
    captureId: string,
    amount: number,
    idempotencyKey: string,
  ): Promise<ProviderOutcome<ProviderRefund>>;
  getAuthorization(authorizationId: string): Promise<ProviderOutcome<ProviderAuthorizationView>>;
  /** Every authorization made with this reference (our order id). */
  listAuthorizations(reference: string): Promise<ProviderOutcome<ProviderAuthorizationView[]>>;
}

/**
 * Idempotency keys: one per order and operation (and target, where an operation may address
 * several), derived from data that never changes for the order. A retry, a redelivered command
 * and a restarted service therefore all send the same key, and the provider replays its stored
 * answer instead of acting twice.
 */
export const idempotencyKeys = {
  authorize: (orderId: string): string => `${orderId}:authorize`,
  /** One capture per order, whichever authorization: a second capture can never happen. */
  capture: (orderId: string): string => `${orderId}:capture`,
  void: (orderId: string, authorizationId: string): string => `${orderId}:void:${authorizationId}`,
  refund: (orderId: string, captureId: string): string => `${orderId}:refund:${captureId}`,
};
