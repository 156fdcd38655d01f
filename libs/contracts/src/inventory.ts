import { z } from 'zod';
import { Amount, Currency, OrderId, OrderLine, PricedLine, Sku } from './common';
import { TOPICS } from './topics';

// Commands to the inventory service (topic inventory.commands).

export const ReserveStock = z.strictObject({
  orderId: OrderId,
  lines: z.array(OrderLine).min(1).max(100),
  currency: Currency,
});
export type ReserveStock = z.infer<typeof ReserveStock>;

/** Release whatever this order holds; holding nothing is a success. */
export const ReleaseStock = z.strictObject({ orderId: OrderId, reason: z.string().max(200) });
export type ReleaseStock = z.infer<typeof ReleaseStock>;

/** Turn this order's reservation into a sale. */
export const CommitStock = z.strictObject({ orderId: OrderId });
export type CommitStock = z.infer<typeof CommitStock>;

// Replies from the inventory service (topic inventory.events).

export const StockReserved = z.strictObject({
  orderId: OrderId,
  lines: z.array(PricedLine).min(1),
  total: Amount,
  currency: Currency,
});
export type StockReserved = z.infer<typeof StockReserved>;

export const StockReservationFailed = z.strictObject({
  orderId: OrderId,
  reason: z.enum(['out-of-stock', 'unknown-sku', 'currency-mismatch']),
  sku: Sku.optional(),
});
export type StockReservationFailed = z.infer<typeof StockReservationFailed>;

export const StockReleased = z.strictObject({
  orderId: OrderId,
  /** False when the order held nothing (never reserved, or released before). */
  released: z.boolean(),
});
export type StockReleased = z.infer<typeof StockReleased>;

export const StockCommitted = z.strictObject({ orderId: OrderId });
export type StockCommitted = z.infer<typeof StockCommitted>;

export const inventoryContracts = {
  ReserveStock: { topic: TOPICS.inventoryCommands, version: 1, schema: ReserveStock },
  ReleaseStock: { topic: TOPICS.inventoryCommands, version: 1, schema: ReleaseStock },
  CommitStock: { topic: TOPICS.inventoryCommands, version: 1, schema: CommitStock },
  StockReserved: { topic: TOPICS.inventoryEvents, version: 1, schema: StockReserved },
  StockReservationFailed: {
    topic: TOPICS.inventoryEvents,
    version: 1,
    schema: StockReservationFailed,
  },
  StockReleased: { topic: TOPICS.inventoryEvents, version: 1, schema: StockReleased },
  StockCommitted: { topic: TOPICS.inventoryEvents, version: 1, schema: StockCommitted },
} as const;
