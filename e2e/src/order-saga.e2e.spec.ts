import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PostgresEventStore, START } from '@platform/event-store';
import { MongoClient } from 'mongodb';
import { DataSource } from 'typeorm';
import { eventually, request } from './support/http';
import {
  setProviderBehaviour,
  setStock,
  startPlatform,
  stockOf,
  type Platform,
} from './support/platform';

/**
 * The order saga end to end: real order, inventory and payment services, the payment-provider
 * simulator, Kafka, Postgres and the MongoDB-compatible server, all started by the launcher.
 * Outcomes are read over HTTP; invariants are checked from the stores and the provider's ledger.
 */

interface PlaceResponse {
  orderId: string;
  status: string;
  position: string;
}

interface OrderView {
  orderId: string;
  status: 'Placed' | 'Confirmed' | 'Rejected' | 'NeedsAttention';
  total?: number;
  reason?: string;
  timeline: { step: string; detail?: string }[];
}

interface LedgerSummary {
  authorized: number;
  captured: number;
  voided: number;
  refunded: number;
  counts: { authorizations: number; captures: number; voids: number; refunds: number };
}

const TERMINAL = new Set(['Confirmed', 'Rejected', 'NeedsAttention']);
const uniqueSku = (name: string) => `E2E-${name}-${randomUUID().slice(0, 8)}`;

describe('order saga end to end', { timeout: 600_000 }, () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform();
  });

  beforeEach(async () => {
    await setProviderBehaviour(platform, {});
  });

  after(async () => {
    await setProviderBehaviour(platform, {}).catch(() => undefined);
  });

  async function place(
    body: { customerId?: string; lines: { sku: string; quantity: number }[] },
    key?: string,
  ): Promise<PlaceResponse> {
    const response = await request<PlaceResponse>(
      'POST',
      `${platform.orderUrl}/orders`,
      { customerId: body.customerId ?? 'customer-1', lines: body.lines, currency: 'EUR' },
      key ? { 'Idempotency-Key': key } : {},
    );
    assert.equal(response.status, 202, JSON.stringify(response.body));
    return response.body;
  }

  async function order(orderId: string): Promise<OrderView | undefined> {
    const response = await request<OrderView>('GET', `${platform.orderUrl}/orders/${orderId}`);
    return response.status === 200 ? response.body : undefined;
  }

  function terminal(orderId: string, timeoutMs = 60_000): Promise<OrderView> {
    return eventually(
      `order ${orderId} terminal`,
      () => order(orderId),
      (view) => view !== undefined && TERMINAL.has(view.status),
      timeoutMs,
    ) as Promise<OrderView>;
  }

  async function ledger(orderId: string): Promise<LedgerSummary> {
    const response = await request<LedgerSummary>(
      'GET',
      `${platform.providerUrl}/v1/ledger/summary?reference=${orderId}`,
    );
    assert.equal(response.status, 200);
    return response.body;
  }

  it('when stock and payment succeed, then the order is Confirmed, stock is sold and captured once', async () => {
    const sku = uniqueSku('happy');
    await setStock(platform, sku, 10, 1250);
    const placed = await place({ lines: [{ sku, quantity: 2 }] });

    // Read-your-writes: given the write's position, the query waits for the read model.
    const first = await request<OrderView>(
      'GET',
      `${platform.orderUrl}/orders/${placed.orderId}?position=${placed.position}`,
    );
    assert.equal(first.status, 200, JSON.stringify(first.body));

    const done = await terminal(placed.orderId);
    assert.equal(done.status, 'Confirmed', JSON.stringify(done));
    assert.equal(done.total, 2500);
    await eventually(
      'stock sold',
      () => stockOf(platform, sku),
      (s) => s.sold === 2,
    );
    assert.deepEqual(await stockOf(platform, sku), {
      ...(await stockOf(platform, sku)),
      available: 8,
      reserved: 0,
      sold: 2,
    });
    const money = await ledger(placed.orderId);
    assert.equal(money.captured, 2500, JSON.stringify(money));
    assert.equal(money.authorized, 2500);
    assert.equal(money.counts.captures, 1, 'exactly one capture');
    assert.ok(done.timeline.some((entry) => entry.step === 'payment captured'));
  });

  it('when the stock is out, then the order is Rejected, nothing is reserved and nothing charged', async () => {
    const sku = uniqueSku('empty');
    await setStock(platform, sku, 1);
    const placed = await place({ lines: [{ sku, quantity: 2 }] });
    const done = await terminal(placed.orderId);
    assert.equal(done.status, 'Rejected');
    assert.match(done.reason ?? '', /out-of-stock/);
    const level = await stockOf(platform, sku);
    assert.deepEqual([level.available, level.reserved, level.sold], [1, 0, 0]);
    assert.deepEqual(await ledger(placed.orderId), {
      ...(await ledger(placed.orderId)),
      authorized: 0,
      captured: 0,
    });
  });

  it('when the payment is declined, then the stock is released and the order Rejected', async () => {
    const sku = uniqueSku('declined');
    await setStock(platform, sku, 5);
    await setProviderBehaviour(platform, { declines: { customers: ['blocked-customer'] } });
    const placed = await place({ customerId: 'blocked-customer', lines: [{ sku, quantity: 3 }] });
    const done = await terminal(placed.orderId);
    assert.equal(done.status, 'Rejected', JSON.stringify(done));
    assert.match(done.reason ?? '', /declined/);
    await eventually(
      'stock released',
      () => stockOf(platform, sku),
      (s) => s.available === 5 && s.reserved === 0,
    );
    assert.equal((await ledger(placed.orderId)).captured, 0);
  });

  it('when the provider hangs past the deadline, then stock is released, the order Rejected and the late authorization voided', async () => {
    const sku = uniqueSku('late');
    await setStock(platform, sku, 5);
    // The authorization happens at once but its answer arrives long after the saga's 6 s step deadline.
    await setProviderBehaviour(platform, {
      delayedReply: { ms: 12_000, operations: ['authorize'] },
    });
    const placed = await place({ lines: [{ sku, quantity: 1 }] });
    const done = await terminal(placed.orderId, 90_000);
    assert.equal(done.status, 'Rejected', JSON.stringify(done));
    assert.ok(done.timeline.some((entry) => entry.step === 'compensation started'));
    await eventually(
      'stock released',
      () => stockOf(platform, sku),
      (s) => s.available === 5 && s.reserved === 0,
    );
    await setProviderBehaviour(platform, {});
    const money = await eventually(
      'late authorization voided',
      () => ledger(placed.orderId),
      (m) => m.voided === m.authorized && m.authorized > 0,
      90_000,
    );
    assert.equal(money.captured, 0);
  });

  it('when 50 orders compete for 10 units, then exactly 10 are Confirmed and stock is conserved', async () => {
    const sku = uniqueSku('race');
    await setStock(platform, sku, 10);
    const placed = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        place({ customerId: `racer-${i}`, lines: [{ sku, quantity: 1 }] }),
      ),
    );
    const outcomes = await Promise.all(placed.map((p) => terminal(p.orderId, 120_000)));
    const confirmed = outcomes.filter((o) => o.status === 'Confirmed');
    assert.equal(
      confirmed.length,
      10,
      JSON.stringify(outcomes.map((o) => (o.reason ? `${o.status}: ${o.reason}` : o.status))),
    );
    assert.equal(outcomes.filter((o) => o.status === 'Rejected').length, 40);
    const level = await eventually(
      'all holds settled',
      () => stockOf(platform, sku),
      (s) => s.reserved === 0,
    );
    assert.equal(level.available + level.reserved + level.sold, 10);
    assert.equal(level.sold, 10);
  });

  it('when a POST is retried with the same Idempotency-Key, then one order exists; a different body is a 422', async () => {
    const sku = uniqueSku('retry');
    await setStock(platform, sku, 5);
    const key = randomUUID();
    const first = await place({ lines: [{ sku, quantity: 1 }] }, key);
    const second = await place({ lines: [{ sku, quantity: 1 }] }, key);
    assert.equal(second.orderId, first.orderId);
    const conflicting = await request(
      'POST',
      `${platform.orderUrl}/orders`,
      { customerId: 'customer-1', lines: [{ sku, quantity: 2 }], currency: 'EUR' },
      { 'Idempotency-Key': key },
    );
    assert.equal(conflicting.status, 422);
    await terminal(first.orderId);
    const mine = await request<{ items: { orderId: string }[] }>(
      'GET',
      `${platform.orderUrl}/orders?customerId=customer-1&limit=100`,
    );
    assert.equal(mine.body.items.filter((o) => o.orderId === first.orderId).length, 1);
    await eventually(
      'stock settled',
      () => stockOf(platform, sku),
      (s) => s.reserved === 0,
    );
    assert.equal((await stockOf(platform, sku)).sold, 1, 'one order, one unit sold');
  });

  it('when the API gets bad input, then it answers a clear problem and creates nothing', async () => {
    const raw = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${platform.orderUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    const valid = { customerId: 'bad-input', lines: [{ sku: 'X', quantity: 1 }], currency: 'EUR' };
    const cases: [string, string, number][] = [
      ['malformed JSON', '{"customerId": ', 400],
      ['wrong types', JSON.stringify({ ...valid, lines: 'many' }), 400],
      ['missing fields', JSON.stringify({ customerId: 'x' }), 400],
      ['quantity 0', JSON.stringify({ ...valid, lines: [{ sku: 'X', quantity: 0 }] }), 400],
      ['huge quantity', JSON.stringify({ ...valid, lines: [{ sku: 'X', quantity: 1e12 }] }), 400],
      [
        'NaN as a string',
        JSON.stringify({ ...valid, lines: [{ sku: 'X', quantity: 'NaN' }] }),
        400,
      ],
      [
        '__proto__ key',
        `{"customerId":"x","lines":[{"sku":"X","quantity":1}],"currency":"EUR","__proto__":{"admin":true}}`,
        400,
      ],
      ['deep nesting', `{"customerId":${'['.repeat(5000)}${']'.repeat(5000)}}`, 400],
      ['oversized body', JSON.stringify({ ...valid, customerId: 'x'.repeat(200_000) }), 413],
    ];
    for (const [what, body, status] of cases) {
      const response = await raw(body);
      assert.equal(response.status, status, what);
      assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/, what);
    }
    const listed = await request<{ items: unknown[] }>(
      'GET',
      `${platform.orderUrl}/orders?customerId=bad-input`,
    );
    assert.deepEqual(listed.body.items, [], 'nothing was created');

    assert.equal(
      (await request('GET', `${platform.orderUrl}/orders?status[$ne]=x`)).status,
      400,
      'operator injection',
    );
    const capped = await request<{ items: unknown[] }>(
      'GET',
      `${platform.orderUrl}/orders?limit=1e9`,
    );
    assert.equal(capped.status, 200);
    assert.ok(capped.body.items.length <= 100, 'absurd limits are capped');
    assert.equal((await request('GET', `${platform.orderUrl}/orders?limit=-1`)).status, 400);
    assert.equal((await request('GET', `${platform.orderUrl}/orders/not-a-uuid`)).status, 400);
    assert.equal((await request('GET', `${platform.orderUrl}/orders/${randomUUID()}`)).status, 404);
  });

  it('when the run is over, then the read model agrees with a replay of the event store', async () => {
    const dataSource = new DataSource({
      type: 'postgres',
      url: platform.stack.postgres.databaseUrl('orders'),
    });
    await dataSource.initialize();
    const mongo = new MongoClient(platform.stack.mongo.url);
    await mongo.connect();
    try {
      const store = new PostgresEventStore(dataSource);
      const statuses = new Map<string, string>();
      let after = START;
      for (;;) {
        const events = await store.readAll({ after, limit: 1000 });
        const last = events.at(-1);
        if (!last) break;
        for (const event of events) {
          const match = /^order-([0-9a-f-]{36})$/.exec(event.streamId);
          if (!match?.[1]) continue;
          const status = {
            OrderPlaced: 'Placed',
            OrderConfirmed: 'Confirmed',
            OrderRejected: 'Rejected',
            OrderNeedsAttention: 'NeedsAttention',
          }[event.type];
          if (status) statuses.set(match[1], status);
        }
        after = last.globalPosition;
      }
      assert.ok(statuses.size > 0);
      const docs = await eventually(
        'read model caught up',
        () =>
          mongo
            .db('orders_read')
            .collection<{ _id: string; status: string }>('order_summaries')
            .find({})
            .toArray(),
        (all) => all.length === statuses.size && all.every((d) => statuses.get(d._id) === d.status),
        30_000,
      );
      assert.deepEqual(new Map(docs.map((d) => [d._id, d.status])), statuses);
    } finally {
      await mongo.close();
      await dataSource.destroy();
    }
  });
});
