import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PROBLEM_TYPE_BASE } from '../http/problem';
import { FIXED_NOW, startSimulator, type RunningSimulator } from '../testing';

const AT = FIXED_NOW.toISOString();
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

async function authorize(key = 'auth-key', body: object = ORDER): Promise<string> {
  const reply = await sim.call('POST', '/v1/authorizations', { body, idempotencyKey: key });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  const { id } = sim.json(reply);
  assert.equal(typeof id, 'string');
  return String(id);
}

async function capture(authorizationId: string, amount: number, key = 'capture-key') {
  return sim.call('POST', `/v1/authorizations/${authorizationId}/capture`, {
    body: { amount },
    idempotencyKey: key,
  });
}

async function ledger(reference = 'order-1'): Promise<unknown[]> {
  const reply = await sim.call('GET', `/v1/ledger?reference=${reference}`);
  assert.equal(reply.status, 200);
  const entries: unknown = sim.json(reply).entries;
  assert.ok(Array.isArray(entries));
  return entries as unknown[];
}

function assertProblem(
  reply: { status: number; headers: Headers; body: unknown },
  status: number,
  code: string,
): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = sim.json(reply);
  assert.equal(body.type, `${PROBLEM_TYPE_BASE}${code}`);
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
}

describe('provider API: authorize, capture, void, refund', () => {
  it(
    'when an amount is authorized, then 201 with the authorization and one ledger hold',
    LIMIT,
    async () => {
      const reply = await sim.call('POST', '/v1/authorizations', {
        body: { ...ORDER, card: '4242424242424242' },
        idempotencyKey: 'k1',
      });
      assert.equal(reply.status, 201);
      assert.deepEqual(reply.body, {
        id: 'auth_1',
        status: 'authorized',
        amount: 5000,
        currency: 'EUR',
        reference: 'order-1',
      });
      assert.deepEqual(await ledger(), [
        {
          sequence: 1,
          kind: 'authorization',
          id: 'auth_1',
          authorizationId: 'auth_1',
          reference: 'order-1',
          amount: 5000,
          currency: 'EUR',
          at: AT,
          idempotencyKey: 'k1',
          customerId: 'cust-1',
        },
      ]);
    },
  );

  it(
    'when an authorization is captured in part, then 201 and its state shows the amounts',
    LIMIT,
    async () => {
      const id = await authorize();
      const reply = await capture(id, 3000);
      assert.equal(reply.status, 201);
      assert.deepEqual(reply.body, {
        id: 'cap_2',
        authorizationId: 'auth_1',
        status: 'captured',
        amount: 3000,
      });
      const state = await sim.call('GET', `/v1/authorizations/${id}`);
      assert.equal(state.status, 200);
      assert.deepEqual(state.body, {
        id: 'auth_1',
        status: 'captured',
        reference: 'order-1',
        customerId: 'cust-1',
        currency: 'EUR',
        amount: 5000,
        amounts: { authorized: 5000, captured: 3000, voided: 0, refunded: 0 },
        captureId: 'cap_2',
        refunds: [],
        createdAt: AT,
      });
      assert.deepEqual(
        (await ledger()).map((entry) => (entry as { kind: string }).kind),
        ['authorization', 'capture'],
      );
    },
  );

  it(
    'when a capture exceeds the authorized amount, then 422 and nothing is captured',
    LIMIT,
    async () => {
      const id = await authorize();
      assertProblem(await capture(id, 5001), 422, 'amount-exceeds-authorized');
      assert.equal((await ledger()).length, 1);
    },
  );

  it(
    'when an authorization is captured a second time, then 409 and the ledger has one capture',
    LIMIT,
    async () => {
      const id = await authorize();
      assert.equal((await capture(id, 5000, 'c1')).status, 201);
      assertProblem(await capture(id, 1, 'c2'), 409, 'invalid-authorization-state');
      assert.equal((await ledger()).length, 2);
    },
  );

  it(
    "when authorizations are listed by reference, then only that reference's come back, oldest first",
    LIMIT,
    async () => {
      const first = await authorize('k-1');
      const second = await authorize('k-2', { ...ORDER, amount: 100 });
      await authorize('k-3', { ...ORDER, reference: 'order-2' });
      const reply = await sim.call('GET', '/v1/authorizations?reference=order-1');
      assert.equal(reply.status, 200);
      const items = sim.json(reply).items;
      assert.ok(Array.isArray(items));
      assert.deepEqual(
        (items as { id: string }[]).map((item) => item.id),
        [first, second],
      );
      const none = await sim.call('GET', '/v1/authorizations?reference=order-none');
      assert.deepEqual(sim.json(none).items, []);
      assert.equal((await sim.call('GET', '/v1/authorizations')).status, 400);
    },
  );

  it('when an unknown authorization is captured or read, then 404', LIMIT, async () => {
    assertProblem(await capture('auth_nope', 1), 404, 'authorization-not-found');
    assertProblem(
      await sim.call('GET', '/v1/authorizations/auth_nope'),
      404,
      'authorization-not-found',
    );
  });

  it(
    'when an authorization is voided, then 200, its state is voided and the ledger has the void',
    LIMIT,
    async () => {
      const id = await authorize();
      const reply = await sim.call('POST', `/v1/authorizations/${id}/void`, {
        idempotencyKey: 'v1',
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, {
        id: 'void_2',
        authorizationId: 'auth_1',
        status: 'voided',
        amount: 5000,
      });
      const state = sim.json(await sim.call('GET', `/v1/authorizations/${id}`));
      assert.equal(state.status, 'voided');
      assert.deepEqual(state.amounts, { authorized: 5000, captured: 0, voided: 5000, refunded: 0 });
      const entries = await ledger();
      assert.deepEqual(entries[1], {
        sequence: 2,
        kind: 'void',
        id: 'void_2',
        authorizationId: 'auth_1',
        reference: 'order-1',
        amount: 5000,
        currency: 'EUR',
        at: AT,
        idempotencyKey: 'v1',
      });
    },
  );

  it(
    'when a captured authorization is voided, then 409 and no void is recorded',
    LIMIT,
    async () => {
      const id = await authorize();
      assert.equal((await capture(id, 5000)).status, 201);
      const reply = await sim.call('POST', `/v1/authorizations/${id}/void`, {
        idempotencyKey: 'v1',
      });
      assertProblem(reply, 409, 'invalid-authorization-state');
      assert.equal((await ledger()).length, 2);
    },
  );

  it('when a voided authorization is captured or voided again, then 409', LIMIT, async () => {
    const id = await authorize();
    const voided = await sim.call('POST', `/v1/authorizations/${id}/void`, {
      idempotencyKey: 'v1',
    });
    assert.equal(voided.status, 200);
    assertProblem(await capture(id, 10), 409, 'invalid-authorization-state');
    const again = await sim.call('POST', `/v1/authorizations/${id}/void`, { idempotencyKey: 'v2' });
    assertProblem(again, 409, 'invalid-authorization-state');
  });

  it(
    'when refunds add up to the capture, then each is 201, the state is refunded and more is 422',
    LIMIT,
    async () => {
      const id = await authorize();
      const captureId = String(sim.json(await capture(id, 4000)).id);
      const first = await sim.call('POST', `/v1/captures/${captureId}/refund`, {
        body: { amount: 1500 },
        idempotencyKey: 'r1',
      });
      assert.equal(first.status, 201);
      assert.deepEqual(first.body, {
        id: 'ref_3',
        captureId: 'cap_2',
        status: 'refunded',
        amount: 1500,
      });
      const second = await sim.call('POST', `/v1/captures/${captureId}/refund`, {
        body: { amount: 2500 },
        idempotencyKey: 'r2',
      });
      assert.equal(second.status, 201);
      const third = await sim.call('POST', `/v1/captures/${captureId}/refund`, {
        body: { amount: 1 },
        idempotencyKey: 'r3',
      });
      assertProblem(third, 422, 'amount-exceeds-refundable');
      const state = sim.json(await sim.call('GET', `/v1/authorizations/${id}`));
      assert.equal(state.status, 'refunded');
      assert.deepEqual(state.amounts, {
        authorized: 5000,
        captured: 4000,
        voided: 0,
        refunded: 4000,
      });
      assert.deepEqual(state.refunds, [
        { id: 'ref_3', amount: 1500, at: AT },
        { id: 'ref_4', amount: 2500, at: AT },
      ]);
    },
  );

  it('when an unknown capture is refunded, then 404', LIMIT, async () => {
    const reply = await sim.call('POST', '/v1/captures/cap_nope/refund', {
      body: { amount: 1 },
      idempotencyKey: 'r1',
    });
    assertProblem(reply, 404, 'capture-not-found');
  });

  it(
    'when the ledger is summarized, then each reference gets its totals and counts',
    LIMIT,
    async () => {
      const first = await authorize('a1');
      const captureId = String(sim.json(await capture(first, 5000, 'c1')).id);
      await sim.call('POST', `/v1/captures/${captureId}/refund`, {
        body: { amount: 700 },
        idempotencyKey: 'r1',
      });
      const second = await authorize('a2', { ...ORDER, reference: 'order-2', amount: 900 });
      await sim.call('POST', `/v1/authorizations/${second}/void`, { idempotencyKey: 'v1' });

      const one = await sim.call('GET', '/v1/ledger/summary?reference=order-1');
      assert.deepEqual(one.body, {
        reference: 'order-1',
        currencies: ['EUR'],
        authorized: 5000,
        captured: 5000,
        voided: 0,
        refunded: 700,
        counts: { authorizations: 1, captures: 1, voids: 0, refunds: 1 },
      });
      const all = sim.json(await sim.call('GET', '/v1/ledger/summary'));
      assert.deepEqual(all.summaries, [
        one.body,
        {
          reference: 'order-2',
          currencies: ['EUR'],
          authorized: 900,
          captured: 0,
          voided: 900,
          refunded: 0,
          counts: { authorizations: 1, captures: 0, voids: 1, refunds: 0 },
        },
      ]);
      const unknown = await sim.call('GET', '/v1/ledger/summary?reference=order-x');
      assert.deepEqual(sim.json(unknown).counts, {
        authorizations: 0,
        captures: 0,
        voids: 0,
        refunds: 0,
      });
      assert.equal((await sim.call('GET', '/v1/ledger')).status, 200);
      assert.equal((sim.json(await sim.call('GET', '/v1/ledger')).entries as unknown[]).length, 5);
    },
  );
});

describe('provider API: idempotency', () => {
  it(
    'when an authorization is retried with the same key and body, then the same answer and one ledger entry',
    LIMIT,
    async () => {
      const first = await sim.call('POST', '/v1/authorizations', {
        body: ORDER,
        idempotencyKey: 'k',
      });
      const retry = await sim.call('POST', '/v1/authorizations', {
        // Same body, keys in another order.
        body: { reference: 'order-1', customerId: 'cust-1', currency: 'EUR', amount: 5000 },
        idempotencyKey: 'k',
      });
      assert.equal(first.status, 201);
      assert.equal(retry.status, 201);
      assert.deepEqual(retry.body, first.body);
      assert.equal(first.headers.get('idempotent-replayed'), null);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.equal((await ledger()).length, 1);
    },
  );

  it(
    'when a capture, void or refund is retried with the same key, then nothing happens twice',
    LIMIT,
    async () => {
      const id = await authorize();
      const captured = await capture(id, 2000, 'c');
      const recaptured = await capture(id, 2000, 'c');
      assert.equal(recaptured.status, 201);
      assert.deepEqual(recaptured.body, captured.body);
      const captureId = String(sim.json(captured).id);
      const refund = () =>
        sim.call('POST', `/v1/captures/${captureId}/refund`, {
          body: { amount: 500 },
          idempotencyKey: 'r',
        });
      const refunded = await refund();
      assert.equal(refunded.status, 201);
      assert.deepEqual((await refund()).body, refunded.body);

      const other = await authorize('a2', { ...ORDER, reference: 'order-2' });
      const voidIt = () =>
        sim.call('POST', `/v1/authorizations/${other}/void`, { idempotencyKey: 'v' });
      const voided = await voidIt();
      const again = await voidIt();
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, voided.body);

      assert.deepEqual(
        (await ledger()).map((entry) => (entry as { kind: string }).kind),
        ['authorization', 'capture', 'refund'],
      );
      assert.equal((await ledger('order-2')).length, 2);
    },
  );

  it(
    'when a refused request is retried with the same key, then the stored refusal comes back',
    LIMIT,
    async () => {
      // Every id is predictable here: auth_x does not exist yet, so this capture is refused...
      await sim.close();
      sim = await startSimulator({ newId: (prefix) => `${prefix}_x` });
      const refused = await capture('auth_x', 100, 'c');
      assertProblem(refused, 404, 'authorization-not-found');
      // ...and once auth_x exists, the retry must still get the stored refusal, not a capture.
      assert.equal(await authorize('a'), 'auth_x');
      const retry = await capture('auth_x', 100, 'c');
      assert.equal(retry.status, 404);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(retry.body, refused.body);
      assert.equal((await ledger()).length, 1);
    },
  );

  it(
    'when a key is reused with a different body, then 422 and no second effect',
    LIMIT,
    async () => {
      await authorize('k');
      const reply = await sim.call('POST', '/v1/authorizations', {
        body: { ...ORDER, amount: 5001 },
        idempotencyKey: 'k',
      });
      assertProblem(reply, 422, 'idempotency-key-reused');
      assert.equal((await ledger()).length, 1);
    },
  );

  it(
    'when a key is reused with the same body on another resource or endpoint, then 422',
    LIMIT,
    async () => {
      const first = await authorize('a1');
      const second = await authorize('a2', { ...ORDER, reference: 'order-2' });
      const captured = await capture(first, 100, 'k');
      assert.equal(captured.status, 201);
      assertProblem(await capture(second, 100, 'k'), 422, 'idempotency-key-reused');
      const refund = await sim.call(
        'POST',
        `/v1/captures/${String(sim.json(captured).id)}/refund`,
        {
          body: { amount: 100 },
          idempotencyKey: 'k',
        },
      );
      assertProblem(refund, 422, 'idempotency-key-reused');
      assert.equal((await ledger()).length, 2);
      assert.equal((await ledger('order-2')).length, 1);
    },
  );
});

describe('provider API: decline rules', () => {
  async function setDeclines(declines: object): Promise<void> {
    const reply = await sim.call('PUT', '/admin/behaviour', { body: { declines } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  }

  async function expectDecline(body: object, reason: string): Promise<void> {
    const reply = await sim.call('POST', '/v1/authorizations', { body, idempotencyKey: 'd' });
    assert.equal(reply.status, 201);
    assert.deepEqual(reply.body, {
      id: 'auth_1',
      status: 'declined',
      declineReason: reason,
      amount: (body as { amount: number }).amount,
      currency: 'EUR',
      reference: 'order-1',
    });
    assert.deepEqual(await ledger(), []);
    const state = sim.json(await sim.call('GET', '/v1/authorizations/auth_1'));
    assert.equal(state.status, 'declined');
    assert.equal(state.declineReason, reason);
  }

  it(
    'when the amount is above the limit, then declined with amount-limit; at the limit, authorized',
    LIMIT,
    async () => {
      await setDeclines({ amountLimit: 5000 });
      assert.equal(
        (await sim.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'ok' }))
          .status,
        201,
      );
      const over = await sim.call('POST', '/v1/authorizations', {
        body: { ...ORDER, amount: 5001 },
        idempotencyKey: 'over',
      });
      assert.deepEqual(sim.json(over).status, 'declined');
      assert.deepEqual(sim.json(over).declineReason, 'amount-limit');
      assert.equal((await ledger()).length, 1);
    },
  );

  it('when the card is on the decline list, then declined with card-declined', LIMIT, async () => {
    await setDeclines({ cards: ['4111000000000000'] });
    await expectDecline({ ...ORDER, card: '4111000000000000' }, 'card-declined');
  });

  it(
    'when the card is the built-in always-declined card, then declined without any knob',
    LIMIT,
    async () => {
      await expectDecline({ ...ORDER, card: '4000000000000002' }, 'card-declined');
    },
  );

  it('when the customer is blocked, then declined with customer-blocked', LIMIT, async () => {
    await setDeclines({ customers: ['cust-1'] });
    await expectDecline(ORDER, 'customer-blocked');
  });

  it('when a declined authorization is captured, then 409', LIMIT, async () => {
    await setDeclines({ customers: ['cust-1'] });
    const id = String(
      sim.json(await sim.call('POST', '/v1/authorizations', { body: ORDER, idempotencyKey: 'd' }))
        .id,
    );
    assertProblem(await capture(id, 1), 409, 'invalid-authorization-state');
    assert.deepEqual(await ledger(), []);
  });
});
