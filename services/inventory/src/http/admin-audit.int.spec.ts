import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { TOPICS } from '@platform/contracts';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { KafkaPublisher, silentLogger } from '@platform/messaging';
import { createServiceApp, MemoryAuditSink } from '@platform/service-defaults';
import { MongoClient, type Db } from 'mongodb';
import { INVENTORY_SERVICE_OPTIONS, InventoryServiceModule } from '../app.module';
import { InventoryRuntime } from '../infrastructure/inventory-runtime';
import type { ReservationDocument } from '../infrastructure/reservation-store';
import { aCommitStock, eventually, startGroupAtEnd, unique } from '../testing/inventory-harness';

const OPS_TOKEN = 'ops-token-0123456789abcdef';

/**
 * The admin surface with ADMIN_TOKENS set, on a real server wired as main.ts wires it: stock
 * changes and dead-letter redrives are refused without a token, and audited with the actor.
 */
describe('inventory admin endpoints: token guard and audit log', { timeout: 600_000 }, () => {
  let stack: LocalStack;
  let app: INestApplication;
  let base: string;
  let database: string;
  let client: MongoClient;
  let db: Db;
  let publisher: KafkaPublisher;
  const audit = new MemoryAuditSink();
  const logLines: string[] = [];
  const saved = { ...process.env };

  const call = async (
    method: string,
    url: string,
    options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
  ) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: {
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
        ...options.headers,
      },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      challenge: response.headers.get('www-authenticate'),
      json: (text === '' ? undefined : JSON.parse(text)) as Record<string, unknown>,
    };
  };

  const auditLines = () =>
    logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.audit === true);

  before(async () => {
    stack = await useLocalStack();
    database = unique('it_inventory_admin');
    const group = unique('inventory-int-admin');
    await startGroupAtEnd(stack.kafka.brokers, group, TOPICS.inventoryCommands).catch(
      () => undefined,
    );
    Object.assign(process.env, {
      MONGO_URL: stack.mongo.url,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      INVENTORY_DATABASE: database,
      INVENTORY_CONSUMER_GROUP: group,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      ADMIN_TOKENS: `ops:${OPS_TOKEN},ci:ci-token-0123456789abcdef`,
    });
    app = await createServiceApp(InventoryServiceModule, {
      ...INVENTORY_SERVICE_OPTIONS,
      auditSinks: [audit],
      logDestination: {
        write: (line: string) => {
          logLines.push(line);
        },
      },
    });
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    client = new MongoClient(stack.mongo.url);
    await client.connect();
    db = client.db(database);
    publisher = new KafkaPublisher({
      brokers: stack.kafka.brokers,
      clientId: 'inventory-int-admin',
      logger: silentLogger,
    });
  });

  after(async () => {
    await app.close();
    await publisher.close();
    await db.dropDatabase().catch(() => undefined);
    await client.close();
    process.env = saved;
  });

  it('when no token or a wrong one is sent, then PUT /admin/stock is a 401 problem, nothing changes, and a denied record names the attempt', async () => {
    for (const token of [undefined, 'guessed-token']) {
      const put = await call('PUT', '/admin/stock/ADM-0', {
        body: { available: 5, unitPrice: 100, currency: 'EUR' },
        ...(token !== undefined && { token }),
      });
      assert.equal(put.status, 401);
      assert.match(put.type, /application\/problem\+json/);
      assert.equal(put.json.status, 401);
      assert.equal(put.challenge, 'Bearer realm="admin"');
    }
    assert.equal((await call('GET', '/stock/ADM-0')).status, 404, 'the SKU was not created');

    const denied = audit.of('stock.changed').filter((r) => r.outcome === 'denied');
    assert.equal(denied.length, 2);
    assert.deepEqual(denied[0]?.actor, { id: 'anonymous', via: 'anonymous' });
    assert.deepEqual(denied[0].subject, { type: 'route', id: 'PUT /admin/stock/:sku' });
    assert.deepEqual(
      denied.map((r) => r.details.reason),
      ['no bearer token', 'unknown bearer token'],
    );
    assert.doesNotMatch(logLines.join('\n'), /guessed-token/);
  });

  it("when the stock is set with a token, then stock.changed names the token's name, the previous and the new level", async () => {
    const first = await call('PUT', '/admin/stock/ADM-1', {
      body: { available: 5, unitPrice: 100, currency: 'EUR' },
      token: OPS_TOKEN,
    });
    assert.equal(first.status, 200);
    const second = await call('PUT', '/admin/stock/ADM-1', {
      body: { available: 12, unitPrice: 150, currency: 'EUR' },
      token: OPS_TOKEN,
      headers: { 'x-correlation-id': 'stock-change-2' },
    });
    assert.equal(second.status, 200);
    assert.deepEqual(second.json, {
      sku: 'ADM-1',
      available: 12,
      reserved: 0,
      sold: 0,
      unitPrice: 150,
      currency: 'EUR',
    });

    const changes = audit.of('stock.changed').filter((r) => r.subject.id === 'ADM-1');
    assert.deepEqual(
      changes.map((r) => ({ actor: r.actor, outcome: r.outcome, details: r.details })),
      [
        {
          actor: { id: 'ops', via: 'admin-token' },
          outcome: 'succeeded',
          details: { previous: null, new: { available: 5, unitPrice: 100, currency: 'EUR' } },
        },
        {
          actor: { id: 'ops', via: 'admin-token' },
          outcome: 'succeeded',
          details: {
            previous: { available: 5, unitPrice: 100, currency: 'EUR' },
            new: { available: 12, unitPrice: 150, currency: 'EUR' },
          },
        },
      ],
    );
    // The same record on the log channel, with the request's correlation id and no token.
    const line = auditLines().find((l) => l.correlationId === 'stock-change-2');
    assert.ok(line, 'an audit log line for the second change');
    assert.equal(line.action, 'stock.changed');
    assert.equal(line.service, INVENTORY_SERVICE_OPTIONS.name);
    assert.deepEqual(line.actor, { id: 'ops', via: 'admin-token' });
    assert.doesNotMatch(logLines.join('\n'), new RegExp(OPS_TOKEN));
  });

  it('when a command is dead-lettered, then the admin endpoint lists it without its payload, and a redrive through it gets it handled and audited', async () => {
    const orderId = randomUUID();
    const commit = aCommitStock(orderId);
    // No reservation yet: CommitStock is refused permanently and dead-lettered at once.
    await publisher.publish([{ topic: TOPICS.inventoryCommands, envelope: commit }]);

    const listed = await eventually('the dead letter to be listed', async () => {
      const list = await call('GET', `/admin/dead-letters?topic=${TOPICS.inventoryCommands}`, {
        token: OPS_TOKEN,
      });
      assert.equal(list.status, 200);
      return (list.json.items as Record<string, unknown>[]).find(
        (item) => item.messageId === commit.id,
      );
    });
    assert.equal(listed.reason, 'permanent-error');
    assert.equal(listed.type, commit.type);
    assert.equal(listed.topic, TOPICS.inventoryCommands);
    assert.equal(listed.dlqTopic, `${TOPICS.inventoryCommands}.dlq`);
    assert.equal(listed.key, orderId);
    assert.ok((listed.payloadBytes as number) > 0);
    assert.ok(!('value' in listed) && !('payload' in listed), 'no payload in the listing');

    // Without a token, the redrive is refused and audited as denied.
    const refused = await call('POST', '/admin/dead-letters/redrive', {
      body: { topic: TOPICS.inventoryCommands, messageIds: [commit.id] },
    });
    assert.equal(refused.status, 401);
    assert.match(refused.type, /application\/problem\+json/);
    assert.equal(audit.of('dead-letter.redriven').filter((r) => r.outcome === 'denied').length, 1);

    // Fix the cause: the order now has a reservation to commit.
    await call('PUT', '/admin/stock/ADM-2', {
      body: { available: 10, unitPrice: 250, currency: 'EUR' },
      token: OPS_TOKEN,
    });
    await app
      .get(InventoryRuntime)
      .reservations.reserve(
        { orderId, lines: [{ sku: 'ADM-2', quantity: 3 }], currency: 'EUR' },
        { messageId: randomUUID(), correlationId: orderId },
      );

    const redrive = await call('POST', '/admin/dead-letters/redrive', {
      body: { topic: TOPICS.inventoryCommands, messageIds: [commit.id, 'no-such-message'] },
      token: OPS_TOKEN,
    });
    assert.equal(redrive.status, 200, JSON.stringify(redrive.json));
    assert.deepEqual(
      (redrive.json.redriven as { messageId: string; topic: string }[]).map((r) => [
        r.messageId,
        r.topic,
      ]),
      [[commit.id, TOPICS.inventoryCommands]],
    );
    assert.deepEqual(redrive.json.notFound, ['no-such-message']);

    await eventually('the redriven commit to be handled', async () => {
      const reservation = await db
        .collection<ReservationDocument>('reservations')
        .findOne({ _id: orderId });
      return reservation?.status === 'committed' ? true : undefined;
    });
    const stock = await call('GET', '/stock/ADM-2');
    assert.deepEqual([stock.json.reserved, stock.json.sold], [0, 3]);

    const [redriven] = audit.of('dead-letter.redriven').filter((r) => r.outcome === 'succeeded');
    assert.ok(redriven, 'a succeeded dead-letter.redriven record');
    assert.deepEqual(redriven.actor, { id: 'ops', via: 'admin-token' });
    assert.deepEqual(redriven.subject, {
      type: 'dead-letter-topic',
      id: `${TOPICS.inventoryCommands}.dlq`,
    });
    assert.deepEqual(
      (redriven.details.redriven as { messageId: string }[]).map((r) => r.messageId),
      [commit.id],
    );
    assert.deepEqual(redriven.details.notFound, ['no-such-message']);
  });

  it('when the body names no dead letters or a topic the service does not consume, then 400', async () => {
    const empty = await call('POST', '/admin/dead-letters/redrive', {
      body: { topic: TOPICS.inventoryCommands },
      token: OPS_TOKEN,
    });
    assert.equal(empty.status, 400);
    const foreign = await call('GET', `/admin/dead-letters?topic=${TOPICS.paymentCommands}`, {
      token: OPS_TOKEN,
    });
    assert.equal(foreign.status, 400);
    assert.match(foreign.type, /application\/problem\+json/);
  });
});
