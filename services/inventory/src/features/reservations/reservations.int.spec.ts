import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { TOPICS } from '@platform/contracts';
import { deadLetterTopic, readDeadLetterDetails, type Envelope } from '@platform/messaging';
import { ReservationStore, type ReservationDocument } from '../../infrastructure/reservation-store';
import {
  aCommitStock,
  aReleaseStock,
  aReserveStock,
  InventoryHarness,
  TopicObserver,
  unique,
} from '../../testing/inventory-harness';
import { releasedMessage } from './replies';

/**
 * The three commands end to end: produced to inventory.commands on the real broker, handled by
 * the runtime against the MongoDB-compatible server, replies read back from inventory.events.
 */
describe('inventory commands over Kafka', { timeout: 600_000 }, () => {
  let h: InventoryHarness;
  let deadLetters: TopicObserver;

  before(async () => {
    h = await InventoryHarness.start();
    deadLetters = await TopicObserver.start(
      h.stack.kafka.brokers,
      deadLetterTopic(TOPICS.inventoryCommands),
    );
  });

  after(async () => {
    await deadLetters.stop();
    await h.close();
  });

  /** available + reserved + sold, and the holds that account for `reserved`. */
  async function assertConserved(sku: string, initial: number): Promise<void> {
    const doc = await h.sku(sku);
    assert.equal(doc.available + doc.reserved + doc.sold, initial, `${sku} conserves its units`);
    assert.ok(doc.available >= 0, `${sku} available never negative`);
    const held = Object.values(doc.holds).reduce((sum, q) => sum + q, 0);
    assert.equal(held, doc.reserved, `${sku}: reserved equals the sum of its holds`);
  }

  it('when an order reserves stock, then StockReserved carries the merged priced lines and the total, and the units move from available to reserved', async () => {
    await h.stock('R-A', 10, 250);
    await h.stock('R-B', 5, 1000);
    const orderId = randomUUID();
    await h.send(
      aReserveStock(orderId, [
        { sku: 'R-A', quantity: 2 },
        { sku: 'R-B', quantity: 1 },
        { sku: 'R-A', quantity: 1 },
      ]),
    );

    const [reply] = await h.replies.waitFor(orderId, 'StockReserved');
    assert.deepEqual(reply?.payload, {
      orderId,
      lines: [
        { sku: 'R-A', quantity: 3, unitPrice: 250 },
        { sku: 'R-B', quantity: 1, unitPrice: 1000 },
      ],
      total: 3 * 250 + 1000,
      currency: 'EUR',
    });
    const a = await h.sku('R-A');
    assert.deepEqual([a.available, a.reserved, a.sold], [7, 3, 0]);
    assert.deepEqual(a.holds, { [orderId]: 3 });
    const b = await h.sku('R-B');
    assert.deepEqual([b.available, b.reserved, b.sold], [4, 1, 0]);
    const reservation = await h.reservation(orderId);
    assert.equal(reservation?.status, 'reserved');
    assert.deepEqual(
      reservation.lines.map((l) => l.state),
      ['held', 'held'],
    );
  });

  it('when a reserved order is committed, then its units move from reserved to sold and StockCommitted follows', async () => {
    await h.stock('C-A', 10, 100);
    const orderId = randomUUID();
    await h.send(aReserveStock(orderId, [{ sku: 'C-A', quantity: 4 }]));
    await h.replies.waitFor(orderId, 'StockReserved');
    await h.send(aCommitStock(orderId));

    const [reply] = await h.replies.waitFor(orderId, 'StockCommitted');
    assert.deepEqual(reply?.payload, { orderId });
    const doc = await h.sku('C-A');
    assert.deepEqual([doc.available, doc.reserved, doc.sold], [6, 0, 4]);
    assert.deepEqual(doc.holds, {});
    assert.equal((await h.reservation(orderId))?.status, 'committed');
  });

  it('when a reserved order is released, then available is restored and StockReleased says released', async () => {
    await h.stock('L-A', 10, 100);
    const orderId = randomUUID();
    await h.send(aReserveStock(orderId, [{ sku: 'L-A', quantity: 6 }]));
    await h.replies.waitFor(orderId, 'StockReserved');
    await h.send(aReleaseStock(orderId));

    const [reply] = await h.replies.waitFor(orderId, 'StockReleased');
    assert.deepEqual(reply?.payload, { orderId, released: true });
    const doc = await h.sku('L-A');
    assert.deepEqual([doc.available, doc.reserved, doc.sold], [10, 0, 0]);
    assert.deepEqual(doc.holds, {});
    assert.equal((await h.reservation(orderId))?.status, 'released');
  });

  it('when the second SKU of an order is out of stock, then the first SKU’s hold is released and nothing stays held', async () => {
    await h.stock('M-A', 10, 100);
    await h.stock('M-B', 1, 100);
    const orderId = randomUUID();
    await h.send(
      aReserveStock(orderId, [
        { sku: 'M-A', quantity: 3 },
        { sku: 'M-B', quantity: 2 },
      ]),
    );

    const [reply] = await h.replies.waitFor(orderId, 'StockReservationFailed');
    assert.deepEqual(reply?.payload, { orderId, reason: 'out-of-stock', sku: 'M-B' });
    const a = await h.sku('M-A');
    assert.deepEqual([a.available, a.reserved, a.holds], [10, 0, {}]);
    const b = await h.sku('M-B');
    assert.deepEqual([b.available, b.reserved, b.holds], [1, 0, {}]);
    const reservation = await h.reservation(orderId);
    assert.equal(reservation?.status, 'failed');
    assert.deepEqual(
      reservation.lines.map((l) => l.state),
      ['released', 'released'],
    );
    assert.equal(h.replies.of(orderId, 'StockReserved').length, 0);
  });

  it('when a SKU is unknown or priced in another currency, then the reservation fails with that reason and holds nothing', async () => {
    await h.stock('U-A', 10, 100);
    await h.stock('U-USD', 10, 100, 'USD');
    const unknown = randomUUID();
    const mismatch = randomUUID();
    await h.send(
      aReserveStock(unknown, [
        { sku: 'U-A', quantity: 1 },
        { sku: 'U-NOPE', quantity: 1 },
      ]),
      aReserveStock(mismatch, [{ sku: 'U-USD', quantity: 1 }]),
    );

    const [u] = await h.replies.waitFor(unknown, 'StockReservationFailed');
    assert.deepEqual(u?.payload, { orderId: unknown, reason: 'unknown-sku', sku: 'U-NOPE' });
    const [m] = await h.replies.waitFor(mismatch, 'StockReservationFailed');
    assert.deepEqual(m?.payload, { orderId: mismatch, reason: 'currency-mismatch', sku: 'U-USD' });
    await assertConserved('U-A', 10);
    assert.deepEqual((await h.sku('U-A')).holds, {});
    assert.equal((await h.sku('U-USD')).available, 10);
  });

  it('when an unknown order is released, then StockReleased says released false, and a later ReserveStock for it reserves nothing', async () => {
    await h.stock('D-A', 5, 100);
    const orderId = randomUUID();
    await h.send(aReleaseStock(orderId));
    const [released] = await h.replies.waitFor(orderId, 'StockReleased');
    assert.deepEqual(released?.payload, { orderId, released: false });

    await h.send(aReserveStock(orderId, [{ sku: 'D-A', quantity: 1 }]));
    const [refused] = await h.replies.waitFor(orderId, 'StockReservationFailed');
    assert.equal((refused?.payload as { reason: string }).reason, 'out-of-stock');
    const doc = await h.sku('D-A');
    assert.deepEqual([doc.available, doc.reserved, doc.holds], [5, 0, {}]);
    assert.equal((await h.reservation(orderId))?.status, 'released');
    assert.equal(h.replies.of(orderId, 'StockReserved').length, 0);
  });

  it('when each command is delivered again under the same id and under a new id, then it takes effect once and its reply is repeated unchanged', async () => {
    await h.stock('X-A', 10, 300);
    const kept = randomUUID();
    const dropped = randomUUID();

    /** The command, then the same envelope again, then the same command under a new id. */
    const deliverThrice = async (
      orderId: string,
      type: string,
      make: (id?: string) => Envelope,
    ) => {
      const first = make();
      for (const [n, envelope] of [first, first, make(randomUUID())].entries()) {
        await h.send(envelope);
        await h.replies.waitFor(orderId, type, n + 1);
        // Published and pulled before the next copy: a twin still pending would be folded into it.
        await h.outboxDrained();
      }
    };
    for (const orderId of [kept, dropped]) {
      await deliverThrice(orderId, 'StockReserved', (id) =>
        aReserveStock(orderId, [{ sku: 'X-A', quantity: 2 }], id === undefined ? {} : { id }),
      );
    }
    let doc = await h.sku('X-A');
    assert.deepEqual([doc.available, doc.reserved], [6, 4], 'each order held 2 units once');

    await deliverThrice(kept, 'StockCommitted', (id) => aCommitStock(kept, id));
    await deliverThrice(dropped, 'StockReleased', (id) => aReleaseStock(dropped, id));
    // A late duplicate of ReserveStock for the released order repeats its original answer.
    await h.send(aReserveStock(dropped, [{ sku: 'X-A', quantity: 2 }]));
    await h.replies.waitFor(dropped, 'StockReserved', 4);

    await h.outboxDrained();
    await delay(500); // anything published twice would show up by now
    doc = await h.sku('X-A');
    assert.deepEqual([doc.available, doc.reserved, doc.sold, doc.holds], [8, 0, 2, {}]);
    for (const [orderId, type, count] of [
      [kept, 'StockReserved', 3],
      [kept, 'StockCommitted', 3],
      [dropped, 'StockReserved', 4],
      [dropped, 'StockReleased', 3],
    ] as const) {
      const replies = h.replies.of(orderId, type);
      assert.equal(replies.length, count, `${type} for ${orderId}`);
      assert.equal(new Set(replies.map((r) => r.id)).size, 1, `${type}: one id, repeated`);
      assert.equal(
        new Set(replies.map((r) => JSON.stringify(r.payload))).size,
        1,
        `${type}: one payload`,
      );
    }
    assert.deepEqual(h.replies.of(dropped, 'StockReleased')[0]?.payload, {
      orderId: dropped,
      released: true,
    });
    assert.equal(h.replies.of(kept, 'StockReservationFailed').length, 0);
  });

  it('when a reply is queued again while its twin still waits in the outbox, then the outbox holds it once', async () => {
    // A database no relay watches, so the outbox stays as written.
    const db = h.client.db(unique('it_inventory_twins'));
    const store = new ReservationStore(db);
    const orderId = randomUUID();
    const now = new Date();
    const answer = (messageId: string) =>
      releasedMessage({ orderId, released: false }, { messageId, correlationId: orderId }, now);
    try {
      assert.equal(await store.createReleased(orderId, answer('m1'), now), true);
      assert.equal(await store.appendReply(orderId, answer('m2'), now), false, 'twin pending');
      let doc = await db.collection<ReservationDocument>('reservations').findOne({ _id: orderId });
      assert.equal(doc?.outbox?.length, 1);
      // Once published and pulled, a repetition is queued again.
      await db
        .collection<ReservationDocument>('reservations')
        .updateOne({ _id: orderId }, { $set: { outbox: [] } });
      assert.equal(await store.appendReply(orderId, answer('m3'), now), true);
      doc = await db.collection<ReservationDocument>('reservations').findOne({ _id: orderId });
      assert.deepEqual(
        doc?.outbox?.map((e) => e.id),
        [answer('m3').envelope.id],
      );
    } finally {
      await db.dropDatabase();
    }
  });

  it('when a committed order is asked to release, then nothing is released and the sale stands', async () => {
    await h.stock('K-A', 3, 100);
    const orderId = randomUUID();
    await h.send(aReserveStock(orderId, [{ sku: 'K-A', quantity: 1 }]));
    await h.replies.waitFor(orderId, 'StockReserved');
    await h.send(aCommitStock(orderId));
    await h.replies.waitFor(orderId, 'StockCommitted');
    await h.send(aReleaseStock(orderId));

    const [reply] = await h.replies.waitFor(orderId, 'StockReleased');
    assert.deepEqual(reply?.payload, { orderId, released: false });
    const doc = await h.sku('K-A');
    assert.deepEqual([doc.available, doc.reserved, doc.sold], [2, 0, 1]);
    assert.equal((await h.reservation(orderId))?.status, 'committed');
  });

  it('when CommitStock arrives for an order that holds nothing, then it is dead-lettered with the reason and no stock moves', async () => {
    await h.stock('Z-A', 4, 100);
    const never = randomUUID();
    const released = randomUUID();
    deadLetters.track(never, released);
    await h.send(aReserveStock(released, [{ sku: 'Z-A', quantity: 1 }]));
    await h.replies.waitFor(released, 'StockReserved');
    await h.send(aReleaseStock(released));
    await h.replies.waitFor(released, 'StockReleased');

    await h.send(aCommitStock(never), aCommitStock(released));
    for (const [orderId, reason] of [
      [never, /has no reservation/],
      [released, /is released, not reserved/],
    ] as const) {
      const [dead] = await deadLetters.waitFor(orderId, 'CommitStock');
      assert.ok(dead);
      const details = readDeadLetterDetails(deadLetters.extraHeadersOf(orderId)[0] ?? {});
      assert.ok(details, 'dead-letter details in the headers');
      assert.equal(details.reason, 'permanent-error');
      assert.match(details.error, reason);
    }
    assert.equal(h.replies.of(never, 'StockCommitted').length, 0);
    assert.equal(h.replies.of(released, 'StockCommitted').length, 0);
    const doc = await h.sku('Z-A');
    assert.deepEqual([doc.available, doc.reserved, doc.sold], [4, 0, 0]);
    assert.equal(await h.reservation(never), undefined, 'a refused commit creates nothing');
  });
});
