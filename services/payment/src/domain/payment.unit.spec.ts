import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeciderSpecification } from '@platform/domain/testing';
import {
  CaptureExceedsAuthorization,
  IllegalPaymentTransition,
  OUTCOME_UNKNOWN,
  paymentDecider,
  paymentStreamId,
  type AuthorizationOutcome,
  type CancellationOutcome,
  type CaptureOutcome,
  type PaymentEvent,
  type PaymentTerms,
} from './payment';

const spec = DeciderSpecification.for(paymentDecider);
const orderId = '6f1c2a56-8d0e-4a53-9a43-0b2d3a4e5f61';
const now = '2026-01-01T00:00:00.000Z';
const terms: PaymentTerms = { orderId, customerId: 'c-1', amount: 2500, currency: 'EUR' };

// Object mothers for the history a test starts from.
const authorized: PaymentEvent = {
  type: 'PaymentAuthorized',
  data: { ...terms, authorizationId: 'auth_1', at: now },
};
const declined: PaymentEvent = {
  type: 'PaymentDeclined',
  data: { ...terms, reason: 'card-declined', at: now },
};
const unknown: PaymentEvent = {
  type: 'PaymentAuthorizationOutcomeUnknown',
  data: { ...terms, reason: OUTCOME_UNKNOWN, at: now },
};
const captured: PaymentEvent = {
  type: 'PaymentCaptured',
  data: { orderId, authorizationId: 'auth_1', captureId: 'cap_1', amount: 2500, at: now },
};
const captureFailed: PaymentEvent = {
  type: 'PaymentCaptureFailed',
  data: { orderId, amount: 2500, reason: 'provider-unavailable', at: now },
};
const voided: PaymentEvent = {
  type: 'PaymentVoided',
  data: {
    orderId,
    authorizationId: 'auth_1',
    voidId: 'void_1',
    amount: 2500,
    reason: 'r',
    at: now,
  },
};
const refunded: PaymentEvent = {
  type: 'PaymentRefunded',
  data: { orderId, captureId: 'cap_1', refundId: 'ref_1', amount: 2500, reason: 'r', at: now },
};
const foundNothing: PaymentEvent = {
  type: 'PaymentCancellationFoundNothing',
  data: { orderId, reason: 'r', at: now },
};

const authorize = (outcome: AuthorizationOutcome) => ({
  type: 'RecordAuthorization' as const,
  data: { terms, outcome, now },
});
const capture = (amount: number, outcome: CaptureOutcome) => ({
  type: 'RecordCapture' as const,
  data: { orderId, amount, outcome, now },
});
const cancel = (outcome: CancellationOutcome) => ({
  type: 'RecordCancellation' as const,
  data: { orderId, reason: 'r', outcome, now },
});

describe('Payment aggregate', () => {
  describe('authorization', () => {
    it('when the provider authorizes, then PaymentAuthorized with the authorization id', () => {
      spec
        .given([])
        .when(authorize({ status: 'authorized', authorizationId: 'auth_1' }))
        .then([authorized])
        .thenState((state) => {
          assert.equal(state.status, 'Authorized');
        });
    });

    it('when the provider declines, then PaymentDeclined with its reason', () => {
      spec
        .given([])
        .when(authorize({ status: 'declined', reason: 'card-declined' }))
        .then([declined])
        .thenState((state) => {
          assert.equal(state.status, 'Declined');
        });
    });

    it('when no answer came back, then the authorization outcome is recorded as unknown', () => {
      spec
        .given([])
        .when(authorize({ status: 'unknown', reason: OUTCOME_UNKNOWN }))
        .then([unknown])
        .thenState((state) => {
          assert.equal(state.status, 'AuthorizationUnknown');
        });
    });

    it('when a payment that already has an outcome is authorized again, then it is refused', () => {
      for (const history of [[authorized], [declined], [unknown], [foundNothing]]) {
        spec
          .given(history)
          .when(authorize({ status: 'authorized', authorizationId: 'auth_2' }))
          .thenThrows(IllegalPaymentTransition, /cannot authorize/);
      }
    });
  });

  describe('capture', () => {
    it('when an authorized payment is captured, then PaymentCaptured with the captured amount', () => {
      spec
        .given([authorized])
        .when(capture(2500, { status: 'captured', captureId: 'cap_1', amount: 2500 }))
        .then([captured])
        .thenState((state) => {
          assert.deepEqual(state.status === 'Captured' && state.capturedAmount, 2500);
        });
    });

    it('when less than authorized is captured, then the capture records that amount', () => {
      spec
        .given([authorized])
        .when(capture(1000, { status: 'captured', captureId: 'cap_1', amount: 1000 }))
        .then([
          {
            type: 'PaymentCaptured',
            data: { orderId, authorizationId: 'auth_1', captureId: 'cap_1', amount: 1000, at: now },
          },
        ]);
    });

    it('when a capture above the authorized amount is recorded, then it is refused', () => {
      spec
        .given([authorized])
        .when(capture(2501, { status: 'captured', captureId: 'cap_1', amount: 2501 }))
        .thenThrows(CaptureExceedsAuthorization, /2501 exceeds the authorized amount 2500/);
    });

    it('when the capture fails, then PaymentCaptureFailed and the authorization is still held', () => {
      spec
        .given([authorized])
        .when(capture(2500, { status: 'failed', reason: 'provider-unavailable' }))
        .then([captureFailed])
        .thenState((state) => {
          assert.equal(state.status, 'CaptureFailed');
          assert.equal(state.authorizationId, 'auth_1');
        });
    });

    it('when a captured payment is captured again, then nothing happens (one effective capture)', () => {
      spec
        .given([authorized, captured])
        .when(capture(2500, { status: 'captured', captureId: 'cap_2', amount: 2500 }))
        .thenNothing();
    });

    it('when a payment that is not authorized is captured, then it is refused', () => {
      for (const history of [
        [],
        [declined],
        [unknown],
        [authorized, voided],
        [authorized, captureFailed],
      ]) {
        spec
          .given(history)
          .when(capture(2500, { status: 'captured', captureId: 'cap_1', amount: 2500 }))
          .thenThrows(IllegalPaymentTransition, /cannot capture/);
      }
    });
  });

  describe('cancellation', () => {
    it('when an authorized payment is voided, then PaymentVoided', () => {
      spec
        .given([authorized])
        .when(
          cancel({ status: 'voided', authorizationId: 'auth_1', voidId: 'void_1', amount: 2500 }),
        )
        .then([voided])
        .thenState((state) => {
          assert.equal(state.status, 'Voided');
        });
    });

    it('when a payment whose capture failed is voided, then PaymentVoided', () => {
      spec
        .given([authorized, captureFailed])
        .when(
          cancel({ status: 'voided', authorizationId: 'auth_1', voidId: 'void_1', amount: 2500 }),
        )
        .then([voided]);
    });

    it('when a captured payment is refunded, then PaymentRefunded with the captured amount', () => {
      spec
        .given([authorized, captured])
        .when(cancel({ status: 'refunded', captureId: 'cap_1', refundId: 'ref_1', amount: 2500 }))
        .then([refunded])
        .thenState((state) => {
          assert.equal(state.status, 'Refunded');
        });
    });

    it('when a capture we never heard of turns out to have happened, then the refund is recorded', () => {
      spec
        .given([authorized, captureFailed])
        .when(cancel({ status: 'refunded', captureId: 'cap_1', refundId: 'ref_1', amount: 2500 }))
        .then([refunded]);
    });

    it('when an unknown authorization is found at the provider and voided, then PaymentVoided', () => {
      spec
        .given([unknown])
        .when(
          cancel({ status: 'voided', authorizationId: 'auth_9', voidId: 'void_9', amount: 2500 }),
        )
        .then([
          {
            type: 'PaymentVoided',
            data: {
              orderId,
              authorizationId: 'auth_9',
              voidId: 'void_9',
              amount: 2500,
              reason: 'r',
              at: now,
            },
          },
        ]);
    });

    it('when the provider reports the authorization already voided, then the void has no id', () => {
      spec
        .given([authorized])
        .when(cancel({ status: 'voided', authorizationId: 'auth_1', amount: 2500 }))
        .then([
          {
            type: 'PaymentVoided',
            data: { orderId, authorizationId: 'auth_1', amount: 2500, reason: 'r', at: now },
          },
        ]);
    });

    it('when nothing was ever authorized, then the cancellation found nothing', () => {
      for (const history of [[], [declined], [unknown]]) {
        spec
          .given(history)
          .when(cancel({ status: 'nothing-to-cancel' }))
          .then([foundNothing])
          .thenState((state) => {
            assert.equal(state.status, 'NothingToCancel');
          });
      }
    });

    it('when a declined payment is cancelled, then its decline reason is kept for repeated replies', () => {
      spec
        .given([declined])
        .when(cancel({ status: 'nothing-to-cancel' }))
        .thenState((state) => {
          assert.equal(state.status === 'NothingToCancel' && state.declineReason, 'card-declined');
        });
    });

    it('when a payment that holds money is recorded as having nothing to cancel, then it is refused', () => {
      for (const history of [[authorized], [authorized, captured], [authorized, captureFailed]]) {
        spec
          .given(history)
          .when(cancel({ status: 'nothing-to-cancel' }))
          .thenThrows(IllegalPaymentTransition, /find nothing to cancel/);
      }
    });

    it('when a cancellation is recorded twice, then the second is a no-op', () => {
      spec
        .given([authorized, voided])
        .when(
          cancel({ status: 'voided', authorizationId: 'auth_1', voidId: 'void_1', amount: 2500 }),
        )
        .thenNothing();
      spec
        .given([authorized, captured, refunded])
        .when(cancel({ status: 'refunded', captureId: 'cap_1', refundId: 'ref_1', amount: 2500 }))
        .thenNothing();
      spec
        .given([foundNothing])
        .when(cancel({ status: 'nothing-to-cancel' }))
        .thenNothing();
    });

    it('when a second hold for the same order is found after a void, then it is voided too', () => {
      spec
        .given([unknown, voided])
        .when(
          cancel({ status: 'voided', authorizationId: 'auth_2', voidId: 'void_2', amount: 2500 }),
        )
        .then([
          {
            type: 'PaymentVoided',
            data: {
              orderId,
              authorizationId: 'auth_2',
              voidId: 'void_2',
              amount: 2500,
              reason: 'r',
              at: now,
            },
          },
        ])
        .thenState((state) => {
          assert.deepEqual(state.status === 'Voided' && state.voidedAuthorizationIds, [
            'auth_1',
            'auth_2',
          ]);
        });
    });

    it('when a void names another authorization than the one held, then it is refused', () => {
      spec
        .given([authorized])
        .when(cancel({ status: 'voided', authorizationId: 'auth_2', amount: 2500 }))
        .thenThrows(IllegalPaymentTransition, /another authorization/);
    });

    it('when a captured payment is voided, or a payment never captured is refunded, then it is refused', () => {
      spec
        .given([authorized, captured])
        .when(cancel({ status: 'voided', authorizationId: 'auth_1', amount: 2500 }))
        .thenThrows(IllegalPaymentTransition, /cannot void/);
      spec
        .given([declined])
        .when(cancel({ status: 'refunded', captureId: 'cap_1', amount: 2500 }))
        .thenThrows(IllegalPaymentTransition, /cannot refund/);
    });
  });

  it('when a stream id is built, then it is payment-<orderId>', () => {
    assert.equal(paymentStreamId(orderId), `payment-${orderId}`);
  });
});
