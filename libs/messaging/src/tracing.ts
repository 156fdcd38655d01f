import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { Envelope } from './envelope';
import { errorMessage } from './kafka-client';

/**
 * Tracing across Kafka, by hand rather than with the kafkajs auto-instrumentation: the outbox
 * relay publishes a record long after, and apart from, the request or message that wrote it, so
 * the active context at send time is the relay's loop, not the record's trace. The record's own
 * W3C trace context (written into the envelope when it was created) is the parent instead.
 *
 *   POST /orders ─► (envelope.traceparent) ─► send inventory.commands ─► process inventory.commands
 *                                                                       └► send inventory.events ─► …
 *
 * Everything goes through @opentelemetry/api: without an SDK these are no-ops, and the trace
 * context the envelopes carry passes through unchanged.
 */

const TRACER_NAME = '@platform/messaging';

/** W3C trace context, as carried in an envelope and in Kafka headers. */
export interface TraceContext {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/**
 * The trace context to put into messages caused by the work in hand: the active span's when there
 * is one, else `fallback` (e.g. the cause's own), so the context is never dropped on the way.
 */
export function activeTraceContext(fallback: TraceContext = {}): TraceContext {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (carrier.traceparent === undefined) return pick(fallback);
  return {
    traceparent: carrier.traceparent,
    ...(carrier.tracestate !== undefined && { tracestate: carrier.tracestate }),
  };
}

function pick(source: TraceContext): TraceContext {
  return {
    ...(source.traceparent !== undefined && { traceparent: source.traceparent }),
    ...(source.tracestate !== undefined && { tracestate: source.tracestate }),
  };
}

function contextFrom(traceContext: TraceContext): Context {
  return propagation.extract(ROOT_CONTEXT, pick(traceContext));
}

function markFailed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(errorMessage(error)));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Ends the span when `result` settles, marking it as an error if it rejects. */
async function settle<T>(span: Span, result: Promise<T>): Promise<T> {
  try {
    return await result;
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

export interface ConsumerSpanInfo {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly groupId: string;
  readonly key: string | undefined;
  /** The record's headers as text (trace context among them). */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Runs the handling of one delivered record in a CONSUMER span whose parent is the record's trace
 * context, so the handler's database calls and the messages it causes belong to the same trace.
 */
export function inConsumerSpan<T>(
  info: ConsumerSpanInfo,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = contextFrom({
    ...(info.headers.traceparent !== undefined && { traceparent: info.headers.traceparent }),
    ...(info.headers.tracestate !== undefined && { tracestate: info.headers.tracestate }),
  });
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': info.topic,
    'messaging.destination.partition.id': String(info.partition),
    'messaging.consumer.group.name': info.groupId,
    'messaging.kafka.offset': Number(info.offset),
    ...(info.key !== undefined && { 'messaging.kafka.message.key': info.key }),
  };
  return trace
    .getTracer(TRACER_NAME)
    .startActiveSpan(
      `process ${info.topic}`,
      { kind: SpanKind.CONSUMER, attributes },
      parent,
      (span) => settle(span, work(span)),
    );
}

/** Attributes every span about one envelope carries. */
export function envelopeAttributes(envelope: Envelope): Attributes {
  return {
    'messaging.message.id': envelope.id,
    'messaging.message.conversation_id': envelope.correlationId,
    'cloudevents.event_type': envelope.type,
    'cloudevents.event_source': envelope.source,
  };
}

/**
 * A PRODUCER span for each envelope about to be sent, parented on the envelope's own trace
 * context. Returns the envelopes with their trace context replaced by their span's (so the
 * consumer's span becomes the send span's child) and a function that ends every span.
 */
export function startProducerSpans<
  E extends { readonly topic: string; readonly envelope: Envelope },
>(messages: readonly E[]): { readonly messages: E[]; end(error?: unknown): void } {
  const tracer = trace.getTracer(TRACER_NAME);
  const spans: Span[] = [];
  const traced = messages.map((message) => {
    const span = tracer.startSpan(
      `send ${message.topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': message.topic,
          'messaging.kafka.message.key': message.envelope.key,
          ...envelopeAttributes(message.envelope),
        },
      },
      contextFrom(message.envelope),
    );
    spans.push(span);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
    if (carrier.traceparent === undefined) return message;
    return {
      ...message,
      envelope: {
        ...message.envelope,
        traceparent: carrier.traceparent,
        ...(carrier.tracestate !== undefined && { tracestate: carrier.tracestate }),
      },
    };
  });
  return {
    messages: traced,
    end(error?: unknown) {
      for (const span of spans) {
        if (error !== undefined) markFailed(span, error);
        span.end();
      }
    },
  };
}

/** Adds attributes (an order id, a saga id) to the span in hand, so its trace can be found by them. */
export function tagActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
