import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { TOPICS } from '@platform/contracts';
import { useLocalStack } from '@platform/infra';
import { ensureTopics, KafkaPublisher, silentLogger } from '@platform/messaging';
import { createServiceApp, ServiceLifecycle } from '@platform/service-defaults';
import { MongoClient } from 'mongodb';
import type { InventoryServiceConfig } from '../config';
import {
  aReserveStock,
  eventually,
  InventoryHarness,
  quietLogger,
  startGroupAtEnd,
} from '../testing/inventory-harness';
import { INVENTORY_TOPICS, InventoryRuntime } from './inventory-runtime';

/** Terminus's answer: the checks that passed under `info`, the failed ones under `error`. */
interface Health {
  readonly status: 'ok' | 'error';
  readonly info?: Partial<Record<string, Record<string, unknown>>>;
  readonly error?: Partial<Record<string, Record<string, unknown>>>;
}

@Module({})
class ReadinessOnlyModule {}

/**
 * The runtime's readiness checks behind the real /health/ready, against the real broker and
 * MongoDB-compatible server, with thresholds set low through the config: an outbox the relay has
 * not published yet, and a consumer whose handler is held so its group falls behind.
 */
describe('inventory readiness thresholds (real Kafka and MongoDB)', { timeout: 300_000 }, () => {
  let config: InventoryServiceConfig;
  let runtime: InventoryRuntime;
  let app: NestExpressApplication;
  let base: string;
  let publisher: KafkaPublisher;
  let client: MongoClient;
  let holding = false;
  let release: () => void = () => undefined;
  let held = Promise.resolve();

  before(async () => {
    const stack = await useLocalStack();
    config = InventoryHarness.testConfig(stack, {
      readiness: { maxOutboxBacklog: 2, maxConsumerLag: 3, consumerLagPollMs: 200 },
      // The held handler must not cost the consumer its group membership.
      consumerSessionTimeoutMs: 30_000,
    });
    await ensureTopics({ brokers: stack.kafka.brokers, clientId: 'inventory-readiness' }, [
      ...INVENTORY_TOPICS,
    ]);
    // Retried: right after the topics were created their partitions may still elect leaders.
    await eventually('the group to start at the end of the commands', async () => {
      await startGroupAtEnd(stack.kafka.brokers, config.consumerGroup, TOPICS.inventoryCommands);
      return true;
    });
    runtime = await InventoryRuntime.open(config, {
      logger: quietLogger,
      hooks: { afterHold: () => (holding ? held : undefined) },
    });
    app = await createServiceApp(ReadinessOnlyModule, {
      name: 'inventory-readiness-test',
      logDestination: { write: () => undefined },
    });
    const lifecycle = app.get(ServiceLifecycle);
    for (const check of runtime.readiness) lifecycle.addReadinessCheck(check);
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    publisher = new KafkaPublisher({
      brokers: stack.kafka.brokers,
      clientId: 'inventory-readiness',
      logger: silentLogger,
    });
    client = new MongoClient(stack.mongo.url);
    await client.connect();
  });

  after(async () => {
    holding = false;
    release();
    await runtime.stop();
    await app.close();
    await publisher.close();
    await client.db(config.database).dropDatabase();
    await client.close();
  });

  const ready = async (): Promise<{ status: number; body: Health }> => {
    const response = await fetch(`${base}/health/ready`);
    return { status: response.status, body: (await response.json()) as Health };
  };

  it('when more replies wait in the outbox than READY_MAX_OUTBOX_BACKLOG, then ready is 503 with the backlog and the threshold, and 200 once the relay published them', async () => {
    // Not started yet: the relay does not run, so what is queued stays queued.
    await runtime.catalog.set('R-1', { available: 100, unitPrice: 250, currency: 'EUR' });
    for (let i = 0; i < 3; i++) {
      const command = aReserveStock(randomUUID(), [{ sku: 'R-1', quantity: 1 }]);
      const payload = command.payload as Parameters<typeof runtime.reservations.reserve>[0];
      await runtime.reservations.reserve(payload, {
        messageId: command.id,
        correlationId: command.correlationId,
      });
    }

    const before = await ready();
    assert.equal(before.status, 503);
    const outbox = before.body.error?.outbox;
    assert.ok(outbox, JSON.stringify(before.body));
    assert.equal(outbox.status, 'down');
    assert.equal(outbox.backlog, 3);
    assert.equal(outbox.max, 2);
    assert.equal(outbox.reason, 'outbox backlog 3 exceeds 2');
    assert.equal(typeof outbox.oldestAgeSeconds, 'number');

    await runtime.start();
    const after = await eventually(
      'readiness after the relay published the replies',
      async () => {
        const result = await ready();
        return result.status === 200 ? result : undefined;
      },
      60_000,
      250,
    );
    const passed = after.body.info;
    assert.ok(passed?.outbox && passed['consumer-lag'], JSON.stringify(after.body));
    assert.equal(passed.outbox.backlog, 0);
    assert.equal(passed.outbox.max, 2);
    assert.equal(passed['consumer-lag'].lag, 0);
    assert.equal(passed['consumer-lag'].max, 3);
  });

  it('when the consumer group falls behind by more than READY_MAX_CONSUMER_LAG, then ready is 503 with the lag and the threshold, and 200 again once it caught up', async () => {
    held = new Promise<void>((resolve) => {
      release = resolve;
    });
    holding = true;
    const orders = Array.from({ length: 5 }, () => randomUUID());
    await publisher.publish(
      orders.map((orderId) => ({
        topic: TOPICS.inventoryCommands,
        envelope: aReserveStock(orderId, [{ sku: 'R-1', quantity: 1 }]),
      })),
    );

    // Each partition's first command is held after its stock hold, before anything is committed.
    const behind = await eventually(
      'readiness to report the lag',
      async () => {
        const result = await ready();
        const lag = result.body.error?.['consumer-lag']?.lag;
        return typeof lag === 'number' && lag >= 5 ? result : undefined;
      },
      60_000,
      100,
    );
    // At least the five held and queued commands (the topic is shared: others' commands count too).
    assert.equal(behind.status, 503);
    const lagCheck = behind.body.error?.['consumer-lag'];
    assert.ok(lagCheck, JSON.stringify(behind.body));
    assert.equal(lagCheck.status, 'down');
    assert.equal(lagCheck.max, 3);
    assert.equal(lagCheck.reason, `consumer lag ${String(lagCheck.lag)} exceeds 3`);
    const groups = lagCheck.groups as Partial<Record<string, { lag?: number }>>;
    assert.equal(groups[config.consumerGroup]?.lag, lagCheck.lag);
    // Only the lag is wrong: the broker answers and nothing waits in the outbox.
    const passing = behind.body.info;
    assert.ok(passing, JSON.stringify(behind.body));
    assert.equal(passing.kafka?.status, 'up');
    assert.equal(passing.outbox?.status, 'up');

    holding = false;
    release();
    const caughtUp = await eventually(
      'readiness once the consumer caught up',
      async () => {
        const result = await ready();
        return result.status === 200 ? result : undefined;
      },
      60_000,
      250,
    );
    assert.equal(caughtUp.body.info?.['consumer-lag']?.lag, 0, JSON.stringify(caughtUp.body));
    const reserved = await client
      .db(config.database)
      .collection<{ _id: string; status: string }>('reservations')
      .countDocuments({ _id: { $in: orders } });
    assert.equal(reserved, 5, 'every held command was handled afterwards');
  });
});
