import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { OUTCOME_UNKNOWN } from '../../domain/payment';
import type { PaymentRuntime } from '../../infrastructure/payment-runtime';
import {
  anOrder,
  openTestEnvironment,
  startRuntime,
  type PaymentTestEnvironment,
} from '../../test-support';

/**
 * Provider faults injected with the simulator's knobs, against the real stack (reliability
 * scenarios 3, 11 and 13). The breaker is kept out of the way here (high threshold); its own file
 * covers it. Every test checks the money in the simulator's ledger.
 */
describe('payment commands under provider faults', () => {
  let env: PaymentTestEnvironment;
  let runtime: PaymentRuntime;
  /** `<step>:<orderId>` pairs whose next run fails after the provider call, before the commit. */
  const crashOnce = new Set<string>();

  before(async () => {
    env = await openTestEnvironment('faults');
    runtime = await startRuntime(
      env,
      {},
      {
        hooks: {
          afterProviderCall: (step, orderId) => {
            if (crashOnce.delete(`${step}:${orderId}`)) {
              throw new Error(`simulated crash after the provider call ${step}, before the commit`);
            }
          },
        },
      },
    );
  });

  after(async () => {
    await runtime.stop();
    await env.close();
  });

  const withKey = (orderId: string, operation: string) =>
    env
      .providerRequests(orderId)
      .filter((request) => request.idempotencyKey?.startsWith(`${orderId}:${operation}`));

  it('when the provider charges and the reply is lost, then the retry with the same key gets the stored result: one authorization, one capture', async () => {
    const order = anOrder();
    const authorized = await env.withBehaviour(
      { dropReply: { operations: ['authorize'], next: 1 } },
      async () => env.replies.replyTo(await env.authorize(order)),
    );
    const captured = await env.withBehaviour(
      { dropReply: { operations: ['capture'], next: 1 } },
      async () => env.replies.replyTo(await env.capture(order.orderId, order.amount)),
    );
    assert.equal(authorized.type, 'PaymentAuthorized');
    assert.equal(captured.type, 'PaymentCaptured');

    assert.deepEqual(
      withKey(order.orderId, 'authorize').map((call) => [call.status, call.faults]),
      [
        [null, ['drop-reply']],
        [201, []],
      ],
    );
    assert.equal(withKey(order.orderId, 'capture').length, 2);
    const entries = await env.ledgerEntries(order.orderId);
    assert.deepEqual(
      entries.map((entry) => entry.kind),
      ['authorization', 'capture'],
    );
    assert.equal(entries[0]?.id, authorized.payload.authorizationId);
  });

  it('when the provider fails twice with 503, then the third attempt authorizes, once', async () => {
    const order = anOrder();
    const authorized = await env.withBehaviour(
      { errors: { failNext: 2, status: 503, operations: ['authorize'] } },
      async () => env.replies.replyTo(await env.authorize(order)),
    );
    assert.equal(authorized.type, 'PaymentAuthorized');
    assert.deepEqual(
      withKey(order.orderId, 'authorize').map((call) => call.status),
      [503, 503, 201],
    );
    assert.equal((await env.ledger(order.orderId)).counts.authorizations, 1);
  });

  it('when the authorization answer comes later than the timeout, then the retry replays it, and a CancelPayment voids it', async () => {
    const order = anOrder({ amount: 3100 });
    const authorized = await env.withBehaviour(
      { delayedReply: { ms: 2500, operations: ['authorize'], next: 1 } },
      async () => env.replies.replyTo(await env.authorize(order)),
    );
    assert.equal(authorized.type, 'PaymentAuthorized');
    assert.equal(withKey(order.orderId, 'authorize').length, 2, 'the first attempt timed out');
    // The saga gave up on the authorization meanwhile and compensates.
    const cancelled = await env.replies.replyTo(
      await env.cancel(order.orderId, 'authorization timed out'),
    );
    assert.deepEqual(cancelled.payload, { orderId: order.orderId, outcome: 'voided' });
    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 0, voids: 1, refunds: 0 });
    assert.equal(ledger.voided, ledger.authorized);
  });

  it('when no attempt gets an answer in time, then PaymentDeclined (outcome unknown), and CancelPayment finds the authorization by reference and voids it', async () => {
    const order = anOrder({ amount: 5400 });
    const declined = await env.withBehaviour(
      { delayedReply: { ms: 10_000, operations: ['authorize'] } },
      async () => env.replies.replyTo(await env.authorize(order)),
    );
    assert.deepEqual(
      [declined.type, declined.payload.reason],
      ['PaymentDeclined', OUTCOME_UNKNOWN],
    );
    assert.equal(withKey(order.orderId, 'authorize').length, 3);
    // The provider did authorize: money is held although the saga was told "declined".
    assert.equal((await env.ledger(order.orderId)).counts.authorizations, 1);
    assert.equal((await runtime.queries.get(order.orderId))?.status, 'AuthorizationUnknown');

    const cancelled = await env.replies.replyTo(
      await env.cancel(order.orderId, 'payment declined'),
    );
    assert.deepEqual(cancelled.payload, { orderId: order.orderId, outcome: 'voided' });
    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 0, voids: 1, refunds: 0 });
    assert.equal(ledger.voided, 5400);
    assert.equal((await runtime.queries.get(order.orderId))?.status, 'Voided');
  });

  it("when the provider already holds an authorization under the order's key with other terms, then the outcome counts as unknown and the cancel voids it", async () => {
    const order = anOrder({ amount: 700 });
    // An earlier request under the same key, with another amount (a bug upstream, say).
    await env.simulator.call(
      'POST',
      '/v1/authorizations',
      { amount: 650, currency: 'EUR', customerId: order.customerId, reference: order.orderId },
      { 'idempotency-key': `${order.orderId}:authorize` },
    );
    const declined = await env.replies.replyTo(await env.authorize(order));
    assert.deepEqual(
      [declined.type, declined.payload.reason],
      ['PaymentDeclined', OUTCOME_UNKNOWN],
    );
    const cancelled = await env.replies.replyTo(await env.cancel(order.orderId));
    assert.deepEqual(cancelled.payload, { orderId: order.orderId, outcome: 'voided' });
    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 0, voids: 1, refunds: 0 });
    assert.equal(ledger.voided, 650);
  });

  it('when the capture answer never comes back but the provider captured, then CaptureFailed, and CancelPayment refunds instead of voiding', async () => {
    const order = anOrder({ amount: 2200 });
    await env.replies.replyTo(await env.authorize(order));
    const failed = await env.withBehaviour(
      { delayedReply: { ms: 10_000, operations: ['capture'] } },
      async () => env.replies.replyTo(await env.capture(order.orderId, 2200)),
    );
    assert.deepEqual(
      [failed.type, failed.payload.reason],
      ['PaymentCaptureFailed', OUTCOME_UNKNOWN],
    );
    assert.equal((await env.ledger(order.orderId)).captured, 2200, 'the provider did capture');

    const cancelled = await env.replies.replyTo(await env.cancel(order.orderId, 'capture failed'));
    assert.deepEqual(cancelled.payload, { orderId: order.orderId, outcome: 'refunded' });
    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 1, voids: 0, refunds: 1 });
    assert.equal(ledger.refunded, ledger.captured);
  });

  it('when the service fails after the provider authorized and before the commit, then the redelivered command replays the key: one authorization, one reply', async () => {
    const order = anOrder();
    crashOnce.add(`authorize:${order.orderId}`);
    const authorize = await env.authorize(order);
    const authorized = await env.replies.replyTo(authorize);
    assert.equal(crashOnce.size, 0, 'the crash hook fired');
    assert.equal(authorized.type, 'PaymentAuthorized');
    assert.equal(
      withKey(order.orderId, 'authorize').length,
      2,
      'the provider was called again, with the same key',
    );
    const entries = await env.ledgerEntries(order.orderId);
    assert.deepEqual(
      entries.map((entry) => [entry.kind, entry.id]),
      [['authorization', authorized.payload.authorizationId]],
    );

    crashOnce.add(`capture:${order.orderId}`);
    const captured = await env.replies.replyTo(await env.capture(order.orderId, order.amount));
    assert.equal(captured.type, 'PaymentCaptured');
    assert.equal(withKey(order.orderId, 'capture').length, 2);
    assert.deepEqual((await env.ledger(order.orderId)).counts, {
      authorizations: 1,
      captures: 1,
      voids: 0,
      refunds: 0,
    });
    // Nothing of the rolled-back runs survived: one event per outcome, one reply per command.
    const payment = await runtime.queries.get(order.orderId);
    assert.deepEqual(
      payment?.history.map((event) => event.type),
      ['PaymentAuthorized', 'PaymentCaptured'],
    );
    await sleep(500);
    assert.deepEqual(
      env.replies.forOrder(order.orderId).map((reply) => reply.type),
      ['PaymentAuthorized', 'PaymentCaptured'],
    );
  });
});
