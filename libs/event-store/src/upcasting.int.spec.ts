import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnknownSchemaVersionError } from './errors';
import { anEvent, nextId, openTestDatabase, type TestDatabase } from './test-support';
import type { Upcaster } from './types';

// ItemAdded over time:
//   v1 { sku, quantity }
//   v2 { sku, quantity: { amount, unit } }
//   v3 { productId, quantity: { amount, unit } }
const v1ToV2: Upcaster = {
  type: 'ItemAdded',
  fromVersion: 1,
  upcast: (data) => {
    const { sku, quantity } = data as { sku: string; quantity: number };
    return { sku, quantity: { amount: quantity, unit: 'pcs' } };
  },
};
const v2ToV3: Upcaster = {
  type: 'ItemAdded',
  fromVersion: 2,
  upcast: (data) => {
    const { sku, quantity } = data as { sku: string; quantity: unknown };
    return { productId: `product-${sku}`, quantity };
  },
};

describe('PostgresEventStore: schema versions and upcasting', { timeout: 120_000 }, () => {
  let db: TestDatabase;

  before(async () => {
    db = await openTestDatabase();
  });

  after(async () => {
    await db.close();
  });

  async function storedVersions(streamId: string): Promise<number[]> {
    const rows: { schema_version: number }[] = await db.dataSource.query(
      'SELECT schema_version FROM event_store.events WHERE stream_id = $1 ORDER BY stream_version',
      [streamId],
    );
    return rows.map((r) => r.schema_version);
  }

  it('when v1 and v2 events are read while the current version is 3, then every event comes back in the v3 shape', async () => {
    const store = db.store({ upcasters: [v2ToV3, v1ToV2], currentVersions: { ItemAdded: 3 } });
    const streamId = `cart-${nextId()}`;
    await store.appendToStream(
      streamId,
      [
        anEvent('ItemAdded', { sku: 'a', quantity: 2 }, { schemaVersion: 1 }),
        anEvent(
          'ItemAdded',
          { sku: 'b', quantity: { amount: 5, unit: 'kg' } },
          { schemaVersion: 2 },
        ),
        anEvent('ItemAdded', { productId: 'product-c', quantity: { amount: 1, unit: 'pcs' } }),
        anEvent('CartCheckedOut', { at: '2026-11-22T00:00:00.000Z' }),
      ],
      { expectedVersion: 'no_stream' },
    );

    const expected = [
      {
        type: 'ItemAdded',
        schemaVersion: 3,
        data: { productId: 'product-a', quantity: { amount: 2, unit: 'pcs' } },
      },
      {
        type: 'ItemAdded',
        schemaVersion: 3,
        data: { productId: 'product-b', quantity: { amount: 5, unit: 'kg' } },
      },
      {
        type: 'ItemAdded',
        schemaVersion: 3,
        data: { productId: 'product-c', quantity: { amount: 1, unit: 'pcs' } },
      },
      { type: 'CartCheckedOut', schemaVersion: 1, data: { at: '2026-11-22T00:00:00.000Z' } },
    ];
    const shape = (events: readonly { type: string; schemaVersion: number; data: unknown }[]) =>
      events.map(({ type, schemaVersion, data }) => ({ type, schemaVersion, data }));

    assert.deepEqual(shape(await store.readStream(streamId)), expected);
    const global = (
      await store.readAll({ after: { commit: 0n, position: 0n }, limit: 100 })
    ).filter((e) => e.streamId === streamId);
    assert.deepEqual(shape(global), expected, 'readAll upcasts too');
    // Upcasting happens on read; what is stored stays as written.
    assert.deepEqual(await storedVersions(streamId), [1, 2, 3, 1]);
  });

  it('when an event was stored with a version newer than this code knows, then reading it fails clearly instead of misreading it', async () => {
    const newer = db.store({ currentVersions: { PriceChanged: 2 } });
    const older = db.store({ currentVersions: { PriceChanged: 1 } });
    const streamId = `price-${nextId()}`;
    const head = await newer.headPosition();
    await newer.appendToStream(streamId, [anEvent('PriceChanged', { cents: 100 })], {
      expectedVersion: 'no_stream',
    });

    const isUnknownVersion = (error: unknown) =>
      error instanceof UnknownSchemaVersionError &&
      error.eventType === 'PriceChanged' &&
      error.schemaVersion === 2 &&
      error.currentVersion === 1;
    await assert.rejects(older.readStream(streamId), isUnknownVersion);
    // A global reader on old code stops at the event rather than skipping or misreading it.
    await assert.rejects(older.readAll({ after: head, limit: 100 }), isUnknownVersion);
    await assert.rejects(
      older.aggregateStream(streamId, { initialState: () => 0, evolve: (n) => n + 1 }),
      isUnknownVersion,
    );
    assert.equal((await newer.readStream(streamId))[0]?.schemaVersion, 2);
  });

  it('when an append asks for a version newer than the current one, then it is refused', async () => {
    const store = db.store({ currentVersions: { PriceChanged: 2 } });
    const streamId = `price-${nextId()}`;
    await assert.rejects(
      store.appendToStream(streamId, [anEvent('PriceChanged', {}, { schemaVersion: 3 })], {
        expectedVersion: 'any',
      }),
      UnknownSchemaVersionError,
    );
    assert.deepEqual(await storedVersions(streamId), []);
  });

  it('when a step of the chain is missing, then reading an event that needs it fails and names the step', async () => {
    const streamId = `cart-${nextId()}`;
    await db
      .store({ upcasters: [v1ToV2], currentVersions: { ItemAdded: 2 } })
      .appendToStream(
        streamId,
        [anEvent('ItemAdded', { sku: 'a', quantity: 1 }, { schemaVersion: 1 })],
        {
          expectedVersion: 'no_stream',
        },
      );
    const gap = db.store({ upcasters: [v2ToV3], currentVersions: { ItemAdded: 3 } });
    await assert.rejects(gap.readStream(streamId), /no upcaster for ItemAdded from version 1/);
  });
});
