import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replay } from '@platform/domain';
import { DeciderSpecification } from '@platform/domain/testing';
import {
  createOrderSaga,
  outgoingCommands,
  type SagaEvent,
  type SagaInput,
  type SagaState,
} from './order-saga';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const orderId = '3f1c2a56-8d0e-4a53-9a43-0b2d3a4e5f60';
const lines = [{ sku: 'SKU-1', quantity: 2 }];

const saga = createOrderSaga({ stepTimeoutMs: 10_000, maxAttempts: 3, retryDelayMs: 1_000 });
const spec = DeciderSpecification.for(saga);

// Object mothers: the history of a saga up to each step.
const started: SagaEvent[] = [
  { type: 'SagaStarted', data: { orderId, customerId: 'c-1', lines, currency: 'EUR', at: T0 } },
  { type: 'StockReservationRequested', data: { deadlineAt: at(10) } },
];
const reserved: SagaEvent[] = [
  ...started,
  { type: 'StockReservationConfirmed', data: { total: 2000, at: at(1) } },
  { type: 'PaymentAuthorizationRequested', data: { amount: 2000, deadlineAt: at(11) } },
];
const authorized: SagaEvent[] = [
  ...reserved,
  { type: 'PaymentAuthorizationConfirmed', data: { authorizationId: 'auth-1', at: at(2) } },
  { type: 'PaymentCaptureRequested', data: { amount: 2000, attempt: 1, deadlineAt: at(12) } },
];
const captured: SagaEvent[] = [
  ...authorized,
  { type: 'PaymentCaptureConfirmed', data: { at: at(3) } },
  { type: 'StockCommitRequested', data: { attempt: 1, deadlineAt: at(13) } },
];
const compensatingAfterTimeout: SagaEvent[] = [
  ...reserved,
  {
    type: 'CompensationStarted',
    data: {
      reason: 'payment authorization timed out',
      releaseStock: true,
      cancelPayment: true,
      deadlineAt: at(21),
      at: at(11),
    },
  },
];
const rejectedAfterTimeout: SagaEvent[] = [
  ...compensatingAfterTimeout,
  { type: 'StockReleaseConfirmed', data: { at: at(12) } },
  { type: 'PaymentCancellationConfirmed', data: { outcome: 'nothing-to-cancel', at: at(12) } },
  { type: 'SagaRejected', data: { reason: 'payment authorization timed out', at: at(12) } },
];

const input = {
  stockReserved: (now = at(1)): SagaInput => ({
    type: 'StockReserved',
    data: {
      orderId,
      lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1000 }],
      total: 2000,
      currency: 'EUR',
    },
    now,
  }),
  authorized: (now = at(2)): SagaInput => ({
    type: 'PaymentAuthorized',
    data: { orderId, amount: 2000, authorizationId: 'auth-1' },
    now,
  }),
  captured: (now = at(3)): SagaInput => ({
    type: 'PaymentCaptured',
    data: { orderId, amount: 2000 },
    now,
  }),
  released: (now: string): SagaInput => ({
    type: 'StockReleased',
    data: { orderId, released: true },
    now,
  }),
  cancelled: (
    now: string,
    outcome: 'voided' | 'refunded' | 'nothing-to-cancel' = 'voided',
  ): SagaInput => ({
    type: 'PaymentCancelled',
    data: { orderId, outcome },
    now,
  }),
  deadline: (
    step: 'ReserveStock' | 'AuthorizePayment' | 'CapturePayment' | 'CommitStock' | 'Compensate',
    attempt: number,
    now: string,
  ): SagaInput => ({
    type: 'DeadlineFired',
    data: { step, attempt },
    now,
  }),
};

const stateOf = (events: SagaEvent[]): SagaState => replay(saga, events);
const lastOf = (events: SagaEvent[]): SagaEvent => {
  const last = events.at(-1);
  assert.ok(last, 'history is not empty');
  return last;
};

describe('order saga: happy path', () => {
  it('when the saga starts, then it asks to reserve stock with a deadline', () => {
    spec
      .given([])
      .when({
        type: 'StartSaga',
        data: { orderId, customerId: 'c-1', lines, currency: 'EUR' },
        now: T0,
      })
      .then(started)
      .thenState((state) => {
        assert.equal(state.status, 'ReservingStock');
        assert.deepEqual(state.deadline, { step: 'ReserveStock', attempt: 1, dueAt: at(10) });
      });
  });

  it('when stock is reserved, then it asks to authorize the reserved total', () => {
    spec.given(started).when(input.stockReserved()).then(reserved.slice(2));
  });

  it('when the payment is authorized, then it asks to capture', () => {
    spec.given(reserved).when(input.authorized()).then(authorized.slice(4));
  });

  it('when the payment is captured, then it asks to commit the stock', () => {
    spec.given(authorized).when(input.captured()).then(captured.slice(6));
  });

  it('when the stock is committed, then the saga is confirmed with the total', () => {
    spec
      .given(captured)
      .when({ type: 'StockCommitted', data: { orderId }, now: at(4) })
      .then([{ type: 'SagaConfirmed', data: { total: 2000, at: at(4) } }])
      .thenState((state) => {
        assert.equal(state.status, 'Confirmed');
        assert.equal(state.deadline, undefined, 'no deadline stays armed');
      });
  });
});

describe('order saga: failures and compensation', () => {
  it('when stock is out, then the order is rejected and nothing needs compensating', () => {
    spec
      .given(started)
      .when({
        type: 'StockReservationFailed',
        data: { orderId, reason: 'out-of-stock', sku: 'SKU-1' },
        now: at(1),
      })
      .then([{ type: 'SagaRejected', data: { reason: 'stock: out-of-stock', at: at(1) } }]);
  });

  it('when the reservation times out, then stock is released (it may still be reserved later)', () => {
    spec
      .given(started)
      .when(input.deadline('ReserveStock', 1, at(10)))
      .then([
        {
          type: 'CompensationStarted',
          data: {
            reason: 'stock reservation timed out',
            releaseStock: true,
            cancelPayment: false,
            deadlineAt: at(20),
            at: at(10),
          },
        },
      ]);
  });

  it('when the payment is declined, then stock is released and the payment cancelled (a no-op when nothing was authorized)', () => {
    spec
      .given(reserved)
      .when({ type: 'PaymentDeclined', data: { orderId, reason: 'card-declined' }, now: at(2) })
      .then([
        {
          type: 'CompensationStarted',
          data: {
            reason: 'payment declined: card-declined',
            releaseStock: true,
            cancelPayment: true,
            deadlineAt: at(12),
            at: at(2),
          },
        },
      ]);
  });

  it('when the authorization times out, then stock is released and the payment cancelled', () => {
    spec
      .given(reserved)
      .when(input.deadline('AuthorizePayment', 1, at(11)))
      .then(compensatingAfterTimeout.slice(4));
  });

  it('when compensation is confirmed step by step, then the saga is rejected only after the last one', () => {
    spec
      .given(compensatingAfterTimeout)
      .when(input.released(at(12)))
      .then([{ type: 'StockReleaseConfirmed', data: { at: at(12) } }]);
    spec
      .given([...compensatingAfterTimeout, { type: 'StockReleaseConfirmed', data: { at: at(12) } }])
      .when(input.cancelled(at(12), 'nothing-to-cancel'))
      .then(rejectedAfterTimeout.slice(-2))
      .thenState((state) => {
        assert.equal(state.status, 'Rejected');
      });
  });

  it('when a capture fails, then stock is released and the authorization cancelled', () => {
    spec
      .given(authorized)
      .when({
        type: 'PaymentCaptureFailed',
        data: { orderId, reason: 'provider error' },
        now: at(3),
      })
      .then([
        {
          type: 'CompensationStarted',
          data: {
            reason: 'payment capture failed: provider error',
            releaseStock: true,
            cancelPayment: true,
            deadlineAt: at(13),
            at: at(3),
          },
        },
      ]);
  });

  it('when a capture times out, then it is asked again, and after the last attempt compensated', () => {
    spec
      .given(authorized)
      .when(input.deadline('CapturePayment', 1, at(12)))
      .then([
        { type: 'PaymentCaptureRequested', data: { amount: 2000, attempt: 2, deadlineAt: at(22) } },
      ]);
    spec
      .given([
        ...authorized,
        { type: 'PaymentCaptureRequested', data: { amount: 2000, attempt: 3, deadlineAt: at(32) } },
      ])
      .when(input.deadline('CapturePayment', 3, at(32)))
      .then([
        {
          type: 'CompensationStarted',
          data: {
            reason: 'payment capture timed out',
            releaseStock: true,
            cancelPayment: true,
            deadlineAt: at(42),
            at: at(32),
          },
        },
      ]);
  });

  it('when the stock commit keeps timing out, then the saga needs attention (the customer has paid)', () => {
    spec
      .given(captured)
      .when(input.deadline('CommitStock', 1, at(13)))
      .then([{ type: 'StockCommitRequested', data: { attempt: 2, deadlineAt: at(14) } }]);
    spec
      .given([
        ...captured,
        { type: 'StockCommitRequested', data: { attempt: 3, deadlineAt: at(16) } },
      ])
      .when(input.deadline('CommitStock', 3, at(16)))
      .then([
        {
          type: 'SagaNeedsAttention',
          data: { reason: 'stock commit keeps failing after payment was captured', at: at(16) },
        },
      ]);
  });

  it('when compensation times out, then it is retried with back-off and finally flagged NeedsAttention', () => {
    spec
      .given(compensatingAfterTimeout)
      .when(input.deadline('Compensate', 1, at(21)))
      .then([{ type: 'CompensationRetried', data: { attempt: 2, deadlineAt: at(22) } }]);
    spec
      .given([
        ...compensatingAfterTimeout,
        { type: 'CompensationRetried', data: { attempt: 3, deadlineAt: at(25) } },
      ])
      .when(input.deadline('Compensate', 3, at(25)))
      .then([
        {
          type: 'SagaNeedsAttention',
          data: {
            reason:
              'compensation did not complete after 3 attempts: payment authorization timed out',
            at: at(25),
          },
        },
      ])
      .thenState((state) => {
        assert.equal(state.status, 'NeedsAttention');
      });
  });

  it('when a flagged compensation completes later, then the saga still ends Rejected', () => {
    const flagged: SagaEvent[] = [
      ...compensatingAfterTimeout,
      { type: 'StockReleaseConfirmed', data: { at: at(12) } },
      {
        type: 'SagaNeedsAttention',
        data: { reason: 'compensation did not complete after 3 attempts', at: at(40) },
      },
    ];
    spec
      .given(flagged)
      .when(input.cancelled(at(50), 'voided'))
      .then([
        { type: 'PaymentCancellationConfirmed', data: { outcome: 'voided', at: at(50) } },
        { type: 'SagaRejected', data: { reason: 'payment authorization timed out', at: at(50) } },
      ]);
  });
});

describe('order saga: late and duplicate replies', () => {
  it('when an authorization arrives after the saga was rejected, then it is cancelled, never kept', () => {
    spec
      .given(rejectedAfterTimeout)
      .when(input.authorized(at(30)))
      .then([
        {
          type: 'LateReplyCompensated',
          data: { reply: 'PaymentAuthorized', command: 'CancelPayment', at: at(30) },
        },
      ]);
  });

  it('when a reservation arrives after the saga was rejected, then it is released', () => {
    spec
      .given(rejectedAfterTimeout)
      .when(input.stockReserved(at(30)))
      .then([
        {
          type: 'LateReplyCompensated',
          data: { reply: 'StockReserved', command: 'ReleaseStock', at: at(30) },
        },
      ]);
  });

  it('when an authorization arrives during a compensation that did not cancel payment, then cancelling is added', () => {
    const declined: SagaEvent[] = [
      ...reserved,
      {
        type: 'CompensationStarted',
        data: {
          reason: 'stock reservation timed out',
          releaseStock: true,
          cancelPayment: false,
          deadlineAt: at(20),
          at: at(10),
        },
      },
    ];
    spec
      .given(declined)
      .when(input.authorized(at(11)))
      .then([
        {
          type: 'PaymentCancellationRequested',
          data: { reason: 'late PaymentAuthorized during compensation' },
        },
      ])
      .thenState((state) => {
        assert.equal(state.status !== 'NotStarted' && state.compensation?.cancelPayment, 'pending');
      });
  });

  it('when an authorization arrives during a compensation that already cancels payment, then nothing more is needed', () => {
    spec
      .given(compensatingAfterTimeout)
      .when(input.authorized(at(12)))
      .thenNothing();
  });

  it('when replies are duplicated, then the saga does not move twice', () => {
    spec
      .given(reserved)
      .when(input.stockReserved(at(5)))
      .thenNothing();
    spec
      .given(authorized)
      .when(input.authorized(at(5)))
      .thenNothing();
    spec
      .given(captured)
      .when(input.captured(at(5)))
      .thenNothing();
    spec
      .given([...captured, { type: 'SagaConfirmed', data: { total: 2000, at: at(4) } }])
      .when({ type: 'StockCommitted', data: { orderId }, now: at(5) })
      .thenNothing();
    spec
      .given(rejectedAfterTimeout)
      .when(input.released(at(30)))
      .thenNothing();
    spec
      .given(started)
      .when({
        type: 'StartSaga',
        data: { orderId, customerId: 'c-1', lines, currency: 'EUR' },
        now: at(1),
      })
      .thenNothing();
  });

  it('when a stale deadline fires for a step already left, then it is ignored', () => {
    spec
      .given(reserved)
      .when(input.deadline('ReserveStock', 1, at(10)))
      .thenNothing();
    spec
      .given(authorized)
      .when(input.deadline('CapturePayment', 2, at(30)))
      .thenNothing();
  });

  it('when a reply arrives before the saga started, then it is ignored', () => {
    spec.given([]).when(input.stockReserved()).thenNothing();
  });
});

describe('order saga: commands it sends', () => {
  const sent = (history: SagaEvent[], event: SagaEvent) =>
    outgoingCommands(event, stateOf([...history, event]));

  it('when each forward step is requested, then the matching command goes out with the order id', () => {
    assert.deepEqual(
      outgoingCommands(lastOf(started.slice(0, 1 + 1)), stateOf(started)).map((c) => c.type),
      ['ReserveStock'],
    );
    assert.deepEqual(outgoingCommands(lastOf(reserved.slice(0, 3 + 1)), stateOf(reserved)), [
      {
        type: 'AuthorizePayment',
        payload: { orderId, customerId: 'c-1', amount: 2000, currency: 'EUR' },
      },
    ]);
    assert.deepEqual(outgoingCommands(lastOf(authorized.slice(0, 5 + 1)), stateOf(authorized)), [
      { type: 'CapturePayment', payload: { orderId, amount: 2000 } },
    ]);
    assert.deepEqual(outgoingCommands(lastOf(captured.slice(0, 7 + 1)), stateOf(captured)), [
      { type: 'CommitStock', payload: { orderId } },
    ]);
  });

  it('when compensation starts or is retried, then only what is still pending is sent again', () => {
    assert.deepEqual(
      outgoingCommands(
        lastOf(compensatingAfterTimeout.slice(0, 4 + 1)),
        stateOf(compensatingAfterTimeout),
      ).map((c) => c.type),
      ['ReleaseStock', 'CancelPayment'],
    );
    const releasedHistory: SagaEvent[] = [
      ...compensatingAfterTimeout,
      { type: 'StockReleaseConfirmed', data: { at: at(12) } },
    ];
    assert.deepEqual(
      sent(releasedHistory, {
        type: 'CompensationRetried',
        data: { attempt: 2, deadlineAt: at(22) },
      }).map((c) => c.type),
      ['CancelPayment'],
    );
  });

  it('when a late reply is compensated, then the undoing command goes out', () => {
    assert.deepEqual(
      sent(rejectedAfterTimeout, {
        type: 'LateReplyCompensated',
        data: { reply: 'PaymentAuthorized', command: 'CancelPayment', at: at(30) },
      }),
      [{ type: 'CancelPayment', payload: { orderId, reason: 'late PaymentAuthorized' } }],
    );
  });

  it('when the saga ends, then nothing is sent', () => {
    assert.deepEqual(
      sent(captured, { type: 'SagaConfirmed', data: { total: 2000, at: at(4) } }),
      [],
    );
    assert.deepEqual(
      sent(compensatingAfterTimeout, { type: 'SagaRejected', data: { reason: 'x', at: at(4) } }),
      [],
    );
  });
});
