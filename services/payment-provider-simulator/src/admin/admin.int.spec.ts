import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditLog, MemoryAuditSink } from '@platform/service-defaults';
import { startSimulator, type RunningSimulator } from '../testing';

const LIMIT = { timeout: 30_000 };
const TOKEN = 'chaos-token-0123456789';

/** The fault knobs behind the platform's optional admin guard, with ADMIN_TOKENS set. */
describe('admin endpoints with ADMIN_TOKENS set', () => {
  let sim: RunningSimulator;
  const audit = new MemoryAuditSink();
  const saved = process.env.ADMIN_TOKENS;

  before(async () => {
    process.env.ADMIN_TOKENS = `chaos:${TOKEN}`;
    sim = await startSimulator();
    sim.app.get(AuditLog).addSink(audit);
  });

  after(async () => {
    await sim.close();
    if (saved === undefined) delete process.env.ADMIN_TOKENS;
    else process.env.ADMIN_TOKENS = saved;
  });

  it(
    'when no token is sent, then the knobs are a 401 problem and stay as they were',
    LIMIT,
    async () => {
      const put = await sim.call('PUT', '/admin/behaviour', { body: { errors: { failNext: 1 } } });
      assert.equal(put.status, 401);
      assert.match(put.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal((await sim.call('GET', '/admin/behaviour')).status, 401);
      const read = await sim.call('GET', '/admin/behaviour', {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.deepEqual(sim.json(read), {});
      assert.deepEqual(
        audit.records.map((r) => [r.action, r.outcome]),
        [
          ['faults.changed', 'denied'],
          ['faults.read', 'denied'],
        ],
      );
    },
  );

  it(
    'when the token is sent, then the knobs change and faults.changed names its holder',
    LIMIT,
    async () => {
      const put = await sim.call('PUT', '/admin/behaviour', {
        body: { errors: { failNext: 1 } },
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(put.status, 200);
      assert.deepEqual(sim.json(put), { errors: { failNext: 1 } });
      const [changed] = audit.of('faults.changed').filter((r) => r.outcome === 'succeeded');
      assert.deepEqual(changed?.actor, { id: 'chaos', via: 'admin-token' });
      assert.deepEqual(changed.details, { behaviour: { errors: { failNext: 1 } } });
      // The provider API itself is not an admin route.
      const authorize = await sim.call('POST', '/v1/authorizations', {
        body: { amount: 100, currency: 'EUR', customerId: 'c', reference: 'r' },
        idempotencyKey: 'k',
      });
      assert.equal(authorize.status, 503, 'the knob applies');
    },
  );
});
