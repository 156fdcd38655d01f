import { defineMessage } from '@platform/messaging';
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

/** Message definitions: type, schema version and payload schema (see @platform/messaging). */
export const ReserveStockV1 = defineMessage({
  type: 'ReserveStock',
  version: 1,
  schema: ReserveStock,
});
export const ReleaseStockV1 = defineMessage({
  type: 'ReleaseStock',
  version: 1,
  schema: ReleaseStock,
});
export const CommitStockV1 = defineMessage({
  type: 'CommitStock',
  version: 1,
  schema: CommitStock,
});
export const StockReservedV1 = defineMessage({
  type: 'StockReserved',
  version: 1,
  schema: StockReserved,
});
export const StockReservationFailedV1 = defineMessage({
  type: 'StockReservationFailed',
  version: 1,
  schema: StockReservationFailed,
});
export const StockReleasedV1 = defineMessage({
  type: 'StockReleased',
  version: 1,
  schema: StockReleased,
});
export const StockCommittedV1 = defineMessage({
  type: 'StockCommitted',
  version: 1,
  schema: StockCommitted,
});

export const inventoryMessages = [
  ReserveStockV1,
  ReleaseStockV1,
  CommitStockV1,
  StockReservedV1,
  StockReservationFailedV1,
  StockReleasedV1,
  StockCommittedV1,
] as const;

/** The topic each message type travels on. */
export const inventoryTopics = {
  ReserveStock: TOPICS.inventoryCommands,
  ReleaseStock: TOPICS.inventoryCommands,
  CommitStock: TOPICS.inventoryCommands,
  StockReserved: TOPICS.inventoryEvents,
  StockReservationFailed: TOPICS.inventoryEvents,
  StockReleased: TOPICS.inventoryEvents,
  StockCommitted: TOPICS.inventoryEvents,
} as const;
