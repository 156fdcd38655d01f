import { Amount, Currency, Sku } from '@platform/contracts';
import { ValidationProblem } from '@platform/service-defaults';
import { z } from 'zod';
import type { StockDocument, StockStore } from '../../infrastructure/stock-store';

/** Largest available level one SKU may be set to. */
export const MAX_AVAILABLE = 1_000_000_000;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export const SkuParam = Sku;

/**
 * PUT /admin/stock/:sku body. Strict: unknown keys (and `__proto__`) are refused. The price must
 * be positive because StockReserved carries it as a contract Amount (a positive integer).
 */
export const SetStockBody = z.strictObject({
  available: z.number().int().min(0).max(MAX_AVAILABLE),
  unitPrice: Amount,
  currency: Currency,
});
export type SetStockBody = z.infer<typeof SetStockBody>;

/** GET /stock query. Strict, so `?sku[$ne]=x` style operator injection is a 400, not a filter. */
export const ListStockQuery = z.strictObject({
  /** Absurd limits are capped, not refused: `limit=1e9` returns one full page. */
  limit: z.coerce.number().int().min(1).optional(),
  cursor: z.string().max(200).optional(),
});
export type ListStockQuery = z.infer<typeof ListStockQuery>;

export interface StockView {
  readonly sku: string;
  readonly available: number;
  readonly reserved: number;
  readonly sold: number;
  readonly unitPrice: number;
  readonly currency: string;
}

export interface StockPage {
  readonly items: StockView[];
  readonly nextCursor?: string;
}

function toView(doc: StockDocument): StockView {
  return {
    sku: doc._id,
    available: doc.available,
    reserved: doc.reserved,
    sold: doc.sold,
    unitPrice: doc.unitPrice,
    currency: doc.currency,
  };
}

function encodeCursor(sku: string): string {
  return Buffer.from(sku, 'utf8').toString('base64url');
}

function decodeCursor(text: string): string {
  const sku = Sku.safeParse(Buffer.from(text, 'base64url').toString('utf8'));
  if (sku.success) return sku.data;
  throw new ValidationProblem('the cursor is invalid', [
    { path: 'cursor', message: 'use the nextCursor of a previous page' },
  ]);
}

/**
 * Stock levels as operators see them: set a SKU's available level and price (the admin endpoint
 * and the seed both come through here), read one, page through all.
 */
export class StockCatalog {
  constructor(
    private readonly stock: StockStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async set(sku: string, body: SetStockBody): Promise<StockView> {
    return (await this.change(sku, body)).current;
  }

  /** `set`, also saying what the SKU was before (undefined when this created it), for the audit log. */
  async change(
    sku: string,
    body: SetStockBody,
  ): Promise<{ readonly previous: StockView | undefined; readonly current: StockView }> {
    const { previous, current } = await this.stock.setLevel(sku, body, this.clock());
    return { previous: previous && toView(previous), current: toView(current) };
  }

  async get(sku: string): Promise<StockView | undefined> {
    const doc = await this.stock.find(sku);
    return doc === undefined ? undefined : toView(doc);
  }

  async list(query: ListStockQuery): Promise<StockPage> {
    const limit = Math.min(query.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const docs = await this.stock.list(after, limit + 1);
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toView),
      ...(docs.length > limit && last !== undefined && { nextCursor: encodeCursor(last._id) }),
    };
  }
}
