import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { OUTCOME_UNKNOWN, PROVIDER_UNAVAILABLE } from '../../domain/payment';
import type { PaymentRuntime } from '../../infrastructure/payment-runtime';
import type { BreakerState } from '../../infrastructure/provider-client';
import {
  anOrder,
  eventually,
  openTestEnvironment,
  startRuntime,
  type PaymentTestEnvironment,
  type ReceivedReply,
} from '../../test-support';

const POLICY = {
  timeoutMs: 1000,
  attempts: 3,
  breaker: { consecutiveFailures: 3, halfOpenAfterMs: 3000 },
};

/**
 * A slow or hanging provider (reliability scenario 10): calls time out, the breaker opens after
 * three failures in a row, and later commands are answered at once without touching the provider.
 * Durations are printed, not asserted: the machines are shared and busy.
 */
describe('payment commands against a slow or hanging provider', () => {
  let env: PaymentTestEnvironment;
  let runtime: PaymentRuntime;
  const transitions: { state: BreakerState; at: number }[] = [];
  let origin = 0;

  before(async () => {
    env = await openTestEnvironment('breaker');
    runtime = await startRuntime(env, POLICY);
    origin = performance.now();
    runtime.provider.onBreakerStateChange((state) =>
      transitions.push({ state, at: performance.now() }),
    );
  });

  after(async () => {
    await runtime.stop();
    await env.close();
  });

  const since = (start: number) => Math.round(performance.now() - start);

  it('when the provider hangs, then calls time out, the breaker opens after 3 failures, later authorizations are declined at once without a request, and it closes again after the pause', async () => {
    const slow = anOrder();
    const [fastB, fastC] = [anOrder(), anOrder()];
    await env.behave({ hang: { operations: ['authorize'] } });
    let startSlow = 0;
    const timings: Record<string, number> = {};
    try {
      startSlow = performance.now();
      const first = await env.replies.replyTo(await env.authorize(slow));
      timings.slowOrderMs = since(startSlow);
      assert.deepEqual([first.type, first.payload.reason], ['PaymentDeclined', OUTCOME_UNKNOWN]);
      assert.equal(runtime.provider.breakerState, 'open');
      await eventually('the three hung requests to be logged', () =>
        env.providerRequests(slow.orderId).length === 3 ? true : undefined,
      );

      const startFast = performance.now();
      const commands = [await env.authorize(fastB), await env.authorize(fastC)];
      const replies: ReceivedReply[] = [];
      for (const command of commands) replies.push(await env.replies.replyTo(command));
      timings.twoFastOrdersMs = since(startFast);
      for (const reply of replies) {
        assert.deepEqual(
          [reply.type, reply.payload.reason],
          ['PaymentDeclined', PROVIDER_UNAVAILABLE],
        );
      }
      assert.equal(env.providerRequests(fastB.orderId).length, 0, 'an open breaker sends nothing');
      assert.equal(env.providerRequests(fastC.orderId).length, 0);
    } finally {
      await env.behave({});
    }

    // The saga compensates the declines. Once the pause is over, the first call is the trial.
    await sleep(POLICY.breaker.halfOpenAfterMs + 500);
    const startCancel = performance.now();
    const cancelled = await env.replies.replyTo(await env.cancel(slow.orderId));
    timings.cancelUnknownMs = since(startCancel);
    assert.deepEqual(
      cancelled.payload,
      { orderId: slow.orderId, outcome: 'nothing-to-cancel' },
      'a hang has no effect',
    );
    for (const order of [fastB, fastC]) {
      const reply = await env.replies.replyTo(await env.cancel(order.orderId));
      assert.equal(reply.payload.outcome, 'nothing-to-cancel');
    }
    assert.equal(runtime.provider.breakerState, 'closed');

    const recovered = await env.replies.replyTo(await env.authorize(anOrder()));
    assert.equal(recovered.type, 'PaymentAuthorized');
    assert.deepEqual(
      transitions.map((transition) => transition.state),
      ['open', 'half-open', 'closed'],
    );
    console.log(
      JSON.stringify({
        scenario: 'hanging provider',
        policy: POLICY,
        ...timings,
        breaker: transitions.map(({ state, at }) => ({ state, atMs: Math.round(at - origin) })),
      }),
    );
  });

  it('when the provider is slow (200 ms to 2 s), then each order gets one answer, and after compensation no order keeps a hold or holds two', async () => {
    const orders = Array.from({ length: 8 }, () => anOrder({ amount: 1000 }));
    const durations: { orderId: string; reply: string; reason?: string; ms: number }[] = [];
    await env.withBehaviour(
      { seed: 10, latency: { minMs: 200, maxMs: 2000, operations: ['authorize'] } },
      async () => {
        const started = performance.now();
        const commands = [];
        for (const order of orders) commands.push(await env.authorize(order));
        for (const command of commands) {
          const reply = await env.replies.replyTo(command, 60_000);
          durations.push({
            orderId: command.key,
            reply: reply.type,
            ...(typeof reply.payload.reason === 'string' && { reason: reply.payload.reason }),
            ms: Math.round(reply.receivedAt - started),
          });
        }
      },
    );
    // The saga cancels every order here (as if each one failed later), after the breaker's pause.
    await sleep(POLICY.breaker.halfOpenAfterMs + 500);
    for (const order of orders) {
      const cancelled = await env.replies.replyTo(await env.cancel(order.orderId), 60_000);
      assert.equal(cancelled.type, 'PaymentCancelled');
    }

    for (const order of orders) {
      assert.equal(env.replies.forOrder(order.orderId).length, 2, 'one reply per command');
      const ledger = await env.ledger(order.orderId);
      assert.ok(ledger.counts.authorizations <= 1, `${order.orderId}: at most one hold`);
      assert.equal(ledger.voided, ledger.authorized, `${order.orderId}: every hold released (I5)`);
      assert.equal(ledger.counts.captures, 0);
    }
    const outcomes: Record<string, number> = {};
    for (const { reply, reason } of durations) {
      const key = reason === undefined ? reply : `${reply}: ${reason}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    console.log(
      JSON.stringify({
        scenario: 'slow provider (200-2000 ms, timeout 1000 ms)',
        outcomes,
        replyAfterMs: durations.map((d) => d.ms),
        breaker: transitions.map(({ state, at }) => ({ state, atMs: Math.round(at - origin) })),
      }),
    );
  });
});
