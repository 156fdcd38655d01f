import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { createServiceApp } from '@platform/service-defaults';
import { PaymentServiceModule } from '../app.module';
import { anOrder, openTestEnvironment, type PaymentTestEnvironment } from '../test-support';

/** The HTTP edge of the whole module (as main.ts wires it), configured through the environment. */
describe('payment service HTTP', () => {
  let env: PaymentTestEnvironment;
  let app: INestApplication;
  let baseUrl: string;

  before(async () => {
    env = await openTestEnvironment('http');
    Object.assign(process.env, {
      PAYMENTS_DATABASE_URL: env.databaseUrl,
      KAFKA_BROKERS: env.brokers.join(','),
      PAYMENT_PROVIDER_URL: env.simulator.baseUrl,
      KAFKA_SESSION_TIMEOUT_MS: '10000',
      PROVIDER_TIMEOUT_MS: '1000',
      PROVIDER_BACKOFF_MAX_MS: '200',
    });
    app = await createServiceApp(PaymentServiceModule, { name: 'payment-service' });
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  after(async () => {
    await app.close();
    await env.close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${baseUrl}${path}`);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  it('when a payment was authorized, then GET /payments/:orderId shows it from its event stream', async () => {
    const order = anOrder({ amount: 990 });
    const authorized = await env.replies.replyTo(await env.authorize(order));
    const { status, body } = await get(`/payments/${order.orderId}`);
    assert.equal(status, 200);
    assert.deepEqual(
      { ...body, history: (body.history as { type: string }[]).map((event) => event.type) },
      {
        orderId: order.orderId,
        status: 'Authorized',
        version: 1,
        customerId: order.customerId,
        amount: 990,
        currency: 'EUR',
        authorizationId: authorized.payload.authorizationId,
        history: ['PaymentAuthorized'],
      },
    );
  });

  it('when no payment exists for the order, then 404 problem+json', async () => {
    const { status, type, body } = await get(`/payments/${randomUUID()}`);
    assert.equal(status, 404);
    assert.match(type ?? '', /application\/problem\+json/);
    assert.equal(body.status, 404);
  });

  it('when the order id is not a UUID, then 400 problem+json naming the parameter', async () => {
    const { status, type, body } = await get('/payments/not-a-uuid');
    assert.equal(status, 400);
    assert.match(type ?? '', /application\/problem\+json/);
    assert.match(String(body.detail), /order id/);
  });

  it('when readiness is asked, then Postgres and Kafka are checked and the breaker state is reported', async () => {
    const ready = await get('/health/ready');
    assert.equal(ready.status, 200);
    const info = ready.body.info as Record<string, Record<string, unknown>>;
    assert.equal(info.postgres?.status, 'up');
    assert.deepEqual(info.kafka, { status: 'up', consumer: 'running', topics: 1 });
    assert.deepEqual(info['payment-provider'], { status: 'up', breaker: 'closed' });
    assert.equal((await get('/health/live')).status, 200);
  });

  it('when dead letters are listed, then only payment.commands (the topic it consumes) is accepted', async () => {
    const listed = await get('/admin/dead-letters?topic=payment.commands');
    assert.equal(listed.status, 200);
    assert.ok(Array.isArray(listed.body.items));
    const foreign = await get('/admin/dead-letters?topic=inventory.commands');
    assert.equal(foreign.status, 400);
    assert.match(foreign.type ?? '', /application\/problem\+json/);
  });

  it('when the OpenAPI document is fetched, then it describes GET /payments/{orderId}', async () => {
    const { status, body } = await get('/docs-json');
    assert.equal(status, 200);
    assert.ok(Object.keys(body.paths as object).includes('/payments/{orderId}'));
  });
});
