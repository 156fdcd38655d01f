import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PaymentRuntime } from '../../infrastructure/payment-runtime';
import {
  anOrder,
  openTestEnvironment,
  startRuntime,
  type PaymentTestEnvironment,
} from '../../test-support';

/**
 * The payment commands end to end on real Kafka, Postgres and the provider simulator over HTTP:
 * command on payment.commands → inbox → provider → Payment stream + outbox → reply on
 * payment.events. Money is checked in the simulator's ledger, not in our own records.
 */
describe('payment commands (Kafka, Postgres, provider over HTTP)', () => {
  let env: PaymentTestEnvironment;
  let runtime: PaymentRuntime;

  before(async () => {
    env = await openTestEnvironment('commands');
    runtime = await startRuntime(env);
  });

  after(async () => {
    await runtime.stop();
    await env.close();
  });

  const requestsByKey = (orderId: string, key: string) =>
    env
      .providerRequests(orderId)
      .filter((request) => request.idempotencyKey === `${orderId}:${key}`);

  it('when a payment is authorized and captured, then both are replied and the ledger shows one authorization and one capture', async () => {
    const order = anOrder({ amount: 2500 });
    const authorize = await env.authorize(order);
    const authorized = await env.replies.replyTo(authorize);
    assert.equal(authorized.type, 'PaymentAuthorized');
    assert.equal(authorized.payload.amount, 2500);
    assert.equal(typeof authorized.payload.authorizationId, 'string');
    assert.equal(authorized.correlationId, order.orderId);

    const capture = await env.capture(order.orderId, 2500);
    const captured = await env.replies.replyTo(capture);
    assert.deepEqual(
      { type: captured.type, payload: captured.payload },
      { type: 'PaymentCaptured', payload: { orderId: order.orderId, amount: 2500 } },
    );

    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 1, voids: 0, refunds: 0 });
    assert.equal(ledger.captured, 2500);
    const payment = await runtime.queries.get(order.orderId);
    assert.equal(payment?.status, 'Captured');
    assert.equal(payment.authorizationId, authorized.payload.authorizationId);
    assert.deepEqual(
      payment.history.map((event) => event.type),
      ['PaymentAuthorized', 'PaymentCaptured'],
    );
  });

  it('when the provider declines, then PaymentDeclined with its reason and no money moves; the cancel that follows calls nothing', async () => {
    await env.behave({ declines: { customers: ['blocked-customer'], amountLimit: 100_000 } });
    try {
      const blocked = anOrder({ customerId: 'blocked-customer' });
      const tooMuch = anOrder({ amount: 100_001 });
      const [first, second] = [await env.authorize(blocked), await env.authorize(tooMuch)];
      const declinedBlocked = await env.replies.replyTo(first);
      const declinedAmount = await env.replies.replyTo(second);
      assert.deepEqual(
        [declinedBlocked.type, declinedBlocked.payload.reason],
        ['PaymentDeclined', 'customer-blocked'],
      );
      assert.deepEqual(
        [declinedAmount.type, declinedAmount.payload.reason],
        ['PaymentDeclined', 'amount-limit'],
      );

      const cancel = await env.cancel(blocked.orderId);
      const cancelled = await env.replies.replyTo(cancel);
      assert.deepEqual(cancelled.payload, {
        orderId: blocked.orderId,
        outcome: 'nothing-to-cancel',
      });
      assert.deepEqual((await env.ledger(blocked.orderId)).counts, {
        authorizations: 0,
        captures: 0,
        voids: 0,
        refunds: 0,
      });
      assert.equal(
        env.providerRequests(blocked.orderId).length,
        1,
        'only the authorization went to the provider',
      );
    } finally {
      await env.behave({});
    }
  });

  it('when the same AuthorizePayment and CapturePayment envelopes are delivered twice, then the inbox drops the copies: one reply and one provider call each', async () => {
    const order = anOrder();
    const authorize = await env.authorize(order);
    await env.publish(authorize);
    const capture = await env.capture(order.orderId, order.amount);
    await env.publish(capture);
    // A later command on the same key: once it is answered, the copies before it were handled.
    const probe = await env.authorize(order);
    await env.replies.replyTo(probe);

    const replies = env.replies.forOrder(order.orderId);
    try {
      assert.deepEqual(
        replies.map((reply) => [reply.type, reply.causationId]),
        [
          ['PaymentAuthorized', authorize.id],
          ['PaymentCaptured', capture.id],
          ['PaymentAuthorized', probe.id],
        ],
      );
    } catch (error) {
      // Evidence for the failure report: what the inbox and the stream hold for these commands.
      const inbox: unknown = await runtime.dataSource.query(
        'SELECT consumer_group, message_id, "partition", "offset", processed_at FROM inbox WHERE message_id = ANY($1)',
        [[authorize.id, capture.id, probe.id]],
      );
      console.error(
        JSON.stringify({
          replies: replies.map((reply) => [reply.id, reply.type, reply.causationId]),
          inbox,
          history: (await runtime.queries.get(order.orderId))?.history,
          requests: env.providerRequests(order.orderId),
        }),
      );
      throw error;
    }
    assert.equal(requestsByKey(order.orderId, 'authorize').length, 1);
    assert.equal(requestsByKey(order.orderId, 'capture').length, 1);
    assert.deepEqual((await env.ledger(order.orderId)).counts, {
      authorizations: 1,
      captures: 1,
      voids: 0,
      refunds: 0,
    });
  });

  it('when AuthorizePayment and CapturePayment are repeated under new ids, then each repeat gets the first answer again and the provider acts once', async () => {
    const order = anOrder();
    const first = await env.replies.replyTo(await env.authorize(order));
    const firstCapture = await env.replies.replyTo(await env.capture(order.orderId, order.amount));
    const again = await env.replies.replyTo(await env.authorize(order));
    const captureAgain = await env.replies.replyTo(await env.capture(order.orderId, order.amount));

    assert.deepEqual([again.type, again.payload], [first.type, first.payload]);
    assert.deepEqual(
      [captureAgain.type, captureAgain.payload],
      [firstCapture.type, firstCapture.payload],
    );
    assert.equal(requestsByKey(order.orderId, 'authorize').length, 1);
    assert.equal(requestsByKey(order.orderId, 'capture').length, 1);
    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 1, voids: 0, refunds: 0 });
    assert.equal(ledger.captured, order.amount);
  });

  it('when an authorized payment is cancelled, then it is voided once; later cancels repeat the outcome and a capture is refused', async () => {
    const order = anOrder({ amount: 4200 });
    await env.replies.replyTo(await env.authorize(order));
    const cancelled = await env.replies.replyTo(await env.cancel(order.orderId));
    assert.deepEqual(cancelled.payload, { orderId: order.orderId, outcome: 'voided' });

    const cancelledAgain = await env.replies.replyTo(await env.cancel(order.orderId));
    assert.deepEqual(cancelledAgain.payload, { orderId: order.orderId, outcome: 'voided' });
    const capture = await env.replies.replyTo(await env.capture(order.orderId, order.amount));
    assert.deepEqual(
      [capture.type, capture.payload.reason],
      ['PaymentCaptureFailed', 'payment cancelled'],
    );

    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 0, voids: 1, refunds: 0 });
    assert.equal(ledger.voided, 4200);
    assert.equal(
      env.providerRequests(order.orderId).filter((request) => request.path.endsWith('/void'))
        .length,
      1,
    );
  });

  it('when a partly captured payment is cancelled, then the captured amount is refunded', async () => {
    const order = anOrder({ amount: 2500 });
    await env.replies.replyTo(await env.authorize(order));
    const captured = await env.replies.replyTo(await env.capture(order.orderId, 2000));
    assert.deepEqual(captured.payload, { orderId: order.orderId, amount: 2000 });
    const cancelled = await env.replies.replyTo(await env.cancel(order.orderId));
    assert.deepEqual(cancelled.payload, { orderId: order.orderId, outcome: 'refunded' });

    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 1, voids: 0, refunds: 1 });
    assert.equal(ledger.captured, 2000);
    assert.equal(ledger.refunded, 2000);
    assert.equal((await runtime.queries.get(order.orderId))?.status, 'Refunded');
  });

  it('when a payment is cancelled before any authorization, then nothing-to-cancel, and a late AuthorizePayment is declined without calling the provider', async () => {
    const order = anOrder();
    const cancelled = await env.replies.replyTo(await env.cancel(order.orderId));
    assert.deepEqual(cancelled.payload, { orderId: order.orderId, outcome: 'nothing-to-cancel' });
    const late = await env.replies.replyTo(await env.authorize(order));
    assert.deepEqual([late.type, late.payload.reason], ['PaymentDeclined', 'payment cancelled']);
    assert.equal(env.providerRequests(order.orderId).length, 0);
  });

  it('when the capture asks for more than was authorized, then PaymentCaptureFailed without a provider call', async () => {
    const order = anOrder({ amount: 1000 });
    await env.replies.replyTo(await env.authorize(order));
    const failed = await env.replies.replyTo(await env.capture(order.orderId, 1500));
    assert.equal(failed.type, 'PaymentCaptureFailed');
    assert.match(String(failed.payload.reason), /1500 exceeds the authorized amount 1000/);
    assert.equal(requestsByKey(order.orderId, 'capture').length, 0);
    // The saga compensates a failed capture: the hold is released.
    const cancelled = await env.replies.replyTo(await env.cancel(order.orderId));
    assert.equal(cancelled.payload.outcome, 'voided');
    assert.deepEqual((await env.ledger(order.orderId)).counts, {
      authorizations: 1,
      captures: 0,
      voids: 1,
      refunds: 0,
    });
  });

  it('when CapturePayment arrives for a payment that was never authorized, then PaymentCaptureFailed', async () => {
    const order = anOrder();
    const failed = await env.replies.replyTo(await env.capture(order.orderId, 100));
    assert.deepEqual(
      [failed.type, failed.payload.reason],
      ['PaymentCaptureFailed', 'payment not authorized'],
    );
    assert.equal(await runtime.queries.get(order.orderId), undefined);
  });
});
