import type {
  AuthorizePayment,
  CancelPayment,
  CapturePayment,
  PaymentAuthorized,
  PaymentCancelled,
  PaymentCaptured,
  PaymentCaptureFailed,
  PaymentDeclined,
} from '@platform/contracts';
import { assertNever } from '@platform/domain';
import { PAYMENT_CANCELLED, type PaymentState, type PaymentTerms } from './payment';

/**
 * What a payment command needs done, and what to answer afterwards. Both are pure functions of the
 * command and the Payment's state, so a redelivered or repeated command (a new message id for the
 * same order) lands on the state the first one left and gets the same answer, without a second
 * provider call: the idempotent replies the saga relies on.
 */

export type PaymentRequest =
  | { type: 'AuthorizePayment'; data: AuthorizePayment }
  | { type: 'CapturePayment'; data: CapturePayment }
  | { type: 'CancelPayment'; data: CancelPayment };

export type PaymentStep =
  /** Nothing to do: the state already answers the command. */
  | { kind: 'reply' }
  | { kind: 'authorize'; terms: PaymentTerms }
  | { kind: 'capture'; authorizationId: string; amount: number }
  /** Refused without asking the provider (e.g. more than authorized); recorded as a failed capture. */
  | { kind: 'refuse-capture'; reason: string }
  | { kind: 'void'; authorizationId: string; amount: number }
  | { kind: 'refund'; captureId: string; amount: number }
  /** The authorization's outcome is unknown: look for it at the provider and void what is found. */
  | { kind: 'find-and-void' }
  /** Nothing was ever authorized: record that, so a late AuthorizePayment cannot authorize. */
  | { kind: 'nothing-to-cancel' };

export function nextStep(request: PaymentRequest, state: PaymentState): PaymentStep {
  switch (request.type) {
    case 'AuthorizePayment': {
      if (state.status !== 'None') return { kind: 'reply' };
      const { orderId, customerId, amount, currency } = request.data;
      return { kind: 'authorize', terms: { orderId, customerId, amount, currency } };
    }
    case 'CapturePayment': {
      if (state.status !== 'Authorized') return { kind: 'reply' };
      const { amount } = request.data;
      if (amount > state.terms.amount) {
        return {
          kind: 'refuse-capture',
          reason: `capture amount ${amount} exceeds the authorized amount ${state.terms.amount}`,
        };
      }
      return { kind: 'capture', authorizationId: state.authorizationId, amount };
    }
    case 'CancelPayment':
      switch (state.status) {
        case 'None':
        case 'Declined':
          return { kind: 'nothing-to-cancel' };
        case 'AuthorizationUnknown':
          return { kind: 'find-and-void' };
        case 'Authorized':
        case 'CaptureFailed':
          return {
            kind: 'void',
            authorizationId: state.authorizationId,
            amount: state.terms.amount,
          };
        case 'Captured':
          return { kind: 'refund', captureId: state.captureId, amount: state.capturedAmount };
        case 'Voided':
        case 'Refunded':
        case 'NothingToCancel':
          return { kind: 'reply' };
        default:
          return assertNever(state, 'payment state');
      }
    default:
      return assertNever(request, 'payment request');
  }
}

export type PaymentReply =
  | { type: 'PaymentAuthorized'; payload: PaymentAuthorized }
  | { type: 'PaymentDeclined'; payload: PaymentDeclined }
  | { type: 'PaymentCaptured'; payload: PaymentCaptured }
  | { type: 'PaymentCaptureFailed'; payload: PaymentCaptureFailed }
  | { type: 'PaymentCancelled'; payload: PaymentCancelled };

/** Raised when a state cannot answer a command: the step for it was not carried out. */
export class NoReplyForState extends Error {
  override readonly name = 'NoReplyForState';
  constructor(request: PaymentRequest['type'], status: PaymentState['status']) {
    super(`no reply to ${request} for a payment that is ${status}`);
  }
}

/** The answer to `request` once its step is done: always the payment's current outcome. */
export function replyFor(request: PaymentRequest, state: PaymentState): PaymentReply {
  const orderId = request.data.orderId;
  switch (request.type) {
    case 'AuthorizePayment':
      switch (state.status) {
        case 'Authorized':
        case 'CaptureFailed':
        case 'Captured':
          return {
            type: 'PaymentAuthorized',
            payload: {
              orderId,
              amount: state.terms.amount,
              authorizationId: state.authorizationId,
            },
          };
        case 'Declined':
        case 'AuthorizationUnknown':
          return { type: 'PaymentDeclined', payload: { orderId, reason: state.reason } };
        case 'NothingToCancel':
          return {
            type: 'PaymentDeclined',
            payload: { orderId, reason: state.declineReason ?? PAYMENT_CANCELLED },
          };
        case 'Voided':
        case 'Refunded':
          return { type: 'PaymentDeclined', payload: { orderId, reason: PAYMENT_CANCELLED } };
        case 'None':
          throw new NoReplyForState(request.type, state.status);
        default:
          return assertNever(state, 'payment state');
      }
    case 'CapturePayment':
      switch (state.status) {
        case 'Captured':
          return { type: 'PaymentCaptured', payload: { orderId, amount: state.capturedAmount } };
        case 'CaptureFailed':
          return { type: 'PaymentCaptureFailed', payload: { orderId, reason: state.reason } };
        case 'None':
        case 'Declined':
        case 'AuthorizationUnknown':
          return {
            type: 'PaymentCaptureFailed',
            payload: { orderId, reason: 'payment not authorized' },
          };
        case 'Voided':
        case 'Refunded':
        case 'NothingToCancel':
          return { type: 'PaymentCaptureFailed', payload: { orderId, reason: PAYMENT_CANCELLED } };
        case 'Authorized':
          throw new NoReplyForState(request.type, state.status);
        default:
          return assertNever(state, 'payment state');
      }
    case 'CancelPayment':
      switch (state.status) {
        case 'Voided':
          return { type: 'PaymentCancelled', payload: { orderId, outcome: 'voided' } };
        case 'Refunded':
          return { type: 'PaymentCancelled', payload: { orderId, outcome: 'refunded' } };
        case 'NothingToCancel':
          return { type: 'PaymentCancelled', payload: { orderId, outcome: 'nothing-to-cancel' } };
        case 'None':
        case 'Declined':
        case 'AuthorizationUnknown':
        case 'Authorized':
        case 'CaptureFailed':
        case 'Captured':
          throw new NoReplyForState(request.type, state.status);
        default:
          return assertNever(state, 'payment state');
      }
    default:
      return assertNever(request, 'payment request');
  }
}
