import { assertNever, type Decider } from '@platform/domain';
import {
  AmountExceedsAuthorized,
  AmountExceedsRefundable,
  AuthorizationNotFound,
  CaptureNotFound,
  InvalidAuthorizationState,
} from './errors';

/** The four mutating provider calls; fault knobs target them by these names. */
export const OPERATIONS = ['authorize', 'capture', 'void', 'refund'] as const;
export type Operation = (typeof OPERATIONS)[number];

export type DeclineReason = 'amount-limit' | 'card-declined' | 'customer-blocked';

/**
 * A card number that declines whatever the knobs say, like the test cards real providers
 * publish, so a scenario can force a decline without touching the admin API.
 */
export const ALWAYS_DECLINED_CARD = '4000000000000002';

export interface DeclineRules {
  /** Authorizations above this amount (minor units) decline with 'amount-limit'. */
  readonly amountLimit?: number | undefined;
  readonly cards: readonly string[];
  readonly customers: readonly string[];
}

export const NO_DECLINE_RULES: DeclineRules = { cards: [], customers: [] };

/** When and why a command happens: supplied by the caller, never read from a clock here. */
export interface CommandMeta {
  readonly at: string;
  readonly idempotencyKey: string;
}

export type AuthorizationCommand =
  | {
      type: 'Authorize';
      authorizationId: string;
      reference: string;
      customerId: string;
      card?: string | undefined;
      amount: number;
      currency: string;
      declineRules: DeclineRules;
      meta: CommandMeta;
    }
  | {
      type: 'Capture';
      authorizationId: string;
      captureId: string;
      amount: number;
      meta: CommandMeta;
    }
  | { type: 'Void'; authorizationId: string; voidId: string; meta: CommandMeta }
  | { type: 'Refund'; refundId: string; captureId: string; amount: number; meta: CommandMeta };

interface Movement {
  authorizationId: string;
  reference: string;
  amount: number;
  currency: string;
  at: string;
  idempotencyKey: string;
}

export type AuthorizationHeld = Movement & { type: 'AuthorizationHeld'; customerId: string };
export type AuthorizationDeclined = Movement & {
  type: 'AuthorizationDeclined';
  customerId: string;
  reason: DeclineReason;
};
export type AuthorizationCaptured = Movement & { type: 'AuthorizationCaptured'; captureId: string };
export type AuthorizationVoided = Movement & { type: 'AuthorizationVoided'; voidId: string };
export type CaptureRefunded = Movement & {
  type: 'CaptureRefunded';
  refundId: string;
  captureId: string;
};

/** Events that move money; these, and only these, go to the ledger. */
export type MoneyMovement =
  AuthorizationHeld | AuthorizationCaptured | AuthorizationVoided | CaptureRefunded;
export type AuthorizationEvent = MoneyMovement | AuthorizationDeclined;

export function movesMoney(event: AuthorizationEvent): event is MoneyMovement {
  return event.type !== 'AuthorizationDeclined';
}

interface Details {
  id: string;
  reference: string;
  customerId: string;
  amount: number;
  currency: string;
  createdAt: string;
}

export interface Refund {
  id: string;
  amount: number;
  at: string;
}

export type AuthorizationState =
  | { status: 'none' }
  | (Details & { status: 'declined'; declineReason: DeclineReason })
  | (Details & { status: 'authorized' })
  | (Details & { status: 'voided'; voidedAt: string })
  | (Details & {
      status: 'captured';
      capture: { id: string; amount: number; at: string };
      refunds: readonly Refund[];
    });

export function declineReason(
  command: { amount: number; customerId: string; card?: string | undefined },
  rules: DeclineRules,
): DeclineReason | undefined {
  if (rules.customers.includes(command.customerId)) return 'customer-blocked';
  if (
    command.card !== undefined &&
    (command.card === ALWAYS_DECLINED_CARD || rules.cards.includes(command.card))
  ) {
    return 'card-declined';
  }
  if (rules.amountLimit !== undefined && command.amount > rules.amountLimit) return 'amount-limit';
  return undefined;
}

export function refundedAmount(refunds: readonly Refund[]): number {
  return refunds.reduce((sum, refund) => sum + refund.amount, 0);
}

/**
 * One authorization and what happened to it. Rules: capture once, at most the authorized amount
 * (the rest is released); void only while authorized (not after a capture); refunds add up to at
 * most the captured amount. Declines hold no money.
 */
export const authorization: Decider<AuthorizationCommand, AuthorizationEvent, AuthorizationState> =
  {
    initialState: () => ({ status: 'none' }),

    decide: (command, state) => {
      const { at, idempotencyKey } = command.meta;
      if (command.type === 'Authorize') {
        if (state.status !== 'none') {
          throw new InvalidAuthorizationState(command.authorizationId, 'authorize', state.status);
        }
        const base = {
          authorizationId: command.authorizationId,
          reference: command.reference,
          customerId: command.customerId,
          amount: command.amount,
          currency: command.currency,
          at,
          idempotencyKey,
        };
        const reason = declineReason(command, command.declineRules);
        return reason === undefined
          ? [{ type: 'AuthorizationHeld', ...base }]
          : [{ type: 'AuthorizationDeclined', ...base, reason }];
      }
      if (state.status === 'none') {
        if (command.type === 'Refund') throw new CaptureNotFound(command.captureId);
        throw new AuthorizationNotFound(command.authorizationId);
      }
      const movement = {
        authorizationId: state.id,
        reference: state.reference,
        currency: state.currency,
        at,
        idempotencyKey,
      };
      switch (command.type) {
        case 'Capture':
          if (state.status !== 'authorized') {
            throw new InvalidAuthorizationState(state.id, 'capture', state.status);
          }
          if (command.amount > state.amount) {
            throw new AmountExceedsAuthorized(command.amount, state.amount);
          }
          return [
            {
              type: 'AuthorizationCaptured',
              ...movement,
              captureId: command.captureId,
              amount: command.amount,
            },
          ];
        case 'Void':
          if (state.status !== 'authorized') {
            throw new InvalidAuthorizationState(state.id, 'void', state.status);
          }
          return [
            {
              type: 'AuthorizationVoided',
              ...movement,
              voidId: command.voidId,
              amount: state.amount,
            },
          ];
        case 'Refund': {
          if (state.status !== 'captured' || state.capture.id !== command.captureId) {
            throw new CaptureNotFound(command.captureId);
          }
          const refundable = state.capture.amount - refundedAmount(state.refunds);
          if (command.amount > refundable) {
            throw new AmountExceedsRefundable(command.amount, refundable);
          }
          return [
            {
              type: 'CaptureRefunded',
              ...movement,
              refundId: command.refundId,
              captureId: command.captureId,
              amount: command.amount,
            },
          ];
        }
        default:
          return assertNever(command, 'command');
      }
    },

    evolve: (state, event) => {
      switch (event.type) {
        case 'AuthorizationHeld':
        case 'AuthorizationDeclined': {
          const details: Details = {
            id: event.authorizationId,
            reference: event.reference,
            customerId: event.customerId,
            amount: event.amount,
            currency: event.currency,
            createdAt: event.at,
          };
          return event.type === 'AuthorizationHeld'
            ? { ...details, status: 'authorized' }
            : { ...details, status: 'declined', declineReason: event.reason };
        }
        case 'AuthorizationCaptured':
          if (state.status !== 'authorized') return state;
          return {
            ...state,
            status: 'captured',
            capture: { id: event.captureId, amount: event.amount, at: event.at },
            refunds: [],
          };
        case 'AuthorizationVoided':
          if (state.status !== 'authorized') return state;
          return { ...state, status: 'voided', voidedAt: event.at };
        case 'CaptureRefunded':
          if (state.status !== 'captured') return state;
          return {
            ...state,
            refunds: [...state.refunds, { id: event.refundId, amount: event.amount, at: event.at }],
          };
        default:
          return assertNever(event, 'event');
      }
    },
  };
