import { describe, it } from 'node:test';
import { DeciderSpecification } from '@platform/domain/testing';
import {
  authorization,
  NO_DECLINE_RULES,
  type AuthorizationEvent,
  type DeclineRules,
} from './authorization';
import {
  AmountExceedsAuthorized,
  AmountExceedsRefundable,
  AuthorizationNotFound,
  CaptureNotFound,
  InvalidAuthorizationState,
} from './errors';

const spec = DeciderSpecification.for(authorization);
const meta = { at: '2025-01-01T00:00:00.000Z', idempotencyKey: 'key-1' };
const movement = {
  authorizationId: 'auth_1',
  reference: 'order-1',
  currency: 'EUR',
  at: meta.at,
  idempotencyKey: 'key-0',
};

const authorize = (
  overrides: { amount?: number; card?: string; customerId?: string } = {},
  rules: DeclineRules = NO_DECLINE_RULES,
) =>
  ({
    type: 'Authorize',
    authorizationId: 'auth_1',
    reference: 'order-1',
    customerId: 'cust-1',
    amount: 5000,
    currency: 'EUR',
    declineRules: rules,
    meta,
    ...overrides,
  }) as const;

const held: AuthorizationEvent = {
  type: 'AuthorizationHeld',
  ...movement,
  customerId: 'cust-1',
  amount: 5000,
};
const captured: AuthorizationEvent = {
  type: 'AuthorizationCaptured',
  ...movement,
  captureId: 'cap_1',
  amount: 3000,
};
const voided: AuthorizationEvent = {
  type: 'AuthorizationVoided',
  ...movement,
  voidId: 'void_1',
  amount: 5000,
};
const declined: AuthorizationEvent = {
  type: 'AuthorizationDeclined',
  ...movement,
  customerId: 'cust-1',
  amount: 5000,
  reason: 'customer-blocked',
};
const refunded = (amount: number, refundId = 'ref_1'): AuthorizationEvent => ({
  type: 'CaptureRefunded',
  ...movement,
  refundId,
  captureId: 'cap_1',
  amount,
});

const capture = (amount: number) =>
  ({ type: 'Capture', authorizationId: 'auth_1', captureId: 'cap_2', amount, meta }) as const;
const refund = (amount: number, captureId = 'cap_1') =>
  ({ type: 'Refund', refundId: 'ref_9', captureId, amount, meta }) as const;
const voidIt = { type: 'Void', authorizationId: 'auth_1', voidId: 'void_2', meta } as const;

describe('authorization decider: authorize', () => {
  it('when no rule matches, then the amount is held', () => {
    spec
      .given([])
      .when(authorize())
      .then([{ ...held, idempotencyKey: 'key-1' }]);
  });

  it('when the amount is above the limit, then declined with amount-limit; at the limit, held', () => {
    const rules = { ...NO_DECLINE_RULES, amountLimit: 5000 };
    spec
      .given([])
      .when(authorize({ amount: 5001 }, rules))
      .then([
        {
          type: 'AuthorizationDeclined',
          ...movement,
          idempotencyKey: 'key-1',
          customerId: 'cust-1',
          amount: 5001,
          reason: 'amount-limit',
        },
      ]);
    spec
      .given([])
      .when(authorize({ amount: 5000 }, rules))
      .thenState((state) => {
        if (state.status !== 'authorized')
          throw new Error(`expected authorized, got ${state.status}`);
      });
  });

  it('when a customer is blocked and the card is declined too, then the customer reason wins', () => {
    const rules = { amountLimit: 1, cards: ['4111'], customers: ['cust-1'] };
    spec
      .given([])
      .when(authorize({ card: '4111' }, rules))
      .thenState((state) => {
        if (state.status !== 'declined' || state.declineReason !== 'customer-blocked') {
          throw new Error(`expected customer-blocked, got ${JSON.stringify(state)}`);
        }
      });
  });

  it('when the card is listed or the built-in declined card, then card-declined', () => {
    for (const [card, rules] of [
      ['4111', { ...NO_DECLINE_RULES, cards: ['4111'] }],
      ['4000000000000002', NO_DECLINE_RULES],
    ] as const) {
      spec
        .given([])
        .when(authorize({ card }, rules))
        .thenState((state) => {
          if (state.status !== 'declined' || state.declineReason !== 'card-declined') {
            throw new Error(`expected card-declined for ${card}, got ${JSON.stringify(state)}`);
          }
        });
    }
  });

  it('when the authorization id already exists, then it is refused', () => {
    spec
      .given([held])
      .when(authorize())
      .thenThrows(InvalidAuthorizationState, /cannot authorize/);
  });
});

describe('authorization decider: capture, void, refund', () => {
  it('when an authorization is captured within its amount, then captured', () => {
    spec
      .given([held])
      .when(capture(5000))
      .then([{ ...captured, idempotencyKey: 'key-1', captureId: 'cap_2', amount: 5000 }]);
  });

  it('when the capture is above the authorized amount, then AmountExceedsAuthorized', () => {
    spec
      .given([held])
      .when(capture(5001))
      .thenThrows(AmountExceedsAuthorized, /5001 exceeds the authorized amount 5000/);
  });

  it('when there is no authorization, then AuthorizationNotFound', () => {
    spec
      .given([])
      .when(capture(1))
      .thenThrows(AuthorizationNotFound, /auth_1/);
    spec
      .given([])
      .when(voidIt)
      .thenThrows(AuthorizationNotFound, /auth_1/);
  });

  it('when captured, voided or declined, then a capture is refused', () => {
    for (const history of [[held, captured], [held, voided], [declined]]) {
      spec
        .given(history)
        .when(capture(1))
        .thenThrows(InvalidAuthorizationState, /cannot capture/);
    }
  });

  it('when authorized, then a void releases the whole amount', () => {
    spec
      .given([held])
      .when(voidIt)
      .then([{ ...voided, idempotencyKey: 'key-1', voidId: 'void_2' }])
      .thenState((state) => {
        if (state.status !== 'voided') throw new Error(state.status);
      });
  });

  it('when captured, voided or declined, then a void is refused', () => {
    for (const history of [[held, captured], [held, voided], [declined]]) {
      spec
        .given(history)
        .when(voidIt)
        .thenThrows(InvalidAuthorizationState, /cannot void/);
    }
  });

  it('when refunds stay within the capture, then refunded; beyond it, AmountExceedsRefundable', () => {
    spec
      .given([held, captured, refunded(1000)])
      .when(refund(2000))
      .then([{ ...refunded(2000, 'ref_9'), idempotencyKey: 'key-1' }]);
    spec
      .given([held, captured, refunded(1000)])
      .when(refund(2001))
      .thenThrows(AmountExceedsRefundable, /2001 exceeds the refundable amount 2000/);
  });

  it('when the capture id is unknown or not captured, then CaptureNotFound', () => {
    spec.given([held, captured]).when(refund(1, 'cap_other')).thenThrows(CaptureNotFound);
    spec.given([held]).when(refund(1)).thenThrows(CaptureNotFound);
    spec.given([]).when(refund(1)).thenThrows(CaptureNotFound);
  });
});
