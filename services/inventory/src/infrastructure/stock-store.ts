import type { Collection, Db } from 'mongodb';
import type { SkuSnapshot } from '../domain/reservation';

export const STOCK_COLLECTION = 'stock';

/** One SKU. `holds` maps order id → quantity held for that order (at most one hold per order). */
export interface StockDocument {
  _id: string;
  available: number;
  reserved: number;
  sold: number;
  /** Minor units (cents), an integer. */
  unitPrice: number;
  currency: string;
  holds: Record<string, number>;
  updatedAt: Date;
}

export interface StockLevel {
  readonly available: number;
  readonly unitPrice: number;
  readonly currency: string;
}

/**
 * The field of a SKU document that holds an order's quantity. Order ids are UUIDs (the contracts
 * validate them); refusing anything else keeps a crafted id from addressing another field.
 */
function holdField(orderId: string): `holds.${string}` {
  if (!/^[0-9A-Za-z-]{1,64}$/.test(orderId)) throw new RangeError(`not an order id: ${orderId}`);
  return `holds.${orderId}`;
}

/**
 * Every write here is ONE conditional update of ONE SKU document, so it is atomic on a server
 * without transactions, and its condition makes it impossible to apply twice:
 *
 * - hold:     only while the order holds nothing of this SKU and enough is available
 * - undoHold: only while the order's hold exists (and removes it)
 * - sell:     only while the order's hold exists (and removes it)
 *
 * Running any of them again after a crash, a lost acknowledgement or a duplicate command is a
 * no-op, which is what lets the reservation steps be retried from the start.
 */
export class StockStore {
  private readonly collection: Collection<StockDocument>;

  constructor(db: Db) {
    this.collection = db.collection<StockDocument>(STOCK_COLLECTION);
  }

  /** Holds `quantity` for the order; the SKU's unit price if it did, undefined if the condition failed. */
  async hold(
    sku: string,
    orderId: string,
    quantity: number,
    currency: string,
    now: Date,
  ): Promise<{ readonly unitPrice: number } | undefined> {
    const field = holdField(orderId);
    const after = await this.collection.findOneAndUpdate(
      { _id: sku, currency, available: { $gte: quantity }, [field]: { $exists: false } },
      {
        $inc: { available: -quantity, reserved: quantity },
        $set: { [field]: quantity, updatedAt: now },
      },
      { returnDocument: 'after', projection: { unitPrice: 1 } },
    );
    return after === null ? undefined : { unitPrice: after.unitPrice };
  }

  /** Gives a held quantity back; true if a hold existed (false: nothing to undo, or undone before). */
  async undoHold(sku: string, orderId: string, quantity: number, now: Date): Promise<boolean> {
    const field = holdField(orderId);
    const result = await this.collection.updateOne(
      { _id: sku, [field]: quantity },
      {
        $inc: { available: quantity, reserved: -quantity },
        $unset: { [field]: '' },
        $set: { updatedAt: now },
      },
    );
    return result.matchedCount === 1;
  }

  /** Turns a hold into a sale; true if the hold existed (false: sold before, or never held). */
  async sell(sku: string, orderId: string, quantity: number, now: Date): Promise<boolean> {
    const field = holdField(orderId);
    const result = await this.collection.updateOne(
      { _id: sku, [field]: quantity },
      {
        $inc: { reserved: -quantity, sold: quantity },
        $unset: { [field]: '' },
        $set: { updatedAt: now },
      },
    );
    return result.matchedCount === 1;
  }

  /** What a failed hold is diagnosed from. */
  async snapshot(sku: string, orderId: string): Promise<SkuSnapshot | undefined> {
    // Only this order's hold is projected; `holds` may come back without it, or not at all.
    const doc = await this.collection.findOne<
      Pick<StockDocument, 'available' | 'currency' | 'unitPrice'> &
        Partial<Pick<StockDocument, 'holds'>>
    >(
      { _id: sku },
      { projection: { available: 1, currency: 1, unitPrice: 1, [holdField(orderId)]: 1 } },
    );
    if (doc === null) return undefined;
    return {
      available: doc.available,
      currency: doc.currency,
      unitPrice: doc.unitPrice,
      heldForOrder: doc.holds?.[orderId],
    };
  }

  /**
   * Sets the available level and the price, creating the SKU if missing. Never touches reserved,
   * sold or holds: an operator restocking while orders hold units takes nothing from them.
   */
  /**
   * Sets a SKU's level and price (creating it), and says what it was: the document before the
   * update (undefined if created) and after it, from one atomic update.
   */
  async setLevel(
    sku: string,
    level: StockLevel,
    now: Date,
  ): Promise<{ readonly previous: StockDocument | undefined; readonly current: StockDocument }> {
    const set = {
      available: level.available,
      unitPrice: level.unitPrice,
      currency: level.currency,
      updatedAt: now,
    };
    const inserted = { reserved: 0, sold: 0, holds: {} };
    const before = await this.collection.findOneAndUpdate(
      { _id: sku },
      { $set: set, $setOnInsert: inserted },
      { upsert: true, returnDocument: 'before' },
    );
    // The update only $sets these fields, so the document after it is the one before plus them.
    return before === null
      ? { previous: undefined, current: { _id: sku, ...inserted, ...set } }
      : { previous: before, current: { ...before, ...set } };
  }

  async find(sku: string): Promise<StockDocument | undefined> {
    return (await this.collection.findOne({ _id: sku })) ?? undefined;
  }

  /** SKUs in id order, after `afterSku` if given. */
  async list(afterSku: string | undefined, limit: number): Promise<StockDocument[]> {
    return this.collection
      .find(afterSku === undefined ? {} : { _id: { $gt: afterSku } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }
}
