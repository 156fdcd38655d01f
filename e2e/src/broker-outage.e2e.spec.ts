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
 * The broker goes away: readiness turns unhealthy, POST /orders keeps answering fast (accepted
 * and buffered in the outbox — the documented choice), and when the broker returns everything
 * recovers without restarting any service.
 */
describe('broker outage', { timeout: 600_000 }, () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform();
    await setProviderBehaviour(platform, {});
  });

  const services = () => [platform.stack.order, platform.stack.inventory, platform.stack.payment];
  const readiness = async () =>
    Promise.all(
      services().map(async (service) => {
        try {
          return (await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(5000) }))
            .status;
        } catch {
          return 0;
        }
      }),
    );

  it('when Kafka stops, then readiness is 503, orders are still accepted, and all recovers when it returns', async () => {
    const sku = `E2E-outage-${randomUUID().slice(0, 8)}`;
    await setStock(platform, sku, 5);
    assert.deepEqual(await readiness(), [200, 200, 200]);
    const pids = services().map((s) => s.pid());

    await platform.stack.kafka.stop();
    await eventually(
      'every service not ready',
      readiness,
      (statuses) => statuses.every((s) => s === 503),
      60_000,
      500,
    );

    const began = Date.now();
    const placed = await request<{ orderId: string }>(
      'POST',
      `${platform.orderUrl}/orders`,
      { customerId: 'outage', lines: [{ sku, quantity: 2 }], currency: 'EUR' },
      { 'Idempotency-Key': randomUUID() },
    );
    console.log(
      JSON.stringify({
        scenario: 'broker down',
        postStatus: placed.status,
        postMs: Date.now() - began,
      }),
    );
    assert.equal(
      placed.status,
      202,
      'accepted and buffered in the outbox while the broker is down',
    );

    await platform.stack.kafka.start();
    await eventually(
      'every service ready again',
      readiness,
      (statuses) => statuses.every((s) => s === 200),
      120_000,
      500,
    );
    assert.deepEqual(
      services().map((s) => s.pid()),
      pids,
      'no service was restarted',
    );

    const done = await eventually(
      'the buffered order ends',
      async () =>
        (
          await request<{ status: string }>(
            'GET',
            `${platform.orderUrl}/orders/${placed.body.orderId}`,
          )
        ).body,
      (view) => ['Confirmed', 'Rejected', 'NeedsAttention'].includes(view.status),
      120_000,
      500,
    );
    // With the saga's 6 s step deadline the outage usually outlasts the reservation step, so the
    // order is compensated and Rejected; either ending must leave stock and money consistent.
    const level = await eventually(
      'holds settled',
      () => stockOf(platform, sku),
      (s) => s.reserved === 0,
      60_000,
    );
    assert.equal(level.available + level.reserved + level.sold, 5);
    assert.equal(level.sold, done.status === 'Confirmed' ? 2 : 0);
    const money = await request<{ captured: number }>(
      'GET',
      `${platform.providerUrl}/v1/ledger/summary?reference=${placed.body.orderId}`,
    );
    assert.equal(money.body.captured > 0, done.status === 'Confirmed');
  });
});
