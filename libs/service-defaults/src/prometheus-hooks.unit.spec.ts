import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { MessagingMetrics } from '@platform/messaging';
import type { ProjectionMetrics } from '@platform/projections';
import { Registry } from 'prom-client';
import {
  BoundedLabel,
  PrometheusMessagingMetrics,
  PrometheusProjectionMetrics,
} from './prometheus-hooks';

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string | number>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  const { values } = await metric.get();
  const match = values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  );
  return match?.value;
}

describe('PrometheusMessagingMetrics', () => {
  let registry: Registry;
  let metrics: MessagingMetrics;

  beforeEach(() => {
    registry = new Registry();
    metrics = new PrometheusMessagingMetrics(registry);
  });

  it('when a relay reports its backlog, then the gauges hold the count and the age in seconds', async () => {
    metrics.outboxBacklog('orders', 12, 2500);
    assert.equal(await value(registry, 'outbox_backlog_messages', { store: 'orders' }), 12);
    assert.equal(
      await value(registry, 'outbox_oldest_message_age_seconds', { store: 'orders' }),
      2.5,
    );
    metrics.outboxBacklog('orders', 0, 0);
    assert.equal(await value(registry, 'outbox_backlog_messages', { store: 'orders' }), 0);
    assert.equal(
      await value(registry, 'outbox_oldest_message_age_seconds', { store: 'orders' }),
      0,
    );
  });

  it('when messages are published, then the latency histogram observes seconds', async () => {
    metrics.published('inventory.commands', 125);
    metrics.published('inventory.commands', 500);
    const name = 'messaging_publish_latency_seconds';
    assert.equal(await value(registry, name, { topic: 'inventory.commands', le: 0.25 }), 1);
    const text = await registry.metrics();
    assert.match(text, new RegExp(`^${name}_count\\{topic="inventory.commands"\\} 2$`, 'm'));
    assert.match(text, new RegExp(`^${name}_sum\\{topic="inventory.commands"\\} 0.625$`, 'm'));
  });

  it('when a publish is rejected, then the counter grows per topic without the free-text reason', async () => {
    metrics.publishRejected('payment.events', 'Message too large: 2000000 bytes');
    metrics.publishRejected('payment.events', 'another message');
    assert.equal(
      await value(registry, 'messaging_publish_rejected_total', { topic: 'payment.events' }),
      2,
    );
    assert.doesNotMatch(await registry.metrics(), /too large/);
  });

  it('when handlers run, retry and dead-letter, then each metric counts by its labels', async () => {
    metrics.handled('inventory.commands', 'ReserveStock', 'success', 20);
    metrics.handled('inventory.commands', 'ReserveStock', 'retry', 5);
    metrics.retried('inventory.commands', 'ReserveStock', 1);
    metrics.retried('inventory.commands', 'ReserveStock', 2);
    metrics.deadLettered('inventory.commands', 'ReserveStock', 'retries-exhausted');
    const text = await registry.metrics();
    assert.match(
      text,
      /^messaging_handler_duration_seconds_count\{topic="inventory.commands",type="ReserveStock",outcome="success"\} 1$/m,
    );
    assert.match(
      text,
      /^messaging_handler_duration_seconds_count\{topic="inventory.commands",type="ReserveStock",outcome="retry"\} 1$/m,
    );
    assert.equal(
      await value(registry, 'messaging_handler_retries_total', {
        topic: 'inventory.commands',
        type: 'ReserveStock',
      }),
      2,
    );
    assert.equal(
      await value(registry, 'messaging_dead_letters_total', {
        topic: 'inventory.commands',
        type: 'ReserveStock',
        reason: 'retries-exhausted',
      }),
      1,
    );
  });

  it('when records are finished by a consumer, then the consumed counter counts each once by topic and outcome, not its retries', async () => {
    const topic = 'payment.commands';
    metrics.handled(topic, 'AuthorizePayment', 'retry', 5);
    metrics.handled(topic, 'AuthorizePayment', 'success', 20);
    metrics.handled(topic, 'CapturePayment', 'success', 20);
    metrics.handled(topic, 'AuthorizePayment', 'duplicate', 1);
    metrics.handled(topic, 'AuthorizePayment', 'dead-lettered', 1);
    const name = 'messaging_messages_consumed_total';
    assert.equal(await value(registry, name, { topic, outcome: 'success' }), 2);
    assert.equal(await value(registry, name, { topic, outcome: 'duplicate' }), 1);
    assert.equal(await value(registry, name, { topic, outcome: 'dead-lettered' }), 1);
    assert.equal(await value(registry, name, { topic, outcome: 'retry' }), undefined);
    assert.doesNotMatch(await registry.metrics(), /messaging_messages_consumed_total\{[^}]*type=/);
  });

  it('when the relay publishes and a consumer dead-letters, then the produced counter counts both by the topic written to', async () => {
    metrics.published('inventory.commands', 10);
    metrics.published('inventory.commands', 12);
    metrics.deadLettered('inventory.commands', 'ReserveStock', 'malformed');
    const name = 'messaging_messages_produced_total';
    assert.equal(await value(registry, name, { topic: 'inventory.commands' }), 2);
    assert.equal(await value(registry, name, { topic: 'inventory.commands.dlq' }), 1);
  });

  it('when a lag monitor reports partitions, then the lag gauge holds the latest value per group, topic and partition', async () => {
    // Called as the monitor calls it: the hook is optional in the interface.
    metrics.consumerLag?.('order-service', 'payment.events', 0, 120);
    metrics.consumerLag?.('order-service', 'payment.events', 1, 7);
    metrics.consumerLag?.('order-service', 'payment.events', 0, 3);
    metrics.consumerLag?.('inventory-service', 'inventory.commands', 0, -1);
    const name = 'messaging_consumer_lag_messages';
    const labels = { group: 'order-service', topic: 'payment.events' };
    assert.equal(await value(registry, name, { ...labels, partition: '0' }), 3);
    assert.equal(await value(registry, name, { ...labels, partition: '1' }), 7);
    assert.equal(
      await value(registry, name, {
        group: 'inventory-service',
        topic: 'inventory.commands',
        partition: '0',
      }),
      0,
      'never negative',
    );
  });
});

describe('PrometheusProjectionMetrics', () => {
  it('when a projection applies, lags and fails, then counters and the lag gauge follow', async () => {
    const registry = new Registry();
    const metrics: ProjectionMetrics = new PrometheusProjectionMetrics(registry);
    metrics.applied('order-summary', 3);
    metrics.applied('order-summary', 4);
    metrics.lag('order-summary', 1500);
    metrics.failed('order-summary', new Error('mongo down'));
    const labels = { projection: 'order-summary' };
    assert.equal(await value(registry, 'projection_events_applied_total', labels), 7);
    assert.equal(await value(registry, 'projection_lag_seconds', labels), 1.5);
    assert.equal(await value(registry, 'projection_failures_total', labels), 1);
    metrics.lag('order-summary', 0);
    assert.equal(await value(registry, 'projection_lag_seconds', labels), 0);
  });
});

describe('BoundedLabel', () => {
  it('when more distinct values arrive than the cap, then the rest become "other"', () => {
    const label = new BoundedLabel(2);
    assert.deepEqual(
      ['a', 'b', 'c', 'a', 'd'].map((v) => label.value(v)),
      ['a', 'b', 'other', 'a', 'other'],
    );
  });
});
