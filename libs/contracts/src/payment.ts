import { z } from 'zod';
import { Amount, Currency, OrderId } from './common';
import { TOPICS } from './topics';

// Commands to the payment service (topic payment.commands).

export const AuthorizePayment = z.strictObject({
  orderId: OrderId,
  customerId: z.string().min(1).max(64),
  amount: Amount,
  currency: Currency,
});
export type AuthorizePayment = z.infer<typeof AuthorizePayment>;

export const CapturePayment = z.strictObject({ orderId: OrderId, amount: Amount });
export type CapturePayment = z.infer<typeof CapturePayment>;

/** Undo whatever happened to this order's payment: void an authorization, refund a capture. */
export const CancelPayment = z.strictObject({ orderId: OrderId, reason: z.string().max(200) });
export type CancelPayment = z.infer<typeof CancelPayment>;

// Replies from the payment service (topic payment.events).

export const PaymentAuthorized = z.strictObject({
  orderId: OrderId,
  amount: Amount,
  authorizationId: z.string().min(1),
});
export type PaymentAuthorized = z.infer<typeof PaymentAuthorized>;

/** Declined by the provider, or not authorizable at all (provider unavailable, breaker open). */
export const PaymentDeclined = z.strictObject({ orderId: OrderId, reason: z.string().max(200) });
export type PaymentDeclined = z.infer<typeof PaymentDeclined>;

export const PaymentCaptured = z.strictObject({ orderId: OrderId, amount: Amount });
export type PaymentCaptured = z.infer<typeof PaymentCaptured>;

export const PaymentCaptureFailed = z.strictObject({
  orderId: OrderId,
  reason: z.string().max(200),
});
export type PaymentCaptureFailed = z.infer<typeof PaymentCaptureFailed>;

export const PaymentCancelled = z.strictObject({
  orderId: OrderId,
  outcome: z.enum(['voided', 'refunded', 'nothing-to-cancel']),
});
export type PaymentCancelled = z.infer<typeof PaymentCancelled>;

export const paymentContracts = {
  AuthorizePayment: { topic: TOPICS.paymentCommands, version: 1, schema: AuthorizePayment },
  CapturePayment: { topic: TOPICS.paymentCommands, version: 1, schema: CapturePayment },
  CancelPayment: { topic: TOPICS.paymentCommands, version: 1, schema: CancelPayment },
  PaymentAuthorized: { topic: TOPICS.paymentEvents, version: 1, schema: PaymentAuthorized },
  PaymentDeclined: { topic: TOPICS.paymentEvents, version: 1, schema: PaymentDeclined },
  PaymentCaptured: { topic: TOPICS.paymentEvents, version: 1, schema: PaymentCaptured },
  PaymentCaptureFailed: { topic: TOPICS.paymentEvents, version: 1, schema: PaymentCaptureFailed },
  PaymentCancelled: { topic: TOPICS.paymentEvents, version: 1, schema: PaymentCancelled },
} as const;
