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
