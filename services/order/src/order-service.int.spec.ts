import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresEventStore } from '@platform/event-store';
import { useLocalStack } from '@platform/infra';
import { PostgresOutbox } from '@platform/messaging';
import type { DataSource } from 'typeorm';
import { createOrderSaga, sagaStreamId } from './domain/order-saga';
import { PlaceOrder } from './features/place-order/place-order';
import { DeadlineScheduler } from './features/saga/deadline-scheduler';
import { OrderSagaProcessor } from './features/saga/saga-processor';
import { openOrdersDatabase } from './infrastructure/database';

/**
 * The order service's write side against a real Postgres: idempotent placement under
 * concurrency, and deadlines that fire exactly once even with several scheduler instances.
 */
describe('order service write side (real Postgres)', { timeout: 180_000 }, () => {
  let instances: DataSource[];
  let drop: () => Promise<void>;

  // Short deadlines; the schedulers below run on fixed clocks, so what is due is exact.
  const saga = createOrderSaga({ stepTimeoutMs: 500, maxAttempts: 5, retryDelayMs: 500 });
  const processorFor = (dataSource: DataSource) =>
    new OrderSagaProcessor(new PostgresEventStore(dataSource), new PostgresOutbox(), saga);
  const placeOrderFor = (dataSource: DataSource) =>
    new PlaceOrder(dataSource, new PostgresEventStore(dataSource), processorFor(dataSource));
  const body = (customerId: string) => ({
    customerId,
    lines: [{ sku: 'SKU-1', quantity: 1 }],
    currency: 'EUR',
  });

  before(async () => {
    const stack = await useLocalStack();
    const scratch = await stack.postgres.createScratchDatabase('orders_it');
    drop = scratch.drop;
    // Two "instances" of the service: separate pools on one database.
    instances = [await openOrdersDatabase(scratch.url), await openOrdersDatabase(scratch.url)];
  });

  after(async () => {
    await Promise.all(instances.map((d) => d.destroy()));
    await drop();
  });

  function instance(index: number): DataSource {
    const dataSource = instances[index];
    assert.ok(dataSource, `instance ${index}`);
    return dataSource;
  }

  async function count(sql: string, params: unknown[] = []): Promise<number> {
    const [dataSource] = instances;
    if (!dataSource) throw new Error('no database');
    const rows: { n: string }[] = await dataSource.query(sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  it('when ten clients send the same Idempotency-Key at once, then one order exists and all get it', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        placeOrderFor(instance(i % 2)).execute(body('same-key'), 'key-1', {}, new Date()),
      ),
    );
    assert.equal(new Set(results.map((r) => r.orderId)).size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    assert.equal(
      await count(
        `SELECT count(*) AS n FROM event_store.streams WHERE stream_id LIKE 'order-%' AND stream_id NOT LIKE 'order-saga-%'`,
      ),
      1,
    );
    assert.equal(
      await count(`SELECT count(*) AS n FROM outbox WHERE message_type = 'ReserveStock'`),
      1,
    );
  });

  it('when the same key comes with another body, then 422 and nothing new', async () => {
    await assert.rejects(
      placeOrderFor(instance(0)).execute(body('other'), 'key-1', {}, new Date()),
      (error: unknown) => (error as { status?: number }).status === 422,
    );
    assert.equal(
      await count(`SELECT count(*) AS n FROM outbox WHERE message_type = 'ReserveStock'`),
      1,
    );
  });

  it('when two scheduler instances race over due deadlines, then each deadline fires once', async () => {
    const placed = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        placeOrderFor(instance(0)).execute(body(`c-${i}`), undefined, {}, new Date()),
      ),
    );
    // At this instant every reservation deadline is due, and the compensation deadlines they arm
    // (500 ms later) are not: each saga has exactly one deadline to fire.
    const at = new Date(Date.now() + 1000);
    const schedulers = instances.map(
      (d) => new DeadlineScheduler(d, processorFor(d), { clock: () => at }),
    );
    const fired = await Promise.all(schedulers.flatMap((s) => [s.tick(), s.tick(), s.tick()]));
    // 21 sagas (20 here, 1 from the idempotency test) had one due deadline each.
    assert.equal(
      fired.reduce((a, b) => a + b, 0),
      21,
    );
    const store = new PostgresEventStore(instance(0));
    for (const { orderId } of placed) {
      const events = await store.readStream(sagaStreamId(orderId));
      assert.equal(
        events.filter((e) => e.type === 'CompensationStarted').length,
        1,
        `saga ${orderId}`,
      );
    }
    // Each timed-out reservation asks once for its stock to be released.
    assert.equal(
      await count(`SELECT count(*) AS n FROM outbox WHERE message_type = 'ReleaseStock'`),
      21,
    );
  });

  it('when a new instance starts, then it finds the persisted deadlines and fires the next step', async () => {
    const fresh = new DeadlineScheduler(instance(1), processorFor(instance(1)), {
      clock: () => new Date(Date.now() + 60_000),
    });
    assert.equal(await fresh.tick(), 21);
    assert.equal(
      await count(
        `SELECT count(*) AS n FROM event_store.events WHERE event_type = 'CompensationRetried'`,
      ),
      21,
    );
  });
});
