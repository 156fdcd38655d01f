import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BODY_LIMIT_BYTES } from '../app';
import { startSimulator, type Reply, type RunningSimulator } from '../testing';
import { PROBLEM_TYPE_BASE } from './problem';

// A request the server never answers must fail the test, not stall the run.
const LIMIT = { timeout: 30_000 };
const ORDER = { amount: 5000, currency: 'EUR', customerId: 'cust-1', reference: 'order-1' };

let sim: RunningSimulator;

beforeEach(async () => {
  sim = await startSimulator();
});
afterEach(async () => {
  await sim.close();
});

function assertProblem(reply: Reply, status: number, code: string): Record<string, unknown> {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = sim.json(reply);
  assert.equal(body.type, `${PROBLEM_TYPE_BASE}${code}`);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.ok(typeof body.detail === 'string' && body.detail.length > 0);
  return body;
}

async function ledgerSize(): Promise<number> {
  const { entries } = sim.json(await sim.call('GET', '/v1/ledger'));
  assert.ok(Array.isArray(entries));
  return entries.length;
}

describe('HTTP edge: bad input becomes problem+json, and nothing is charged', () => {
  it('when the JSON is malformed, then 400 malformed-request', LIMIT, async () => {
    const reply = await sim.call('POST', '/v1/authorizations', {
      rawBody: '{"amount": 5000,',
      idempotencyKey: 'k',
    });
    const problem = assertProblem(reply, 400, 'malformed-request');
    assert.equal(problem.instance, '/v1/authorizations');
    assert.equal(await ledgerSize(), 0);
  });

  it(
    'when fields have wrong types or values, then 400 invalid-request naming each field',
    LIMIT,
    async () => {
      const reply = await sim.call('POST', '/v1/authorizations', {
        body: { amount: '5000', currency: 'eur', customerId: 7, reference: '' },
        idempotencyKey: 'k',
      });
      const problem = assertProblem(reply, 400, 'invalid-request');
      assert.deepEqual(
        (problem.errors as { path: string }[]).map((error) => error.path),
        ['amount', 'currency', 'customerId', 'reference'],
      );
      assert.equal(await ledgerSize(), 0);
    },
  );

  it('when amounts are not positive safe integers, then 400', LIMIT, async () => {
    for (const amount of [0, -1, 1.5, 1e300, Number.MAX_SAFE_INTEGER + 1]) {
      const reply = await sim.call('POST', '/v1/authorizations', {
        body: { ...ORDER, amount },
        idempotencyKey: `k${amount}`,
      });
      assertProblem(reply, 400, 'invalid-request');
    }
    assert.equal(await ledgerSize(), 0);
  });

  it('when the body has unknown or __proto__ keys, then 400', LIMIT, async () => {
    const reply = await sim.call('POST', '/v1/authorizations', {
      rawBody: JSON.stringify({ ...ORDER }).replace('{', '{"__proto__":{"admin":true},'),
      idempotencyKey: 'k',
    });
    const problem = assertProblem(reply, 400, 'invalid-request');
    assert.match(String(problem.detail), /__proto__/);
  });

  it('when the body is missing or not JSON, then 400', LIMIT, async () => {
    const none = await sim.call('POST', '/v1/authorizations', { idempotencyKey: 'k' });
    assertProblem(none, 400, 'invalid-request');
    const text = await sim.call('POST', '/v1/authorizations', {
      rawBody: JSON.stringify(ORDER),
      idempotencyKey: 'k',
      headers: { 'content-type': 'text/plain' },
    });
    assertProblem(text, 400, 'invalid-request');
  });

  it('when the body is over 64 KB, then 413 payload-too-large', LIMIT, async () => {
    const padding = 'x'.repeat(BODY_LIMIT_BYTES);
    const reply = await sim.call('POST', '/v1/authorizations', {
      body: { ...ORDER, reference: padding },
      idempotencyKey: 'k',
    });
    assertProblem(reply, 413, 'payload-too-large');
    assert.equal(await ledgerSize(), 0);
  });

  it(
    'when the body is just under 64 KB, then it is parsed (and rejected only by validation)',
    LIMIT,
    async () => {
      const body = JSON.stringify({ ...ORDER, reference: '' });
      const reference = 'x'.repeat(BODY_LIMIT_BYTES - Buffer.byteLength(body));
      const rawBody = JSON.stringify({ ...ORDER, reference });
      assert.equal(Buffer.byteLength(rawBody), BODY_LIMIT_BYTES);
      const reply = await sim.call('POST', '/v1/authorizations', { rawBody, idempotencyKey: 'k' });
      assertProblem(reply, 400, 'invalid-request');
    },
  );

  it(
    'when the Idempotency-Key header is missing or empty, then 400 naming the header',
    LIMIT,
    async () => {
      const missing = await sim.call('POST', '/v1/authorizations', { body: ORDER });
      const problem = assertProblem(missing, 400, 'invalid-request');
      assert.deepEqual(problem.errors, [
        {
          path: 'Idempotency-Key',
          message: 'the Idempotency-Key header is required on every mutating call',
        },
      ]);
      const empty = await sim.call('POST', '/v1/authorizations', {
        body: ORDER,
        headers: { 'idempotency-key': '' },
      });
      assert.deepEqual(assertProblem(empty, 400, 'invalid-request').errors, [
        { path: 'Idempotency-Key', message: 'the Idempotency-Key header must not be empty' },
      ]);
      for (const path of ['/v1/authorizations/a/capture', '/v1/captures/c/refund']) {
        assertProblem(
          await sim.call('POST', path, { body: { amount: 1 } }),
          400,
          'invalid-request',
        );
      }
      assertProblem(await sim.call('POST', '/v1/authorizations/a/void'), 400, 'invalid-request');
      assert.equal(await ledgerSize(), 0);
    },
  );

  it('when a query carries operators or unknown parameters, then 400', LIMIT, async () => {
    assertProblem(
      await sim.call('GET', `/v1/ledger?${encodeURIComponent('reference[$ne]')}=x`),
      400,
      'invalid-request',
    );
    assertProblem(
      await sim.call('GET', '/v1/ledger?reference=a&reference=b'),
      400,
      'invalid-request',
    );
    assertProblem(await sim.call('POST', '/admin/reset?ledger=yes'), 400, 'invalid-request');
  });

  it('when a route does not exist, then 404 problem', LIMIT, async () => {
    assertProblem(await sim.call('GET', '/v1/nothing-here'), 404, 'not-found');
  });
});

describe('HTTP edge: health, docs and request log', () => {
  it(
    'when liveness and readiness are asked, then both are up (readiness has no dependencies)',
    LIMIT,
    async () => {
      const live = await sim.call('GET', '/health/live');
      assert.equal(live.status, 200);
      assert.equal(sim.json(live).status, 'ok');
      const ready = await sim.call('GET', '/health/ready');
      assert.equal(ready.status, 200);
      assert.deepEqual(sim.json(ready).info, { lifecycle: { status: 'up', draining: false } });
    },
  );

  it(
    'when the docs are fetched, then the OpenAPI document lists the provider endpoints',
    LIMIT,
    async () => {
      const ui = await sim.call('GET', '/docs');
      assert.equal(ui.status, 200);
      assert.match(String(ui.body), /swagger/i);
      const document = sim.json(await sim.call('GET', '/docs-json'));
      assert.deepEqual(Object.keys(document.paths as object).sort(), [
        '/admin/behaviour',
        '/admin/in-flight',
        '/admin/reset',
        '/health/live',
        '/health/ready',
        '/v1/authorizations',
        '/v1/authorizations/{id}',
        '/v1/authorizations/{id}/capture',
        '/v1/authorizations/{id}/void',
        '/v1/captures/{id}/refund',
        '/v1/ledger',
        '/v1/ledger/summary',
      ]);
    },
  );

  it(
    'when a request is answered, then one log record has method, path, status, duration and key',
    LIMIT,
    async () => {
      await sim.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'log-key' });
      const records = sim.logs.filter((record) => record.idempotencyKey === 'log-key');
      assert.equal(records.length, 1);
      const [record] = records;
      assert.ok(record);
      assert.deepEqual(
        { ...record, time: typeof record.time, durationMs: typeof record.durationMs },
        {
          time: 'string',
          msg: 'request',
          method: 'POST',
          path: '/v1/authorizations',
          status: 201,
          durationMs: 'number',
          idempotencyKey: 'log-key',
          faults: [],
        },
      );
    },
  );
});
