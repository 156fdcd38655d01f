import { z } from 'zod';

/** Positive integer amount in minor units (cents). Money never travels as a float. */
export const Amount = z.number().int().positive().max(1_000_000_000_00);
/** ISO 4217 code. */
export const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code such as EUR');
export const OrderId = z.uuid();
export const Sku = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash or underscore');
export const Quantity = z.number().int().min(1).max(10_000);

export const OrderLine = z.strictObject({ sku: Sku, quantity: Quantity });
export type OrderLine = z.infer<typeof OrderLine>;

export const PricedLine = z.strictObject({ sku: Sku, quantity: Quantity, unitPrice: Amount });
export type PricedLine = z.infer<typeof PricedLine>;
