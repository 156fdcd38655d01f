import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replay } from '@platform/domain';
import {
  OUTCOME_UNKNOWN,
  PAYMENT_CANCELLED,
  paymentDecider,
  type PaymentEvent,
  type PaymentState,
  type PaymentTerms,
} from './payment';
import { NoReplyForState, nextStep, replyFor, type PaymentRequest } from './payment-steps';

const orderId = '7a1c2a56-8d0e-4a53-9a43-0b2d3a4e5f62';
const at = '2026-01-01T00:00:00.000Z';
const terms: PaymentTerms = { orderId, customerId: 'c-1', amount: 2500, currency: 'EUR' };

const authorizeRequest: PaymentRequest = { type: 'AuthorizePayment', data: terms };
const captureRequest = (amount = 2500): PaymentRequest => ({
  type: 'CapturePayment',
  data: { orderId, amount },
});
const cancelRequest: PaymentRequest = { type: 'CancelPayment', data: { orderId, reason: 'saga' } };

const authorized: PaymentEvent = {
  type: 'PaymentAuthorized',
  data: { ...terms, authorizationId: 'auth_1', at },
};
const history: Record<PaymentState['status'], PaymentEvent[]> = {
  None: [],
  Authorized: [authorized],
  Declined: [{ type: 'PaymentDeclined', data: { ...terms, reason: 'card-declined', at } }],
  AuthorizationUnknown: [
    { type: 'PaymentAuthorizationOutcomeUnknown', data: { ...terms, reason: OUTCOME_UNKNOWN, at } },
  ],
  CaptureFailed: [
    authorized,
    {
      type: 'PaymentCaptureFailed',
      data: { orderId, amount: 2500, reason: 'provider-unavailable', at },
    },
  ],
  Captured: [
    authorized,
    {
      type: 'PaymentCaptured',
      data: { orderId, authorizationId: 'auth_1', captureId: 'cap_1', amount: 2000, at },
    },
  ],
  Voided: [
    authorized,
    {
      type: 'PaymentVoided',
      data: { orderId, authorizationId: 'auth_1', voidId: 'void_1', amount: 2500, reason: 'r', at },
    },
  ],
  Refunded: [
    authorized,
    {
      type: 'PaymentCaptured',
      data: { orderId, authorizationId: 'auth_1', captureId: 'cap_1', amount: 2000, at },
    },
    {
      type: 'PaymentRefunded',
      data: { orderId, captureId: 'cap_1', refundId: 'ref_1', amount: 2000, reason: 'r', at },
    },
  ],
  NothingToCancel: [
    { type: 'PaymentCancellationFoundNothing', data: { orderId, reason: 'r', at } },
  ],
};
const stateOf = (status: PaymentState['status']): PaymentState => {
  const state = replay(paymentDecider, history[status]);
  assert.equal(state.status, status, 'fixture history must reach the named state');
  return state;
};

describe('Payment steps', () => {
  describe('AuthorizePayment', () => {
    it('when no authorization was asked for yet, then the provider is asked to authorize', () => {
      assert.deepEqual(nextStep(authorizeRequest, stateOf('None')), { kind: 'authorize', terms });
    });

    it('when the payment already has any outcome, then the provider is not called again', () => {
      for (const status of [
        'Authorized',
        'Declined',
        'AuthorizationUnknown',
        'Captured',
        'Voided',
        'NothingToCancel',
      ] as const) {
        assert.deepEqual(nextStep(authorizeRequest, stateOf(status)), { kind: 'reply' }, status);
      }
    });

    it('when it is repeated, then the reply is the current outcome', () => {
      assert.deepEqual(replyFor(authorizeRequest, stateOf('Authorized')), {
        type: 'PaymentAuthorized',
        payload: { orderId, amount: 2500, authorizationId: 'auth_1' },
      });
      assert.deepEqual(replyFor(authorizeRequest, stateOf('Captured')).type, 'PaymentAuthorized');
      assert.deepEqual(replyFor(authorizeRequest, stateOf('Declined')), {
        type: 'PaymentDeclined',
        payload: { orderId, reason: 'card-declined' },
      });
      assert.deepEqual(replyFor(authorizeRequest, stateOf('AuthorizationUnknown')), {
        type: 'PaymentDeclined',
        payload: { orderId, reason: OUTCOME_UNKNOWN },
      });
    });

    it('when the payment was cancelled, then a late AuthorizePayment is declined without a call', () => {
      assert.deepEqual(replyFor(authorizeRequest, stateOf('NothingToCancel')), {
        type: 'PaymentDeclined',
        payload: { orderId, reason: PAYMENT_CANCELLED },
      });
      assert.deepEqual(replyFor(authorizeRequest, stateOf('Voided')), {
        type: 'PaymentDeclined',
        payload: { orderId, reason: PAYMENT_CANCELLED },
      });
    });
  });

  describe('CapturePayment', () => {
    it('when the payment is authorized, then the provider is asked to capture that authorization', () => {
      assert.deepEqual(nextStep(captureRequest(2500), stateOf('Authorized')), {
        kind: 'capture',
        authorizationId: 'auth_1',
        amount: 2500,
      });
    });

    it('when the amount exceeds the authorization, then it is refused without a call', () => {
      assert.deepEqual(nextStep(captureRequest(2501), stateOf('Authorized')), {
        kind: 'refuse-capture',
        reason: 'capture amount 2501 exceeds the authorized amount 2500',
      });
    });

    it('when the payment is already captured, then PaymentCaptured again, without a call', () => {
      assert.deepEqual(nextStep(captureRequest(), stateOf('Captured')), { kind: 'reply' });
      assert.deepEqual(replyFor(captureRequest(), stateOf('Captured')), {
        type: 'PaymentCaptured',
        payload: { orderId, amount: 2000 },
      });
    });

    it('when the payment is not authorized, then PaymentCaptureFailed without a call', () => {
      for (const status of ['None', 'Declined', 'AuthorizationUnknown'] as const) {
        assert.deepEqual(nextStep(captureRequest(), stateOf(status)), { kind: 'reply' });
        assert.deepEqual(replyFor(captureRequest(), stateOf(status)), {
          type: 'PaymentCaptureFailed',
          payload: { orderId, reason: 'payment not authorized' },
        });
      }
    });

    it('when the capture failed before, then the same failure is replied again', () => {
      assert.deepEqual(nextStep(captureRequest(), stateOf('CaptureFailed')), { kind: 'reply' });
      assert.deepEqual(replyFor(captureRequest(), stateOf('CaptureFailed')), {
        type: 'PaymentCaptureFailed',
        payload: { orderId, reason: 'provider-unavailable' },
      });
    });

    it('when the payment was cancelled, then PaymentCaptureFailed without a call', () => {
      for (const status of ['Voided', 'Refunded', 'NothingToCancel'] as const) {
        assert.deepEqual(replyFor(captureRequest(), stateOf(status)), {
          type: 'PaymentCaptureFailed',
          payload: { orderId, reason: PAYMENT_CANCELLED },
        });
      }
    });
  });

  describe('CancelPayment', () => {
    it('when authorized and not captured, then the authorization is voided', () => {
      assert.deepEqual(nextStep(cancelRequest, stateOf('Authorized')), {
        kind: 'void',
        authorizationId: 'auth_1',
        amount: 2500,
      });
      assert.deepEqual(nextStep(cancelRequest, stateOf('CaptureFailed')), {
        kind: 'void',
        authorizationId: 'auth_1',
        amount: 2500,
      });
    });

    it('when captured, then the captured amount is refunded', () => {
      assert.deepEqual(nextStep(cancelRequest, stateOf('Captured')), {
        kind: 'refund',
        captureId: 'cap_1',
        amount: 2000,
      });
    });

    it('when never authorized, then there is nothing to cancel', () => {
      assert.deepEqual(nextStep(cancelRequest, stateOf('None')), { kind: 'nothing-to-cancel' });
      assert.deepEqual(nextStep(cancelRequest, stateOf('Declined')), { kind: 'nothing-to-cancel' });
    });

    it('when the authorization outcome is unknown, then it is looked for at the provider', () => {
      assert.deepEqual(nextStep(cancelRequest, stateOf('AuthorizationUnknown')), {
        kind: 'find-and-void',
      });
    });

    it('when already cancelled, then the same outcome is replied again without a call', () => {
      const expected = {
        Voided: 'voided',
        Refunded: 'refunded',
        NothingToCancel: 'nothing-to-cancel',
      } as const;
      for (const [status, outcome] of Object.entries(expected) as [
        keyof typeof expected,
        string,
      ][]) {
        assert.deepEqual(nextStep(cancelRequest, stateOf(status)), { kind: 'reply' });
        assert.deepEqual(replyFor(cancelRequest, stateOf(status)), {
          type: 'PaymentCancelled',
          payload: { orderId, outcome },
        });
      }
    });

    it('when asked for a reply before the cancellation happened, then it refuses to invent one', () => {
      assert.throws(() => replyFor(cancelRequest, stateOf('Authorized')), NoReplyForState);
      assert.throws(() => replyFor(captureRequest(), stateOf('Authorized')), NoReplyForState);
      assert.throws(() => replyFor(authorizeRequest, stateOf('None')), NoReplyForState);
    });
  });
});
