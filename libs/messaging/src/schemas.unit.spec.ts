import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { Envelope } from './envelope';
import {
  createEnvelope,
  defineMessage,
  defineUpcaster,
  FutureSchemaVersionError,
  InvalidPayloadError,
  MessageRegistry,
  RegistryDefinitionError,
  UnknownMessageTypeError,
  UnsupportedSchemaVersionError,
} from './schemas';

// StockReserved went through three shapes: quantity as a string, then a number, then lines.
const StockReservedV1 = defineMessage({
  type: 'StockReserved',
  version: 1,
  schema: z.object({ orderId: z.string(), sku: z.string(), quantity: z.string() }),
});
const StockReservedV2 = defineMessage({
  type: 'StockReserved',
  version: 2,
  schema: z.object({ orderId: z.string(), sku: z.string(), quantity: z.number().int().positive() }),
});
const StockReservedV3 = defineMessage({
  type: 'StockReserved',
  version: 3,
  schema: z.object({
    orderId: z.string(),
    lines: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })).min(1),
  }),
});
const OrderPlaced = defineMessage({
  type: 'OrderPlaced',
  version: 1,
  schema: z.object({ orderId: z.string(), total: z.number().nonnegative() }),
});

const v1ToV2 = defineUpcaster(StockReservedV1, StockReservedV2, (p) => ({
  orderId: p.orderId,
  sku: p.sku,
  quantity: Number(p.quantity),
}));
const v2ToV3 = defineUpcaster(StockReservedV2, StockReservedV3, (p) => ({
  orderId: p.orderId,
  lines: [{ sku: p.sku, quantity: p.quantity }],
}));

const registry = new MessageRegistry([OrderPlaced, StockReservedV3], [v1ToV2, v2ToV3]);

function anEnvelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    id: 'msg-1',
    type: 'OrderPlaced',
    schemaVersion: 1,
    source: 'order-service',
    time: '2026-01-02T03:04:05.000Z',
    key: 'order-1',
    correlationId: 'order-1',
    payload: { orderId: 'order-1', total: 10 },
    ...overrides,
  };
}

describe('MessageRegistry', () => {
  it('when a current-version message is valid, then it is accepted unchanged', () => {
    const result = registry.validateIncoming(anEnvelope());
    assert.equal(result.ok, true);
    assert.ok(result.ok);
    assert.deepEqual(result.envelope.payload, { orderId: 'order-1', total: 10 });
    assert.equal(result.receivedSchemaVersion, 1);
  });

  it('when a v1 message arrives and v3 is current, then the payload is upcast through v2 to the v3 shape', () => {
    const result = registry.validateIncoming(
      anEnvelope({
        type: 'StockReserved',
        schemaVersion: 1,
        payload: { orderId: 'o', sku: 'A', quantity: '3' },
      }),
    );
    assert.ok(result.ok);
    assert.equal(result.envelope.schemaVersion, 3);
    assert.equal(result.receivedSchemaVersion, 1);
    assert.deepEqual(result.envelope.payload, { orderId: 'o', lines: [{ sku: 'A', quantity: 3 }] });
  });

  it('when the type is not registered, then it is refused as unknown-type', () => {
    const result = registry.validateIncoming(anEnvelope({ type: 'OrderTeleported' }));
    assert.ok(!result.ok);
    assert.ok(result.error instanceof UnknownMessageTypeError);
    assert.equal(result.error.reason, 'unknown-type');
  });

  it('when the version is newer than the newest known, then it is refused as future-version', () => {
    const result = registry.validateIncoming(anEnvelope({ schemaVersion: 2 }));
    assert.ok(!result.ok);
    assert.ok(result.error instanceof FutureSchemaVersionError);
    assert.equal(result.error.reason, 'future-version');
    assert.equal(result.error.schemaVersion, 2);
  });

  it('when an older version has no schema any more, then it is refused as unsupported-version', () => {
    const retired = new MessageRegistry([StockReservedV3], [v2ToV3]);
    const result = retired.validateIncoming(
      anEnvelope({ type: 'StockReserved', schemaVersion: 1, payload: {} }),
    );
    assert.ok(!result.ok);
    assert.ok(result.error instanceof UnsupportedSchemaVersionError);
  });

  it('when the payload breaks its schema, then it is refused as invalid-payload naming the field', () => {
    const result = registry.validateIncoming(
      anEnvelope({ payload: { orderId: 'order-1', total: -1 } }),
    );
    assert.ok(!result.ok);
    assert.ok(result.error instanceof InvalidPayloadError);
    assert.match(result.error.message, /total/);
  });

  it('when an old payload is invalid for its own version, then it is refused before any upcast', () => {
    const result = registry.validateIncoming(
      anEnvelope({ type: 'StockReserved', schemaVersion: 1, payload: { orderId: 'o', sku: 'A' } }),
    );
    assert.ok(!result.ok);
    assert.equal(result.error.reason, 'invalid-payload');
    assert.match(result.error.message, /quantity/);
  });

  it('when an upcast result breaks the next schema, then it is refused as invalid-payload', () => {
    const result = registry.validateIncoming(
      anEnvelope({
        type: 'StockReserved',
        schemaVersion: 1,
        payload: { orderId: 'o', sku: 'A', quantity: 'many' },
      }),
    );
    assert.ok(!result.ok);
    assert.equal(result.error.reason, 'invalid-payload');
    assert.match(result.error.message, /upcast to v2/);
  });

  it('when a payload carries __proto__ or extra keys, then the parsed payload has neither', () => {
    const payload: unknown = JSON.parse(
      '{"orderId":"o","total":1,"__proto__":{"admin":true},"x":1}',
    );
    const result = registry.validateIncoming(anEnvelope({ payload }));
    assert.ok(result.ok);
    assert.deepEqual(Object.keys(result.envelope.payload as object).sort(), ['orderId', 'total']);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
  });

  it('when an outgoing payload is invalid, then validateOutgoing throws', () => {
    assert.throws(
      () => registry.validateOutgoing(anEnvelope({ payload: { orderId: 1 } })),
      InvalidPayloadError,
    );
    assert.throws(
      () => registry.validateOutgoing(anEnvelope({ type: 'Nope' })),
      UnknownMessageTypeError,
    );
  });

  it('when an outgoing message uses an older registered version, then it is accepted', () => {
    const envelope = anEnvelope({
      type: 'StockReserved',
      schemaVersion: 2,
      payload: { orderId: 'o', sku: 'A', quantity: 1 },
    });
    assert.deepEqual(registry.validateOutgoing(envelope), envelope);
  });

  it('when a registered old version has no path to the current one, then the registry refuses to build', () => {
    assert.throws(
      () => new MessageRegistry([StockReservedV1, StockReservedV3], [v2ToV3]),
      RegistryDefinitionError,
    );
  });

  it('when the same (type, version) is defined twice, then the registry refuses to build', () => {
    const again = defineMessage({ type: 'OrderPlaced', version: 1, schema: z.object({}) });
    assert.throws(() => new MessageRegistry([OrderPlaced, again]), RegistryDefinitionError);
  });

  it('when an upcaster skips a version, then defining it throws', () => {
    assert.throws(
      () => defineUpcaster(StockReservedV1, StockReservedV3, () => ({ orderId: '', lines: [] })),
      RangeError,
    );
  });
});

describe('createEnvelope', () => {
  const base = {
    id: 'm-1',
    source: 'order-service',
    time: new Date('2026-01-02T03:04:05Z'),
    key: 'order-1',
    correlationId: 'order-1',
  };

  it('when given a definition, then type and version come from it and the time is ISO', () => {
    const envelope = createEnvelope({
      ...base,
      type: OrderPlaced,
      payload: { orderId: 'order-1', total: 5 },
    });
    assert.deepEqual(envelope, {
      ...base,
      time: '2026-01-02T03:04:05.000Z',
      type: 'OrderPlaced',
      schemaVersion: 1,
      payload: { orderId: 'order-1', total: 5 },
    });
  });

  it('when given a definition and an invalid payload, then it throws', () => {
    assert.throws(
      () => createEnvelope({ ...base, type: OrderPlaced, payload: { orderId: 'x', total: -5 } }),
      InvalidPayloadError,
    );
  });

  it('when optional trace fields are given, then they are kept, and absent ones are not set', () => {
    const envelope = createEnvelope({
      ...base,
      type: 'Anything',
      schemaVersion: 4,
      causationId: 'c-1',
      traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      payload: {},
    });
    assert.equal(envelope.schemaVersion, 4);
    assert.equal(envelope.causationId, 'c-1');
    assert.ok(!('tracestate' in envelope));
  });

  it('when the id is empty or the time is not a date, then it throws', () => {
    assert.throws(() => createEnvelope({ ...base, id: '', type: 'T', payload: {} }), RangeError);
    assert.throws(
      () => createEnvelope({ ...base, time: 'yesterday', type: 'T', payload: {} }),
      RangeError,
    );
  });
});
