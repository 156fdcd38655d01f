import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutgoingMessage } from '../envelope';
import { mongoOutboxEntries, withOutbox } from './mongo-outbox';
import { envelopeFrom, headersOf } from './stored-message';

const NOW = new Date('2026-01-02T03:04:05.000Z');

const message: OutgoingMessage = {
  topic: 'inventory.events',
  envelope: {
    id: 'm-1',
    type: 'StockReserved',
    schemaVersion: 1,
    source: 'inventory-service',
    time: '2026-01-02T03:04:05.000Z',
    key: 'order-1',
    correlationId: 'order-1',
    causationId: undefined,
    // Keys MongoDB would refuse or treat specially, and an own "__proto__" as JSON.parse makes it.
    payload: JSON.parse('{"$weird":1,"dotted.key":true,"__proto__":{"polluted":true}}') as unknown,
  },
};

describe('withOutbox', () => {
  it('when added to an update, then it pushes the entries next to the caller’s own operators', () => {
    const update = withOutbox<{ qty: number; tags: string[] }>(
      { $inc: { qty: -1 }, $push: { tags: 'reserved' } },
      [message],
      { now: NOW },
    );
    assert.deepEqual(update, {
      $inc: { qty: -1 },
      $push: {
        tags: 'reserved',
        outbox: { $each: mongoOutboxEntries([message], NOW) },
      },
    });
  });

  it('when there are no messages, then the update is unchanged', () => {
    const original = { $set: { status: 'x' } };
    assert.equal(withOutbox(original, []), original);
  });

  it('when the update already touches the outbox field, then it refuses', () => {
    assert.throws(
      () => withOutbox({ $unset: { 'outbox.0': 1 } }, [message]),
      /belongs to the relay/,
    );
  });

  it('when a message is not publishable, then it refuses before anything is written', () => {
    const bad = { ...message, envelope: { ...message.envelope, key: '' } };
    assert.throws(() => withOutbox({ $set: { a: 1 } }, [bad]), /envelope\.key is empty/);
  });

  it('when an entry is stored, then the envelope survives exactly, odd payload keys included', () => {
    const [entry] = mongoOutboxEntries([message], NOW);
    assert.ok(entry);
    const parsed = JSON.parse(entry.envelope) as Record<string, unknown>;
    const { payload, ...headers } = parsed;
    const restored = envelopeFrom(headers, payload);
    assert.deepEqual(restored, JSON.parse(JSON.stringify(message.envelope)));
    assert.deepEqual(Object.keys(restored.payload as object), [
      '$weird',
      'dotted.key',
      '__proto__',
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(headersOf(message.envelope).id, 'm-1');
    assert.equal('causationId' in JSON.parse(JSON.stringify(headersOf(message.envelope))), false);
  });
});
