import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { TOPICS } from '@platform/contracts';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { createServiceApp } from '@platform/service-defaults';
import { MongoClient } from 'mongodb';
import { INVENTORY_SERVICE_OPTIONS, InventoryServiceModule } from '../app.module';
import { DEMO_STOCK } from '../features/stock/demo-stock';
import { InventoryRuntime } from '../infrastructure/inventory-runtime';
import { startGroupAtEnd, unique } from '../testing/inventory-harness';

const run = promisify(execFile);

interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/** The service's HTTP API on a real server (port 0), wired exactly as main.ts wires it. */
describe('inventory HTTP API', { timeout: 600_000 }, () => {
  let stack: LocalStack;
  let app: INestApplication;
  let base: string;
  let database: string;
  const saved = { ...process.env };

  const call = async (method: string, url: string, body?: unknown, raw?: string) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers:
        body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {},
      ...(raw !== undefined
        ? { body: raw }
        : body !== undefined
          ? { body: JSON.stringify(body) }
          : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      json: (text === '' ? undefined : JSON.parse(text)) as unknown,
    };
  };

  const problem = (json: unknown) => json as Problem;

  before(async () => {
    stack = await useLocalStack();
    database = unique('it_inventory_http');
    const group = unique('inventory-int-http');
    await startGroupAtEnd(stack.kafka.brokers, group, TOPICS.inventoryCommands).catch(
      () => undefined,
    );
    Object.assign(process.env, {
      MONGO_URL: stack.mongo.url,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      INVENTORY_DATABASE: database,
      INVENTORY_CONSUMER_GROUP: group,
    });
    app = await createServiceApp(InventoryServiceModule, INVENTORY_SERVICE_OPTIONS);
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  after(async () => {
    await app.close();
    const client = new MongoClient(stack.mongo.url);
    await client
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
    process.env = saved;
  });

  it('when a SKU is set, then it is created with nothing reserved or sold, and reads back the same', async () => {
    const put = await call('PUT', '/admin/stock/HTTP-1', {
      available: 7,
      unitPrice: 1999,
      currency: 'EUR',
    });
    assert.equal(put.status, 200);
    const view = {
      sku: 'HTTP-1',
      available: 7,
      reserved: 0,
      sold: 0,
      unitPrice: 1999,
      currency: 'EUR',
    };
    assert.deepEqual(put.json, view);
    const get = await call('GET', '/stock/HTTP-1');
    assert.equal(get.status, 200);
    assert.deepEqual(get.json, view);
  });

  it('when a SKU with held units is set again, then only available and the price change; reserved, sold and holds stay', async () => {
    await call('PUT', '/admin/stock/HTTP-2', { available: 10, unitPrice: 100, currency: 'EUR' });
    const runtime = app.get(InventoryRuntime);
    const orderId = randomUUID();
    await runtime.reservations.reserve(
      { orderId, lines: [{ sku: 'HTTP-2', quantity: 4 }], currency: 'EUR' },
      { messageId: randomUUID(), correlationId: orderId },
    );

    const put = await call('PUT', '/admin/stock/HTTP-2', {
      available: 50,
      unitPrice: 120,
      currency: 'EUR',
    });
    assert.deepEqual(put.json, {
      sku: 'HTTP-2',
      available: 50,
      reserved: 4,
      sold: 0,
      unitPrice: 120,
      currency: 'EUR',
    });
    const doc = await runtime.db.collection('stock').findOne({ _id: 'HTTP-2' as never });
    assert.deepEqual(doc?.holds, { [orderId]: 4 });
  });

  it('when a SKU is unknown, then the answer is 404 problem+json', async () => {
    const get = await call('GET', '/stock/NOPE-404');
    assert.equal(get.status, 404);
    assert.match(get.type, /application\/problem\+json/);
    assert.equal(problem(get.json).status, 404);
    assert.match(problem(get.json).detail ?? '', /NOPE-404/);
  });

  it('when the body or SKU is invalid, then the answer is 400 problem+json naming the field, and nothing is written', async () => {
    const cases: [string, string, unknown, string][] = [
      [
        'negative available',
        '/admin/stock/BAD-1',
        { available: -1, unitPrice: 100, currency: 'EUR' },
        'available',
      ],
      [
        'fractional available',
        '/admin/stock/BAD-1',
        { available: 1.5, unitPrice: 100, currency: 'EUR' },
        'available',
      ],
      [
        'huge available',
        '/admin/stock/BAD-1',
        { available: 1e12, unitPrice: 100, currency: 'EUR' },
        'available',
      ],
      [
        'string number',
        '/admin/stock/BAD-1',
        { available: '5', unitPrice: 100, currency: 'EUR' },
        'available',
      ],
      [
        'zero price',
        '/admin/stock/BAD-1',
        { available: 1, unitPrice: 0, currency: 'EUR' },
        'unitPrice',
      ],
      [
        'price as decimal',
        '/admin/stock/BAD-1',
        { available: 1, unitPrice: 19.99, currency: 'EUR' },
        'unitPrice',
      ],
      [
        'bad currency',
        '/admin/stock/BAD-1',
        { available: 1, unitPrice: 100, currency: 'euro' },
        'currency',
      ],
      ['missing field', '/admin/stock/BAD-1', { available: 1, currency: 'EUR' }, 'unitPrice'],
      [
        'unknown field',
        '/admin/stock/BAD-1',
        { available: 1, unitPrice: 1, currency: 'EUR', reserved: 0 },
        '(root)',
      ],
      [
        'SKU with a dollar',
        '/admin/stock/%24where',
        { available: 1, unitPrice: 1, currency: 'EUR' },
        '(root)',
      ],
      [
        'SKU with a dot path',
        `/admin/stock/${'x'.repeat(65)}`,
        { available: 1, unitPrice: 1, currency: 'EUR' },
        '(root)',
      ],
    ];
    for (const [name, url, body, field] of cases) {
      const res = await call('PUT', url, body);
      assert.equal(res.status, 400, name);
      assert.match(res.type, /application\/problem\+json/, name);
      assert.ok(
        problem(res.json).errors?.some((e) => e.path === field),
        `${name}: ${JSON.stringify(res.json)}`,
      );
    }
    const proto = await call(
      'PUT',
      '/admin/stock/BAD-1',
      undefined,
      '{"available":1,"unitPrice":1,"currency":"EUR","__proto__":{"x":1}}',
    );
    assert.equal(proto.status, 400, '__proto__ key');
    const malformed = await call('PUT', '/admin/stock/BAD-1', undefined, '{"available":');
    assert.equal(malformed.status, 400, 'malformed JSON');
    assert.match(malformed.type, /application\/problem\+json/);
    assert.equal((await call('GET', '/stock/BAD-1')).status, 404, 'nothing was written');
  });

  it('when stock is listed, then it pages in SKU order by cursor, caps absurd limits and refuses operator injection', async () => {
    for (const sku of ['PAGE-1', 'PAGE-2', 'PAGE-3', 'PAGE-4', 'PAGE-5']) {
      await call('PUT', `/admin/stock/${sku}`, { available: 1, unitPrice: 10, currency: 'EUR' });
    }
    const skus: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(
        'GET',
        `/stock?limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      assert.equal(res.status, 200);
      const page = res.json as { items: { sku: string }[]; nextCursor?: string };
      assert.ok(page.items.length <= 2);
      skus.push(...page.items.map((i) => i.sku));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined && pages < 20);
    assert.deepEqual(skus, [...skus].sort(), 'SKU order');
    assert.ok(['PAGE-1', 'PAGE-2', 'PAGE-3', 'PAGE-4', 'PAGE-5'].every((s) => skus.includes(s)));
    assert.equal(new Set(skus).size, skus.length, 'no SKU twice');

    const capped = await call('GET', '/stock?limit=1e9');
    assert.equal(capped.status, 200);
    assert.ok((capped.json as { items: unknown[] }).items.length <= 100);
    for (const url of [
      '/stock?limit[$ne]=1',
      '/stock?limit=0',
      '/stock?limit=abc',
      '/stock?sku=PAGE-1',
      '/stock?cursor=%24%24%24',
    ]) {
      const res = await call('GET', url);
      assert.equal(res.status, 400, url);
      assert.match(res.type, /application\/problem\+json/, url);
    }
  });

  it('when health is asked, then liveness answers and readiness reports MongoDB and Kafka up', async () => {
    assert.equal((await call('GET', '/health/live')).status, 200);
    const ready = await call('GET', '/health/ready');
    assert.equal(ready.status, 200, JSON.stringify(ready.json));
    const details = (ready.json as { details: Record<string, { status: string }> }).details;
    assert.equal(details.mongodb?.status, 'up');
    assert.equal(details.kafka?.status, 'up');
  });

  it('when the OpenAPI document is asked, then it describes the stock endpoints', async () => {
    const docs = await call('GET', '/docs-json');
    assert.equal(docs.status, 200);
    const paths = Object.keys((docs.json as { paths: Record<string, unknown> }).paths);
    for (const p of ['/admin/stock/{sku}', '/stock/{sku}', '/stock'])
      assert.ok(paths.includes(p), p);
  });

  it('when the seed runs twice, then the demo SKUs exist in euro with the demo levels, the same after both runs', async () => {
    const seed = path.join(__dirname, '..', 'seed.js');
    const env = { ...process.env, INVENTORY_DATABASE: database };
    const first = await run(process.execPath, [seed], { env });
    assert.match(first.stdout, /seeded 5 SKUs/);
    const after1 = await Promise.all(
      Object.keys(DEMO_STOCK).map((sku) => call('GET', `/stock/${sku}`)),
    );
    await run(process.execPath, [seed], { env });
    const after2 = await Promise.all(
      Object.keys(DEMO_STOCK).map((sku) => call('GET', `/stock/${sku}`)),
    );
    assert.deepEqual(after2, after1);
    for (const [i, [sku, level]] of Object.entries(DEMO_STOCK).entries()) {
      assert.deepEqual(after1[i]?.json, { sku, ...level, reserved: 0, sold: 0 });
      assert.equal(level.currency, 'EUR');
    }
  });
});
