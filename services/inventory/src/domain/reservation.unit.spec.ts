import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canTransition,
  completeReservation,
  diagnoseHoldMiss,
  FINAL_STATUSES,
  initialLines,
  isStrayHold,
  MAX_AMOUNT,
  mergeLines,
  nextCommitStep,
  nextReleaseStep,
  nextReserveStep,
  oversizedLine,
  replyReasonOf,
  totalOf,
  type Reservation,
  type ReservationLine,
  type ReservationStatus,
} from './reservation';

const orderId = '3f1c2a56-8d0e-4a53-9a43-0b2d3a4e5f60';

/** A reservation in a status, with two lines held at known prices (object mother). */
function aReservation(overrides: Partial<Reservation> = {}): Reservation {
  return {
    orderId,
    status: 'reserved',
    currency: 'EUR',
    lines: [
      { sku: 'A', quantity: 2, unitPrice: 250, state: 'held' },
      { sku: 'B', quantity: 1, unitPrice: 1000, state: 'held' },
    ],
    total: 1500,
    ...overrides,
  };
}

const pending = (sku: string, quantity: number): ReservationLine => ({
  sku,
  quantity,
  state: 'pending',
});

const ALL_STATUSES: readonly ReservationStatus[] = [
  'reserving',
  'failing',
  'reserved',
  'releasing',
  'committing',
  'failed',
  'released',
  'committed',
];

describe('line merging', () => {
  it('when a SKU appears on several lines, then its quantities are summed in first-appearance order', () => {
    assert.deepEqual(
      mergeLines([
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 3 },
      ]),
      [
        { sku: 'B', quantity: 4 },
        { sku: 'A', quantity: 2 },
      ],
    );
  });

  it('when a reservation starts, then its merged lines are all pending and unpriced', () => {
    assert.deepEqual(
      initialLines([
        { sku: 'A', quantity: 1 },
        { sku: 'A', quantity: 1 },
      ]),
      [pending('A', 2)],
    );
  });

  it('when merging pushes a SKU past the per-line limit, then that line is reported as oversized', () => {
    const merged = mergeLines([
      { sku: 'A', quantity: 6000 },
      { sku: 'B', quantity: 10_000 },
      { sku: 'A', quantity: 6000 },
    ]);
    assert.deepEqual(oversizedLine(merged), { sku: 'A', quantity: 12_000 });
    assert.equal(oversizedLine([{ sku: 'B', quantity: 10_000 }]), undefined);
  });
});

describe('totals', () => {
  it('when every line is priced, then the total is the sum of quantity × unit price', () => {
    assert.equal(totalOf(aReservation().lines), 2 * 250 + 1000);
  });

  it('when a line has no price yet, then there is no total', () => {
    assert.equal(totalOf([{ sku: 'A', quantity: 1, state: 'held' }]), undefined);
  });

  it('when the total fits the contract, then the reservation completes with it', () => {
    assert.deepEqual(completeReservation(aReservation().lines), { total: 1500 });
  });

  it('when the total exceeds the largest contract amount, then the reservation fails on the limit', () => {
    const lines: ReservationLine[] = [
      { sku: 'A', quantity: 10_000, unitPrice: MAX_AMOUNT / 10_000, state: 'held' },
      { sku: 'B', quantity: 1, unitPrice: 1, state: 'held' },
    ];
    assert.deepEqual(completeReservation(lines), { failure: { cause: 'total-limit' } });
  });
});

describe('diagnosing a hold that did not apply', () => {
  const line = { sku: 'A', quantity: 3 };
  const sku = { available: 10, currency: 'EUR', unitPrice: 99, heldForOrder: undefined };

  it('when the SKU does not exist, then the reservation fails with unknown-sku', () => {
    assert.deepEqual(diagnoseHoldMiss(undefined, line, 'EUR'), {
      kind: 'failed',
      failure: { cause: 'unknown-sku', sku: 'A' },
    });
  });

  it('when the order already holds the SKU, then it counts as held (an earlier run crashed before recording it)', () => {
    assert.deepEqual(
      diagnoseHoldMiss({ ...sku, available: 0, currency: 'USD', heldForOrder: 3 }, line, 'EUR'),
      { kind: 'already-held', unitPrice: 99 },
    );
  });

  it('when the SKU is priced in another currency, then the reservation fails with currency-mismatch', () => {
    assert.deepEqual(diagnoseHoldMiss({ ...sku, currency: 'USD' }, line, 'EUR'), {
      kind: 'failed',
      failure: { cause: 'currency-mismatch', sku: 'A' },
    });
  });

  it('when too little is available, then the reservation fails with out-of-stock', () => {
    assert.deepEqual(diagnoseHoldMiss({ ...sku, available: 2 }, line, 'EUR'), {
      kind: 'failed',
      failure: { cause: 'out-of-stock', sku: 'A' },
    });
  });

  it('when the SKU now looks sufficient, then the hold is retried (the SKU changed in between)', () => {
    assert.deepEqual(diagnoseHoldMiss({ ...sku, available: 3 }, line, 'EUR'), { kind: 'retry' });
  });
});

describe('ReserveStock in each status', () => {
  it('when reserving, then the pending lines are held', () => {
    assert.deepEqual(
      nextReserveStep(aReservation({ status: 'reserving', lines: [pending('A', 1)] })),
      {
        kind: 'hold-lines',
      },
    );
  });

  it('when failing, then the holds are undone first', () => {
    assert.deepEqual(nextReserveStep(aReservation({ status: 'failing' })), {
      kind: 'undo-for-failure',
    });
  });

  for (const status of ['reserved', 'committing', 'committed'] as const) {
    it(`when ${status}, then StockReserved is repeated with the priced lines and total`, () => {
      assert.deepEqual(nextReserveStep(aReservation({ status })), {
        kind: 'reply',
        reply: {
          type: 'StockReserved',
          payload: {
            orderId,
            lines: [
              { sku: 'A', quantity: 2, unitPrice: 250 },
              { sku: 'B', quantity: 1, unitPrice: 1000 },
            ],
            total: 1500,
            currency: 'EUR',
          },
        },
      });
    });
  }

  it('when failed, then StockReservationFailed is repeated with its reason and SKU', () => {
    assert.deepEqual(
      nextReserveStep(
        aReservation({
          status: 'failed',
          total: undefined,
          failure: { cause: 'unknown-sku', sku: 'Z' },
        }),
      ),
      {
        kind: 'reply',
        reply: {
          type: 'StockReservationFailed',
          payload: { orderId, reason: 'unknown-sku', sku: 'Z' },
        },
      },
    );
  });

  it('when released after being reserved, then the answer given then (StockReserved) is repeated', () => {
    const step = nextReserveStep(aReservation({ status: 'released', released: true }));
    assert.equal(step.kind === 'reply' && step.reply.type, 'StockReserved');
  });

  it('when released before it was ever reserved, then the late ReserveStock is refused', () => {
    assert.deepEqual(nextReserveStep({ orderId, status: 'released', lines: [], released: false }), {
      kind: 'reply',
      reply: { type: 'StockReservationFailed', payload: { orderId, reason: 'out-of-stock' } },
    });
  });
});

describe('ReleaseStock in each status', () => {
  it('when reserved, then releasing starts and the reply will say released', () => {
    assert.deepEqual(nextReleaseStep(aReservation()), { kind: 'start-releasing', released: true });
  });

  it('when still reserving with nothing recorded as held, then releasing starts with released false', () => {
    assert.deepEqual(
      nextReleaseStep(
        aReservation({ status: 'reserving', lines: [pending('A', 1)], total: undefined }),
      ),
      { kind: 'start-releasing', released: false },
    );
  });

  it('when still reserving with a line held, then releasing starts with released true', () => {
    const lines: ReservationLine[] = [
      { sku: 'A', quantity: 1, unitPrice: 5, state: 'held' },
      pending('B', 1),
    ];
    assert.deepEqual(
      nextReleaseStep(aReservation({ status: 'reserving', lines, total: undefined })),
      {
        kind: 'start-releasing',
        released: true,
      },
    );
  });

  it('when releasing (a crash mid-way), then the holds are undone again', () => {
    assert.deepEqual(nextReleaseStep(aReservation({ status: 'releasing', released: true })), {
      kind: 'undo-for-release',
    });
  });

  it('when released, then the stored answer is repeated', () => {
    assert.deepEqual(nextReleaseStep(aReservation({ status: 'released', released: true })), {
      kind: 'reply',
      payload: { orderId, released: true },
    });
  });

  for (const status of ['failed', 'committed'] as const) {
    it(`when ${status}, then nothing is released and the answer says so`, () => {
      assert.deepEqual(nextReleaseStep(aReservation({ status })), {
        kind: 'reply',
        payload: { orderId, released: false },
      });
    });
  }

  it('when failing, then the failure is finished first', () => {
    assert.deepEqual(nextReleaseStep(aReservation({ status: 'failing' })), {
      kind: 'undo-for-failure',
    });
  });

  it('when committing, then the sale is finished first (a release never undoes a sale)', () => {
    assert.deepEqual(nextReleaseStep(aReservation({ status: 'committing' })), { kind: 'sell' });
  });
});

describe('CommitStock in each status', () => {
  it('when the order has no reservation, then the command is refused', () => {
    assert.equal(nextCommitStep(undefined).kind, 'refuse');
  });

  it('when reserved, then committing starts', () => {
    assert.deepEqual(nextCommitStep(aReservation()), { kind: 'start-committing' });
  });

  it('when committing (a crash mid-way), then the holds are sold again', () => {
    assert.deepEqual(nextCommitStep(aReservation({ status: 'committing' })), { kind: 'sell' });
  });

  it('when committed, then StockCommitted is repeated', () => {
    assert.deepEqual(nextCommitStep(aReservation({ status: 'committed' })), {
      kind: 'reply',
      payload: { orderId },
    });
  });

  for (const status of ['reserving', 'failing', 'failed', 'releasing', 'released'] as const) {
    it(`when ${status}, then the command is refused with the status in the reason`, () => {
      const step = nextCommitStep(aReservation({ status }));
      assert.equal(step.kind, 'refuse');
      assert.match(step.reason, new RegExp(status));
    });
  }
});

describe('state rules', () => {
  it('when a status is final, then it has no way out', () => {
    for (const from of FINAL_STATUSES) {
      for (const to of ALL_STATUSES)
        assert.equal(canTransition(from, to), false, `${from} → ${to}`);
    }
  });

  it('when a decision is taken, then it goes through its transitional status', () => {
    assert.equal(canTransition('reserving', 'failed'), false, 'failing comes first');
    assert.equal(canTransition('reserved', 'released'), false, 'releasing comes first');
    assert.equal(canTransition('reserved', 'committed'), false, 'committing comes first');
    assert.equal(
      canTransition('releasing', 'committing'),
      false,
      'a release is never turned into a sale',
    );
    assert.equal(canTransition('committing', 'releasing'), false, 'a sale is never released');
    assert.equal(canTransition('reserving', 'reserved'), true);
    assert.equal(canTransition('reserving', 'releasing'), true);
  });

  it('when a racing run finds its hold unrecordable, then the hold is a stray exactly when the reservation can hold nothing there', () => {
    for (const status of ['failing', 'failed', 'releasing', 'released', 'committed'] as const) {
      assert.equal(isStrayHold(aReservation({ status }), 0), true, status);
    }
    assert.equal(isStrayHold(aReservation({ status: 'reserved' }), 0), false, 'the winner’s hold');
    assert.equal(isStrayHold(aReservation({ status: 'reserving' }), 0), false);
    const committing = aReservation({
      status: 'committing',
      lines: [
        { sku: 'A', quantity: 2, unitPrice: 250, state: 'sold' },
        { sku: 'B', quantity: 1, unitPrice: 1000, state: 'held' },
      ],
    });
    assert.equal(isStrayHold(committing, 0), true, 'a sold line holds nothing any more');
    assert.equal(isStrayHold(committing, 1), false, 'a held line is about to be sold');
  });

  it('when a failure has no contract reason, then it is sent as out-of-stock', () => {
    assert.equal(replyReasonOf('currency-mismatch'), 'currency-mismatch');
    assert.equal(replyReasonOf('order-closed'), 'out-of-stock');
    assert.equal(replyReasonOf('line-limit'), 'out-of-stock');
    assert.equal(replyReasonOf('total-limit'), 'out-of-stock');
  });
});
