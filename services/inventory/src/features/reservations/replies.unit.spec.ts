import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { committedMessage, releasedMessage, replyId, reserveReplyMessage } from './replies';

const orderId = '3f1c2a56-8d0e-4a53-9a43-0b2d3a4e5f60';
const first = { messageId: 'command-1', correlationId: orderId };
const second = { messageId: 'command-2', correlationId: orderId };

describe('reply envelopes', () => {
  it('when the same answer is given twice, then both carry the same envelope id (the receiver dedupes them)', () => {
    const a = releasedMessage({ orderId, released: true }, first, new Date('2026-01-01T00:00:00Z'));
    const b = releasedMessage(
      { orderId, released: true },
      second,
      new Date('2026-01-02T00:00:00Z'),
    );
    assert.equal(a.envelope.id, b.envelope.id);
    assert.deepEqual(a.envelope.payload, b.envelope.payload);
    assert.equal(
      b.envelope.causationId,
      'command-2',
      'each repetition names the command it answers',
    );
  });

  it('when answers differ in type or order, then their ids differ', () => {
    const ids = new Set([
      replyId(orderId, 'StockReserved'),
      replyId(orderId, 'StockReservationFailed'),
      replyId(orderId, 'StockReleased'),
      replyId(orderId, 'StockCommitted'),
      replyId('0a1c2a56-8d0e-4a53-9a43-0b2d3a4e5f60', 'StockCommitted'),
    ]);
    assert.equal(ids.size, 5);
  });

  it('when an id is made, then it is a well-formed version-8 UUID', () => {
    assert.match(
      replyId(orderId, 'StockCommitted'),
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('when a reply is built, then it goes to inventory.events keyed by the order id and is schema-checked', () => {
    const message = committedMessage({ orderId }, first, new Date());
    assert.equal(message.topic, 'inventory.events');
    assert.equal(message.envelope.key, orderId);
    assert.equal(message.envelope.type, 'StockCommitted');
    assert.throws(
      () =>
        reserveReplyMessage(
          {
            type: 'StockReserved',
            payload: {
              orderId,
              lines: [{ sku: 'A', quantity: 1, unitPrice: 0 }],
              total: 0,
              currency: 'EUR',
            },
          },
          first,
          new Date(),
        ),
      /StockReserved/,
      'a zero price is not a contract Amount',
    );
  });
});
