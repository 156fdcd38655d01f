import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { TOPICS } from '@platform/contracts';
import { PostgresEventStore } from '@platform/event-store';
import { useLocalStack } from '@platform/infra';
import { createServiceApp, MemoryAuditSink } from '@platform/service-defaults';
import { OrderServiceModule } from '../app.module';
import { orderStreamId } from '../domain/order';
import { OrderRuntime } from '../infrastructure/order-runtime';

const TRUSTED_HEADER = 'x-authenticated-user';

/**
 * POST /orders on a real server (Postgres, MongoDB, Kafka), configured to trust an identity header
 * from a gateway: every placement is audited as `order.placed` with the actor, and the actor an
 * authenticated caller had reaches the OrderPlaced event's metadata.
 */
describe('order placement audit', { timeout: 600_000 }, () => {
  let app: INestApplication;
  let base: string;
  let dropDatabase: () => Promise<void>;
  const audit = new MemoryAuditSink();
  const saved = { ...process.env };

  const place = async (headers: Record<string, string>, customerId = 'audit-customer') => {
    const response = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        customerId,
        lines: [{ sku: 'BOOK-DDD', quantity: 2 }],
        currency: 'EUR',
      }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  const placedEvent = async (orderId: string) => {
    const store = new PostgresEventStore(app.get(OrderRuntime).dataSource);
    const [event] = await store.readStream(orderStreamId(orderId));
    assert.equal(event?.type, 'OrderPlaced');
    return event;
  };

  before(async () => {
    const stack = await useLocalStack();
    const scratch = await stack.postgres.createScratchDatabase('orders_audit');
    dropDatabase = scratch.drop;
    Object.assign(process.env, {
      ORDERS_DATABASE_URL: scratch.url,
      MONGO_URL: stack.mongo.url,
      ORDERS_READ_DATABASE: scratch.name,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      AUTH_TRUSTED_ACTOR_HEADER: TRUSTED_HEADER,
    });
    delete process.env.ADMIN_TOKENS;
    app = await createServiceApp(OrderServiceModule, {
      name: 'order-service',
      auditSinks: [audit],
      logLevel: 'warn',
    });
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  after(async () => {
    await app.close();
    await dropDatabase();
    process.env = saved;
  });

  it('when a gateway-authenticated caller places an order, then order.placed names them and so does the event', async () => {
    const placed = await place({
      [TRUSTED_HEADER]: 'alice@example.com',
      'x-correlation-id': 'audit-1',
    });
    assert.equal(placed.status, 202);
    const orderId = String(placed.json.orderId);

    const records = audit.of('order.placed').filter((r) => r.subject.id === orderId);
    assert.equal(records.length, 1);
    const [record] = records;
    assert.deepEqual(
      {
        actor: record?.actor,
        subject: record?.subject,
        outcome: record?.outcome,
        correlationId: record?.correlationId,
        service: record?.service,
        details: record?.details,
      },
      {
        actor: { id: 'alice@example.com', via: 'trusted-header' },
        subject: { type: 'order', id: orderId },
        outcome: 'succeeded',
        correlationId: 'audit-1',
        service: 'order-service',
        details: {
          customerId: 'audit-customer',
          lines: 1,
          currency: 'EUR',
          idempotencyKey: null,
          replayed: false,
        },
      },
    );
    assert.equal((await placedEvent(orderId)).metadata.actor, 'alice@example.com');
  });

  it('when nobody authenticated places an order, then the record says anonymous and the event names no actor', async () => {
    const placed = await place({});
    assert.equal(placed.status, 202);
    const orderId = String(placed.json.orderId);
    const [record] = audit.of('order.placed').filter((r) => r.subject.id === orderId);
    assert.deepEqual(record?.actor, { id: 'anonymous', via: 'anonymous' });
    assert.equal((await placedEvent(orderId)).metadata.actor, undefined);
  });

  it('when a placement fails (Idempotency-Key reused with another body), then a failed record is kept', async () => {
    const key = randomUUID();
    assert.equal((await place({ 'idempotency-key': key })).status, 202);
    const reused = await place({ 'idempotency-key': key, [TRUSTED_HEADER]: 'bob' }, 'someone-else');
    assert.equal(reused.status, 422);
    const failed = audit
      .of('order.placed')
      .filter((r) => r.outcome === 'failed' && r.details.idempotencyKey === key);
    assert.equal(failed.length, 1);
    assert.deepEqual(failed[0]?.actor, { id: 'bob', via: 'trusted-header' });
    assert.deepEqual(failed[0].subject, { type: 'order' });
  });

  it('when ADMIN_TOKENS is unset, then the dead-letter admin endpoint is open and lists the reply topics', async () => {
    const response = await fetch(`${base}/admin/dead-letters?topic=${TOPICS.paymentEvents}`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { items: { topic: string }[] };
    assert.ok(Array.isArray(body.items));
    assert.ok(body.items.every((item) => item.topic === TOPICS.paymentEvents));
    const foreign = await fetch(`${base}/admin/dead-letters?topic=${TOPICS.inventoryCommands}`);
    assert.equal(foreign.status, 400);
  });
});
