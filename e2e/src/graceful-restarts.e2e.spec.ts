import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { eventually, request } from './support/http';
import {
  setProviderBehaviour,
  setStock,
  startPlatform,
  stockOf,
  type Platform,
} from './support/platform';

/**
 * SIGTERM under load: every service is restarted gracefully (lame duck, drain, exit) while orders
 * keep arriving. Every order the API accepted (202) must still end, nothing may be charged twice
 * and stock must be conserved — checked from the provider's ledger and the inventory.
 */
describe('graceful restarts during a burst of orders', { timeout: 600_000 }, () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform();
    await setProviderBehaviour(platform, {});
  });

  it('when each service gets SIGTERM mid-burst and restarts, then every accepted order ends and nothing is applied twice', async () => {
    const sku = `E2E-restart-${randomUUID().slice(0, 8)}`;
    const initial = 25;
    await setStock(platform, sku, initial, 700);

    const accepted: string[] = [];
    let refused = 0;
    const placeOne = async (i: number) => {
      try {
        const response = await request<{ orderId: string }>(
          'POST',
          `${platform.orderUrl}/orders`,
          { customerId: `burst-${i}`, lines: [{ sku, quantity: 1 }], currency: 'EUR' },
          { 'Idempotency-Key': randomUUID() },
        );
        if (response.status === 202) accepted.push(response.body.orderId);
        else refused++;
      } catch {
        // Connection refused while the order service restarts: the client was told nothing was accepted.
        refused++;
      }
    };

    const burst = (async () => {
      for (let i = 0; i < 100; i++) {
        await placeOne(i);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const restarts = (async () => {
      for (const service of [
        platform.stack.order,
        platform.stack.payment,
        platform.stack.inventory,
      ]) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await service.stop(); // SIGTERM: lame duck, drain, exit
        await service.start();
      }
    })();
    await Promise.all([burst, restarts]);
    console.log(
      JSON.stringify({ scenario: 'graceful restarts', accepted: accepted.length, refused }),
    );
    assert.ok(accepted.length > 0);
    assert.ok(
      refused > 0,
      'some requests hit the order service while it was down (the restart happened mid-burst)',
    );

    // I1: every accepted order reaches a terminal state.
    const outcomes = await Promise.all(
      accepted.map((orderId) =>
        eventually(
          `order ${orderId} terminal`,
          async () =>
            (await request<{ status: string }>('GET', `${platform.orderUrl}/orders/${orderId}`))
              .body,
          (view) => ['Confirmed', 'Rejected', 'NeedsAttention'].includes(view.status),
          120_000,
          500,
        ),
      ),
    );
    const confirmed = accepted.filter((_, i) => outcomes[i]?.status === 'Confirmed');

    // I2: at most one capture per order, and only confirmed orders were charged.
    for (const orderId of accepted) {
      const money = await request<{ captured: number; counts: { captures: number } }>(
        'GET',
        `${platform.providerUrl}/v1/ledger/summary?reference=${orderId}`,
      );
      assert.ok(money.body.counts.captures <= 1, `order ${orderId} captured at most once`);
      assert.equal(
        money.body.captured > 0,
        confirmed.includes(orderId),
        `order ${orderId} charged iff confirmed`,
      );
    }

    // I3: stock conserved, nothing left reserved, one unit sold per confirmed order.
    const level = await eventually(
      'holds settled',
      () => stockOf(platform, sku),
      (s) => s.reserved === 0,
      60_000,
    );
    assert.equal(level.available + level.reserved + level.sold, initial);
    assert.equal(level.sold, confirmed.length);
  });
});
