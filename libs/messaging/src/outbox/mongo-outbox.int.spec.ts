import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { MongoClient, type Collection, type Db } from 'mongodb';
import type { OutgoingMessage } from '../envelope';
import { KafkaPublisher } from '../kafka-publisher';
import { silentLogger } from '../logger';
import { mongoOutboxEntries, withOutbox, type WithMongoOutbox } from './mongo-outbox';
import { MongoOutboxRelay, type MongoOutboxRelayOptions } from './mongo-outbox-relay';
import {
  aMessage,
  assertDeliveredInOrder,
  CollectingLogger,
  RecordingMetrics,
  TopicObserver,
  uniqueTopic,
  waitFor,
} from './testing/fixtures';

interface StockDoc extends WithMongoOutbox {
  _id: string;
  available: number;
  version: number;
}

/**
 * The write a service does: a conditional state change (version check) and its message in one
 * updateOne. Retried until it is known to have happened exactly once: a lost acknowledgement is
 * resolved by reading the version back.
 */
async function advance(
  stock: Collection<StockDoc>,
  id: string,
  version: number,
  message: OutgoingMessage,
): Promise<void> {
  for (;;) {
    try {
      const result = await stock.updateOne(
        { _id: id, version },
        withOutbox<StockDoc>({ $inc: { available: -1, version: 1 } }, [message]),
      );
      if (result.matchedCount === 1) return;
      const current = await stock.findOne({ _id: id }, { projection: { version: 1 } });
      if (current?.version === version + 1) return; // applied before its ack was lost
      throw new Error(`unexpected version ${String(current?.version)} for ${id}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('unexpected version')) throw error;
      await delay(200); // server down or restarting: try again
    }
  }
}

describe('MongoDB outbox and relay', { timeout: 600_000 }, () => {
  let stack: LocalStack;
  let client: MongoClient;
  let db: Db;
  let publisher: KafkaPublisher;
  const relays: MongoOutboxRelay[] = [];
  const observers: TopicObserver[] = [];

  const newRelay = (collection: string, options: Partial<MongoOutboxRelayOptions> = {}) => {
    const relay = new MongoOutboxRelay({
      db,
      collection,
      publisher,
      logger: new CollectingLogger(),
      ...options,
    });
    relays.push(relay);
    return relay;
  };

  const observe = async (...topics: string[]) => {
    const observer = await TopicObserver.start(stack.kafka.brokers, topics);
    observers.push(observer);
    return observer;
  };

  before(async () => {
    stack = await useLocalStack();
    client = new MongoClient(stack.mongo.url, { serverSelectionTimeoutMS: 3_000 });
    await client.connect();
    db = client.db(`it_outbox_${randomUUID().replaceAll('-', '').slice(0, 12)}`);
    publisher = new KafkaPublisher({
      brokers: stack.kafka.brokers,
      clientId: 'outbox-int-mongo',
      logger: silentLogger,
    });
  });

  afterEach(async () => {
    await Promise.all(relays.map((r) => r.stop()));
  });

  after(async () => {
    await Promise.all(observers.map((o) => o.stop()));
    await publisher.close();
    await stack.mongo.start();
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('when a state change is written with withOutbox, then state and messages land in the same single update, and a failed condition writes neither', async () => {
    const topic = uniqueTopic('mongo-atomic');
    const stock = db.collection<StockDoc>('stock_atomic');
    const created = aMessage(topic, 'sku-1', 1);
    await stock.insertOne({
      _id: 'sku-1',
      available: 5,
      version: 1,
      outbox: mongoOutboxEntries([created], new Date('2026-01-01T00:00:00Z')),
    });

    const reserved = aMessage(topic, 'sku-1', 2);
    const applied = await stock.updateOne(
      { _id: 'sku-1', version: 1 },
      withOutbox<StockDoc>({ $inc: { available: -2, version: 1 } }, [reserved]),
    );
    assert.equal(applied.modifiedCount, 1);
    const stale = await stock.updateOne(
      { _id: 'sku-1', version: 1 }, // a writer that lost the race
      withOutbox<StockDoc>({ $inc: { available: -2, version: 1 } }, [aMessage(topic, 'sku-1', 3)]),
    );
    assert.equal(stale.matchedCount, 0);

    const doc = await stock.findOne({ _id: 'sku-1' });
    assert.ok(doc);
    assert.equal(doc.available, 3);
    assert.equal(doc.version, 2);
    const outbox = doc.outbox ?? [];
    assert.deepEqual(
      outbox.map((e) => e.id),
      [created.envelope.id, reserved.envelope.id],
      'messages of applied writes only, in write order',
    );
    assert.deepEqual(JSON.parse(outbox[1]?.envelope ?? '{}'), reserved.envelope);
    assert.throws(
      () => withOutbox<StockDoc>({ $set: { outbox: [] } }, [reserved]),
      /belongs to the relay/,
    );
  });

  it('when many documents get messages, then the relay publishes each document’s messages in order, pulls exactly those, and a nudge beats the poll', async () => {
    const topic = uniqueTopic('mongo-order');
    await stack.kafka.createTopics([{ topic, numPartitions: 3 }]);
    const stock = db.collection<StockDoc>('stock_order');
    const skus = Array.from({ length: 6 }, (_, i) => `sku-${i}`);
    await stock.insertMany(skus.map((_id) => ({ _id, available: 1_000, version: 0 })));
    const metrics = new RecordingMetrics();
    const relay = newRelay('stock_order', { metrics, pollIntervalMs: 5_000, batchSize: 4 });
    relay.start();
    const observer = await observe(topic);

    const written: OutgoingMessage[] = [];
    await Promise.all(
      skus.map(async (sku) => {
        for (let n = 1; n <= 40; n++) {
          const message = aMessage(topic, sku, n);
          written.push(message);
          await advance(stock, sku, n - 1, message);
          if (n % 10 === 0) relay.nudge();
        }
      }),
    );
    relay.nudge();
    await relay.drain(60_000);
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    assertDeliveredInOrder(observer.received, written);
    const leftovers = await stock.countDocuments({ 'outbox.0': { $exists: true } });
    assert.equal(leftovers, 0, 'published entries are pulled');
    assert.equal(metrics.publishedLatencies.length, written.length);

    // Latency: after a write, nudge() publishes at once instead of at the 5 s poll.
    const latencies: number[] = [];
    for (let n = 41; n <= 44; n++) {
      const message = aMessage(topic, 'sku-0', n);
      await advance(stock, 'sku-0', n - 1, message);
      const wroteAt = Date.now();
      relay.nudge();
      await observer.waitFor(`message ${n}`, () => observer.has(message.envelope.id), 20_000);
      const arrival = observer.received.find((r) => r.envelope.id === message.envelope.id);
      latencies.push((arrival?.receivedAt ?? Number.NaN) - wroteAt);
    }
    console.log(
      `mongo write -> consumer latency with nudge(), 5000 ms poll: ${latencies.join(', ')} ms`,
    );
    assert.ok(
      Math.max(...latencies) < 2_500,
      `nudge drives the relay (${latencies.join(', ')} ms)`,
    );
    await waitFor('an empty backlog report', () => metrics.backlog.at(-1)?.backlog === 0, 15_000);
  });

  it('when entries wait, then the backlog metric reports their count and the oldest age, down to zero', async () => {
    const topic = uniqueTopic('mongo-backlog');
    await stack.kafka.createTopics([{ topic, numPartitions: 1 }]);
    const stock = db.collection<StockDoc>('stock_backlog');
    const writtenAt = new Date(Date.now() - 5_000);
    const written = ['sku-b1', 'sku-b2', 'sku-b3'].map((sku) => [
      aMessage(topic, sku, 1),
      aMessage(topic, sku, 2),
    ]);
    await stock.insertMany(
      written.map((messages, i) => ({
        _id: `sku-b${i + 1}`,
        available: 1,
        version: 0,
        outbox: mongoOutboxEntries(messages, writtenAt),
      })),
    );
    const metrics = new RecordingMetrics();
    // One document per pass: after the first pass two documents (4 entries) still wait.
    const relay = newRelay('stock_backlog', { metrics, batchSize: 1, backlogReportIntervalMs: 1 });
    relay.start();
    await relay.drain(30_000);
    const [first] = metrics.backlog;
    assert.ok(first);
    assert.equal(first.store, 'mongo-outbox:stock_backlog');
    assert.equal(first.backlog, 4);
    assert.ok(first.oldestAgeMs >= 5_000, `oldest age ${first.oldestAgeMs} ms`);
    await waitFor('an empty backlog report', () => metrics.backlog.at(-1)?.backlog === 0, 10_000);
    assert.equal(metrics.publishedLatencies.length, 6);
    assert.ok(metrics.publishedLatencies.every((p) => p.latencyMs >= 5_000));
  });

  it('when an entry is larger than the broker accepts, then it moves to outboxParked with the reason and the rest flows', async () => {
    const topic = uniqueTopic('mongo-poison');
    await stack.kafka.createTopics([{ topic, numPartitions: 1 }]);
    const stock = db.collection<StockDoc>('stock_poison');
    await stock.insertOne({ _id: 'sku-p', available: 10, version: 0 });
    const metrics = new RecordingMetrics();
    const relay = newRelay('stock_poison', { metrics });
    const good1 = aMessage(topic, 'sku-p', 1);
    const poison = aMessage(topic, 'sku-p', 2, 1_200_000);
    const good2 = aMessage(topic, 'sku-p', 3);
    await stock.updateOne(
      { _id: 'sku-p' },
      withOutbox<StockDoc>({ $inc: { version: 1 } }, [good1, poison, good2]),
    );
    relay.start();
    await relay.drain(60_000);
    const observer = await observe(topic);
    await observer.waitFor('the good messages', () => observer.ids().size === 2, 30_000);
    await delay(500);
    assertDeliveredInOrder(observer.received, [good1, good2]);
    const doc = await stock.findOne({ _id: 'sku-p' });
    assert.ok(doc);
    assert.deepEqual(doc.outbox ?? [], []);
    const parked = doc.outboxParked ?? [];
    assert.deepEqual(
      parked.map((p) => p.id),
      [poison.envelope.id],
    );
    assert.match(parked[0]?.reason ?? '', /TOO_LARGE/);
    assert.ok(parked[0]?.parkedAt instanceof Date);
    assert.deepEqual(
      metrics.rejected.map((r) => r.topic),
      [topic],
    );
  });

  it('when the MongoDB-compatible server is killed (-9) and restarted mid-way, then every message is still published in order per document', async () => {
    const topic = uniqueTopic('mongo-kill');
    await stack.kafka.createTopics([{ topic, numPartitions: 3 }]);
    const stock = db.collection<StockDoc>('stock_kill');
    const skus = Array.from({ length: 5 }, (_, i) => `sku-k${i}`);
    await stock.insertMany(skus.map((_id) => ({ _id, available: 1_000, version: 0 })));
    const logger = new CollectingLogger();
    const relay = newRelay('stock_kill', {
      logger,
      pollIntervalMs: 100,
      batchSize: 2,
      backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
    });
    relay.start();

    const written: OutgoingMessage[] = [];
    const perSku = 120;
    let progress = 0;
    const writers = Promise.all(
      skus.map(async (sku) => {
        for (let n = 1; n <= perSku; n++) {
          const message = aMessage(topic, sku, n);
          await advance(stock, sku, n - 1, message);
          written.push(message);
          progress += 1;
          relay.nudge();
        }
      }),
    );
    await waitFor('a third of the writes', () => progress >= (skus.length * perSku) / 3, 120_000);
    const writtenAtKill = progress;
    await stack.mongo.kill();
    await delay(1_000);
    await stack.mongo.start();
    await writers;
    await relay.drain(120_000);
    assert.ok(writtenAtKill < skus.length * perSku, 'the server died while writes were going on');
    // The driver may retry a read or wait out a short outage itself, so the relay need not see it.
    const failedPasses = logger.lines.filter((l) => l.includes('pass failed')).length;

    const observer = await observe(topic);
    await observer.waitFor('every message', () => observer.ids().size === written.length, 60_000);
    await delay(500);
    const { duplicates } = assertDeliveredInOrder(observer.received, written);
    console.log(
      `mongo kill -9 after ${writtenAtKill} writes: ${written.length} messages, ${failedPasses} failed relay passes, ${duplicates} duplicate deliveries`,
    );
    const docs = await stock.find({}).toArray();
    assert.ok(docs.every((d) => (d.outbox ?? []).length === 0 && d.version === perSku));
  });
});
