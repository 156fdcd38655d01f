import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { useLocalStack } from '@platform/infra';
import { MessageConsumer } from './consumer';
import type { Envelope } from './envelope';
import { idempotentHandler } from './handler';
import type { KafkaConnectionConfig } from './kafka-client';
import { KafkaPublisher } from './kafka-publisher';
import { ensureTopics } from './topic-admin';
import {
  anItemAdded,
  CollectingLogger,
  ItemAddedV2,
  registry,
  to,
  unique,
  waitFor,
} from './testing/consumer-fixtures';
import { activeTraceContext } from './tracing';

/**
 * Trace context across Kafka with a real broker and a real (in-memory exporting) tracer: the span
 * a message is written in is the parent of its send span, which is the parent of the span that
 * handles it, and whatever the handler writes continues from there.
 */
describe('tracing across Kafka (real broker)', { timeout: 120_000 }, () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let config: KafkaConnectionConfig;
  let publisher: KafkaPublisher;
  const consumers: MessageConsumer[] = [];

  before(async () => {
    // Registers the global tracer, the async-hooks context manager and the W3C propagator.
    provider.register();
    const stack = await useLocalStack();
    config = {
      brokers: stack.kafka.brokers,
      clientId: 'tracing-int',
      logger: new CollectingLogger(),
    };
    publisher = new KafkaPublisher(config);
  });

  after(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await publisher.close();
    await provider.shutdown();
    trace.disable();
  });

  it('when a message written inside a span is relayed and consumed, then send and process spans continue that trace, and the handler sees the process span as its trace context', async () => {
    const topic = unique('tracing');
    await ensureTopics(config, [{ topic, partitions: 1 }]);

    // The "request": the envelope takes its trace context from the active span, as services do.
    const request = trace.getTracer('tracing-int').startSpan('request');
    const written = context.with(trace.setSpan(context.active(), request), () =>
      activeTraceContext(),
    );
    request.end();
    const envelope: Envelope = { ...anItemAdded('order-traced'), ...written };

    const seen: { traceparent?: string; activeSpanId?: string }[] = [];
    const consumer = new MessageConsumer({
      kafka: config,
      groupId: unique('tracing-group'),
      topics: [topic],
      registry,
      publisher,
      handlers: [
        idempotentHandler(ItemAddedV2, (message) => {
          seen.push({
            ...(message.envelope.traceparent !== undefined && {
              traceparent: message.envelope.traceparent,
            }),
            ...(trace.getActiveSpan() !== undefined && {
              activeSpanId: trace.getActiveSpan()?.spanContext().spanId,
            }),
          });
          return Promise.resolve();
        }),
      ],
      sessionTimeoutMs: 6000,
    });
    consumers.push(consumer);
    await consumer.start();
    await publisher.publish(to(topic, envelope));
    await waitFor('the message to be handled', () => seen.length === 1);
    await waitFor('the process span to end', () =>
      exporter.getFinishedSpans().some((s) => s.name === `process ${topic}`),
    );

    const spans = exporter.getFinishedSpans();
    const send = spans.find((s) => s.name === `send ${topic}`);
    const process = spans.find((s) => s.name === `process ${topic}`);
    assert.ok(send && process, spans.map((s) => s.name).join(', '));
    const traceId = request.spanContext().traceId;
    assert.equal(send.spanContext().traceId, traceId);
    assert.equal(process.spanContext().traceId, traceId);
    assert.equal(send.kind, SpanKind.PRODUCER);
    assert.equal(process.kind, SpanKind.CONSUMER);
    assert.equal(send.parentSpanContext?.spanId, request.spanContext().spanId);
    assert.equal(process.parentSpanContext?.spanId, send.spanContext().spanId);
    assert.equal(process.attributes['messaging.message.id'], envelope.id);
    assert.equal(process.attributes['messaging.kafka.message.key'], 'order-traced');

    // The handler runs inside the process span, and its envelope carries that span's context.
    const handled = seen[0];
    assert.ok(handled);
    assert.equal(handled.activeSpanId, process.spanContext().spanId);
    assert.equal(handled.traceparent, `00-${traceId}-${process.spanContext().spanId}-01`);
  });
});
