import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TOPICS } from '@platform/contracts';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { KafkaPublisher, silentLogger, type Envelope } from '@platform/messaging';
import { MongoClient, type Db } from 'mongodb';
import type { ReservationDocument } from './infrastructure/reservation-store';
import type { StockDocument } from './infrastructure/stock-store';
import {
  aCommitStock,
  aReserveStock,
  eventually,
  startGroupAtEnd,
  TopicObserver,
  unique,
} from './testing/inventory-harness';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The compiled service as its own process: `node dist/main.js`, as the launcher runs it. */
class ServiceProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    this.exited = once(child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  static start(env: NodeJS.ProcessEnv): ServiceProcess {
    const main = path.join(__dirname, 'main.js');
    return new ServiceProcess(
      spawn(process.execPath, ['--enable-source-maps', main], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  }

  /** The exit, or a failure with the process's last output if it does not come in time. */
  async exit(timeoutMs = 120_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`the process did not exit within ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(lines = 30): string {
    return this.output.join('').split('\n').slice(-lines).join('\n');
  }
}

describe('the service process', { timeout: 600_000 }, () => {
  let stack: LocalStack;
  let client: MongoClient;
  let db: Db;
  let publisher: KafkaPublisher;
  let replies: TopicObserver;
  let env: NodeJS.ProcessEnv;
  let base: string;
  const processes: ServiceProcess[] = [];

  const startService = async (extra: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> => {
    const service = ServiceProcess.start({ ...env, ...extra });
    processes.push(service);
    await eventually(
      'the service to be ready',
      async () => {
        if (!service.running) throw new Error(`exited early:\n${service.tail()}`);
        const res = await fetch(`${base}/health/ready`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      120_000,
      250,
    );
    return service;
  };

  const send = async (...envelopes: Envelope[]) => {
    replies.track(...envelopes.map((e) => e.key));
    await publisher.publish(
      envelopes.map((envelope) => ({ topic: TOPICS.inventoryCommands, envelope })),
    );
  };

  const sku = async (id: string) => {
    const doc = await db.collection<StockDocument>('stock').findOne({ _id: id });
    assert.ok(doc, id);
    return doc;
  };

  const put = async (id: string, available: number, unitPrice: number) => {
    const res = await fetch(`${base}/admin/stock/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ available, unitPrice, currency: 'EUR' }),
    });
    assert.equal(res.status, 200);
  };

  before(async () => {
    stack = await useLocalStack();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const group = unique('inventory-int-process');
    env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      MONGO_URL: stack.mongo.url,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      INVENTORY_DATABASE: unique('it_inventory_process'),
      INVENTORY_CONSUMER_GROUP: group,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      INVENTORY_TEST_CRASH_AFTER_HOLD: '',
    };
    client = new MongoClient(stack.mongo.url);
    await client.connect();
    db = client.db(env.INVENTORY_DATABASE);
    publisher = new KafkaPublisher({
      brokers: stack.kafka.brokers,
      clientId: 'inventory-int-process',
      logger: silentLogger,
    });
    replies = await TopicObserver.start(stack.kafka.brokers);
    await startGroupAtEnd(stack.kafka.brokers, group, TOPICS.inventoryCommands).catch(
      () => undefined,
    );
  });

  after(async () => {
    for (const service of processes) if (service.running) service.child.kill('SIGKILL');
    await replies.stop();
    await publisher.close();
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('when the process is SIGKILLed between a SKU hold and recording it, then after a restart the redelivered command completes without a second hold', async () => {
    const orderId = randomUUID();
    const first = await startService({ INVENTORY_TEST_CRASH_AFTER_HOLD: orderId });
    await put('P-A', 10, 500);
    await put('P-B', 10, 700);
    await send(
      aReserveStock(orderId, [
        { sku: 'P-A', quantity: 2 },
        { sku: 'P-B', quantity: 1 },
      ]),
    );

    const { signal } = await first.exit();
    assert.equal(signal, 'SIGKILL', first.tail());
    assert.match(first.output.join(''), /test crash switch: SIGKILL after hold/);
    assert.deepEqual((await sku('P-A')).holds, { [orderId]: 2 }, 'the hold was taken');
    const stranded = await db
      .collection<ReservationDocument>('reservations')
      .findOne({ _id: orderId });
    assert.deepEqual(
      stranded?.lines.map((l) => l.state),
      ['pending', 'pending'],
      'but not recorded',
    );

    await startService(); // no crash switch
    const [reply] = await replies.waitFor(orderId, 'StockReserved', 1, 120_000);
    assert.equal((reply?.payload as { total: number }).total, 2 * 500 + 700);
    const a = await sku('P-A');
    assert.deepEqual([a.available, a.reserved, a.holds], [8, 2, { [orderId]: 2 }]);
    const b = await sku('P-B');
    assert.deepEqual([b.available, b.reserved], [9, 1]);
  });

  it('when the process gets SIGTERM, then readiness turns 503 first, and it exits 0 with every queued reply published', async () => {
    const service = processes.at(-1);
    assert.ok(service?.running, 'the service from the previous test runs');
    const orderId = randomUUID();
    await send(aReserveStock(orderId, [{ sku: 'P-A', quantity: 1 }]));
    await replies.waitFor(orderId, 'StockReserved', 1, 120_000);
    await send(aCommitStock(orderId));
    await eventually('the commit to be handled', async () => {
      const doc = await db
        .collection<ReservationDocument>('reservations')
        .findOne({ _id: orderId });
      return doc?.status === 'committed' ? true : undefined;
    });

    service.child.kill('SIGTERM');
    // The signal is handled asynchronously: poll until readiness flips, which must happen while
    // the process still answers (before it exits).
    let readyStatus = 200;
    for (let i = 0; i < 100 && readyStatus === 200; i++) {
      readyStatus = (await fetch(`${base}/health/ready`)).status;
      if (readyStatus === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(readyStatus, 503, 'lame duck: not ready while draining');
    const { code } = await service.exit();
    assert.equal(code, 0, service.tail());

    const pending = await db
      .collection<ReservationDocument>('reservations')
      .countDocuments({ 'outbox.0': { $exists: true } });
    assert.equal(pending, 0, 'nothing left in the outbox');
    await replies.waitFor(orderId, 'StockCommitted');
    assert.deepEqual((await sku('P-A')).sold, 1);
  });
});
