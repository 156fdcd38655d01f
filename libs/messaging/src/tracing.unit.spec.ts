import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anItemAdded, to } from './testing/consumer-fixtures';
import { activeTraceContext, startProducerSpans } from './tracing';

/** Without an OpenTelemetry SDK (scripts, tests, a service with tracing off) nothing is lost. */
describe('trace context without an SDK', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('when no span is active, then the cause’s trace context passes through unchanged', () => {
    assert.deepEqual(activeTraceContext({ traceparent, tracestate: 'a=1' }), {
      traceparent,
      tracestate: 'a=1',
    });
    assert.deepEqual(activeTraceContext(), {});
  });

  it('when records are sent, then their envelopes keep the trace context they were written with', () => {
    const messages = to('some.topic', { ...anItemAdded('order-1'), traceparent });
    const producing = startProducerSpans(messages);
    producing.end();
    assert.deepEqual(producing.messages, messages);
  });
});
