import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRecord, encodeEnvelope, HEADER, MalformedMessageError } from './codec';
import type { Envelope } from './envelope';

const envelope: Envelope = {
  id: '7d3c1f0e-0000-4000-8000-000000000001',
  type: 'ReserveStock',
  schemaVersion: 2,
  source: 'order-service',
  time: '2026-01-02T03:04:05.000Z',
  key: 'order-42',
  correlationId: 'order-42',
  causationId: 'cmd-1',
  traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
  tracestate: 'vendor=x',
  payload: { orderId: 'order-42', lines: [{ sku: 'A', quantity: 2 }], note: 'ünïcode ✓' },
};

describe('codec', () => {
  it('when an envelope is encoded and decoded, then every field comes back equal', () => {
    const record = encodeEnvelope(envelope);
    assert.equal(record.key, 'order-42');
    assert.equal(record.headers[HEADER.specversion], '1.0');
    const decoded = decodeRecord({ key: record.key, value: record.value, headers: record.headers });
    assert.deepEqual(decoded.envelope, envelope);
    assert.deepEqual(decoded.extraHeaders, {});
  });

  it('when optional fields are absent, then they stay absent after a round trip', () => {
    const { causationId: _c, traceparent: _t, tracestate: _s, ...minimal } = envelope;
    const record = encodeEnvelope(minimal);
    const decoded = decodeRecord({ key: record.key, value: record.value, headers: record.headers });
    assert.deepEqual(decoded.envelope, minimal);
    assert.ok(!('causationId' in decoded.envelope));
  });

  it('when a record has extra headers, then they are returned apart from the envelope', () => {
    const record = encodeEnvelope(envelope);
    const decoded = decodeRecord({
      key: record.key,
      value: record.value,
      headers: { ...record.headers, 'redrive-count': '1' },
    });
    assert.deepEqual(decoded.extraHeaders, { 'redrive-count': '1' });
  });

  it('when the value is not JSON, or headers or key are missing, then it is malformed', () => {
    const record = encodeEnvelope(envelope);
    const cases = [
      { key: record.key, value: Buffer.from('{not json'), headers: record.headers },
      { key: record.key, value: record.value, headers: {} },
      { key: null, value: record.value, headers: record.headers },
      {
        key: record.key,
        value: record.value,
        headers: { ...record.headers, [HEADER.schemaVersion]: 'x' },
      },
    ];
    for (const c of cases) assert.throws(() => decodeRecord(c), MalformedMessageError);
  });
});
