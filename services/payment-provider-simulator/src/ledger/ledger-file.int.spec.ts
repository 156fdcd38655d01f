import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createSimulatorApp } from '../app';
import { sequentialIds, startSimulator, type RunningSimulator } from '../testing';

// A request the server never answers must fail the test, not stall the run.
const LIMIT = { timeout: 30_000 };
const ORDER = { amount: 5000, currency: 'EUR', customerId: 'cust-1', reference: 'order-1' };

let dir: string;
let file: string;
const running: RunningSimulator[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pps-ledger-'));
  file = join(dir, 'nested', 'ledger.jsonl');
});
afterEach(async () => {
  for (const sim of running.splice(0)) await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<RunningSimulator> {
  const sim = await startSimulator({ ledgerFile: file });
  running.push(sim);
  return sim;
}

async function stop(sim: RunningSimulator): Promise<void> {
  running.splice(running.indexOf(sim), 1);
  await sim.close();
}

function fileLines(): unknown[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line): unknown => JSON.parse(line));
}

describe('LEDGER_FILE', () => {
  it(
    'when entries are written, then each is one JSON line in the file, same as the API shows',
    LIMIT,
    async () => {
      const sim = await start();
      const auth = sim.json(
        await sim.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'a' }),
      );
      await sim.call('POST', `/v1/authorizations/${String(auth.id)}/capture`, {
        body: { amount: 5000 },
        idempotencyKey: 'c',
      });
      const { entries } = sim.json(await sim.call('GET', '/v1/ledger'));
      assert.equal(fileLines().length, 2);
      assert.deepEqual(fileLines(), entries);
    },
  );

  it(
    'when the simulator restarts, then the ledger and the authorizations are reloaded',
    LIMIT,
    async () => {
      const first = await start();
      const auth = first.json(
        await first.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'a' }),
      );
      const id = String(auth.id);
      const captured = first.json(
        await first.call('POST', `/v1/authorizations/${id}/capture`, {
          body: { amount: 4000 },
          idempotencyKey: 'c',
        }),
      );
      await first.call('POST', `/v1/captures/${String(captured.id)}/refund`, {
        body: { amount: 1000 },
        idempotencyKey: 'r',
      });
      const before = first.json(await first.call('GET', '/v1/ledger')).entries;
      const stateBefore = (await first.call('GET', `/v1/authorizations/${id}`)).body;
      await stop(first);

      // New ids must not collide with reloaded ones: a fresh sequence here would reuse auth_1.
      const second = await startSimulator({ ledgerFile: file, newId: (p) => `${p}_after` });
      running.push(second);
      assert.deepEqual(second.json(await second.call('GET', '/v1/ledger')).entries, before);
      assert.deepEqual((await second.call('GET', `/v1/authorizations/${id}`)).body, stateBefore);
      const recapture = await second.call('POST', `/v1/authorizations/${id}/capture`, {
        body: { amount: 1 },
        idempotencyKey: 'c2',
      });
      assert.equal(recapture.status, 409, 'state was rebuilt: it is already captured');
      const refund = await second.call('POST', `/v1/captures/${String(captured.id)}/refund`, {
        body: { amount: 3000 },
        idempotencyKey: 'r2',
      });
      assert.equal(refund.status, 201);
      const after = second.json(await second.call('GET', '/v1/ledger')).entries as {
        sequence: number;
      }[];
      assert.deepEqual(
        after.map((entry) => entry.sequence),
        [1, 2, 3, 4],
      );
      assert.equal(fileLines().length, 4);
    },
  );

  it(
    'when the last line was cut short by a crash, then it is dropped and appends start on a new line',
    LIMIT,
    async () => {
      const first = await start();
      await first.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'a' });
      await stop(first);
      appendFileSync(file, '{"sequence":2,"kind":"cap');

      const second = await startSimulator({ ledgerFile: file, newId: (p) => `${p}_after` });
      running.push(second);
      assert.equal(
        (second.json(await second.call('GET', '/v1/ledger')).entries as unknown[]).length,
        1,
      );
      await second.call('POST', '/v1/authorizations', {
        body: { ...ORDER, reference: 'order-2' },
        idempotencyKey: 'b',
      });
      assert.equal(fileLines().length, 2);
    },
  );

  it(
    'when a line in the middle is damaged, then the simulator refuses to start',
    LIMIT,
    async () => {
      const first = await start();
      await first.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'a' });
      await stop(first);
      writeFileSync(file, `{"not":"an entry"}\n${readFileSync(file, 'utf8')}`);
      await assert.rejects(
        createSimulatorApp({ ledgerFile: file, requestLog: false, newId: sequentialIds() }),
        /ledger\.jsonl:1: not a ledger entry/,
      );
    },
  );

  it('when the ledger is reset, then the file is emptied too', LIMIT, async () => {
    const sim = await start();
    await sim.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'a' });
    await sim.call('POST', '/admin/reset?ledger=true');
    assert.equal(readFileSync(file, 'utf8'), '');
    await stop(sim);
    const again = await start();
    assert.deepEqual(again.json(await again.call('GET', '/v1/ledger')).entries, []);
  });
});
