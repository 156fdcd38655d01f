import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { useLocalStack, type LocalStack } from './index';

interface StockDoc {
  _id: string;
  available: number;
  reserved: number;
}

/** Atomic conditional decrement: applies only while enough stock is available. */
async function reserve(
  client: MongoClient,
  db: string,
  sku: string,
  quantity: number,
): Promise<boolean> {
  const result = await client
    .db(db)
    .collection<StockDoc>('stock')
    .updateOne(
      { _id: sku, available: { $gte: quantity } },
      { $inc: { available: -quantity, reserved: quantity } },
    );
  return result.modifiedCount === 1;
}

async function read(stack: LocalStack, db: string, sku: string): Promise<StockDoc | null> {
  const client = new MongoClient(stack.mongo.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    return await client.db(db).collection<StockDoc>('stock').findOne({ _id: sku });
  } finally {
    await client.close();
  }
}

describe(
  'MongoDB-compatible server (mongo-java-server, H2 file backend)',
  { timeout: 180_000 },
  () => {
    let stack: LocalStack;
    const db = `it_infra_${randomUUID().replaceAll('-', '')}`;

    before(async () => {
      stack = await useLocalStack();
    });

    after(async () => {
      await stack.mongo.start();
    });

    it('when the driver pings, then the server answers with a wire version the pinned driver accepts', async () => {
      const client = new MongoClient(stack.mongo.url);
      try {
        await client.connect();
        const hello = await client.db('admin').command({ isMaster: 1 });
        assert.equal(hello.ok, 1);
        assert.ok(Number(hello.maxWireVersion) >= 8);
      } finally {
        await client.close();
      }
    });

    it('when stock is reserved with a conditional $inc, then it never goes negative', async () => {
      const client = new MongoClient(stack.mongo.url);
      try {
        await client.connect();
        await client
          .db(db)
          .collection<StockDoc>('stock')
          .insertOne({ _id: 'sku-1', available: 5, reserved: 0 });
        assert.equal(await reserve(client, db, 'sku-1', 3), true);
        assert.equal(
          await reserve(client, db, 'sku-1', 3),
          false,
          'only 2 left: the condition must refuse',
        );
        assert.equal(await reserve(client, db, 'sku-1', 2), true);
        assert.deepEqual(
          await client.db(db).collection<StockDoc>('stock').findOne({ _id: 'sku-1' }),
          {
            _id: 'sku-1',
            available: 0,
            reserved: 5,
          },
        );
      } finally {
        await client.close();
      }
    });

    it('when the server restarts gracefully, then the data is still there', async () => {
      await stack.mongo.restart();
      assert.deepEqual(await read(stack, db, 'sku-1'), { _id: 'sku-1', available: 0, reserved: 5 });
    });

    it('when the server is killed (-9) right after an acknowledged write, then the write survives', async () => {
      const client = new MongoClient(stack.mongo.url);
      try {
        await client.connect();
        await client
          .db(db)
          .collection<StockDoc>('stock')
          .insertOne({ _id: 'sku-2', available: 10, reserved: 0 });
        assert.equal(await reserve(client, db, 'sku-2', 4), true);
      } finally {
        await client.close();
      }
      await stack.mongo.kill();
      assert.equal(stack.mongo.isRunning(), false);
      await stack.mongo.start();
      assert.deepEqual(await read(stack, db, 'sku-2'), { _id: 'sku-2', available: 6, reserved: 4 });
    });
  },
);
