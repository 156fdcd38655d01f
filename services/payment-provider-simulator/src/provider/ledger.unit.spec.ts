import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MoneyMovement } from './authorization';
import { Ledger, LedgerEntrySchema, summarize, toLedgerEntry, toMoneyMovement } from './ledger';

const base = {
  authorizationId: 'auth_1',
  reference: 'order-1',
  currency: 'EUR',
  at: '2025-01-01T00:00:00.000Z',
  idempotencyKey: 'k',
};
const movements: MoneyMovement[] = [
  { type: 'AuthorizationHeld', ...base, customerId: 'c', amount: 5000 },
  { type: 'AuthorizationCaptured', ...base, captureId: 'cap_1', amount: 4000 },
  { type: 'CaptureRefunded', ...base, refundId: 'ref_1', captureId: 'cap_1', amount: 1000 },
  { type: 'CaptureRefunded', ...base, refundId: 'ref_2', captureId: 'cap_1', amount: 500 },
  {
    type: 'AuthorizationHeld',
    ...base,
    authorizationId: 'auth_2',
    reference: 'order-2',
    customerId: 'c',
    amount: 70,
  },
  {
    type: 'AuthorizationVoided',
    ...base,
    authorizationId: 'auth_2',
    reference: 'order-2',
    voidId: 'void_1',
    amount: 70,
  },
];

describe('ledger', () => {
  it('when movements become entries, then each has its kind and own id, and converts back unchanged', () => {
    const entries = movements.map((movement, index) => toLedgerEntry(movement, index + 1));
    assert.deepEqual(
      entries.map((entry) => [entry.sequence, entry.kind, entry.id]),
      [
        [1, 'authorization', 'auth_1'],
        [2, 'capture', 'cap_1'],
        [3, 'refund', 'ref_1'],
        [4, 'refund', 'ref_2'],
        [5, 'authorization', 'auth_2'],
        [6, 'void', 'void_1'],
      ],
    );
    assert.deepEqual(entries.map(toMoneyMovement), movements);
    for (const entry of entries) assert.deepEqual(LedgerEntrySchema.parse(entry), entry);
  });

  it('when entries are summarized, then totals and counts are per reference, in first-seen order', () => {
    const summaries = summarize(
      movements.map((movement, index) => toLedgerEntry(movement, index + 1)),
    );
    assert.deepEqual(summaries, [
      {
        reference: 'order-1',
        currencies: ['EUR'],
        authorized: 5000,
        captured: 4000,
        voided: 0,
        refunded: 1500,
        counts: { authorizations: 1, captures: 1, voids: 0, refunds: 2 },
      },
      {
        reference: 'order-2',
        currencies: ['EUR'],
        authorized: 70,
        captured: 0,
        voided: 70,
        refunded: 0,
        counts: { authorizations: 1, captures: 0, voids: 1, refunds: 0 },
      },
    ]);
  });

  it('when an entry skips or repeats a sequence number, then the ledger refuses it', () => {
    const ledger = new Ledger();
    const [first, second] = movements;
    assert.ok(first && second);
    ledger.record(ledger.next(first));
    assert.throws(() => {
      ledger.record(toLedgerEntry(second, 3));
    }, /expected sequence 2, got 3/);
    assert.throws(() => {
      ledger.record(toLedgerEntry(second, 1));
    }, /expected sequence 2, got 1/);
    ledger.record(ledger.next(second));
    assert.equal(ledger.size, 2);
    assert.deepEqual(ledger.list('order-2'), []);
    assert.equal(ledger.list('order-1').length, 2);
  });

  it('when a file line lacks the fields of its kind, then the schema rejects it', () => {
    const [, captured] = movements;
    assert.ok(captured);
    const capture = toLedgerEntry(captured, 2);
    const { captureId: _dropped, ...withoutCaptureId } = capture as typeof capture & {
      captureId: string;
    };
    assert.equal(LedgerEntrySchema.safeParse(withoutCaptureId).success, false);
    assert.equal(LedgerEntrySchema.safeParse({ ...capture, amount: -1 }).success, false);
    assert.equal(LedgerEntrySchema.safeParse({ ...capture, kind: 'charge' }).success, false);
  });
});
