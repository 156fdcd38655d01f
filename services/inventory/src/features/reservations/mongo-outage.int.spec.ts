import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  aCommitStock,
  aReleaseStock,
  aReserveStock,
  eventually,
  InventoryHarness,
} from '../../testing/inventory-harness';

const OUTCOMES = ['StockReserved', 'StockReservationFailed'];

describe('MongoDB-compatible server crash', { timeout: 600_000 }, () => {
  let h: InventoryHarness;

  before(async () => {
    // Two attempts only: if an outage counted as failed attempts, commands would be dead-lettered
    // within seconds; they must wait for the database instead.
    h = await InventoryHarness.start({
      retry: { attempts: 2, initialDelayMs: 100, maxDelayMs: 1000 },
    });
  });

  after(async () => {
    await h.stack.mongo.start(); // whatever happened, leave the stack running
    await h.close();
  });

  it('when the server is killed -9 and restarted while commands flow, then every order gets one outcome, nothing is lost or applied twice, and the service needs no restart', async () => {
    await h.stock('MO-A', 1000, 150);
    await h.stock('MO-B', 3, 900);
    // Every fourth order also wants one MO-B, of which there are three: some of those must fail.
    const linesOf = (i: number) =>
      i % 4 === 0
        ? [
            { sku: 'MO-A', quantity: 1 },
            { sku: 'MO-B', quantity: 1 },
          ]
        : [{ sku: 'MO-A', quantity: 1 }];
    const early: string[] = Array.from({ length: 10 }, () => randomUUID());
    const late: string[] = Array.from({ length: 30 }, () => randomUUID());
    await h.send(...early.map((id, i) => aReserveStock(id, linesOf(i))));
    await h.replies.waitForEach(early, OUTCOMES);
    const earlyReserved = early.filter((id) => h.replies.of(id, 'StockReserved').length > 0);
    const toCommit = earlyReserved.slice(0, 3);
    const toRelease = earlyReserved.slice(3, 6);

    // Commands in flight, then the crash.
    await h.send(
      ...late.map((id, i) => aReserveStock(id, linesOf(i + 10))),
      ...toCommit.map((id) => aCommitStock(id)),
      ...toRelease.map((id) => aReleaseStock(id)),
    );
    await delay(50);
    await h.stack.mongo.kill();
    await delay(8000);
    await h.stack.mongo.start();

    const all = [...early, ...late];
    await h.replies.waitForEach(all, OUTCOMES, 240_000);
    await h.replies.waitForEach(toCommit, ['StockCommitted'], 120_000);
    await h.replies.waitForEach(toRelease, ['StockReleased'], 120_000);
    await eventually(
      'the outbox to drain after the crash',
      async () => {
        await h.outboxDrained(5000);
        return true;
      },
      120_000,
    );

    // One outcome per order (a repeated reply keeps its id), and the stores agree with it.
    const reserved: string[] = [];
    for (const id of all) {
      const answers = h.replies.of(id).filter((e) => OUTCOMES.includes(e.type));
      assert.equal(new Set(answers.map((e) => e.type)).size, 1, `${id}: one kind of outcome`);
      assert.equal(new Set(answers.map((e) => e.id)).size, 1, `${id}: one outcome id`);
      const status = (await h.reservation(id))?.status;
      if (answers[0]?.type === 'StockReserved') {
        reserved.push(id);
        const expected = toCommit.includes(id)
          ? 'committed'
          : toRelease.includes(id)
            ? 'released'
            : 'reserved';
        assert.equal(status, expected, id);
      } else {
        assert.equal(status, 'failed', id);
      }
    }
    const stillHeld = reserved.filter((id) => !toCommit.includes(id) && !toRelease.includes(id));
    const bOrders = all.filter((_, i) => i % 4 === 0);
    const bReserved = bOrders.filter((id) => reserved.includes(id));
    assert.ok(
      bReserved.length >= 3,
      'the three MO-B units went to orders (a released one may be re-reserved)',
    );

    const a = await h.sku('MO-A');
    assert.equal(a.available + a.reserved + a.sold, 1000);
    assert.equal(a.sold, toCommit.length);
    assert.equal(a.reserved, stillHeld.length);
    assert.deepEqual(Object.keys(a.holds).sort(), [...stillHeld].sort());
    assert.ok(
      Object.values(a.holds).every((q) => q === 1),
      'no hold taken twice',
    );
    const b = await h.sku('MO-B');
    const bHeld = bReserved.filter((id) => stillHeld.includes(id));
    assert.equal(b.sold, bReserved.filter((id) => toCommit.includes(id)).length);
    assert.equal(b.reserved, bHeld.length);
    assert.equal(b.available, 3 - b.sold - b.reserved);
    assert.ok(b.available >= 0);
    assert.deepEqual(Object.keys(b.holds).sort(), [...bHeld].sort());
    for (const id of toRelease) {
      assert.deepEqual(h.replies.of(id, 'StockReleased')[0]?.payload, {
        orderId: id,
        released: true,
      });
    }
  });
});
