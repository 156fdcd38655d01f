import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  anOrder,
  eventually,
  openTestEnvironment,
  type PaymentTestEnvironment,
} from './test-support';

/** A free TCP port on loopback (closed again before the service takes it). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface RunningService {
  readonly child: ChildProcess;
  readonly port: number;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The payment service as its own process (dist/main.js), the way the launcher and production run
 * it, so that a crash is a real SIGKILL: no finally blocks, no graceful anything.
 */
async function startService(
  env: PaymentTestEnvironment,
  extra: Record<string, string>,
): Promise<RunningService> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(__dirname, 'main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      PAYMENTS_DATABASE_URL: env.databaseUrl,
      KAFKA_BROKERS: env.brokers.join(','),
      PAYMENT_PROVIDER_URL: env.simulator.baseUrl,
      // Short enough for a killed member to leave the group quickly; above the provider budget.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      PROVIDER_TIMEOUT_MS: '1000',
      PROVIDER_BACKOFF_MAX_MS: '200',
      NO_COLOR: '1',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const service = { child, port, output: () => output, exited };
  await Promise.race([
    eventually(
      'the payment service to listen',
      () => (output.includes('listening on') ? true : undefined),
      60_000,
    ),
    exited.then(() => {
      throw new Error(`the payment service exited while starting:\n${output}`);
    }),
  ]);
  return service;
}

describe('the payment service process', () => {
  let env: PaymentTestEnvironment;
  const running: RunningService[] = [];

  before(async () => {
    env = await openTestEnvironment('process');
  });

  after(async () => {
    for (const service of running)
      if (service.child.exitCode === null && service.child.signalCode === null)
        service.child.kill('SIGKILL');
    await env.close();
  });

  const start = async (extra: Record<string, string> = {}) => {
    const service = await startService(env, extra);
    running.push(service);
    return service;
  };

  it('when the process is killed after the provider acted and before the commit, then the restarted service replays the same keys: one authorization, one capture, no reply lost', async () => {
    const order = anOrder({ amount: 1800 });

    const first = await start({ PAYMENT_TEST_CRASH_AFTER_PROVIDER_CALL: 'authorize' });
    const authorize = await env.authorize(order);
    assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' }, first.output());
    assert.match(first.output(), /crashing after the provider call "authorize"/);
    assert.equal(
      (await env.ledger(order.orderId)).counts.authorizations,
      1,
      'the provider authorized',
    );
    assert.equal(
      env.replies.forOrder(order.orderId).length,
      0,
      'nothing was committed, so nothing was sent',
    );

    const second = await start({ PAYMENT_TEST_CRASH_AFTER_PROVIDER_CALL: 'capture' });
    const authorized = await env.replies.replyTo(authorize, 90_000);
    assert.equal(authorized.type, 'PaymentAuthorized');
    const capture = await env.capture(order.orderId, 1800);
    assert.deepEqual(await second.exited, { code: null, signal: 'SIGKILL' }, second.output());
    assert.equal((await env.ledger(order.orderId)).counts.captures, 1, 'the provider captured');

    const third = await start();
    const captured = await env.replies.replyTo(capture, 90_000);
    assert.deepEqual(captured.payload, { orderId: order.orderId, amount: 1800 });

    const ledger = await env.ledger(order.orderId);
    assert.deepEqual(ledger.counts, { authorizations: 1, captures: 1, voids: 0, refunds: 0 });
    const entries = await env.ledgerEntries(order.orderId);
    assert.equal(
      entries.find((entry) => entry.kind === 'authorization')?.id,
      authorized.payload.authorizationId,
    );
    assert.deepEqual(
      env.replies.forOrder(order.orderId).map((reply) => reply.type),
      ['PaymentAuthorized', 'PaymentCaptured'],
    );

    // Graceful stop: readiness turns 503 first (lame duck), then the process drains and exits 0.
    third.child.kill('SIGTERM');
    const ready = await eventually('readiness to report draining', async () => {
      const response = await fetch(`http://127.0.0.1:${third.port}/health/ready`).catch(
        () => undefined,
      );
      return response?.status === 503 ? response : undefined;
    });
    assert.equal(ready.status, 503);
    assert.deepEqual(await third.exited, { code: 0, signal: null }, third.output());
    assert.match(third.output(), /stopped/);
  });
});
