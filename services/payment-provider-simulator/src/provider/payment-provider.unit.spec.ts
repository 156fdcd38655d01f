import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_DECLINE_RULES } from './authorization';
import { AuthorizationNotFound, CaptureNotFound } from './errors';
import type { LedgerEntry } from './ledger';
import { PaymentProvider, type LedgerSink } from './payment-provider';

const ORDER = { amount: 5000, currency: 'EUR', customerId: 'cust-1', reference: 'order-1' };

function environment(sink?: LedgerSink) {
  let next = 0;
  return {
    newId: (prefix: string) => `${prefix}_${++next}`,
    now: () => new Date('2025-01-01T00:00:00.000Z'),
    sink,
  };
}

class MemorySink implements LedgerSink {
  entries: LedgerEntry[] = [];
  failNext = false;
  append(entry: LedgerEntry): void {
    if (this.failNext) throw new Error('disk full');
    this.entries.push(entry);
  }
  clear(): void {
    this.entries = [];
  }
}

describe('PaymentProvider', () => {
  it('when a full flow runs, then the sink and the ledger hold the same entries in order', () => {
    const sink = new MemorySink();
    const provider = new PaymentProvider(environment(sink));
    const auth = provider.authorize(ORDER, NO_DECLINE_RULES, 'a');
    const capture = provider.capture(auth.id, 5000, 'c');
    provider.refund(capture.id, 100, 'r');
    assert.deepEqual(
      provider.ledger.list().map((entry) => [entry.kind, entry.id, entry.idempotencyKey]),
      [
        ['authorization', 'auth_1', 'a'],
        ['capture', 'cap_2', 'c'],
        ['refund', 'ref_3', 'r'],
      ],
    );
    assert.deepEqual(sink.entries, provider.ledger.list());
  });

  it('when the sink fails, then nothing changes and the call fails', () => {
    const sink = new MemorySink();
    const provider = new PaymentProvider(environment(sink));
    const auth = provider.authorize(ORDER, NO_DECLINE_RULES, 'a');
    sink.failNext = true;
    assert.throws(() => provider.capture(auth.id, 10, 'c'), /disk full/);
    assert.equal(provider.get(auth.id).status, 'authorized');
    assert.equal(provider.ledger.size, 1);
  });

  it('when a declined authorization is made, then it is readable but not in the ledger', () => {
    const provider = new PaymentProvider(environment());
    const result = provider.authorize(ORDER, { ...NO_DECLINE_RULES, amountLimit: 1 }, 'a');
    assert.deepEqual(result, {
      id: 'auth_1',
      status: 'declined',
      declineReason: 'amount-limit',
      amount: 5000,
      currency: 'EUR',
      reference: 'order-1',
    });
    assert.equal(provider.get('auth_1').amounts.authorized, 0);
    assert.equal(provider.ledger.size, 0);
  });

  it('when rebuilt from a ledger history, then state and ledger match the original', () => {
    const original = new PaymentProvider(environment());
    const auth = original.authorize(ORDER, NO_DECLINE_RULES, 'a');
    const capture = original.capture(auth.id, 3000, 'c');
    original.refund(capture.id, 3000, 'r');
    const voidable = original.authorize({ ...ORDER, reference: 'order-2' }, NO_DECLINE_RULES, 'b');
    original.void(voidable.id, 'v');

    const rebuilt = new PaymentProvider(environment(), original.ledger.list());
    assert.deepEqual(rebuilt.ledger.list(), original.ledger.list());
    assert.deepEqual(rebuilt.get(auth.id), original.get(auth.id));
    assert.deepEqual(rebuilt.get(voidable.id), original.get(voidable.id));
    assert.equal(rebuilt.get(auth.id).status, 'refunded');
  });

  it('when a history entry does not fit (capture before its authorization), then rebuilding fails', () => {
    const original = new PaymentProvider(environment());
    const auth = original.authorize(ORDER, NO_DECLINE_RULES, 'a');
    original.capture(auth.id, 1, 'c');
    const [hold, capture] = original.ledger.list();
    assert.ok(hold && capture);
    assert.throws(
      () => new PaymentProvider(environment(), [{ ...capture, sequence: 1 }]),
      /entry 1 \(capture cap_2\) does not apply to authorization auth_1 in state none/,
    );
    assert.throws(
      () => new PaymentProvider(environment(), [hold, { ...hold, sequence: 2 }]),
      /entry 2 \(authorization auth_1\) does not apply/,
    );
  });

  it('when ids are unknown, then AuthorizationNotFound / CaptureNotFound', () => {
    const provider = new PaymentProvider(environment());
    assert.throws(() => provider.get('x'), AuthorizationNotFound);
    assert.throws(() => provider.capture('x', 1, 'k'), AuthorizationNotFound);
    assert.throws(() => provider.void('x', 'k'), AuthorizationNotFound);
    assert.throws(() => provider.refund('x', 1, 'k'), CaptureNotFound);
  });

  it('when cleared, then authorizations, captures and the ledger (and the sink) are empty', () => {
    const sink = new MemorySink();
    const provider = new PaymentProvider(environment(sink));
    const auth = provider.authorize(ORDER, NO_DECLINE_RULES, 'a');
    const capture = provider.capture(auth.id, 1, 'c');
    provider.clear();
    assert.equal(provider.ledger.size, 0);
    assert.deepEqual(sink.entries, []);
    assert.throws(() => provider.get(auth.id), AuthorizationNotFound);
    assert.throws(() => provider.refund(capture.id, 1, 'r'), CaptureNotFound);
  });
});
