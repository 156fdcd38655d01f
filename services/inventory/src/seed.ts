import { MongoClient } from 'mongodb';
import { inventoryServiceConfig } from './config';
import { seedDemoStock } from './features/stock/demo-stock';
import { StockCatalog } from './features/stock/stock-catalog';
import { StockStore } from './infrastructure/stock-store';

/** `node services/inventory/dist/seed.js`: demo stock into INVENTORY_DATABASE on MONGO_URL. */
async function main(): Promise<void> {
  const config = inventoryServiceConfig();
  const client = new MongoClient(config.mongoUrl, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    const seeded = await seedDemoStock(
      new StockCatalog(new StockStore(client.db(config.database))),
    );
    for (const item of seeded) {
      console.log(
        `${item.sku}: available ${item.available}, ${(item.unitPrice / 100).toFixed(2)} ${item.currency}`,
      );
    }
    console.log(`seeded ${seeded.length} SKUs into ${config.database}`);
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
