import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '@platform/domain';
import {
  canonicalJson,
  fingerprint,
  IdempotencyKeyReused,
  IdempotencyStore,
} from './idempotency-store';

describe('IdempotencyStore', () => {
  it('when a key is new, then the effect runs once and later runs replay its result', () => {
    const store = new IdempotencyStore();
    let runs = 0;
    const effect = () => ({ id: `auth_${++runs}` });
    const first = store.run('k', 'authorize  {}', effect);
    const again = store.run('k', 'authorize  {}', effect);
    assert.deepEqual(first, {
      outcome: { kind: 'succeeded', value: { id: 'auth_1' } },
      replayed: false,
    });
    assert.deepEqual(again, {
      outcome: { kind: 'succeeded', value: { id: 'auth_1' } },
      replayed: true,
    });
    assert.equal(runs, 1);
  });

  it('when the fingerprint differs, then IdempotencyKeyReused and the effect does not run', () => {
    const store = new IdempotencyStore();
    store.run('k', 'a', () => 1);
    assert.throws(
      () =>
        store.run('k', 'b', () => {
          throw new Error('must not run');
        }),
      IdempotencyKeyReused,
    );
  });

  it('when the effect refuses with a DomainError, then the refusal is stored and replayed', () => {
    const store = new IdempotencyStore();
    const refusal = new DomainError('nope', 'refused');
    const first = store.run('k', 'f', () => {
      throw refusal;
    });
    assert.deepEqual(first, { outcome: { kind: 'refused', error: refusal }, replayed: false });
    assert.equal(store.run('k', 'f', () => 1).outcome.kind, 'refused');
  });

  it('when the effect fails unexpectedly, then nothing is stored and a retry runs again', () => {
    const store = new IdempotencyStore();
    assert.throws(
      () =>
        store.run('k', 'f', () => {
          throw new Error('disk full');
        }),
      /disk full/,
    );
    assert.equal(store.size, 0);
    assert.deepEqual(
      store.run('k', 'f', () => 2),
      { outcome: { kind: 'succeeded', value: 2 }, replayed: false },
    );
  });

  it('when bodies differ only in key order or undefined fields, then the fingerprints are equal', () => {
    assert.equal(
      fingerprint('capture', 'auth_1', { b: 1, a: { d: [1, 2], c: undefined } }),
      fingerprint('capture', 'auth_1', { a: { d: [1, 2] }, b: 1 }),
    );
    assert.notEqual(
      fingerprint('capture', 'auth_1', { a: 1 }),
      fingerprint('capture', 'auth_2', { a: 1 }),
    );
    assert.notEqual(fingerprint('capture', 'x', { a: 1 }), fingerprint('refund', 'x', { a: 1 }));
    assert.equal(canonicalJson({ z: 'x', a: [true, null] }), '{"a":[true,null],"z":"x"}');
  });
});
