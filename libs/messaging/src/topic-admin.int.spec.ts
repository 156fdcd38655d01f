import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaConnectionConfig } from './kafka-client';
import { ensureTopics, TopicMismatchError } from './topic-admin';
import { CollectingLogger, kafkaConfig, unique } from './testing/consumer-fixtures';

describe('ensureTopics (real broker)', { timeout: 120_000 }, () => {
  let stack: LocalStack;
  let config: KafkaConnectionConfig;

  const partitionsOf = async (topics: string[]) => {
    const kafka = new Kafka({
      clientId: 'topic-admin-int',
      brokers: stack.kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics });
      return Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
    } finally {
      await admin.disconnect();
    }
  };

  before(async () => {
    stack = await useLocalStack();
    config = kafkaConfig(stack, 'topic-admin-int', new CollectingLogger());
  });

  it('when topics are ensured, then each is created with its .dlq companion, and ensuring again creates nothing', async () => {
    const a = unique('orders');
    const b = unique('payments');
    const first = await ensureTopics(config, [
      { topic: a, partitions: 3 },
      { topic: b, partitions: 2, deadLetterTopic: false },
    ]);
    assert.deepEqual([...first.created].sort(), [a, `${a}.dlq`, b].sort());
    assert.deepEqual(await partitionsOf([a, `${a}.dlq`, b]), { [a]: 3, [`${a}.dlq`]: 3, [b]: 2 });

    const second = await ensureTopics(config, [{ topic: a, partitions: 3 }]);
    assert.deepEqual(second.created, []);
    assert.deepEqual([...second.existing].sort(), [a, `${a}.dlq`].sort());
  });

  it('when two processes ensure the same topics at once, then both succeed', async () => {
    const topic = unique('race');
    const results = await Promise.all([
      ensureTopics(config, [{ topic, partitions: 2 }]),
      ensureTopics(config, [{ topic, partitions: 2 }]),
    ]);
    assert.equal(results.length, 2);
    assert.deepEqual(await partitionsOf([topic, `${topic}.dlq`]), {
      [topic]: 2,
      [`${topic}.dlq`]: 2,
    });
  });

  it('when a topic exists with another partition count, then ensuring it fails instead of changing it', async () => {
    const topic = unique('mismatch');
    await ensureTopics(config, [{ topic, partitions: 1 }]);
    await assert.rejects(ensureTopics(config, [{ topic, partitions: 4 }]), TopicMismatchError);
    assert.deepEqual(await partitionsOf([topic]), { [topic]: 1 });
  });
});
