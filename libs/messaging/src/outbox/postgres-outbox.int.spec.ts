import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { KafkaPublisher } from '../kafka-publisher';
import { silentLogger } from '../logger';
import type { OutgoingMessage } from '../envelope';
import type { MessagePublisher } from '../publisher';
import { PostgresOutbox, OutboxTransactionRequiredError } from './postgres-outbox';
import { PostgresOutboxRelay, type PostgresOutboxRelayOptions } from './postgres-outbox-relay';
import {
  aMessage,
  assertDeliveredInOrder,
  CollectingLogger,
  messagesFor,
  openOutboxDatabase,
  RecordingMetrics,
  TopicObserver,
  touchState,
  uniqueTopic,
  waitFor,
  type OutboxDatabase,
} from './testing/fixtures';

describe('Postgres outbox and relay', { timeout: 300_000 }, () => {
  let db: OutboxDatabase;
  let publisher: KafkaPublisher;
  const outbox = new PostgresOutbox();
  const relays: PostgresOutboxRelay[] = [];
  const observers: TopicObserver[] = [];

  const newRelay = (options: Partial<PostgresOutboxRelayOptions> = {}) => {
    const relay = new PostgresOutboxRelay({
      connection: db.url,
      publisher,
      logger: new CollectingLogger(),
      ...options,
    });
    relays.push(relay);
    return relay;
  };

  const observe = async (...topics: string[]) => {
    const observer = await TopicObserver.start(db.stack.kafka.brokers, topics);
    observers.push(observer);
    return observer;
  };

  before(async () => {
    db = await openOutboxDatabase('outbox_relay');
    publisher = new KafkaPublisher({
      brokers: db.stack.kafka.brokers,
      clientId: 'outbox-int',
      logger: silentLogger,
    });
  });

  // A relay a failed test left running would compete for the lock in the next test.
  afterEach(async () => {
    await Promise.all(relays.map((r) => r.stop()));
  });

  after(async () => {
    await Promise.all(observers.map((o) => o.stop()));
    await publisher.close();
    await db.close();
  });

  it('when enqueue is called outside a transaction, then it refuses and writes nothing', async () => {
    const topic = uniqueTopic('no-tx');
    await assert.rejects(
      outbox.enqueue(db.dataSource.manager, [aMessage(topic, 'k', 1)]),
      OutboxTransactionRequiredError,
    );
    const rows: unknown[] = await db.dataSource.query('SELECT 1 FROM outbox WHERE topic = $1', [
      topic,
    ]);
    assert.equal(rows.length, 0);
  });

  it('when a transaction rolls back, then its messages are never published; when one commits, then they are, pushed by NOTIFY well before the next poll', async () => {
    const topic = uniqueTopic('commit');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 3 }]);
    const pollIntervalMs = 10_000;
    const relay = newRelay({ pollIntervalMs });
    relay.start();
    const observer = await observe(topic);

    const rolledBack = aMessage(topic, 'order-rb', 1);
    await assert.rejects(
      db.dataSource.transaction(async (manager) => {
        await touchState(manager, [rolledBack]);
        await outbox.enqueue(manager, [rolledBack]);
        throw new Error('the handler fails after enqueueing');
      }),
      /the handler fails/,
    );
    const state: unknown[] = await db.dataSource.query(
      'SELECT 1 FROM order_state WHERE order_id = $1',
      ['order-rb'],
    );
    assert.equal(state.length, 0, 'the state change rolled back with the messages');

    // Warm-up: the first delivery also pays for the producer's connection and the group join.
    await db.commit([aMessage(topic, 'order-c', 0)]);
    await observer.waitFor('warm-up message', () => observer.received.length === 1);

    const latencies: number[] = [];
    const committed: OutgoingMessage[] = [];
    for (let n = 1; n <= 5; n++) {
      const message = aMessage(topic, 'order-c', n);
      committed.push(message);
      await db.commit([message]);
      const committedAt = Date.now();
      await observer.waitFor(`message ${n}`, () => observer.has(message.envelope.id), 20_000);
      const arrival = observer.received.find((r) => r.envelope.id === message.envelope.id);
      latencies.push((arrival?.receivedAt ?? Number.NaN) - committedAt);
    }
    console.log(
      `commit -> consumer latency with a ${pollIntervalMs} ms poll interval: ${latencies.join(', ')} ms`,
    );
    // Each commit happens right after the previous delivery, i.e. just after a relay pass: a relay
    // that only polled would need close to the full interval every time.
    assert.ok(
      Math.max(...latencies) < pollIntervalMs / 2,
      `NOTIFY drives the relay (latencies ${latencies.join(', ')} ms)`,
    );

    await relay.drain(30_000);
    await delay(500); // time for a late, wrong delivery of the rolled-back message to show up
    assert.equal(
      observer.has(rolledBack.envelope.id),
      false,
      'rolled-back message never published',
    );
    assertDeliveredInOrder(
      observer.received.filter(
        (r) => r.envelope.key === 'order-c' && !r.envelope.id.endsWith(':0'),
      ),
      committed,
    );
    const rows: { status: string; published: boolean }[] = await db.dataSource.query(
      'SELECT status, published_at IS NOT NULL AS published FROM outbox WHERE topic = $1',
      [topic],
    );
    assert.equal(rows.length, 6);
    assert.ok(rows.every((r) => r.status === 'published' && r.published));
    await relay.stop();
  });

  it('when an earlier transaction commits after a later one of the same key, then the relay still publishes them in transaction order', async () => {
    const topic = uniqueTopic('late-commit');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 2 }]);
    const relay = newRelay({ pollIntervalMs: 200 });
    relay.start();
    const observer = await observe(topic);
    const first = aMessage(topic, 'order-late', 1);
    const second = aMessage(topic, 'order-late', 2);
    const other = aMessage(topic, 'order-other', 1);

    const runner = db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await outbox.enqueue(runner.manager, [first]); // takes its xid and position now...
      await db.commit([second]); // ...a later transaction commits first
      await db.commit([other]);
      // Several NOTIFYs and polls pass while the first transaction is open: none of them may
      // publish `second` ahead of `first` (nor `other`, which is also younger than `first`).
      await delay(1_500);
      assert.deepEqual(
        observer.received.map((r) => r.envelope.id),
        [],
        'nothing from transactions younger than an open one',
      );
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    await relay.drain(30_000);
    await observer.waitFor('all three', () => observer.ids().size === 3, 30_000);
    assertDeliveredInOrder(observer.received, [first, second, other]);
    await relay.stop();
  });

  it('when many transactions enqueue concurrently, then every message arrives in order per key and the metrics report backlog and latency', async () => {
    const topic = uniqueTopic('concurrent');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 4 }]);
    const keys = Array.from({ length: 8 }, (_, i) => `order-${i}`);
    const metrics = new RecordingMetrics();
    const written: OutgoingMessage[] = [];
    // A backlog before the relay starts, so the first passes have something to report.
    const backlog = messagesFor(topic, keys, 50);
    await db.commit(backlog);
    written.push(...backlog);
    const logger = new CollectingLogger();
    const relay = newRelay({ metrics, batchSize: 100, storeName: 'orders', logger });
    relay.start();
    // Then 8 writers, one per key, each committing 25 transactions of one message: a key's
    // transactions are sequential (as with a version check), different keys interleave freely.
    await Promise.all(
      keys.map(async (key) => {
        for (let n = 51; n <= 75; n++) {
          const message = aMessage(topic, key, n);
          written.push(message);
          await db.commit([message]);
        }
      }),
    );
    await relay.drain(60_000);
    const observer = await observe(topic);
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    assertDeliveredInOrder(observer.received, written);

    assert.equal(metrics.publishedLatencies.length, written.length, 'one latency per message');
    assert.ok(metrics.publishedLatencies.every((p) => p.topic === topic && p.latencyMs >= 0));
    const busy = metrics.backlog.filter((b) => b.backlog > 0);
    assert.ok(busy.length > 0, 'a backlog was reported while there was one');
    assert.ok(busy.every((b) => b.store === 'orders' && b.oldestAgeMs > 0));
    await waitFor(
      'a report of an empty backlog',
      () => metrics.backlog.at(-1)?.backlog === 0,
      10_000,
    );
    await relay.stop();
    assert.deepEqual(
      logger.lines.filter((l) => / (warn|error) /.test(l)),
      [],
      'no failed pass on the way',
    );
  });

  it('when published rows outlive the retention, then the leader purges them and keeps parked and younger rows', async () => {
    const topic = uniqueTopic('purge');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 1 }]);
    const published = messagesFor(topic, ['order-old'], 5);
    const broken = aMessage(topic, 'order-broken', 1);
    await db.commit([...published, broken]);
    await db.dataSource.query(`UPDATE outbox SET headers = '{}' WHERE message_id = $1`, [
      broken.envelope.id,
    ]);
    const relay = newRelay({ publishedRetentionMs: 60_000, purgeIntervalMs: 100 });
    relay.start();
    await relay.drain(30_000);
    // Age everything past the retention instead of waiting an hour.
    await db.dataSource.query(
      `UPDATE outbox SET created_at = created_at - interval '2 minutes',
                         published_at = published_at - interval '2 minutes',
                         parked_at = parked_at - interval '2 minutes'
        WHERE topic = $1`,
      [topic],
    );
    const fresh = aMessage(topic, 'order-new', 1);
    await db.commit([fresh]);
    await relay.drain(30_000);
    await waitFor(
      'the old rows to be purged',
      async () => {
        const rows: unknown[] = await db.dataSource.query('SELECT 1 FROM outbox WHERE topic = $1', [
          topic,
        ]);
        return rows.length === 2;
      },
      10_000,
    );
    const left: { message_id: string; status: string }[] = await db.dataSource.query(
      'SELECT message_id, status FROM outbox WHERE topic = $1 ORDER BY position',
      [topic],
    );
    assert.deepEqual(left, [
      { message_id: broken.envelope.id, status: 'parked' }, // kept for the operator
      { message_id: fresh.envelope.id, status: 'published' }, // younger than the retention
    ]);
    await relay.stop();
  });

  it('when a record is larger than the broker accepts, then it is parked with the reason and the messages after it still flow', async () => {
    const topic = uniqueTopic('too-large');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 1 }]);
    const metrics = new RecordingMetrics();
    const relay = newRelay({ metrics });
    const before = messagesFor(topic, ['order-p'], 3);
    const poison = aMessage(topic, 'order-p', 4, 1_200_000); // > 1 MB message.max.bytes
    const afterPoison = messagesFor(topic, ['order-p', 'order-q'], 3, { from: 5 });
    // One transaction, so the poison message shares a batch (and a partition) with innocent ones.
    await db.commit([...before, poison, ...afterPoison]);
    // And an operator-damaged row: not a valid envelope, can never be published.
    const broken = aMessage(topic, 'order-q', 99);
    await db.commit([broken]);
    await db.dataSource.query(
      `UPDATE outbox SET headers = headers - 'type' WHERE message_id = $1`,
      [broken.envelope.id],
    );
    relay.start();
    await relay.drain(60_000);

    const observer = await observe(topic);
    const good = [...before, ...afterPoison];
    await observer.waitFor('the good messages', () => observer.ids().size === good.length, 30_000);
    await delay(500);
    assertDeliveredInOrder(observer.received, good);

    const parked = await db.dataSource.transaction((manager) => outbox.listParked(manager));
    const mine = parked.filter((p) => p.topic === topic);
    assert.deepEqual(
      mine.map((p) => p.messageId).sort(),
      [broken.envelope.id, poison.envelope.id].sort(),
    );
    assert.match(mine.find((p) => p.messageId === poison.envelope.id)?.reason ?? '', /TOO_LARGE/);
    assert.match(mine.find((p) => p.messageId === broken.envelope.id)?.reason ?? '', /type/);
    assert.equal(metrics.rejected.filter((r) => r.topic === topic).length, 2);

    // An operator requeues the too-large one without fixing it: it is parked again, not stuck.
    const requeued = await db.dataSource.transaction((manager) =>
      outbox.requeueParked(manager, [poison.envelope.id]),
    );
    assert.equal(requeued, 1);
    relay.nudge();
    await relay.drain(30_000);
    assert.equal(metrics.rejected.filter((r) => r.topic === topic).length, 3);
    await relay.stop();
  });

  it('when two relay instances run, then only the leader publishes, and when the leader loses its connection the other takes over with order per key intact', async () => {
    const topic = uniqueTopic('leader');
    await db.stack.kafka.createTopics([{ topic, numPartitions: 3 }]);
    const calls: { instance: 'a' | 'b'; startedAt: number }[] = [];
    const recording = (instance: 'a' | 'b'): MessagePublisher => ({
      publish: async (messages) => {
        calls.push({ instance, startedAt: Date.now() });
        await publisher.publish(messages);
      },
    });
    // A waits long after losing its session; B retries the lock often: B must be the one to win.
    const a = newRelay({
      publisher: recording('a'),
      batchSize: 50,
      reconnectBackoff: { initialDelayMs: 4_000, maxDelayMs: 4_000 },
    });
    const b = newRelay({ publisher: recording('b'), batchSize: 50, standbyRetryMs: 100 });
    a.start();
    await waitFor('A to lead', () => a.isLeader, 20_000);
    b.start();
    await waitFor('B to stand by', () => b.role === 'standby', 20_000);

    const keys = ['order-x', 'order-y', 'order-z'];
    const written: OutgoingMessage[] = [];
    const load = { writing: true };
    const writer = (async () => {
      for (let n = 1; load.writing || n <= 60; n++) {
        const batch = messagesFor(topic, keys, 1, { from: n });
        written.push(...batch);
        await db.commit(batch);
        await delay(5);
      }
    })();
    await waitFor('A to publish', () => calls.some((c) => c.instance === 'a'), 20_000);
    await delay(300);
    assert.equal(b.isLeader, false);
    assert.equal(calls.filter((c) => c.instance === 'b').length, 0, 'the standby never publishes');

    const killedAt = Date.now();
    const terminated: { pid: number }[] = await db.dataSource.query(
      `SELECT pg_terminate_backend(pid) AS ok, pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    assert.equal(terminated.length, 1, 'exactly one session holds the relay lock');
    await waitFor('B to take over', () => b.isLeader, 20_000);
    await delay(500);
    load.writing = false;
    await writer;
    await b.drain(60_000);

    const aAfter = calls.filter((c) => c.instance === 'a' && c.startedAt > killedAt + 50);
    assert.equal(aAfter.length, 0, 'A starts no publish after it lost the lock');
    assert.ok(
      calls.some((c) => c.instance === 'b'),
      'B published after the takeover',
    );
    await waitFor('A to stand by after reconnecting', () => a.role === 'standby', 20_000);

    const observer = await observe(topic);
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    const { duplicates } = assertDeliveredInOrder(observer.received, written);
    console.log(
      `leader handover: ${written.length} messages, ${duplicates} duplicate deliveries, A calls ${calls.filter((c) => c.instance === 'a').length}, B calls ${calls.filter((c) => c.instance === 'b').length}`,
    );

    // A graceful stop releases the lock at once: A (standing by) takes over again.
    await b.stop();
    await waitFor('A to lead again', () => a.isLeader, 10_000);
    await a.stop();
  });
});
