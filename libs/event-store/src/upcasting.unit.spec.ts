import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnknownSchemaVersionError } from './errors';
import type { Upcaster } from './types';
import { SchemaRegistry } from './upcasting';

const step = (type: string, fromVersion: number): Upcaster => ({
  type,
  fromVersion,
  upcast: (data) => ({ ...(data as object), [`v${fromVersion + 1}`]: true }),
});

describe('SchemaRegistry (upcaster chaining)', () => {
  it('when data is stored at v1 and the current version is 3, then v1->v2 and v2->v3 run in order', () => {
    const calls: string[] = [];
    const registry = new SchemaRegistry(
      [
        {
          type: 'T',
          fromVersion: 2,
          upcast: (d) => (calls.push('2->3'), { ...(d as object), c: 3 }),
        },
        {
          type: 'T',
          fromVersion: 1,
          upcast: (d) => (calls.push('1->2'), { ...(d as object), b: 2 }),
        },
      ],
      { T: 3 },
    );
    assert.deepEqual(registry.upcast('T', 1, { a: 1 }), { data: { a: 1, b: 2, c: 3 }, version: 3 });
    assert.deepEqual(calls, ['1->2', '2->3']);
  });

  it('when data starts in the middle of the chain, then only the later steps run', () => {
    const registry = new SchemaRegistry([step('T', 1), step('T', 2)], { T: 3 });
    assert.deepEqual(registry.upcast('T', 2, {}), { data: { v3: true }, version: 3 });
  });

  it('when data is at the current version or the type is unregistered, then it is returned unchanged', () => {
    const registry = new SchemaRegistry([step('T', 1)], { T: 2 });
    const data = { same: true };
    assert.equal(registry.upcast('T', 2, data).data, data);
    assert.deepEqual(registry.upcast('Other', 1, data), { data, version: 1 });
  });

  it('when the stored version is newer than the current one, then upcast throws UnknownSchemaVersionError', () => {
    const registry = new SchemaRegistry([], { T: 2 });
    assert.throws(() => registry.upcast('T', 3, {}), UnknownSchemaVersionError);
    assert.throws(() => registry.upcast('Unregistered', 2, {}), UnknownSchemaVersionError);
  });

  it('when a step is missing, then upcast names it', () => {
    const registry = new SchemaRegistry([step('T', 2)], { T: 3 });
    assert.throws(() => registry.upcast('T', 1, {}), /no upcaster for T from version 1/);
  });

  it('when the configuration is inconsistent, then the constructor refuses it', () => {
    assert.throws(
      () => new SchemaRegistry([step('T', 1), step('T', 1)], { T: 2 }),
      /two upcasters/,
    );
    assert.throws(() => new SchemaRegistry([step('T', 1)]), /beyond the current version 1/);
    assert.throws(() => new SchemaRegistry([step('T', 0)], { T: 2 }), RangeError);
    assert.throws(() => new SchemaRegistry([], { T: 0 }), RangeError);
    assert.throws(() => new SchemaRegistry([], { T: 1.5 }), RangeError);
  });

  it('when appending, then the current version is stamped unless an older one is given; a newer one is refused', () => {
    const registry = new SchemaRegistry([step('T', 1)], { T: 2 });
    assert.equal(registry.versionForAppend('T', undefined), 2);
    assert.equal(registry.versionForAppend('T', 1), 1);
    assert.equal(registry.versionForAppend('Other', undefined), 1);
    assert.throws(() => registry.versionForAppend('T', 3), UnknownSchemaVersionError);
    assert.throws(() => registry.versionForAppend('T', 0), RangeError);
  });
});
