import type { SetStockBody, StockCatalog, StockView } from './stock-catalog';
import { SetStockBody as SetStockBodySchema } from './stock-catalog';

/** Demo catalogue for local runs: prices in euro cents. */
export const DEMO_STOCK: Readonly<Record<string, SetStockBody>> = {
  'BOOK-DDD': { available: 50, unitPrice: 4999, currency: 'EUR' },
  'MUG-LOGO': { available: 200, unitPrice: 1250, currency: 'EUR' },
  'TSHIRT-M': { available: 100, unitPrice: 1999, currency: 'EUR' },
  'HEADPHONES-X1': { available: 20, unitPrice: 12900, currency: 'EUR' },
  'STICKER-PACK': { available: 1000, unitPrice: 300, currency: 'EUR' },
};

/**
 * Loads the demo catalogue through the same validation and write as PUT /admin/stock/:sku.
 * Idempotent: it sets levels (never adds), so running it twice leaves the same stock.
 */
export async function seedDemoStock(catalog: StockCatalog): Promise<StockView[]> {
  const seeded: StockView[] = [];
  for (const [sku, level] of Object.entries(DEMO_STOCK)) {
    seeded.push(await catalog.set(sku, SetStockBodySchema.parse(level)));
  }
  return seeded;
}
