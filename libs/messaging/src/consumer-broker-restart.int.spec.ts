import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { EntityManager } from 'typeorm';
import { MessageConsumer } from './consumer';
import type { Envelope, IncomingMessage } from './envelope';
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

describe(
  'MessageConsumer across a broker crash (real broker and Postgres)',
  { timeout: 400_000 },
  () => {
    let db: TestDatabase;
    let config: KafkaConnectionConfig;
    let publisher: KafkaPublisher;
    let consumer: MessageConsumer<EntityManager> | undefined;
    const logger = new CollectingLogger();

    before(async () => {
      db = await openTestDatabase('consumer_crash_int');
      config = { ...kafkaConfig(db.stack, 'consumer-crash-int', logger), requestTimeoutMs: 5000 };
      publisher = new KafkaPublisher(config, { publishTimeoutMs: 15_000 });
    });

    after(async () => {
      // Leave the broker running for the next spec file, whatever happened here.
      await db.stack.kafka.start();
      await consumer?.stop();
      await publisher.close();
      await db.close();
    });

    /** Publishes one message at a time, retrying each until the broker acknowledges it. */
    const publishAll = async (topic: string, messages: readonly Envelope[]) => {
      for (const message of messages) {
        for (;;) {
          try {
            await publisher.publish(to(topic, message));
            break;
          } catch (error) {
            logger.warn('test publish failed, retrying', { error });
            await delay(500);
          }
        }
      }
    };

    it('when the broker is killed and restarted, then the consumer carries on and every message is applied exactly once', async () => {
      const topic = unique('crash');
      await ensureTopics(config, [{ topic, partitions: 2 }]);
      const messages = Array.from({ length: 60 }, (_, i) => anItemAdded(`order-${i % 10}`));
      const metrics = new RecordingMetrics();
      // Slow enough that the broker dies while the consumer is busy.
      const apply = async (
        message: IncomingMessage<ItemAdded>,
        context: InboxHandlerContext<EntityManager>,
      ) => {
        await recordEffect(
          context.tx,
          context.consumerGroup,
          message,
          context.receivedSchemaVersion,
        );
        await delay(100);
      };
      consumer = new MessageConsumer<EntityManager>({
        kafka: config,
        groupId: unique('group'),
        topics: [topic],
        registry,
        handlers: [handler(ItemAddedV2, apply)],
        inbox: new PostgresInbox(db.dataSource),
        publisher,
        metrics,
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 1000,
        logger,
      });
      await consumer.start();
      const { groupId } = consumer;

      await publishAll(topic, messages.slice(0, 30));
      await waitFor('10 applied', async () => (await db.effectsOf(groupId)) >= 10);

      await db.stack.kafka.kill();
      const appliedAtKill = await db.effectsOf(groupId);
      // Producing goes on while the broker is down; each publish retries until it is back.
      const producing = publishAll(topic, messages.slice(30));
      await delay(3000);
      await db.stack.kafka.start();
      await producing;

      await waitFor(
        'all 60 applied',
        async () => (await db.effectsOf(groupId)) >= 60,
        180_000,
        async () =>
          `applied ${await db.effectsOf(groupId)}; crashes logged: ${logger.count('consumer crashed')}`,
      );
      await delay(1000);
      const counts = await db.effectCounts();
      assert.deepEqual(
        messages.filter((m) => counts.get(m.id) !== 1).map((m) => [m.id, counts.get(m.id)]),
        [],
        'every message applied exactly once',
      );
      assert.equal(await db.effectsOf(groupId), 60);
      assert.equal(consumer.state, 'running');
      assert.ok(
        appliedAtKill < 30,
        `the broker died after the consumer was done (${appliedAtKill})`,
      );
      assert.ok(
        logger.lines.some((l) => l.level === 'error'),
        'the consumer saw the broker go away',
      );
      assert.deepEqual(metrics.deadLetters, []);
      assert.deepEqual(
        await new DeadLetters(config, { publisher }).listDeadLetters(deadLetterTopic(topic)),
        [],
      );
    });
  },
);
