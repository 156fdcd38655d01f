import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  aCommitStock,
  aReleaseStock,
  aReserveStock,
  InventoryHarness,
} from '../../testing/inventory-harness';

/**
 * Reads a SKU in a loop for as long as a scenario runs and checks, on every read, that units are
 * conserved and available never goes negative (invariant I3), not just at the end.
 */
class StockSampler {
  readonly violations: string[] = [];
  reads = 0;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly h: InventoryHarness,
    private readonly sku: string,
    private readonly initial: number,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const doc = await this.h.sku(this.sku);
      this.reads += 1;
      const sum = doc.available + doc.reserved + doc.sold;
      if (sum !== this.initial)
        this.violations.push(`read ${this.reads}: available+reserved+sold = ${sum}`);
      if (doc.available < 0) this.violations.push(`read ${this.reads}: available ${doc.available}`);
      if (doc.reserved < 0) this.violations.push(`read ${this.reads}: reserved ${doc.reserved}`);
      await delay(5);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

describe('competing reservations', { timeout: 600_000 }, () => {
  let h: InventoryHarness;

  before(async () => {
    h = await InventoryHarness.start();
  });

  after(async () => {
    await h.close();
  });

  it('when 50 orders compete over Kafka for the last 10 units, then exactly 10 are reserved and 40 fail, and no read ever shows stock created, lost or negative', async () => {
    await h.stock('LAST-10', 10, 499);
    const sampler = new StockSampler(h, 'LAST-10', 10);
    const orders = Array.from({ length: 50 }, () => randomUUID());
    await h.send(
      ...orders.map((orderId) => aReserveStock(orderId, [{ sku: 'LAST-10', quantity: 1 }])),
    );
    await h.replies.waitForEach(orders, ['StockReserved', 'StockReservationFailed']);

    const reserved = orders.filter((id) => h.replies.of(id, 'StockReserved').length > 0);
    const failed = orders.filter((id) => h.replies.of(id, 'StockReservationFailed').length > 0);
    assert.equal(reserved.length, 10);
    assert.equal(failed.length, 40);
    assert.equal(
      reserved.filter((id) => failed.includes(id)).length,
      0,
      'no order got both answers',
    );
    for (const id of failed) {
      assert.deepEqual(h.replies.of(id, 'StockReservationFailed')[0]?.payload, {
        orderId: id,
        reason: 'out-of-stock',
        sku: 'LAST-10',
      });
    }
    for (const id of reserved) {
      assert.equal((h.replies.of(id, 'StockReserved')[0]?.payload as { total: number }).total, 499);
    }
    let doc = await h.sku('LAST-10');
    assert.deepEqual([doc.available, doc.reserved, doc.sold], [0, 10, 0]);
    assert.deepEqual(Object.keys(doc.holds).sort(), [...reserved].sort());

    // The saga goes on: half the winners are sold, the other half and every loser released.
    const [sold, releasedWinners] = [reserved.slice(0, 5), reserved.slice(5)];
    await h.send(
      ...sold.map((id) => aCommitStock(id)),
      ...[...releasedWinners, ...failed].map((id) => aReleaseStock(id)),
    );
    await h.replies.waitForEach(sold, ['StockCommitted']);
    await h.replies.waitForEach([...releasedWinners, ...failed], ['StockReleased']);
    await sampler.stop();

    assert.deepEqual(sampler.violations, []);
    assert.ok(sampler.reads > 10, `sampled ${sampler.reads} times`);
    doc = await h.sku('LAST-10');
    assert.deepEqual([doc.available, doc.reserved, doc.sold, doc.holds], [5, 0, 5, {}]);
    for (const id of releasedWinners) {
      assert.deepEqual(h.replies.of(id, 'StockReleased')[0]?.payload, {
        orderId: id,
        released: true,
      });
    }
    for (const id of failed) {
      assert.deepEqual(h.replies.of(id, 'StockReleased')[0]?.payload, {
        orderId: id,
        released: false,
      });
    }
  });

  it('when 50 orders are each handled twice at the same moment for 10 units, then exactly 10 hold one unit each and every order ends with one answer', async () => {
    // Straight into the handlers, all at once: far more interleaving than one consumer produces,
    // and each order races a duplicate of itself (a rebalance's zombie, a redelivery).
    await h.stock('RACE-10', 10, 100);
    const sampler = new StockSampler(h, 'RACE-10', 10);
    const orders = Array.from({ length: 50 }, () => randomUUID());
    h.replies.track(...orders);
    const calls = orders.flatMap((orderId) =>
      [1, 2].map((n) =>
        h.runtime.reservations.reserve(
          { orderId, lines: [{ sku: 'RACE-10', quantity: 1 }], currency: 'EUR' },
          { messageId: `${orderId}-${n}`, correlationId: orderId },
        ),
      ),
    );
    const outcomes = await Promise.allSettled(calls);
    await sampler.stop();
    assert.deepEqual(
      outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason)),
      [],
    );

    const statuses = await Promise.all(orders.map(async (id) => (await h.reservation(id))?.status));
    assert.equal(statuses.filter((s) => s === 'reserved').length, 10);
    assert.equal(statuses.filter((s) => s === 'failed').length, 40);
    const doc = await h.sku('RACE-10');
    assert.deepEqual([doc.available, doc.reserved], [0, 10]);
    assert.ok(Object.values(doc.holds).every((q) => q === 1));
    assert.equal(Object.keys(doc.holds).length, 10);
    assert.deepEqual(sampler.violations, []);

    await h.replies.waitForEach(orders, ['StockReserved', 'StockReservationFailed']);
    await h.outboxDrained();
    for (const id of orders) {
      const answers = h.replies.of(id);
      assert.equal(new Set(answers.map((a) => a.type)).size, 1, `${id}: one kind of answer`);
      assert.equal(new Set(answers.map((a) => a.id)).size, 1, `${id}: repeated under one id`);
    }
  });
});
