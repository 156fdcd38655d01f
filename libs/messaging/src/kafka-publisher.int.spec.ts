import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecord } from './codec';
import { textHeaders } from './dead-letter';
import type { Envelope } from './envelope';
import type { KafkaConnectionConfig } from './kafka-client';
import { KafkaPublisher } from './kafka-publisher';
import { PermanentPublishError } from './publisher';
import { ensureTopics } from './topic-admin';
import {
  anItemAdded,
  CollectingLogger,
  kafkaConfig,
  registry,
  to,
  unique,
} from './testing/consumer-fixtures';

/** Reads `count` records of a topic from the beginning with a throwaway group. */
async function readTopic(stack: LocalStack, topic: string, count: number): Promise<Envelope[]> {
  const kafka = new Kafka({
    clientId: 'publisher-int-reader',
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: unique('reader'), maxWaitTimeInMs: 200 });
  const received: Envelope[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`read ${received.length} of ${count} records`));
      }, 30_000);
      void consumer.run({
        eachMessage: ({ message }) => {
          received.push(
            decodeRecord({
              key: message.key?.toString() ?? null,
              value: message.value,
              headers: textHeaders(message.headers),
            }).envelope,
          );
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

describe('KafkaPublisher (real broker)', { timeout: 180_000 }, () => {
  let stack: LocalStack;
  let config: KafkaConnectionConfig;
  const publishers: KafkaPublisher[] = [];
  const newPublisher = (options: ConstructorParameters<typeof KafkaPublisher>[1] = {}) => {
    const publisher = new KafkaPublisher(config, options);
    publishers.push(publisher);
    return publisher;
  };

  before(async () => {
    stack = await useLocalStack();
    config = kafkaConfig(stack, 'publisher-int', new CollectingLogger());
  });

  after(async () => {
    await Promise.all(publishers.map((p) => p.close()));
  });

  it('when envelopes are published, then they arrive in order per key with every envelope field', async () => {
    const topic = unique('publish');
    await ensureTopics(config, [{ topic, partitions: 1 }]);
    const messages = [anItemAdded('order-1'), anItemAdded('order-1'), anItemAdded('order-1')];
    await newPublisher().publish(to(topic, ...messages));
    assert.deepEqual(await readTopic(stack, topic, 3), messages);
  });

  it('when a record is larger than the topic accepts, then PermanentPublishError names it and the next publish works', async () => {
    const topic = unique('too-large');
    await ensureTopics(config, [{ topic, partitions: 1, config: { 'max.message.bytes': '2000' } }]);
    const publisher = newPublisher();
    const huge = anItemAdded('order-big', {
      payload: { orderId: 'order-big', sku: 'x'.repeat(10_000), quantity: 1 },
    });
    const error = await publisher.publish(to(topic, huge)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof PermanentPublishError, String(error));
    assert.equal(error.reason, 'MESSAGE_TOO_LARGE');
    assert.deepEqual(error.messageIds, [huge.id]);

    const small = anItemAdded('order-big');
    await publisher.publish(to(topic, small));
    assert.deepEqual(await readTopic(stack, topic, 1), [small]);
  });

  it('when the topic does not exist, then PermanentPublishError names the messages and no topic is created', async () => {
    const missing = unique('missing');
    const message = anItemAdded('order-x');
    const error = await newPublisher({ retries: 2 })
      .publish(to(missing, message))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof PermanentPublishError, String(error));
    assert.equal(error.reason, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.deepEqual(error.messageIds, [message.id]);
    const kafka = new Kafka({
      clientId: 'publisher-int-admin',
      brokers: stack.kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.ok(!(await admin.listTopics()).includes(missing));
    } finally {
      await admin.disconnect();
    }
  });

  it('when a registry is given and a payload is invalid, then nothing of the batch is sent', async () => {
    const topic = unique('validated');
    await ensureTopics(config, [{ topic, partitions: 1 }]);
    const publisher = newPublisher({ registry });
    const good = anItemAdded('order-v');
    const bad = anItemAdded('order-v', { quantity: 0 });
    const error = await publisher.publish(to(topic, good, bad)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof PermanentPublishError);
    assert.equal(error.reason, 'invalid-payload');
    assert.deepEqual(error.messageIds, [bad.id]);

    const later = anItemAdded('order-v');
    await publisher.publish(to(topic, later));
    assert.deepEqual(await readTopic(stack, topic, 1), [later], 'the refused batch left no record');
  });
});
