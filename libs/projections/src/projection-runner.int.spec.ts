import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  eventStoreMigrations,
  PostgresEventStore,
  START,
  type RecordedEvent,
} from '@platform/event-store';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { MongoClient, type Db } from 'mongodb';
import { DataSource } from 'typeorm';
import {
  LAST_POSITION_FIELD,
  MongoCheckpointStore,
  ProjectionRunner,
  rebuildProjection,
  type Projection,
} from './index';

// A small cart read model: enough to show $inc/$push idempotency and a status.
type CartEvent =
  | { type: 'ItemAdded'; data: { sku: string; quantity: number } }
  | { type: 'CartCheckedOut'; data: { at: string } };

interface CartSummary {
  _id: string;
  items: number;
  skus: string[];
  status: 'Open' | 'CheckedOut';
}

function cartProjection(
  collection: string,
  failOn?: { messageId: string | undefined },
): Projection {
  return {
    name: `carts-${collection}`,
    collection,
    project(event: RecordedEvent) {
      if (failOn?.messageId === event.metadata.messageId)
        throw new Error('projection bug on this event');
      const e = event as unknown as CartEvent;
      switch (e.type) {
        case 'ItemAdded':
          return [
            {
              id: event.streamId,
              update: {
                $inc: { items: e.data.quantity },
                $push: { skus: e.data.sku },
                $setOnInsert: { status: 'Open' },
              },
            },
          ];
        case 'CartCheckedOut':
          return [{ id: event.streamId, update: { $set: { status: 'CheckedOut' } } }];
        default:
          return [];
      }
    },
  };
}

/** The read model computed straight from the event store, with no MongoDB involved. */
async function replayed(store: PostgresEventStore): Promise<CartSummary[]> {
  const byCart = new Map<string, CartSummary>();
  let after = START;
  for (;;) {
    const events = await store.readAll({ after, limit: 1000 });
    if (events.length === 0) break;
    for (const event of events) {
      const e = event as unknown as CartEvent;
      const cart = byCart.get(event.streamId) ?? {
        _id: event.streamId,
        items: 0,
        skus: [],
        status: 'Open' as const,
      };
      if (e.type === 'ItemAdded') {
        cart.items += e.data.quantity;
        cart.skus.push(e.data.sku);
      } else {
        cart.status = 'CheckedOut';
      }
      byCart.set(event.streamId, cart);
    }
    const last = events.at(-1);
    if (last) after = last.globalPosition;
  }
  return [...byCart.values()].sort((a, b) => a._id.localeCompare(b._id));
}

async function readModel(db: Db, collection: string): Promise<CartSummary[]> {
  const docs = await db.collection<CartSummary>(collection).find({}).toArray();
  return docs
    .map((doc) => {
      const { [LAST_POSITION_FIELD]: _ignored, ...rest } = doc as CartSummary &
        Record<string, unknown>;
      return { _id: rest._id, items: rest.items, skus: rest.skus, status: rest.status };
    })
    .sort((a, b) => a._id.localeCompare(b._id));
}

/** Deterministic event data: a tiny LCG, so failures reproduce. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe(
  'ProjectionRunner (real Postgres event store → MongoDB-compatible server)',
  { timeout: 240_000 },
  () => {
    let stack: LocalStack;
    let dataSource: DataSource;
    let store: PostgresEventStore;
    let mongo: MongoClient;
    let db: Db;
    let dropDatabase: () => Promise<void>;
    const random = seeded(42);

    async function addItems(cart: string, count: number): Promise<RecordedEvent['globalPosition']> {
      const existing = await store.readStream(cart);
      const result = await store.appendToStream(
        cart,
        Array.from({ length: count }, () => ({
          type: 'ItemAdded',
          data: { sku: `sku-${Math.floor(random() * 5)}`, quantity: 1 + Math.floor(random() * 3) },
          metadata: { messageId: randomUUID(), correlationId: cart },
        })),
        { expectedVersion: existing.length },
      );
      return result.lastPosition;
    }

    async function checkOut(cart: string): Promise<RecordedEvent['globalPosition']> {
      const existing = await store.readStream(cart);
      const result = await store.appendToStream(
        cart,
        [
          {
            type: 'CartCheckedOut',
            data: { at: '2026-01-01T00:00:00.000Z' },
            metadata: { messageId: randomUUID(), correlationId: cart },
          },
        ],
        { expectedVersion: existing.length },
      );
      return result.lastPosition;
    }

    before(async () => {
      stack = await useLocalStack();
      const scratch = await stack.postgres.createScratchDatabase('projections');
      dropDatabase = scratch.drop;
      dataSource = new DataSource({
        type: 'postgres',
        url: scratch.url,
        migrations: eventStoreMigrations,
        synchronize: false,
      });
      await dataSource.initialize();
      await dataSource.runMigrations();
      store = new PostgresEventStore(dataSource);
      mongo = new MongoClient(stack.mongo.url, { serverSelectionTimeoutMS: 2000 });
      await mongo.connect();
      db = mongo.db(`it_projections_${randomUUID().replaceAll('-', '').slice(0, 12)}`);
    });

    after(async () => {
      await stack.mongo.start();
      await mongo.close();
      await dataSource.destroy();
      await dropDatabase();
    });

    it('when events are appended, then the runner builds the read model and checkpoints the last position', async () => {
      const projection = cartProjection('carts_basic');
      const checkpoints = new MongoCheckpointStore(db);
      for (let i = 0; i < 5; i++) await addItems(`cart-basic-${i}`, 3);
      const last = await checkOut('cart-basic-0');
      const runner = new ProjectionRunner({
        projection,
        source: store,
        db,
        checkpoints,
        batchSize: 4,
      });
      await runner.catchUp();
      assert.deepEqual(
        await readModel(db, 'carts_basic'),
        (await replayed(store)).filter((c) => c._id.startsWith('cart-basic')),
      );
      assert.deepEqual(await checkpoints.load(projection.name), last);
    });

    it('when the same events are applied again from the start, then the read model does not change', async () => {
      const projection = cartProjection('carts_basic');
      const checkpoints = new MongoCheckpointStore(db);
      const before = await readModel(db, 'carts_basic');
      await checkpoints.reset(projection.name, START);
      await new ProjectionRunner({
        projection,
        source: store,
        db,
        checkpoints,
        batchSize: 3,
      }).catchUp();
      assert.deepEqual(
        await readModel(db, 'carts_basic'),
        before,
        '$inc and $push must not apply twice',
      );
    });

    it('when the projection fails on an event, then the checkpoint stays before it and nothing is skipped', async () => {
      const failOn: { messageId: string | undefined } = { messageId: undefined };
      const projection = cartProjection('carts_failing', failOn);
      const checkpoints = new MongoCheckpointStore(db);
      const runner = new ProjectionRunner({
        projection,
        source: store,
        db,
        checkpoints,
        batchSize: 4,
      });
      await runner.catchUp();

      for (let i = 0; i < 3; i++) await addItems(`cart-fail-${i}`, 4);
      const poisonPosition = await checkOut('cart-fail-1');
      const poison = (await store.readStream('cart-fail-1')).at(-1);
      failOn.messageId = poison?.metadata.messageId;
      await addItems('cart-fail-2', 2);

      await assert.rejects(runner.catchUp(), /projection bug/);
      const checkpoint = await checkpoints.load(projection.name);
      assert.ok(
        checkpoint.commit < poisonPosition.commit ||
          (checkpoint.commit === poisonPosition.commit &&
            checkpoint.position < poisonPosition.position),
        'checkpoint must stay before the event that failed',
      );

      failOn.messageId = undefined; // the bug is fixed
      await runner.catchUp();
      assert.deepEqual(await readModel(db, 'carts_failing'), await replayed(store));
    });

    it('when the runner was down while events were appended, then it catches up from its checkpoint', async () => {
      const projection = cartProjection('carts_live');
      const checkpoints = new MongoCheckpointStore(db);
      const runner = new ProjectionRunner({
        projection,
        source: store,
        db,
        checkpoints,
        pollIntervalMs: 50,
      });
      runner.start();
      let last = await addItems('cart-live-1', 2);
      assert.ok(await runner.waitForPosition(last, 20_000), 'caught up while running');
      await runner.stop();

      for (let i = 2; i < 6; i++) last = await addItems(`cart-live-${i}`, 2);
      runner.start();
      assert.ok(await runner.waitForPosition(last, 20_000), 'caught up after downtime');
      await runner.stop();
      assert.deepEqual(await readModel(db, 'carts_live'), await replayed(store));
    });

    it('when the MongoDB-compatible server is killed mid-run, then the runner retries and the read model converges', async () => {
      const projection = cartProjection('carts_mongo_crash');
      const checkpoints = new MongoCheckpointStore(db);
      const errors: unknown[] = [];
      const runner = new ProjectionRunner({
        projection,
        source: store,
        db,
        checkpoints,
        pollIntervalMs: 50,
        maxBackoffMs: 500,
        batchSize: 5,
        onError: (error) => errors.push(error),
      });
      runner.start();
      await addItems('cart-crash-0', 3);
      await stack.mongo.kill();
      // Writes keep going while the read model's store is down.
      let last = await addItems('cart-crash-1', 5);
      last = await checkOut('cart-crash-1');
      await stack.mongo.start();
      assert.ok(await runner.waitForPosition(last, 60_000), 'caught up after the server came back');
      await runner.stop();
      assert.ok(errors.length > 0, 'the outage was seen and retried');
      assert.deepEqual(await readModel(db, 'carts_mongo_crash'), await replayed(store));
    });

    it('when a read model is rebuilt while writes continue, then the swapped-in result equals the live one', async () => {
      const projection = cartProjection('carts_rebuild');
      const checkpoints = new MongoCheckpointStore(db);
      const live = new ProjectionRunner({
        projection,
        source: store,
        db,
        checkpoints,
        pollIntervalMs: 50,
        batchSize: 7,
      });
      live.start();
      await addItems('cart-rebuild-0', 4);

      const control = { writing: true };
      const writer = (async () => {
        let n = 1;
        while (control.writing) await addItems(`cart-rebuild-${n++ % 4}`, 1);
      })();
      const result = await rebuildProjection({
        projection,
        source: store,
        db,
        checkpoints,
        liveRunner: live,
        batchSize: 9,
      });
      control.writing = false;
      await writer;
      const last = await addItems('cart-rebuild-9', 1);

      assert.ok(live.isRunning, 'the live runner resumed after the swap');
      assert.ok(await live.waitForPosition(last, 30_000));
      await live.stop();
      assert.deepEqual(await readModel(db, 'carts_rebuild'), await replayed(store));
      const names = (await db.listCollections().toArray()).map((c) => c.name);
      assert.ok(
        !names.includes(result.builtIn),
        'the scratch collection was renamed over the live one',
      );
    });
  },
);
