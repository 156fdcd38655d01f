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
import { ensureTopics } from './topic-admin';
import {
  anItemAdded,
  CollectingLogger,
  committedOffsets,
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

const BURST = 300;

describe('MessageConsumer graceful stop (real broker and Postgres)', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  let config: KafkaConnectionConfig;
  let publisher: KafkaPublisher;
  const consumers: MessageConsumer<EntityManager>[] = [];
  const logger = new CollectingLogger();

  before(async () => {
    db = await openTestDatabase('consumer_stop_int');
    config = kafkaConfig(db.stack, 'consumer-stop-int', logger);
    publisher = new KafkaPublisher(config);
  });

  after(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await publisher.close();
    await db.close();
  });

  it('when the consumer stops during a burst, then what it handled is committed exactly, and a restart handles the rest once', async () => {
    const topic = unique('burst');
    const groupId = unique('group');
    await ensureTopics(config, [{ topic, partitions: 2 }]);
    const burst: Envelope[] = Array.from({ length: BURST }, (_, i) =>
      anItemAdded(`order-${i % 25}`),
    );
    for (let i = 0; i < BURST; i += 50)
      await publisher.publish(to(topic, ...burst.slice(i, i + 50)));

    // The first consumer asks to stop from inside its 30th handler run, which then keeps working
    // for a while: stop() must wait for it, commit it, and start nothing after it.
    const STOP_AT = 30;
    let inFlight = 0;
    let runs = 0;
    let stopping: Promise<'stopped' | 'timed-out'> | undefined;
    let stopTrigger: string | undefined;
    const apply = async (
      message: IncomingMessage<ItemAdded>,
      context: InboxHandlerContext<EntityManager>,
    ) => {
      inFlight += 1;
      try {
        runs += 1;
        if (runs === STOP_AT && stopping === undefined) {
          stopTrigger = message.envelope.id;
          stopping = first.stop();
          await delay(500);
        }
        await recordEffect(
          context.tx,
          context.consumerGroup,
          message,
          context.receivedSchemaVersion,
        );
      } finally {
        inFlight -= 1;
      }
    };
    const newConsumer = (metrics: RecordingMetrics) => {
      const consumer = new MessageConsumer<EntityManager>({
        kafka: config,
        groupId,
        topics: [topic],
        registry,
        handlers: [handler(ItemAddedV2, apply)],
        inbox: new PostgresInbox(db.dataSource),
        publisher,
        metrics,
        sessionTimeoutMs: 10_000,
        stopTimeoutMs: 30_000,
        logger,
      });
      consumers.push(consumer);
      return consumer;
    };

    const firstMetrics = new RecordingMetrics();
    const first = newConsumer(firstMetrics);
    await first.start();
    await waitFor('stop() to be called', () => stopping !== undefined);
    assert.equal(await stopping, 'stopped');
    assert.equal(inFlight, 0, 'stop() resolved while a handler was still running');
    assert.equal(first.state, 'stopped');

    const handled = await db.effectsOf(groupId);
    assert.equal(handled, STOP_AT, 'the in-flight message finished and nothing started after it');
    assert.equal((await db.effectCounts()).get(stopTrigger ?? ''), 1);
    assert.equal(firstMetrics.count('success'), STOP_AT);
    assert.equal(await committedOffsets(db.stack, groupId, topic), STOP_AT);
    await delay(500);
    assert.equal(await db.effectsOf(groupId), STOP_AT, 'nothing is handled after stop()');

    const secondMetrics = new RecordingMetrics();
    const second = newConsumer(secondMetrics);
    await second.start();
    await waitFor(
      'the whole burst handled',
      async () => (await db.effectsOf(groupId)) === BURST,
      120_000,
    );
    await waitFor(
      'the last offsets committed',
      async () => (await committedOffsets(db.stack, groupId, topic)) === BURST,
    );
    assert.equal(secondMetrics.count('success'), BURST - STOP_AT);
    assert.equal(secondMetrics.count('duplicate'), 0, 'nothing handled before the stop came back');
    const finalCounts = await db.effectCounts();
    assert.deepEqual(
      burst.filter((m) => finalCounts.get(m.id) !== 1).map((m) => m.id),
      [],
      'every message applied exactly once',
    );
  });
});
