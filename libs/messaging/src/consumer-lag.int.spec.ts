import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { Kafka, logLevel } from 'kafkajs';
import { MessageConsumer } from './consumer';
import { ConsumerLagMonitor, type ConsumerLagMonitorOptions } from './consumer-lag';
import { idempotentHandler } from './handler';
import type { KafkaConnectionConfig } from './kafka-client';
import { KafkaPublisher } from './kafka-publisher';
import { noopMessagingMetrics, type MessagingMetrics } from './metrics';
import { ensureTopics } from './topic-admin';
import {
  anItemAdded,
  CollectingLogger,
  ItemAddedV2,
  kafkaConfig,
  registry,
  to,
  unique,
  waitFor,
} from './testing/consumer-fixtures';

interface LagReport {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** The consumerLag hook calls, in order. */
function recordingLagMetrics(): { metrics: MessagingMetrics; reports: LagReport[] } {
  const reports: LagReport[] = [];
  return {
    reports,
    metrics: {
      ...noopMessagingMetrics,
      consumerLag: (group, topic, partition, lag) => {
        reports.push({ group, topic, partition, lag });
      },
    },
  };
}

describe('ConsumerLagMonitor (real broker)', { timeout: 300_000 }, () => {
  let stack: LocalStack;
  let config: KafkaConnectionConfig;
  let publisher: KafkaPublisher;
  let admin: ReturnType<Kafka['admin']>;
  const logger = new CollectingLogger();
  const monitors: ConsumerLagMonitor[] = [];
  const consumers: MessageConsumer[] = [];

  before(async () => {
    stack = await useLocalStack();
    config = kafkaConfig(stack, 'consumer-lag-int', logger);
    publisher = new KafkaPublisher(config, { publishTimeoutMs: 15_000 });
    admin = new Kafka({
      clientId: 'consumer-lag-int-admin',
      brokers: stack.kafka.brokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
  });

  after(async () => {
    // Leave the broker running for the next spec file, whatever happened here.
    await stack.kafka.start();
    await Promise.all(consumers.map((c) => c.stop()));
    await Promise.all(monitors.map((m) => m.stop()));
    await publisher.close();
    await admin.disconnect();
  });

  const monitor = (options: Omit<ConsumerLagMonitorOptions, 'kafka' | 'logger'>) => {
    const created = new ConsumerLagMonitor({ kafka: config, logger, ...options });
    monitors.push(created);
    return created;
  };

  /** A fresh two-partition topic holding `count` records keyed over six orders. */
  const topicWith = async (count: number) => {
    const topic = unique('lag');
    await ensureTopics(config, [{ topic, partitions: 2, deadLetterTopic: false }]);
    await publisher.publish(
      to(topic, ...Array.from({ length: count }, (_, i) => anItemAdded(`order-${i % 6}`))),
    );
    return topic;
  };

  const highWatermarks = async (topic: string) =>
    new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)] as const),
    );

  it('when a group has committed nothing, then the lag is every record; after it commits part, the remainder', async () => {
    const topic = await topicWith(12);
    const groupId = unique('lag-group');
    const { metrics, reports } = recordingLagMetrics();
    const lag = monitor({ groupId, topics: [topic], intervalMs: 60_000, metrics });

    const first = await lag.sample();
    assert.equal(first.error, undefined);
    assert.ok(first.sampledAt instanceof Date);
    assert.equal(first.total, 12);
    const highs = await highWatermarks(topic);
    assert.deepEqual(
      first.partitions,
      [0, 1].map((partition) => ({ topic, partition, lag: highs.get(partition) })),
    );
    assert.deepEqual(
      reports,
      first.partitions.map((p) => ({ group: groupId, ...p })),
      'one hook call per partition',
    );

    // Commit half of the fuller partition; the other stays uncommitted (everything counts).
    const [fuller, fullerHigh] = [...highs].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
    const committed = Math.floor(fullerHigh / 2);
    assert.ok(committed > 0, `partition ${fuller} has records`);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: [{ partition: fuller, offset: String(committed) }],
    });

    const second = await lag.sample();
    assert.equal(second.total, 12 - committed);
    assert.equal(
      second.partitions.find((p) => p.partition === fuller)?.lag,
      fullerHigh - committed,
    );
    assert.ok((second.sampledAt?.getTime() ?? 0) >= first.sampledAt.getTime());
  });

  it('when a consumer drains the topic, then the lag the timer samples drops to 0', async () => {
    const topic = await topicWith(10);
    const groupId = unique('lag-drain');
    const { metrics, reports } = recordingLagMetrics();
    const lag = monitor({ groupId, topics: [topic], intervalMs: 200, metrics });
    lag.start();
    await waitFor('the timer to sample a lag of 10', () => lag.snapshot().total === 10, 30_000);

    const consumer = new MessageConsumer({
      kafka: config,
      groupId,
      topics: [topic],
      registry,
      handlers: [idempotentHandler(ItemAddedV2, () => Promise.resolve())],
      publisher,
      sessionTimeoutMs: 6000,
      logger,
    });
    consumers.push(consumer);
    await consumer.start();

    await waitFor(
      'the lag to drop to 0',
      () => lag.snapshot().total === 0,
      60_000,
      () => JSON.stringify(lag.snapshot()),
    );
    const latest = new Map(reports.map((r) => [r.partition, r.lag]));
    assert.deepEqual([...latest.values()], [0, 0], 'the gauge hook saw every partition reach 0');
    assert.equal(lag.snapshot().error, undefined);
    await lag.stop();
    await consumer.stop();
  });

  it('when the broker is unreachable, then a sample keeps the last good one and reports the error, and sampling recovers once it is back', async () => {
    const topic = await topicWith(8);
    const groupId = unique('lag-outage');
    const lag = monitor({ groupId, topics: [topic], intervalMs: 300 });
    lag.start();
    await waitFor('a first sample', () => lag.snapshot().total === 8, 30_000);
    const good = lag.snapshot();

    await stack.kafka.kill();
    // The timer keeps polling against the dead broker; nothing may throw out of it.
    await delay(1500);
    const during = await lag.sample();
    assert.ok(during.error, 'the failed poll is reported');
    assert.equal(during.total, 8);
    assert.deepEqual(during.partitions, good.partitions);
    assert.ok(
      (during.sampledAt?.getTime() ?? 0) >= (good.sampledAt?.getTime() ?? Infinity),
      'the sample time is that of the last good sample',
    );
    const failedAgain = await lag.sample();
    assert.equal(failedAgain.sampledAt, during.sampledAt, 'no new sample while the broker is down');
    const warnings = logger.lines.filter(
      (l) => l.message.startsWith('could not sample consumer lag') && l.fields.groupId === groupId,
    );
    assert.equal(warnings.length, 1, 'one warning per outage, not one per poll');

    await stack.kafka.start();
    for (;;) {
      try {
        await publisher.publish(to(topic, anItemAdded('order-after')));
        break;
      } catch {
        await delay(500);
      }
    }
    await waitFor(
      'sampling to recover with the new record',
      () => lag.snapshot().error === undefined && lag.snapshot().total === 9,
      120_000,
      () => JSON.stringify(lag.snapshot()),
    );
    assert.ok(
      logger.lines.some(
        (l) => l.message === 'consumer lag sampling recovered' && l.fields.groupId === groupId,
      ),
    );
  });
});
