import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ReservationStore } from '../../infrastructure/reservation-store';
import { StockStore } from '../../infrastructure/stock-store';
import {
  aCommitStock,
  aReleaseStock,
  aReserveStock,
  InventoryHarness,
} from '../../testing/inventory-harness';
import type { ReservationHooks } from './reservations';

/**
 * Crashes at the worst moments. There are no transactions, so a handler can stop between any two
 * of its single-document writes; these tests stop it there and then deliver the command again.
 */

/** Retries far apart (≥ 30 s): a failed attempt stays failed until the test restarts the runtime. */
const SLOW_RETRIES = { attempts: 5, initialDelayMs: 60_000, maxDelayMs: 60_000 };

/** Throws right after the SKU update that placed an order's first hold, for the chosen orders. */
class CrashAfterFirstHold {
  readonly crashes: string[] = [];
  private readonly targets = new Map<string, number>();
  private notify: (() => void) | undefined;

  /** `times` crashes for this order (Infinity: until disarmed). */
  arm(orderId: string, times: number): void {
    this.targets.set(orderId, times);
  }

  disarm(): void {
    this.targets.clear();
  }

  readonly hooks: ReservationHooks = {
    afterHold: ({ orderId, index }) => {
      const left = this.targets.get(orderId) ?? 0;
      if (index !== 0 || left <= 0) return;
      this.targets.set(orderId, left - 1);
      this.crashes.push(orderId);
      this.notify?.();
      throw new Error(`simulated crash after the first hold of ${orderId}`);
    },
  };

  async crashed(orderId: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.crashes.includes(orderId)) {
      if (Date.now() > deadline) throw new Error(`no crash for ${orderId} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.notify = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
}

describe('crash safety without transactions', { timeout: 600_000 }, () => {
  let h: InventoryHarness;
  const crash = new CrashAfterFirstHold();

  before(async () => {
    h = await InventoryHarness.start({ hooks: crash.hooks });
  });

  after(async () => {
    await h.close();
  });

  it('when a handler fails between the first SKU hold and recording it, then the retry finds the hold, takes no second one, and the order ends reserved', async () => {
    await h.stock('CR-A', 10, 100);
    await h.stock('CR-B', 10, 200);
    const orderId = randomUUID();
    crash.arm(orderId, 1);
    await h.send(
      aReserveStock(orderId, [
        { sku: 'CR-A', quantity: 2 },
        { sku: 'CR-B', quantity: 3 },
      ]),
    );

    const [reply] = await h.replies.waitFor(orderId, 'StockReserved');
    assert.equal(crash.crashes.filter((id) => id === orderId).length, 1, 'the crash happened');
    assert.equal((reply?.payload as { total: number }).total, 2 * 100 + 3 * 200);
    const a = await h.sku('CR-A');
    assert.deepEqual([a.available, a.reserved, a.holds], [8, 2, { [orderId]: 2 }]);
    const b = await h.sku('CR-B');
    assert.deepEqual([b.available, b.reserved, b.holds], [7, 3, { [orderId]: 3 }]);
    await h.outboxDrained();
    await delay(300);
    assert.equal(h.replies.of(orderId).length, 1, 'one reply');
  });

  it('when a handler fails after the first hold of an order whose second SKU is out of stock, then the retry releases that hold and the order ends failed', async () => {
    await h.stock('CF-A', 10, 100);
    await h.stock('CF-OUT', 1, 100);
    const orderId = randomUUID();
    crash.arm(orderId, 1);
    await h.send(
      aReserveStock(orderId, [
        { sku: 'CF-A', quantity: 4 },
        { sku: 'CF-OUT', quantity: 2 },
      ]),
    );

    const [reply] = await h.replies.waitFor(orderId, 'StockReservationFailed');
    assert.equal(crash.crashes.filter((id) => id === orderId).length, 1, 'the crash happened');
    assert.deepEqual(reply?.payload, { orderId, reason: 'out-of-stock', sku: 'CF-OUT' });
    const a = await h.sku('CF-A');
    assert.deepEqual([a.available, a.reserved, a.holds], [10, 0, {}]);
    const out = await h.sku('CF-OUT');
    assert.deepEqual([out.available, out.reserved, out.holds], [1, 0, {}]);
    assert.equal((await h.reservation(orderId))?.status, 'failed');
  });

  it('when the service stops between the first SKU hold and recording it, then the command redelivered after the restart completes without a second hold', async () => {
    await h.restart({ hooks: crash.hooks, retry: SLOW_RETRIES });
    await h.stock('CS-A', 10, 100);
    await h.stock('CS-B', 10, 100);
    const orderId = randomUUID();
    crash.arm(orderId, Infinity);
    await h.send(
      aReserveStock(orderId, [
        { sku: 'CS-A', quantity: 5 },
        { sku: 'CS-B', quantity: 1 },
      ]),
    );
    await crash.crashed(orderId);
    // The crash left exactly this behind: a hold on CS-A the reservation does not know about.
    assert.deepEqual((await h.sku('CS-A')).holds, { [orderId]: 5 });
    assert.deepEqual(
      (await h.reservation(orderId))?.lines.map((l) => l.state),
      ['pending', 'pending'],
    );

    // The command was never acknowledged: the next consumer of the group gets it again.
    crash.disarm();
    await h.restart();
    await h.replies.waitFor(orderId, 'StockReserved');
    const a = await h.sku('CS-A');
    assert.deepEqual([a.available, a.reserved, a.holds], [5, 5, { [orderId]: 5 }]);
    const b = await h.sku('CS-B');
    assert.deepEqual([b.available, b.reserved], [9, 1]);
    assert.equal((await h.reservation(orderId))?.status, 'reserved');
  });

  it('when a release stopped after undoing one of two holds, then the release delivered again undoes the other and never the first twice', async () => {
    await h.stock('RL-A', 10, 100);
    await h.stock('RL-B', 10, 100);
    const orderId = randomUUID();
    await h.send(
      aReserveStock(orderId, [
        { sku: 'RL-A', quantity: 3 },
        { sku: 'RL-B', quantity: 4 },
      ]),
    );
    await h.replies.waitFor(orderId, 'StockReserved');
    // What a release that crashed half-way leaves: its decision, and one SKU update done.
    const now = new Date();
    assert.ok(
      await new ReservationStore(h.db).transition(
        orderId,
        'reserved',
        'releasing',
        { released: true },
        [],
        now,
      ),
    );
    assert.ok(await new StockStore(h.db).undoHold('RL-A', orderId, 3, now));

    await h.send(aReleaseStock(orderId));
    const [reply] = await h.replies.waitFor(orderId, 'StockReleased');
    assert.deepEqual(reply?.payload, { orderId, released: true });
    for (const sku of ['RL-A', 'RL-B']) {
      const doc = await h.sku(sku);
      assert.deepEqual([doc.available, doc.reserved, doc.holds], [10, 0, {}], sku);
    }
  });

  it('when a commit stopped after selling one of two holds, then the commit delivered again sells the other and never the first twice', async () => {
    await h.stock('CM-A', 10, 100);
    await h.stock('CM-B', 10, 100);
    const orderId = randomUUID();
    await h.send(
      aReserveStock(orderId, [
        { sku: 'CM-A', quantity: 1 },
        { sku: 'CM-B', quantity: 2 },
      ]),
    );
    await h.replies.waitFor(orderId, 'StockReserved');
    const now = new Date();
    assert.ok(
      await new ReservationStore(h.db).transition(orderId, 'reserved', 'committing', {}, [], now),
    );
    assert.ok(await new StockStore(h.db).sell('CM-A', orderId, 1, now));

    // A release racing in now must not undo a sale that was already decided.
    await h.send(aReleaseStock(orderId), aCommitStock(orderId));
    await h.replies.waitFor(orderId, 'StockCommitted');
    const [released] = await h.replies.waitFor(orderId, 'StockReleased');
    assert.deepEqual(released?.payload, { orderId, released: false });
    const a = await h.sku('CM-A');
    assert.deepEqual([a.available, a.reserved, a.sold, a.holds], [9, 0, 1, {}]);
    const b = await h.sku('CM-B');
    assert.deepEqual([b.available, b.reserved, b.sold, b.holds], [8, 0, 2, {}]);
    assert.equal((await h.reservation(orderId))?.status, 'committed');
  });
});
