import { z } from 'zod';

/** Integer minor units (cents), positive, within the safe integer range. */
const amount = z.int().positive();
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code: three capital letters');

export const AuthorizeBodySchema = z.strictObject({
  amount,
  currency,
  customerId: z.string().min(1).max(200),
  card: z.string().min(1).max(64).optional(),
  reference: z.string().min(1).max(200),
});
export type AuthorizeBody = z.infer<typeof AuthorizeBodySchema>;

export const AmountBodySchema = z.strictObject({ amount });
export type AmountBody = z.infer<typeof AmountBodySchema>;

/** Any visible ASCII, like the IETF draft and the big providers allow; at most 255 characters. */
export const IdempotencyKeySchema = z
  .string({ error: 'the Idempotency-Key header is required on every mutating call' })
  .min(1, 'the Idempotency-Key header must not be empty')
  .max(255, 'the Idempotency-Key header must be at most 255 characters')
  .regex(/^[\x21-\x7e]*$/, 'the Idempotency-Key header must be visible ASCII characters');
