import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EntityManager } from 'typeorm';
import { MessageConsumer } from './consumer';
import type { IncomingMessage } from './envelope';
import { handler, type InboxHandlerContext } from './handler';
import { PostgresInbox } from './inbox';
import type { KafkaConnectionConfig } from './kafka-client';
import { KafkaPublisher } from './kafka-publisher';
import { DeadLetters } from './redrive';
import { ensureTopics } from './topic-admin';
import { deadLetterTopic } from './topics';
import {
  anItemAdded,
  CollectingLogger,
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

describe('Dead letters and redrive (real broker and Postgres)', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  let config: KafkaConnectionConfig;
  let publisher: KafkaPublisher;
  let consumer: MessageConsumer<EntityManager> | undefined;
  const logger = new CollectingLogger();

  before(async () => {
    db = await openTestDatabase('redrive_int');
    config = kafkaConfig(db.stack, 'redrive-int', logger);
    publisher = new KafkaPublisher(config);
  });

  after(async () => {
    await consumer?.stop();
    await publisher.close();
    await db.close();
  });

  it('when a dead-letter topic is empty, then listing it returns nothing at once', async () => {
    const topic = unique('empty');
    await ensureTopics(config, [{ topic, partitions: 2 }]);
    const started = Date.now();
    const letters = await new DeadLetters(config, { publisher }).listDeadLetters(
      deadLetterTopic(topic),
    );
    assert.deepEqual(letters, []);
    assert.ok(Date.now() - started < 10_000);
  });

  it('when a dead letter is redriven after the handler is fixed, then it is applied once, and a second redrive changes nothing', async () => {
    const topic = unique('redrive');
    const dlq = deadLetterTopic(topic);
    await ensureTopics(config, [{ topic, partitions: 3 }]);
    let broken = true;
    const redriveCounts = new Map<string, string | undefined>();
    const metrics = new RecordingMetrics();
    const apply = async (
      message: IncomingMessage<ItemAdded>,
      context: InboxHandlerContext<EntityManager>,
    ) => {
      if (broken && message.envelope.payload.orderId === 'order-broken') {
        throw new Error('inventory rules reject it');
      }
      redriveCounts.set(message.envelope.id, message.extraHeaders['redrive-count']);
      assert.ok(
        Object.keys(message.extraHeaders).every((h) => !h.startsWith('dlq-')),
        'dead-letter headers must not travel back',
      );
      await recordEffect(context.tx, context.consumerGroup, message, context.receivedSchemaVersion);
    };
    consumer = new MessageConsumer<EntityManager>({
      kafka: config,
      groupId: unique('group'),
      topics: [topic],
      registry,
      handlers: [handler(ItemAddedV2, apply)],
      inbox: new PostgresInbox(db.dataSource),
      publisher,
      retry: { attempts: 2, initialDelayMs: 20, maxDelayMs: 50 },
      metrics,
      sessionTimeoutMs: 10_000,
      clock: () => new Date('2026-03-01T10:00:00Z'),
      logger,
    });
    await consumer.start();
    const first = anItemAdded('order-broken');
    const second = anItemAdded('order-broken');
    const fine = anItemAdded('order-fine');
    await publisher.publish(to(topic, first, second, fine));

    const deadLetters = new DeadLetters(config, {
      publisher,
      clock: () => new Date('2026-03-01T12:00:00Z'),
    });
    await waitFor('two dead letters', () => metrics.deadLetters.length === 2);
    const letters = await deadLetters.listDeadLetters(dlq);
    assert.deepEqual(
      letters.map((l) => [l.messageId, l.details?.reason, l.details?.attempts]),
      [
        [first.id, 'retries-exhausted', 2],
        [second.id, 'retries-exhausted', 2],
      ],
    );
    assert.equal(letters[0]?.details?.failedAt, '2026-03-01T10:00:00.000Z');
    assert.equal(letters[0].details.error, 'inventory rules reject it');

    broken = false;
    const result = await deadLetters.redrive(dlq, { messageIds: [first.id, 'no-such-id'] });
    assert.deepEqual(
      result.redriven.map((r) => [r.messageId, r.topic]),
      [[first.id, topic]],
    );
    assert.deepEqual(result.notFound, ['no-such-id']);

    const applied = async (id: string) => (await db.effectCounts()).get(id) ?? 0;
    await waitFor(
      'the redriven message to be applied',
      async () => (await applied(first.id)) === 1,
    );
    assert.equal(redriveCounts.get(first.id), '1');
    assert.equal(await applied(second.id), 0, 'only the chosen dead letter is redriven');
    assert.equal(await applied(fine.id), 1);

    // Redriving what was already applied: the same id, so the inbox skips it.
    await deadLetters.redrive(dlq, { messageIds: [first.id] });
    await waitFor(
      'the second redrive to be seen as a duplicate',
      () => metrics.count('duplicate') === 1,
    );
    assert.equal(await applied(first.id), 1);
    // The log keeps its records: redrive copies, it does not remove.
    assert.equal((await deadLetters.listDeadLetters(dlq)).length, 2);
  });
});
