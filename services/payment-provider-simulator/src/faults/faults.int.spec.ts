import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PROBLEM_TYPE_BASE } from '../http/problem';
import { eventually, rawPost, startSimulator, type Reply, type RunningSimulator } from '../testing';

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

async function setBehaviour(behaviour: object): Promise<Record<string, unknown>> {
  const reply = await sim.call('PUT', '/admin/behaviour', { body: behaviour });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return sim.json(reply);
}

function authorize(key: string, options: { signal?: AbortSignal } = {}): Promise<Reply> {
  return sim.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: key, ...options });
}

async function ledgerSize(): Promise<number> {
  const { entries } = sim.json(await sim.call('GET', '/v1/ledger'));
  assert.ok(Array.isArray(entries));
  return entries.length;
}

async function inFlight(): Promise<Record<string, unknown>> {
  return sim.json(await sim.call('GET', '/admin/in-flight'));
}

describe('fault knobs: errors', () => {
  it(
    'when failNext is 2, then the next two calls fail with 503 and no effect, the third succeeds',
    LIMIT,
    async () => {
      await setBehaviour({ errors: { failNext: 2 } });
      for (const key of ['k1', 'k2']) {
        const reply = await authorize(key);
        assert.equal(reply.status, 503);
        assert.equal(reply.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        const problem = sim.json(reply);
        assert.equal(problem.type, `${PROBLEM_TYPE_BASE}injected-failure`);
        assert.equal(problem.status, 503);
      }
      assert.equal(await ledgerSize(), 0);
      assert.equal((await authorize('k3')).status, 201);
      assert.equal(await ledgerSize(), 1);
      const behaviour = sim.json(await sim.call('GET', '/admin/behaviour'));
      assert.deepEqual(behaviour, { errors: { failNext: 0 } });
    },
  );

  it(
    'when a failed call is retried with the same key, then it runs for real (failures are not stored)',
    LIMIT,
    async () => {
      await setBehaviour({ errors: { failNext: 1, status: 500 } });
      assert.equal((await authorize('k')).status, 500);
      const retry = await authorize('k');
      assert.equal(retry.status, 201);
      assert.equal(retry.headers.get('idempotent-replayed'), null);
      assert.equal(await ledgerSize(), 1);
    },
  );

  it('when errors target captures only, then authorizations are not affected', LIMIT, async () => {
    await setBehaviour({ errors: { rate: 1, operations: ['capture'] } });
    const authorized = await authorize('k');
    assert.equal(authorized.status, 201);
    const capture = await sim.call(
      'POST',
      `/v1/authorizations/${String(sim.json(authorized).id)}/capture`,
      {
        body: { amount: 1 },
        idempotencyKey: 'c',
      },
    );
    assert.equal(capture.status, 503);
    assert.equal(await ledgerSize(), 1);
  });

  it(
    'when an error rate is set with a seed, then the same seed fails the same requests',
    LIMIT,
    async () => {
      const run = async (): Promise<number[]> => {
        await sim.call('POST', '/admin/reset?ledger=true');
        await setBehaviour({ seed: 7, errors: { rate: 0.5 } });
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) statuses.push((await authorize(`k${i}`)).status);
        return statuses;
      };
      const first = await run();
      const firstCharges = await ledgerSize();
      const second = await run();
      assert.deepEqual(second, first);
      assert.ok(
        first.includes(503) && first.includes(201),
        `both outcomes expected: ${first.join()}`,
      );
      assert.equal(firstCharges, first.filter((status) => status === 201).length);
      assert.equal(await ledgerSize(), firstCharges);
    },
  );
});

describe('fault knobs: latency, hang, delayed reply, dropped reply', () => {
  it(
    'when latency is 400 ms, then the answer takes at least that long and the effect happens',
    LIMIT,
    async () => {
      await setBehaviour({ latency: { ms: 400 } });
      const started = performance.now();
      const reply = await authorize('k');
      assert.ok(performance.now() - started >= 395, 'answered before the latency');
      assert.equal(reply.status, 201);
      assert.equal(await ledgerSize(), 1);
      assert.deepEqual(sim.logs.find((log) => log.idempotencyKey === 'k')?.faults, ['latency']);
    },
  );

  it(
    'when latency targets captures only, then authorizations answer without it',
    LIMIT,
    async () => {
      await setBehaviour({ latency: { ms: 3000, operations: ['capture'] } });
      const started = performance.now();
      assert.equal((await authorize('k')).status, 201);
      assert.ok(performance.now() - started < 2500, 'authorization was delayed');
    },
  );

  it(
    'when a request hangs and the client gives up, then no effect and the hung request is dropped',
    LIMIT,
    async () => {
      await setBehaviour({ hang: { operations: ['authorize'] } });
      await assert.rejects(authorize('k', { signal: AbortSignal.timeout(500) }), {
        name: 'TimeoutError',
      });
      await eventually(
        async () => ((await inFlight()).hanging === 0 ? true : undefined),
        'the hung request to be dropped',
      );
      assert.equal(await ledgerSize(), 0);
      const log = sim.logs.find((record) => record.idempotencyKey === 'k');
      assert.deepEqual(log && { status: log.status, faults: log.faults }, {
        status: null,
        faults: ['hang'],
      });
    },
  );

  it(
    'when the hang knob is cleared, then hung requests get 503 hang-released and nothing happened',
    LIMIT,
    async () => {
      await setBehaviour({ hang: {} });
      const pending = authorize('k');
      await eventually(
        async () => ((await inFlight()).hanging === 1 ? true : undefined),
        'the request to hang',
      );
      await setBehaviour({});
      const reply = await pending;
      assert.equal(reply.status, 503);
      assert.equal(sim.json(reply).type, `${PROBLEM_TYPE_BASE}hang-released`);
      assert.equal(await ledgerSize(), 0);
      assert.equal((await authorize('k')).status, 201, 'the retry runs for real');
    },
  );

  it(
    'when the reply is delayed, then the ledger entry exists before the reply arrives',
    LIMIT,
    async () => {
      await setBehaviour({ delayedReply: { ms: 2500, operations: ['authorize'] } });
      let answered = false;
      const started = performance.now();
      const pending = authorize('k').finally(() => {
        answered = true;
      });
      const entries = await eventually(async () => {
        const { entries: found } = sim.json(await sim.call('GET', '/v1/ledger'));
        return Array.isArray(found) && found.length > 0 ? found : undefined;
      }, 'the authorization to reach the ledger');
      const seenAfterMs = performance.now() - started;
      assert.equal(answered, false, 'the reply came before the ledger entry was seen');
      assert.ok(seenAfterMs < 1500, `the entry appeared only after ${seenAfterMs} ms`);
      assert.equal((await inFlight()).holdingReply, 1);
      const reply = await pending;
      assert.equal(reply.status, 201);
      assert.equal(sim.json(reply).id, (entries[0] as { id: string }).id);
      assert.equal(entries.length, 1);
    },
  );

  it(
    'when the reply is dropped after the charge, then the client sees a reset and a retry gets the stored result',
    LIMIT,
    async () => {
      await setBehaviour({ dropReply: { operations: ['authorize'], next: 1 } });
      await assert.rejects(rawPost(sim.baseUrl, '/v1/authorizations', ORDER, 'k'), {
        code: 'ECONNRESET',
      });
      const { entries } = sim.json(await sim.call('GET', '/v1/ledger'));
      assert.ok(Array.isArray(entries));
      assert.equal(entries.length, 1, 'the charge happened');

      const retry = await authorize('k');
      assert.equal(retry.status, 201);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.equal(sim.json(retry).id, (entries[0] as { id: string }).id);
      assert.equal(await ledgerSize(), 1, 'no second charge');
      const dropped = sim.logs.find((log) => log.faults.includes('drop-reply'));
      assert.equal(dropped?.status, null);
    },
  );

  it(
    'when the simulator closes while a request hangs, then it is answered 503 shutting-down and close finishes',
    LIMIT,
    async () => {
      await setBehaviour({ hang: {} });
      const pending = authorize('k').then(
        (reply) => sim.json(reply).code,
        () => 'connection closed',
      );
      await eventually(
        async () => ((await inFlight()).hanging === 1 ? true : undefined),
        'the request to hang',
      );
      await sim.close();
      // Answered 503 shutting-down before the server closes its sockets.
      assert.equal(await pending, 'shutting-down');
      sim = await startSimulator(); // afterEach closes this one
    },
  );
});

describe('admin API', () => {
  it(
    'when knobs are put, then GET returns them and they apply to the next request',
    LIMIT,
    async () => {
      const behaviour = {
        seed: 1,
        latency: { minMs: 1, maxMs: 5, operations: ['authorize'] },
        errors: { rate: 0, failNext: 1, status: 500 },
        declines: { amountLimit: 10, cards: ['1'], customers: ['c'] },
        delayedReply: { ms: 1, next: 3 },
        dropReply: { operations: ['refund'], next: 0 },
      };
      assert.deepEqual(await setBehaviour(behaviour), behaviour);
      assert.deepEqual((await sim.call('GET', '/admin/behaviour')).body, behaviour);
      assert.equal((await authorize('k')).status, 500);
    },
  );

  it('when knobs are invalid, then 400 with the fields and the old knobs stay', LIMIT, async () => {
    await setBehaviour({ errors: { failNext: 1 } });
    for (const body of [
      { errors: { rate: 2 } },
      { latency: { minMs: 10, maxMs: 5 } },
      { hang: { operations: ['charge'] } },
      { teleport: true },
    ]) {
      const reply = await sim.call('PUT', '/admin/behaviour', { body });
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(sim.json(reply).type, `${PROBLEM_TYPE_BASE}invalid-request`);
    }
    assert.deepEqual((await sim.call('GET', '/admin/behaviour')).body, { errors: { failNext: 1 } });
  });

  it(
    'when reset without ledger, then knobs clear and the ledger stays; with ledger=true, everything clears',
    LIMIT,
    async () => {
      assert.equal((await authorize('k')).status, 201);
      await setBehaviour({ errors: { rate: 1 } });
      const reset = await sim.call('POST', '/admin/reset');
      assert.equal(reset.status, 200);
      assert.deepEqual(reset.body, { behaviour: {}, ledgerCleared: false });
      assert.equal(await ledgerSize(), 1);
      assert.equal((await authorize('k')).headers.get('idempotent-replayed'), 'true');

      const full = await sim.call('POST', '/admin/reset?ledger=true');
      assert.deepEqual(full.body, { behaviour: {}, ledgerCleared: true });
      assert.equal(await ledgerSize(), 0);
      const fresh = await authorize('k');
      assert.equal(fresh.headers.get('idempotent-replayed'), null, 'keys were cleared too');
      assert.equal(await ledgerSize(), 1);
    },
  );
});
