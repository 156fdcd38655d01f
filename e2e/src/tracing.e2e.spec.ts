import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import type { NodeServiceComponent, ZipkinSpan } from '@platform/infra';
import { eventually, request } from './support/http';
import { setProviderBehaviour, setStock, startPlatform, type Platform } from './support/platform';

/**
 * Tracing and log correlation across the saga. The services export their spans to the launcher's
 * Zipkin; the assertions read Zipkin's API (what was exported), not the services' logs, and then
 * check that the services' log lines about the order carry the same trace id.
 */

const SAGA_SERVICES = ['order-service', 'inventory-service', 'payment-service'];

async function tracesTagged(platform: Platform, tag: string): Promise<ZipkinSpan[][]> {
  const url = `${platform.stack.zipkin.url}/api/v2/traces?annotationQuery=${encodeURIComponent(tag)}&lookback=3600000&limit=50`;
  const response = await request<ZipkinSpan[][]>('GET', url);
  assert.equal(response.status, 200, `zipkin answered ${response.status}`);
  return response.body;
}

async function wholeTrace(platform: Platform, traceId: string): Promise<ZipkinSpan[]> {
  const response = await request<ZipkinSpan[]>(
    'GET',
    `${platform.stack.zipkin.url}/api/v2/trace/${traceId}`,
  );
  assert.equal(response.status, 200);
  return response.body;
}

async function placeAndAwait(platform: Platform, sku: string): Promise<string> {
  const placed = await request<{ orderId: string }>('POST', `${platform.orderUrl}/orders`, {
    customerId: 'tracing-e2e',
    lines: [{ sku, quantity: 1 }],
    currency: 'EUR',
  });
  assert.equal(placed.status, 202, JSON.stringify(placed.body));
  const { orderId } = placed.body;
  await eventually(
    `order ${orderId} ends`,
    () => request<{ status: string }>('GET', `${platform.orderUrl}/orders/${orderId}`),
    (r) => r.status === 200 && r.body.status !== 'Placed',
  );
  return orderId;
}

/** The trace holding every span tagged with this order, once `complete` says it has arrived. */
async function traceOfOrder(
  platform: Platform,
  orderId: string,
  complete: (spans: ZipkinSpan[]) => boolean,
): Promise<{ traceIds: string[]; spans: ZipkinSpan[] }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const traces = await tracesTagged(platform, `order.id=${orderId}`);
    const traceIds = [...new Set(traces.flat().map((span) => span.traceId))];
    const spans =
      traceIds.length === 1 && traceIds[0] ? await wholeTrace(platform, traceIds[0]) : [];
    if (spans.length > 0 && complete(spans)) return { traceIds, spans };
    if (Date.now() > deadline) {
      // Say what did arrive: which traces, and how many spans of each service and kind.
      const counts: Record<string, number> = {};
      for (const span of traces.flat()) {
        const key = `${span.traceId.slice(0, 8)} ${serviceOf(span)} ${span.kind ?? 'INTERNAL'}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
      assert.fail(
        `the trace of order ${orderId} did not complete in 30 s: ${JSON.stringify(counts)}`,
      );
    }
    await delay(500);
  }
}

const serviceOf = (span: ZipkinSpan) => span.localEndpoint?.serviceName ?? '?';
const has = (spans: ZipkinSpan[], service: string, kind: ZipkinSpan['kind'], name: string) =>
  spans.some((s) => serviceOf(s) === service && s.kind === kind && s.name === name);

interface LogLine {
  readonly trace_id?: string;
  readonly key?: string;
  readonly orderId?: string;
  readonly msg?: string;
  readonly req?: unknown;
}

/** JSON log lines of a service that are about this order (its id as key or orderId). */
function logLinesAbout(service: NodeServiceComponent, orderId: string): LogLine[] {
  const file = service.endpoint().details.log;
  assert.ok(file, `no log file for ${service.name}`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes(orderId))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    })
    .filter((line) => line.key === orderId || line.orderId === orderId);
}

describe('tracing across the saga', { timeout: 300_000 }, () => {
  let platform: Platform;

  before(async () => {
    // Debug level so every handled message writes a line (the log-correlation check reads them).
    platform = await startPlatform({ LOG_LEVEL: 'debug' });
    await setProviderBehaviour(platform, {});
  });

  it('when an order is confirmed, then one trace holds its spans from order, inventory and payment, linked through Kafka', async () => {
    const sku = `E2E-TRACE-${randomUUID().slice(0, 8)}`;
    await setStock(platform, sku, 5);
    const orderId = await placeAndAwait(platform, sku);

    // Each process exports its spans in its own batches, so the trace fills in over a moment:
    // wait until every hop of the saga has arrived (the order service's four replies consumed,
    // the provider's authorize and capture), then check how they hang together.
    const { traceIds, spans } = await traceOfOrder(
      platform,
      orderId,
      (found) =>
        found.filter((s) => serviceOf(s) === 'order-service' && s.kind === 'CONSUMER').length >=
          4 &&
        found.filter((s) => serviceOf(s) === 'inventory-service' && s.kind === 'CONSUMER').length >=
          2 &&
        found.filter((s) => serviceOf(s) === 'payment-service' && s.kind === 'CONSUMER').length >=
          2 &&
        found.filter((s) => serviceOf(s) === 'payment-provider' && s.kind === 'SERVER').length >= 2,
    );
    assert.equal(traceIds.length, 1, `spans of order ${orderId} are in ${traceIds.length} traces`);

    for (const service of SAGA_SERVICES) {
      assert.ok(
        spans.some((s) => serviceOf(s) === service),
        `no span from ${service} in the order's trace`,
      );
    }
    // The trace starts at the HTTP request and crosses every hop of the saga over Kafka.
    const roots = spans.filter((s) => s.parentId === undefined);
    assert.deepEqual(
      roots.map((s) => `${serviceOf(s)} ${s.kind} ${s.name}`),
      ['order-service SERVER post /orders'],
    );
    assert.ok(has(spans, 'order-service', 'PRODUCER', 'send inventory.commands'));
    assert.ok(has(spans, 'inventory-service', 'CONSUMER', 'process inventory.commands'));
    assert.ok(has(spans, 'inventory-service', 'PRODUCER', 'send inventory.events'));
    assert.ok(has(spans, 'payment-service', 'CONSUMER', 'process payment.commands'));
    assert.ok(has(spans, 'payment-service', 'PRODUCER', 'send payment.events'));
    assert.ok(has(spans, 'order-service', 'CONSUMER', 'process payment.events'));

    // Each consumer span is the child of the producer span that sent its record.
    const byId = new Map(spans.map((s) => [s.id, s]));
    for (const consumer of spans.filter((s) => s.kind === 'CONSUMER')) {
      const parent = consumer.parentId === undefined ? undefined : byId.get(consumer.parentId);
      assert.equal(parent?.kind, 'PRODUCER', `${consumer.name} is not a child of a send span`);
      assert.equal(parent.tags?.['messaging.message.id'], consumer.tags?.['messaging.message.id']);
    }
    // The payment service's calls to the provider carry the trace over HTTP.
    const providerSpans = spans.filter(
      (s) => serviceOf(s) === 'payment-provider' && s.kind === 'SERVER',
    );
    assert.ok(providerSpans.length >= 2, 'the provider saw no traced authorize and capture');
    for (const span of providerSpans) {
      const caller = span.parentId === undefined ? undefined : byId.get(span.parentId);
      assert.equal(
        `${caller ? serviceOf(caller) : '-'} ${caller?.kind ?? '-'}`,
        'payment-service CLIENT',
      );
    }
    // Database work inside the handlers is in the trace too.
    assert.ok(
      spans.some((s) => serviceOf(s) === 'order-service' && s.name?.startsWith('pg.query')),
    );
    assert.ok(
      spans.some(
        (s) => serviceOf(s) === 'inventory-service' && s.tags?.['db.system.name'] === 'mongodb',
      ),
    );
    // The saga's spans say which saga.
    assert.ok(
      spans.some((s) => s.tags?.['saga.id'] === `order-saga-${orderId}`),
      'no span carries the saga id',
    );

    // Log lines about the order, in every service, carry this trace id and no other.
    const [traceId] = traceIds;
    for (const service of [
      platform.stack.order,
      platform.stack.inventory,
      platform.stack.payment,
    ]) {
      const lines = logLinesAbout(service, orderId);
      assert.ok(lines.length > 0, `${service.name} logged nothing about order ${orderId}`);
      const ids = new Set(lines.map((line) => line.trace_id));
      assert.deepEqual(
        [...ids],
        [traceId],
        `${service.name}: ${JSON.stringify(lines.slice(0, 3))}`,
      );
    }
  });

  it('when Prometheus scrapes and the launcher probes health, then no traces are made of it', async () => {
    // The launcher polled /health/ready at start and Prometheus scrapes /metrics every 5 s.
    for (const service of [...SAGA_SERVICES, 'payment-provider']) {
      const response = await request<string[]>(
        'GET',
        `${platform.stack.zipkin.url}/api/v2/spans?serviceName=${service}`,
      );
      assert.equal(response.status, 200);
      assert.ok(response.body.length > 0, `${service} exported no spans at all`);
      const polled = response.body.filter((name) => /health|metrics/.test(name));
      assert.deepEqual(polled, [], service);
    }
  });
});
