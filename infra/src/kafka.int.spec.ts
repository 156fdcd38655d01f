import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs';
import { useLocalStack, type LocalStack } from './index';

interface Received {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: string;
  readonly traceparent: string;
}

/** Consumes until `count` messages arrived (or fails after the timeout), committing as it goes. */
async function consume(
  consumer: Consumer,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<Received[]> {
  const received: Received[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`received ${received.length} of ${count} messages within ${timeoutMs} ms`));
    }, timeoutMs);
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }: EachMessagePayload) => {
        received.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          traceparent: message.headers?.traceparent?.toString() ?? '',
        });
        await consumer.commitOffsets([
          { topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
        if (received.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  return received;
}

describe('Kafka (real KRaft broker from the launcher)', { timeout: 240_000 }, () => {
  let stack: LocalStack;
  let kafka: Kafka;
  const topic = `it.infra.kafka.${randomUUID()}`;
  const group = `it.infra.group.${randomUUID()}`;

  before(async () => {
    stack = await useLocalStack();
    kafka = new Kafka({
      clientId: 'infra-int-spec',
      brokers: stack.kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
  });

  after(async () => {
    // Leave the broker running for the next spec file, whatever happened here.
    await stack.kafka.start();
  });

  it('when the platform creates a topic, then it has the requested partitions', async () => {
    await stack.kafka.createTopics([{ topic, numPartitions: 3 }]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(metadata.topics[0]?.partitions.length, 3);
    } finally {
      await admin.disconnect();
    }
  });

  it('when a client produces to a topic nobody created, then the broker refuses instead of auto-creating it', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 1 } });
    await producer.connect();
    const missing = `it.infra.missing.${randomUUID()}`;
    try {
      await assert.rejects(producer.send({ topic: missing, messages: [{ value: 'x' }] }));
    } finally {
      await producer.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.ok(!(await admin.listTopics()).includes(missing));
    } finally {
      await admin.disconnect();
    }
  });

  it('when messages are produced with headers, then a group consumes them in order per key and commits', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const keys = ['order-a', 'order-b', 'order-c'];
    await producer.send({
      topic,
      acks: -1,
      messages: keys.flatMap((key) =>
        [1, 2].map((n) => ({
          key,
          value: `${key}#${n}`,
          headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
        })),
      ),
    });
    await producer.disconnect();

    const consumer = kafka.consumer({
      groupId: group,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    });
    await consumer.connect();
    const received = await consume(consumer, topic, 6);
    await consumer.disconnect();

    assert.equal(received.length, 6);
    for (const key of keys) {
      const values = received.filter((r) => r.key === key).map((r) => r.value);
      assert.deepEqual(values, [`${key}#1`, `${key}#2`], `per-key order for ${key}`);
      assert.equal(new Set(received.filter((r) => r.key === key).map((r) => r.partition)).size, 1);
    }
    assert.ok(received.every((r) => r.traceparent.startsWith('00-1111')));
  });

  it('when the broker is killed (-9) and restarted, then produced messages and committed offsets survive', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'order-a', value: 'order-a#3' },
        { key: 'order-d', value: 'order-d#1' },
      ],
    });
    await producer.disconnect();

    const admin = kafka.admin();
    await admin.connect();
    const committedBefore = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    await admin.disconnect();

    await stack.kafka.kill();
    assert.equal(stack.kafka.isRunning(), false);
    await stack.kafka.start();

    const adminAfter = kafka.admin();
    await adminAfter.connect();
    try {
      const committedAfter = await adminAfter.fetchOffsets({ groupId: group, topics: [topic] });
      assert.deepEqual(
        committedAfter,
        committedBefore,
        'committed offsets are unchanged by the crash',
      );
      // -1 marks a partition the group never committed (no key hashed to it).
      const total = committedAfter[0]?.partitions.reduce(
        (sum, p) => sum + Math.max(0, Number(p.offset)),
        0,
      );
      assert.equal(total, 6);
    } finally {
      await adminAfter.disconnect();
    }

    // The same group resumes after its commits: only the two newer messages.
    const resumed = kafka.consumer({
      groupId: group,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    });
    await resumed.connect();
    const tail = await consume(resumed, topic, 2);
    await resumed.disconnect();
    assert.deepEqual(tail.map((r) => r.value).sort(), ['order-a#3', 'order-d#1']);

    // A new group reads everything that was produced before and after the crash.
    const fresh = kafka.consumer({
      groupId: `${group}.fresh`,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    });
    await fresh.connect();
    const all = await consume(fresh, topic, 8);
    await fresh.disconnect();
    assert.equal(all.length, 8);
    assert.deepEqual(
      all.filter((r) => r.key === 'order-a').map((r) => r.value),
      ['order-a#1', 'order-a#2', 'order-a#3'],
    );
  });
});
