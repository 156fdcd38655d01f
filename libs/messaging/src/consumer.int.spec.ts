import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import type { EntityManager } from 'typeorm';
import { encodeEnvelope, HEADER } from './codec';
import { MessageConsumer, type MessageConsumerOptions } from './consumer';
import { DEAD_LETTER_HEADER } from './dead-letter';
import {
  handler,
  idempotentHandler,
  PermanentHandlerError,
  type InboxHandlerContext,
  type MessageHandler,
} from './handler';
import { PostgresInbox } from './inbox';
import { KafkaPublisher } from './kafka-publisher';
import type { RawRecord } from './publisher';
import { DeadLetters } from './redrive';
import { createEnvelope } from './schemas';
import { ensureTopics } from './topic-admin';
import { deadLetterTopic } from './topics';
import {
  anItemAdded,
  CollectingLogger,
  committedOffsets,
  ItemAddedV1,
  ItemAddedV2,
  kafkaConfig,
  openTestDatabase,
  recordEffect,
  RecordingMetrics,
  registry,
  to,
  unique,
  waitFor,
  type ItemAdded,
  type TestDatabase,
} from './testing/consumer-fixtures';
import type { IncomingMessage } from './envelope';
import type { KafkaConnectionConfig } from './kafka-client';

const FAILED_AT = new Date('2026-02-03T04:05:06.000Z');

describe('MessageConsumer (real broker and Postgres)', { timeout: 600_000 }, () => {
  let db: TestDatabase;
  let config: KafkaConnectionConfig;
  let publisher: KafkaPublisher;
  let deadLetters: DeadLetters;
  const logger = new CollectingLogger();
  const consumers: MessageConsumer<EntityManager>[] = [];
  const publishers: KafkaPublisher[] = [];

  const applyItem = (
    message: IncomingMessage<ItemAdded>,
    context: InboxHandlerContext<EntityManager>,
  ) => recordEffect(context.tx, context.consumerGroup, message, context.receivedSchemaVersion);

  const start = async (
    topic: string,
    options: Partial<MessageConsumerOptions<EntityManager>> = {},
  ): Promise<{ consumer: MessageConsumer<EntityManager>; metrics: RecordingMetrics }> => {
    const metrics = new RecordingMetrics();
    const consumer = new MessageConsumer<EntityManager>({
      kafka: config,
      groupId: unique('group'),
      topics: [topic],
      registry,
      handlers: [handler(ItemAddedV2, applyItem)],
      inbox: new PostgresInbox(db.dataSource),
      publisher,
      retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
      metrics,
      sessionTimeoutMs: 10_000,
      clock: () => FAILED_AT,
      logger,
      ...options,
    });
    consumers.push(consumer);
    await consumer.start();
    return { consumer, metrics };
  };

  const newTopic = async (name: string, partitions = 3, withDeadLetters = true) => {
    const topic = unique(name);
    await ensureTopics(config, [{ topic, partitions, deadLetterTopic: withDeadLetters }]);
    return topic;
  };

  const applied = async (id: string) => (await db.effectCounts()).get(id) ?? 0;

  before(async () => {
    db = await openTestDatabase('consumer_int');
    config = kafkaConfig(db.stack, 'consumer-int', logger);
    publisher = new KafkaPublisher(config);
    deadLetters = new DeadLetters(config, { publisher });
  });

  after(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await Promise.all([publisher, ...publishers].map((p) => p.close()));
    await db.close();
  });

  it('when the same message is delivered twice, then it has one effect', async () => {
    const topic = await newTopic('dedupe');
    const { consumer, metrics } = await start(topic);
    const message = anItemAdded('order-dup');
    const marker = anItemAdded('order-dup');

    await publisher.publish(to(topic, message));
    await publisher.publish(to(topic, message)); // a redelivery: same envelope, same id
    await publisher.publish(to(topic, marker));

    // Same key, same partition: once the marker is applied both copies have been handled.
    await waitFor('the marker to be applied', async () => (await applied(marker.id)) === 1);
    assert.equal(await applied(message.id), 1);
    assert.equal(metrics.count('duplicate'), 1);
    assert.equal(metrics.count('success'), 2);
    assert.equal(
      await new PostgresInbox(db.dataSource).contains(consumer.groupId, message.id),
      true,
    );
  });

  it('when poison records arrive on a key, then each is dead-lettered with its reason and the later message of that key is handled', async () => {
    const topic = await newTopic('poison');
    const { consumer, metrics } = await start(topic);
    const key = 'order-poison';
    const valid = encodeEnvelope(anItemAdded(key));
    const raw = (value: string, headers: RawRecord['headers']): RawRecord => ({
      topic,
      key: Buffer.from(key),
      value: Buffer.from(value),
      headers,
    });
    const encoded = (envelope: ReturnType<typeof anItemAdded>) => {
      const r = encodeEnvelope(envelope);
      return { topic, key: Buffer.from(r.key), value: r.value, headers: r.headers };
    };
    const invalid = anItemAdded(key, { quantity: -3 }); // schema says positive
    const unknownType = anItemAdded(key, { type: 'ItemTeleported' });
    const futureVersion = anItemAdded(key, { schemaVersion: 3 });
    const good = anItemAdded(key);
    const poison: RawRecord[] = [
      raw('{"orderId": oops', valid.headers), // envelope headers, value not JSON
      raw('no envelope at all', {}), // not an envelope
      encoded(invalid),
      encoded(unknownType),
      encoded(futureVersion),
    ];
    await publisher.publishRaw([...poison, encoded(good)]);

    await waitFor('the good message to be applied', async () => (await applied(good.id)) === 1);
    assert.equal(await db.effectsOf(consumer.groupId), 1, 'no poison record reached the handler');

    const letters = await deadLetters.listDeadLetters(deadLetterTopic(topic));
    assert.deepEqual(
      letters.map((l) => l.details?.reason),
      ['malformed', 'malformed', 'invalid-payload', 'unknown-type', 'future-version'],
    );
    letters.forEach((letter, i) => {
      const original = poison[i];
      assert.ok(original && letter.details);
      assert.equal(letter.key?.toString(), key);
      assert.deepEqual(letter.value, original.value);
      assert.equal(letter.details.originalTopic, topic);
      // A new topic: the five poison records are offsets 0..4 of the key's partition.
      assert.equal(letter.details.originalOffset, String(i));
      assert.equal(letter.details.originalPartition, letters[0]?.details?.originalPartition);
      assert.equal(letter.details.consumerGroup, consumer.groupId);
      assert.equal(letter.details.attempts, 0);
      assert.equal(letter.details.failedAt, FAILED_AT.toISOString());
      assert.notEqual(letter.details.error, '');
    });
    assert.equal(letters[0]?.headers[HEADER.id], valid.headers[HEADER.id]);
    assert.equal(letters[1]?.messageId, undefined);
    assert.equal(letters[3]?.messageId, unknownType.id);
    assert.match(letters[2]?.headers[DEAD_LETTER_HEADER.error] ?? '', /quantity/);
    assert.match(letters[4]?.details?.error ?? '', /newer than the newest known version v2/);
    assert.deepEqual(
      metrics.deadLetters.map((d) => d.reason),
      ['malformed', 'malformed', 'invalid-payload', 'unknown-type', 'future-version'],
    );
    assert.equal(await committedOffsets(db.stack, consumer.groupId, topic), 6);
  });

  it('when a handler keeps failing, then the message is dead-lettered after exactly N attempts with nothing of it applied, and the key moves on', async () => {
    const topic = await newTopic('failing');
    const failing = anItemAdded('order-fail');
    const next = anItemAdded('order-fail');
    let calls = 0;
    const flaky: MessageHandler<EntityManager> = handler(
      ItemAddedV2,
      async (message, context: InboxHandlerContext<EntityManager>) => {
        await applyItem(message, context); // written, then rolled back with the inbox row
        if (message.envelope.id === failing.id) {
          calls += 1;
          throw new Error(`payment provider said no (attempt ${context.attempt})`);
        }
      },
    );
    const { consumer, metrics } = await start(topic, {
      handlers: [flaky],
      retry: { attempts: 4, initialDelayMs: 20, maxDelayMs: 80 },
    });

    await publisher.publish(to(topic, failing, next));
    await waitFor('the next message to be applied', async () => (await applied(next.id)) === 1);

    assert.equal(calls, 4);
    assert.equal(await applied(failing.id), 0);
    assert.equal(
      await new PostgresInbox(db.dataSource).contains(consumer.groupId, failing.id),
      false,
    );
    assert.deepEqual(
      metrics.retries.map((r) => r.attempt),
      [1, 2, 3],
    );
    const [letter, ...others] = await deadLetters.listDeadLetters(deadLetterTopic(topic));
    assert.equal(others.length, 0);
    assert.equal(letter?.messageId, failing.id);
    assert.equal(letter.details?.reason, 'retries-exhausted');
    assert.equal(letter.details.attempts, 4);
    assert.equal(letter.details.error, 'payment provider said no (attempt 4)');
    assert.equal(letter.details.errorName, 'Error');
  });

  it('when a handler throws PermanentHandlerError, then the message is dead-lettered after one attempt', async () => {
    const topic = await newTopic('permanent');
    const doomed = anItemAdded('order-perm');
    const next = anItemAdded('order-perm');
    let calls = 0;
    const strict = handler(
      ItemAddedV2,
      async (message, context: InboxHandlerContext<EntityManager>) => {
        if (message.envelope.id === doomed.id) {
          calls += 1;
          throw new PermanentHandlerError('order order-perm does not exist');
        }
        await applyItem(message, context);
      },
    );
    await start(topic, {
      handlers: [strict],
      retry: { attempts: 5, initialDelayMs: 20, maxDelayMs: 50 },
    });

    await publisher.publish(to(topic, doomed, next));
    await waitFor('the next message to be applied', async () => (await applied(next.id)) === 1);
    assert.equal(calls, 1);
    const letters = await deadLetters.listDeadLetters(deadLetterTopic(topic));
    assert.deepEqual(
      letters.map((l) => [l.messageId, l.details?.reason, l.details?.attempts]),
      [[doomed.id, 'permanent-error', 1]],
    );
  });

  it('when a v1 message arrives, then the handler receives it in the v2 shape', async () => {
    const topic = await newTopic('upcast');
    const seen: unknown[] = [];
    const observing = handler(
      ItemAddedV2,
      async (message, context: InboxHandlerContext<EntityManager>) => {
        seen.push({
          payload: message.envelope.payload,
          version: message.envelope.schemaVersion,
          received: context.receivedSchemaVersion,
        });
        await applyItem(message, context);
      },
    );
    await start(topic, { handlers: [observing] });
    const old = createEnvelope({
      id: 'legacy-1',
      type: ItemAddedV1,
      source: 'legacy-producer',
      time: '2026-01-01T00:00:00Z',
      key: 'order-legacy',
      correlationId: 'order-legacy',
      payload: { orderId: 'order-legacy', sku: 'A-1', quantity: '7' },
    });
    await publisher.publish(to(topic, old));
    await waitFor('the v1 message to be applied', async () => (await applied(old.id)) === 1);
    assert.deepEqual(seen, [
      { payload: { orderId: 'order-legacy', sku: 'A-1', quantity: 7 }, version: 2, received: 1 },
    ]);
    const [row] = await db.dataSource.query<{ received_version: number; payload: unknown }[]>(
      'SELECT received_version, payload FROM effects WHERE message_id = $1',
      [old.id],
    );
    assert.deepEqual(row, {
      received_version: 1,
      payload: { orderId: 'order-legacy', sku: 'A-1', quantity: 7 },
    });
  });

  it('when the dead-letter write fails, then the record is retried, not dropped, and its partition waits', async () => {
    const topic = await newTopic('dlq-down', 1, false); // no .dlq topic yet
    const dlqPublisher = new KafkaPublisher(config, { retries: 1, publishTimeoutMs: 10_000 });
    publishers.push(dlqPublisher);
    const { consumer } = await start(topic, {
      publisher: dlqPublisher,
      retry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
    });
    const poison = anItemAdded('order-dlq-down', { type: 'ItemTeleported' });
    const after = anItemAdded('order-dlq-down');
    const failedWrites = () =>
      logger.lines.filter(
        (l) =>
          l.message === 'could not write dead letter, will retry' &&
          l.fields.groupId === consumer.groupId,
      ).length;
    await publisher.publish(to(topic, poison, after));

    await waitFor('two failed dead-letter writes', () => failedWrites() >= 2, 90_000);
    assert.equal(await applied(after.id), 0, 'the partition must not move past the poison record');
    assert.equal(await committedOffsets(db.stack, consumer.groupId, topic), 0);

    await ensureTopics(config, [{ topic, partitions: 1 }]); // creates the .dlq companion
    await waitFor(
      'the next message to be applied',
      async () => (await applied(after.id)) === 1,
      90_000,
    );
    const letters = await deadLetters.listDeadLetters(deadLetterTopic(topic));
    assert.deepEqual(
      letters.map((l) => [l.messageId, l.details?.reason]),
      [[poison.id, 'unknown-type']],
    );
    assert.equal(await committedOffsets(db.stack, consumer.groupId, topic), 2);
  });
  it('when retries outlast the session timeout, then heartbeats keep the member and the message is dead-lettered after exactly N attempts', async () => {
    const topic = await newTopic('slow-retries', 1);
    const doomed = anItemAdded('order-slow');
    const next = anItemAdded('order-slow');
    const attempts: number[] = [];
    const failing = handler(
      ItemAddedV2,
      async (message, context: InboxHandlerContext<EntityManager>) => {
        if (message.envelope.id === doomed.id) {
          attempts.push(context.attempt);
          throw new Error('still failing');
        }
        await applyItem(message, context);
      },
    );
    // Three waits of 1-2 s each, with a 3 s session: without heartbeats the broker would evict
    // the member, the group would rebalance and the record would be redelivered from attempt 1.
    const { consumer } = await start(topic, {
      handlers: [failing],
      sessionTimeoutMs: 3000,
      retry: { attempts: 4, initialDelayMs: 2000, maxDelayMs: 2000 },
    });
    await publisher.publish(to(topic, doomed, next));
    await waitFor(
      'the next message to be applied',
      async () => (await applied(next.id)) === 1,
      90_000,
    );
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    assert.equal(
      logger.lines.filter(
        (l) => l.message === 'joined consumer group' && l.fields.groupId === consumer.groupId,
      ).length,
      1,
      'the group never rebalanced',
    );
    const letters = await deadLetters.listDeadLetters(deadLetterTopic(topic));
    assert.deepEqual(
      letters.map((l) => [l.messageId, l.details?.attempts]),
      [[doomed.id, 4]],
    );
  });

  it('when the inbox cannot be written, then nothing is dead-lettered, the partition waits, and the message is applied once it can', async () => {
    const unready = await openTestDatabase('consumer_int_unready', { migrate: false });
    try {
      const topic = await newTopic('inbox-down', 1);
      let calls = 0;
      const counting = handler(
        ItemAddedV2,
        async (message, context: InboxHandlerContext<EntityManager>) => {
          calls += 1;
          await applyItem(message, context);
        },
      );
      const { consumer, metrics } = await start(topic, {
        handlers: [counting],
        inbox: new PostgresInbox(unready.dataSource), // its table does not exist yet
        retry: { attempts: 2, initialDelayMs: 20, maxDelayMs: 100 },
      });
      const message = anItemAdded('order-inbox-down');
      await publisher.publish(to(topic, message));
      const waits = () =>
        logger.lines.filter(
          (l) =>
            l.message === 'dependency unavailable, waiting' &&
            l.fields.groupId === consumer.groupId,
        ).length;
      await waitFor('several waits for the inbox', () => waits() >= 5);
      assert.equal(calls, 0);
      assert.deepEqual(metrics.deadLetters, []);
      assert.equal(await committedOffsets(db.stack, consumer.groupId, topic), 0);

      await unready.migrate();
      await waitFor(
        'the message to be applied',
        async () => (await unready.effectsOf(consumer.groupId)) === 1,
      );
      assert.equal(calls, 1);
      assert.deepEqual(metrics.deadLetters, []);
    } finally {
      await Promise.all(consumers.map((c) => c.stop()));
      await unready.close();
    }
  });

  it('when an idempotent handler without inbox gets the same message twice, then its MongoDB document changes once', async () => {
    const topic = await newTopic('mongo-idempotent', 1);
    const mongo = new MongoClient(db.stack.mongo.url);
    await mongo.connect();
    try {
      const stock = mongo
        .db(`consumer_int_${Date.now()}`)
        .collection<{ _id: string; quantity: number; applied: string[] }>('stock');
      const reserve = idempotentHandler(ItemAddedV2, async (message) => {
        const { id, payload } = message.envelope;
        // Create the document once, then apply and record the id in one conditional update.
        await stock.updateOne(
          { _id: payload.orderId },
          { $setOnInsert: { quantity: 0, applied: [] } },
          { upsert: true },
        );
        await stock.updateOne(
          { _id: payload.orderId, applied: { $ne: id } },
          { $inc: { quantity: payload.quantity }, $push: { applied: id } },
        );
      });
      const { metrics } = await start(topic, { handlers: [reserve], inbox: undefined });
      const first = anItemAdded('order-mongo', { quantity: 2 });
      const second = anItemAdded('order-mongo', { quantity: 3 });
      await publisher.publish(to(topic, first));
      await publisher.publish(to(topic, first));
      await publisher.publish(to(topic, second));
      await waitFor('three deliveries handled', () => metrics.count('success') === 3);
      const document = await stock.findOne({ _id: 'order-mongo' });
      assert.deepEqual(document, {
        _id: 'order-mongo',
        quantity: 5,
        applied: [first.id, second.id],
      });
    } finally {
      await mongo.close();
    }
  });
});
