import { assertNever, DomainError, type Decider } from '@platform/domain';

/**
 * The Payment aggregate: what the payment service did with one order's money at the provider.
 * Event-sourced: its stream is `payment-<orderId>`.
 *
 *   None ──authorize──► Authorized ──capture──► Captured ──cancel──► Refunded
 *    │  │                 │   └──capture fails──► CaptureFailed ──cancel──► Voided (or Refunded)
 *    │  │                 └──cancel──► Voided
 *    │  ├─declined──► Declined ──cancel──► NothingToCancel
 *    │  └─no answer──► AuthorizationUnknown ──cancel──► Voided (found at the provider)
 *    │                                         └──────► NothingToCancel (nothing found)
 *    └──cancel──► NothingToCancel
 *
 * The provider calls happen outside this module (see payment-steps.ts for which call a request
 * needs); the commands here record what the provider answered. Rules that protect the money:
 * capture only an authorized payment, at most the authorized amount, and at most once (a second
 * capture is a no-op); "nothing to cancel" is refused while the payment holds or took money.
 */

/** The decline reason when nothing reached the provider (breaker open, bulkhead full, refused). */
export const PROVIDER_UNAVAILABLE = 'provider-unavailable';
/** The decline reason when requests reached the provider but no answer came back in time. */
export const OUTCOME_UNKNOWN = 'provider-unavailable (outcome unknown)';
/** The decline reason for an AuthorizePayment after the payment was cancelled. */
export const PAYMENT_CANCELLED = 'payment cancelled';

/** What was asked for at authorization. Amounts are integer minor units. */
export interface PaymentTerms {
  readonly orderId: string;
  readonly customerId: string;
  readonly amount: number;
  readonly currency: string;
}

export type PaymentEvent =
  | {
      type: 'PaymentAuthorized';
      data: PaymentTerms & { authorizationId: string; at: string };
    }
  | { type: 'PaymentDeclined'; data: PaymentTerms & { reason: string; at: string } }
  | {
      type: 'PaymentAuthorizationOutcomeUnknown';
      data: PaymentTerms & { reason: string; at: string };
    }
  | {
      type: 'PaymentCaptured';
      data: {
        orderId: string;
        authorizationId: string;
        captureId: string;
        amount: number;
        at: string;
      };
    }
  | {
      type: 'PaymentCaptureFailed';
      data: { orderId: string; amount: number; reason: string; at: string };
    }
  | {
      type: 'PaymentVoided';
      data: {
        orderId: string;
        authorizationId: string;
        /** Absent when the provider reported the authorization as already voided. */
        voidId?: string;
        amount: number;
        reason: string;
        at: string;
      };
    }
  | {
      type: 'PaymentRefunded';
      data: {
        orderId: string;
        captureId: string;
        /** Absent when the provider reported the capture as already refunded. */
        refundId?: string;
        amount: number;
        reason: string;
        at: string;
      };
    }
  | {
      type: 'PaymentCancellationFoundNothing';
      data: { orderId: string; reason: string; at: string };
    };

export type AuthorizationOutcome =
  | { status: 'authorized'; authorizationId: string }
  | { status: 'declined'; reason: string }
  | { status: 'unknown'; reason: string };

export type CaptureOutcome =
  { status: 'captured'; captureId: string; amount: number } | { status: 'failed'; reason: string };

export type CancellationOutcome =
  | { status: 'voided'; authorizationId: string; voidId?: string; amount: number }
  | { status: 'refunded'; captureId: string; refundId?: string; amount: number }
  | { status: 'nothing-to-cancel' };

export type PaymentCommand =
  | {
      type: 'RecordAuthorization';
      data: { terms: PaymentTerms; outcome: AuthorizationOutcome; now: string };
    }
  | {
      type: 'RecordCapture';
      data: { orderId: string; amount: number; outcome: CaptureOutcome; now: string };
    }
  | {
      type: 'RecordCancellation';
      data: { orderId: string; reason: string; outcome: CancellationOutcome; now: string };
    };

export type PaymentStatus =
  | 'Declined'
  | 'AuthorizationUnknown'
  | 'Authorized'
  | 'CaptureFailed'
  | 'Captured'
  | 'Voided'
  | 'Refunded'
  | 'NothingToCancel';

export type PaymentState =
  | { status: 'None' }
  | { status: 'Declined'; terms: PaymentTerms; reason: string }
  | {
      status: 'AuthorizationUnknown';
      terms: PaymentTerms;
      reason: string;
      /** When the attempts gave up: requests the provider still processes may land after it. */
      since: string;
    }
  | { status: 'Authorized'; terms: PaymentTerms; authorizationId: string }
  | { status: 'CaptureFailed'; terms: PaymentTerms; authorizationId: string; reason: string }
  | {
      status: 'Captured';
      terms: PaymentTerms;
      authorizationId: string;
      captureId: string;
      capturedAmount: number;
    }
  | { status: 'Voided'; terms: PaymentTerms; voidedAuthorizationIds: string[] }
  | { status: 'Refunded'; terms: PaymentTerms; captureId: string; refundedAmount: number }
  | {
      status: 'NothingToCancel';
      orderId: string;
      /** Absent when the payment was cancelled before any authorization was asked for. */
      terms?: PaymentTerms;
      /** Why an authorization that was asked for did not happen (replied again to duplicates). */
      declineReason?: string;
    };

export class IllegalPaymentTransition extends DomainError {
  constructor(from: PaymentState['status'], what: string) {
    super('illegal-payment-transition', `cannot ${what} a payment that is ${from}`);
  }
}

export class CaptureExceedsAuthorization extends DomainError {
  constructor(amount: number, authorized: number) {
    super(
      'capture-exceeds-authorization',
      `capture amount ${amount} exceeds the authorized amount ${authorized}`,
    );
  }
}

function recordAuthorization(
  data: Extract<PaymentCommand, { type: 'RecordAuthorization' }>['data'],
  state: PaymentState,
): PaymentEvent[] {
  // One authorization attempt per order: the provider call is keyed by the order id, so a second
  // attempt could only replay the first; the step planner never asks for one.
  if (state.status !== 'None') throw new IllegalPaymentTransition(state.status, 'authorize');
  const { terms, outcome, now } = data;
  switch (outcome.status) {
    case 'authorized':
      return [
        {
          type: 'PaymentAuthorized',
          data: { ...terms, authorizationId: outcome.authorizationId, at: now },
        },
      ];
    case 'declined':
      return [{ type: 'PaymentDeclined', data: { ...terms, reason: outcome.reason, at: now } }];
    case 'unknown':
      return [
        {
          type: 'PaymentAuthorizationOutcomeUnknown',
          data: { ...terms, reason: outcome.reason, at: now },
        },
      ];
    default:
      return assertNever(outcome, 'authorization outcome');
  }
}

function recordCapture(
  data: Extract<PaymentCommand, { type: 'RecordCapture' }>['data'],
  state: PaymentState,
): PaymentEvent[] {
  // At most one effective capture: whatever a later capture says, the first one stands.
  if (state.status === 'Captured') return [];
  if (state.status !== 'Authorized') throw new IllegalPaymentTransition(state.status, 'capture');
  const { outcome, now } = data;
  const orderId = state.terms.orderId;
  switch (outcome.status) {
    case 'captured':
      if (outcome.amount > state.terms.amount) {
        throw new CaptureExceedsAuthorization(outcome.amount, state.terms.amount);
      }
      return [
        {
          type: 'PaymentCaptured',
          data: {
            orderId,
            authorizationId: state.authorizationId,
            captureId: outcome.captureId,
            amount: outcome.amount,
            at: now,
          },
        },
      ];
    case 'failed':
      return [
        {
          type: 'PaymentCaptureFailed',
          data: { orderId, amount: data.amount, reason: outcome.reason, at: now },
        },
      ];
    default:
      return assertNever(outcome, 'capture outcome');
  }
}

function recordCancellation(
  data: Extract<PaymentCommand, { type: 'RecordCancellation' }>['data'],
  state: PaymentState,
): PaymentEvent[] {
  const { outcome, reason, now } = data;
  switch (outcome.status) {
    case 'voided': {
      const voided = {
        type: 'PaymentVoided' as const,
        data: {
          orderId: data.orderId,
          authorizationId: outcome.authorizationId,
          ...(outcome.voidId !== undefined && { voidId: outcome.voidId }),
          amount: outcome.amount,
          reason,
          at: now,
        },
      };
      switch (state.status) {
        case 'Authorized':
        case 'CaptureFailed':
          if (outcome.authorizationId !== state.authorizationId) {
            throw new IllegalPaymentTransition(
              state.status,
              `void another authorization than ${state.authorizationId} of`,
            );
          }
          return [voided];
        // The provider had authorized although we never heard it: the void releases that hold.
        case 'AuthorizationUnknown':
          return [voided];
        // Several holds can only exist if the provider forgot an idempotency key; release each.
        case 'Voided':
          return state.voidedAuthorizationIds.includes(outcome.authorizationId) ? [] : [voided];
        default:
          throw new IllegalPaymentTransition(state.status, 'void');
      }
    }
    case 'refunded': {
      switch (state.status) {
        case 'Captured':
        case 'Authorized': // captured at the provider although our capture call got no answer
        case 'CaptureFailed':
          return [
            {
              type: 'PaymentRefunded',
              data: {
                orderId: data.orderId,
                captureId: outcome.captureId,
                ...(outcome.refundId !== undefined && { refundId: outcome.refundId }),
                amount: outcome.amount,
                reason,
                at: now,
              },
            },
          ];
        case 'Refunded':
          if (outcome.captureId === state.captureId) return [];
          throw new IllegalPaymentTransition(state.status, 'refund another capture of');
        default:
          throw new IllegalPaymentTransition(state.status, 'refund');
      }
    }
    case 'nothing-to-cancel':
      switch (state.status) {
        case 'None':
        case 'Declined':
        case 'AuthorizationUnknown':
          return [
            {
              type: 'PaymentCancellationFoundNothing',
              data: { orderId: data.orderId, reason, at: now },
            },
          ];
        case 'NothingToCancel':
          return [];
        // Authorized, captured or already undone: "nothing to cancel" would hide money.
        default:
          throw new IllegalPaymentTransition(state.status, 'find nothing to cancel in');
      }
    default:
      return assertNever(outcome, 'cancellation outcome');
  }
}

function decide(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  switch (command.type) {
    case 'RecordAuthorization':
      return recordAuthorization(command.data, state);
    case 'RecordCapture':
      return recordCapture(command.data, state);
    case 'RecordCancellation':
      return recordCancellation(command.data, state);
    default:
      return assertNever(command, 'payment command');
  }
}

function termsOf(state: PaymentState): PaymentTerms | undefined {
  return state.status === 'None' ? undefined : state.terms;
}

function evolve(state: PaymentState, event: PaymentEvent): PaymentState {
  switch (event.type) {
    case 'PaymentAuthorized': {
      const { authorizationId, at: _at, ...terms } = event.data;
      return { status: 'Authorized', terms, authorizationId };
    }
    case 'PaymentDeclined': {
      const { reason, at: _at, ...terms } = event.data;
      return { status: 'Declined', terms, reason };
    }
    case 'PaymentAuthorizationOutcomeUnknown': {
      const { reason, at, ...terms } = event.data;
      return { status: 'AuthorizationUnknown', terms, reason, since: at };
    }
    case 'PaymentCaptured':
      if (state.status !== 'Authorized') return state;
      return {
        status: 'Captured',
        terms: state.terms,
        authorizationId: state.authorizationId,
        captureId: event.data.captureId,
        capturedAmount: event.data.amount,
      };
    case 'PaymentCaptureFailed':
      if (state.status !== 'Authorized') return state;
      return {
        status: 'CaptureFailed',
        terms: state.terms,
        authorizationId: state.authorizationId,
        reason: event.data.reason,
      };
    case 'PaymentVoided': {
      const terms = termsOf(state);
      if (!terms || state.status === 'None') return state;
      const earlier = state.status === 'Voided' ? state.voidedAuthorizationIds : [];
      return {
        status: 'Voided',
        terms,
        voidedAuthorizationIds: [...earlier, event.data.authorizationId],
      };
    }
    case 'PaymentRefunded': {
      const terms = termsOf(state);
      if (!terms) return state;
      return {
        status: 'Refunded',
        terms,
        captureId: event.data.captureId,
        refundedAmount: event.data.amount,
      };
    }
    case 'PaymentCancellationFoundNothing': {
      const terms = termsOf(state);
      const declineReason =
        state.status === 'Declined' || state.status === 'AuthorizationUnknown'
          ? state.reason
          : undefined;
      return {
        status: 'NothingToCancel',
        orderId: event.data.orderId,
        ...(terms && { terms }),
        ...(declineReason !== undefined && { declineReason }),
      };
    }
    default:
      return assertNever(event, 'payment event');
  }
}

export const paymentDecider: Decider<PaymentCommand, PaymentEvent, PaymentState> = {
  initialState: () => ({ status: 'None' }),
  evolve,
  decide,
};

export const paymentStreamId = (orderId: string): string => `payment-${orderId}`;
