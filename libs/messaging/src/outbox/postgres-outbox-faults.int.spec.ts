import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import type { EntityManager } from 'typeorm';
import { MessageConsumer } from '../consumer';
import type { OutgoingMessage } from '../envelope';
import { handler } from '../handler';
import { PostgresInbox } from '../inbox';
import { KafkaPublisher } from '../kafka-publisher';
import { silentLogger } from '../logger';
import { PostgresOutboxRelay } from './postgres-outbox-relay';
import {
  assertDeliveredInOrder,
  CollectingLogger,
  messagesFor,
  openOutboxDatabase,
  OrderAdvanced,
  orderRegistry,
  RecordingMetrics,
  TopicObserver,
  uniqueTopic,
  waitFor,
  type OutboxDatabase,
} from './testing/fixtures';

interface RelayChild {
  readonly process: ChildProcess;
  readonly events: { event: string; role?: string; batch?: number }[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnRelay(db: OutboxDatabase, env: Record<string, string> = {}): RelayChild {
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', path.join(__dirname, 'testing', 'relay-process.js')],
    {
      env: {
        ...process.env,
        OUTBOX_RELAY_DATABASE_URL: db.url,
        OUTBOX_RELAY_BROKERS: db.stack.kafka.brokers.join(','),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const events: RelayChild['events'] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() !== '') events.push(JSON.parse(line) as RelayChild['events'][number]);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { process: child, events, exited };
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Writes the messages in transactions of `perTransaction`, like a service under load. */
async function commitAll(
  db: OutboxDatabase,
  messages: readonly OutgoingMessage[],
  perTransaction = 100,
): Promise<void> {
  for (let i = 0; i < messages.length; i += perTransaction) {
    await db.commit(messages.slice(i, i + perTransaction));
  }
}

async function pendingCount(db: OutboxDatabase): Promise<number> {
  const counts = await db.statusCounts();
  return counts.pending ?? 0;
}

describe('Postgres outbox relay under faults', { timeout: 600_000 }, () => {
  let db: OutboxDatabase;
  const children: RelayChild[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    db = await openOutboxDatabase('outbox_faults');
  });

  // Per test: a relay left running would compete for the lock in the next test.
  afterEach(async () => {
    for (const child of children.splice(0)) child.process.kill('SIGKILL');
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  after(async () => {
    // Whatever a failed test left down comes back for the next file.
    await db.stack.kafka.start();
    await db.stack.postgres.start();
    await db.close();
  });

  it('when the relay dies after the broker acked a batch and before marking it, then a new relay republishes it with no loss and deduping consumers drop the duplicates', async () => {
    const topic = uniqueTopic('crash-after-ack');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 4 }]);
    const keys = Array.from({ length: 10 }, (_, i) => `order-${i}`);
    const written = messagesFor(topic, keys, 150); // 1500 messages
    await commitAll(db, written);

    const doomed = spawnRelay(db, {
      OUTBOX_RELAY_CRASH_AFTER_ACKS: '5',
      OUTBOX_RELAY_BATCH_SIZE: '100',
    });
    children.push(doomed);
    const death = await doomed.exited;
    assert.equal(death.signal, 'SIGKILL', 'the relay crashed inside the window');
    // 5 batches acknowledged, only 4 marked: the 5th is still pending although it was published.
    assert.equal(await pendingCount(db), written.length - 400);

    const successor = spawnRelay(db, { OUTBOX_RELAY_BATCH_SIZE: '100' });
    children.push(successor);
    await waitFor('the backlog to drain', async () => (await pendingCount(db)) === 0, 120_000);
    successor.process.kill('SIGTERM');
    assert.equal((await successor.exited).code, 0, 'the successor stops gracefully');

    const observer = await TopicObserver.start(db.stack.kafka.brokers, [topic]);
    cleanups.push(() => observer.stop());
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    await delay(500);
    // A consumer that dedupes by id acts on first occurrences only: the assertion checks exactly
    // those, per key, against the enqueue order.
    const { duplicates } = assertDeliveredInOrder(observer.received, written);
    console.log(`crash after ack: ${written.length} enqueued, ${duplicates} duplicate deliveries`);
    assert.equal(duplicates, 100, 'the one acknowledged-but-unmarked batch went out twice');

    // The platform's consumer with its Postgres inbox applies each message once, in key order.
    const publisher = new KafkaPublisher({
      brokers: db.stack.kafka.brokers,
      clientId: 'outbox-int-dlq',
      logger: silentLogger,
    });
    const metrics = new RecordingMetrics();
    const consumerLog = new CollectingLogger();
    const consumer = new MessageConsumer<EntityManager>({
      kafka: {
        brokers: db.stack.kafka.brokers,
        clientId: 'outbox-int-consumer',
        logger: silentLogger,
      },
      groupId: `it-outbox-inbox-${topic}`,
      topics: [topic],
      registry: orderRegistry,
      handlers: [
        handler(OrderAdvanced, async (message, context) => {
          await context.tx.query('INSERT INTO effects (message_id, order_key) VALUES ($1, $2)', [
            message.envelope.id,
            message.envelope.key,
          ]);
        }),
      ],
      inbox: new PostgresInbox(db.dataSource),
      publisher,
      metrics,
      sessionTimeoutMs: 10_000,
      logger: consumerLog,
    });
    cleanups.push(async () => {
      await consumer.stop();
      await publisher.close();
    });
    await consumer.start();
    const settled = () => metrics.count('success') + metrics.count('duplicate');
    await waitFor(
      'the consumer to handle every delivery',
      () => settled() >= written.length + duplicates,
      120_000,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}; outcomes ${JSON.stringify(countBy(metrics.outcomes))}; consumer log:\n${consumerLog.lines.filter((l) => !l.includes(' info ')).join('\n')}`,
      );
    });
    const outcomes = countBy(metrics.outcomes);
    assert.equal(
      outcomes.duplicate,
      100,
      `the inbox dropped the republished batch: ${JSON.stringify(outcomes)}`,
    );
    assert.equal(outcomes.success, written.length);
    assert.equal(outcomes['dead-lettered'], undefined, 'nothing was dead-lettered');
    const effects: { message_id: string; order_key: string }[] = await db.dataSource.query(
      'SELECT message_id, order_key FROM effects ORDER BY seq',
    );
    assert.equal(effects.length, written.length, 'one effect per message id');
    assert.equal(new Set(effects.map((e) => e.message_id)).size, written.length);
    for (const key of keys) {
      assert.deepEqual(
        effects.filter((e) => e.order_key === key).map((e) => e.message_id),
        written.filter((m) => m.envelope.key === key).map((m) => m.envelope.id),
        `effects of ${key} in enqueue order`,
      );
    }
  });

  it('when the relay process is SIGKILLed while publishing thousands of messages, then a new relay resumes with no loss and order per key', async () => {
    const topic = uniqueTopic('sigkill');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 4 }]);
    const keys = Array.from({ length: 12 }, (_, i) => `order-${i}`);
    const written = messagesFor(topic, keys, 250); // 3000 messages
    await commitAll(db, written, 250);

    const victim = spawnRelay(db, { OUTBOX_RELAY_BATCH_SIZE: '50' });
    children.push(victim);
    await waitFor(
      'some batches to go out',
      () => victim.events.filter((e) => e.event === 'acked').length >= 8,
      60_000,
    );
    victim.process.kill('SIGKILL');
    await victim.exited;
    const left = await pendingCount(db);
    console.log(`SIGKILL mid-publish: ${written.length - left} marked published, ${left} pending`);
    assert.ok(left > 0, 'killed before it was done');

    const successor = spawnRelay(db, { OUTBOX_RELAY_BATCH_SIZE: '200' });
    children.push(successor);
    await waitFor('the backlog to drain', async () => (await pendingCount(db)) === 0, 120_000);
    successor.process.kill('SIGTERM');
    await successor.exited;

    const observer = await TopicObserver.start(db.stack.kafka.brokers, [topic]);
    cleanups.push(() => observer.stop());
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    await delay(500);
    const { duplicates } = assertDeliveredInOrder(observer.received, written);
    console.log(`SIGKILL mid-publish: ${duplicates} duplicate deliveries`);
  });

  it('when the broker is killed while messages wait in the outbox, then everything arrives after it restarts, in order per key, without restarting the relay', async () => {
    const topic = uniqueTopic('broker-down');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 3 }]);
    const publisher = new KafkaPublisher(
      { brokers: db.stack.kafka.brokers, clientId: 'outbox-int-broker', logger: silentLogger },
      { publishTimeoutMs: 10_000 },
    );
    const logger = new CollectingLogger();
    const metrics = new RecordingMetrics();
    const relay = new PostgresOutboxRelay({
      connection: db.url,
      publisher,
      logger,
      metrics,
      publishBackoff: { initialDelayMs: 200, maxDelayMs: 2_000 },
    });
    cleanups.push(async () => {
      await relay.stop();
      await publisher.close();
    });
    relay.start();
    const keys = ['order-a', 'order-b', 'order-c', 'order-d'];
    const beforeOutage = messagesFor(topic, keys, 25);
    await commitAll(db, beforeOutage, 10);
    await relay.drain(30_000);

    await db.stack.kafka.kill();
    const duringOutage = messagesFor(topic, keys, 50, { from: 26 });
    await commitAll(db, duringOutage, 10);
    await waitFor(
      'the relay to fail publishing',
      () => logger.lines.some((l) => l.includes('publishing failed')),
      60_000,
    );
    assert.ok(
      (await pendingCount(db)) >= duringOutage.length - 10,
      'the messages wait in the outbox',
    );
    await db.stack.kafka.start();
    const afterOutage = messagesFor(topic, keys, 25, { from: 76 });
    await commitAll(db, afterOutage, 10);
    await relay.drain(180_000);
    assert.equal(relay.isLeader, true, 'the same relay instance carried on');
    // Stop it now: a relay left running would compete for the lock in the next test.
    await relay.stop();

    const written = [...beforeOutage, ...duringOutage, ...afterOutage];
    const observer = await TopicObserver.start(db.stack.kafka.brokers, [topic]);
    cleanups.push(() => observer.stop());
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    await delay(500);
    const { duplicates } = assertDeliveredInOrder(observer.received, written);
    const failures = logger.lines.filter((l) => l.includes('publishing failed')).length;
    console.log(
      `broker outage: ${written.length} messages, ${failures} failed publish attempts, ${duplicates} duplicate deliveries`,
    );
    assert.ok(metrics.backlog.some((b) => b.backlog >= duringOutage.length - 10));
  });

  it('when Postgres is killed and restarted, then the relay reconnects and publishes what is written afterwards', async () => {
    const topic = uniqueTopic('pg-restart');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 2 }]);
    const publisher = new KafkaPublisher({
      brokers: db.stack.kafka.brokers,
      clientId: 'outbox-int-pg',
      logger: silentLogger,
    });
    const logger = new CollectingLogger();
    const relay = new PostgresOutboxRelay({
      connection: db.url,
      publisher,
      logger,
      reconnectBackoff: { initialDelayMs: 200, maxDelayMs: 2_000 },
    });
    cleanups.push(async () => {
      await relay.stop();
      await publisher.close();
    });
    relay.start();
    const keys = ['order-1', 'order-2', 'order-3'];
    const beforeRestart = messagesFor(topic, keys, 30);
    await commitAll(db, beforeRestart, 9);
    await relay.drain(30_000);

    await db.stack.postgres.kill();
    await waitFor('the relay to notice', () => !relay.isLeader, 30_000);
    await delay(1_000);
    await db.stack.postgres.start();
    // The service's own pool drops its dead connections on first use; retry like a caller would.
    const afterRestart = messagesFor(topic, keys, 30, { from: 31 });
    await waitFor(
      'a write to succeed again',
      async () => {
        try {
          await db.commit(afterRestart.slice(0, 9));
          return true;
        } catch {
          return false;
        }
      },
      30_000,
    );
    await commitAll(db, afterRestart.slice(9), 9);
    await waitFor('the relay to lead again', () => relay.isLeader, 30_000);
    await relay.drain(60_000);
    await relay.stop();

    const written = [...beforeRestart, ...afterRestart];
    const observer = await TopicObserver.start(db.stack.kafka.brokers, [topic]);
    cleanups.push(() => observer.stop());
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    await delay(500);
    assertDeliveredInOrder(observer.received, written);
    assert.ok(
      logger.lines.some((l) => l.includes('reconnecting')),
      'it went through a reconnect',
    );
  });
});
