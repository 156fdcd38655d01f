import { defineMessage } from '@platform/messaging';
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

/** Message definitions: type, schema version and payload schema (see @platform/messaging). */
export const AuthorizePaymentV1 = defineMessage({
  type: 'AuthorizePayment',
  version: 1,
  schema: AuthorizePayment,
});
export const CapturePaymentV1 = defineMessage({
  type: 'CapturePayment',
  version: 1,
  schema: CapturePayment,
});
export const CancelPaymentV1 = defineMessage({
  type: 'CancelPayment',
  version: 1,
  schema: CancelPayment,
});
export const PaymentAuthorizedV1 = defineMessage({
  type: 'PaymentAuthorized',
  version: 1,
  schema: PaymentAuthorized,
});
export const PaymentDeclinedV1 = defineMessage({
  type: 'PaymentDeclined',
  version: 1,
  schema: PaymentDeclined,
});
export const PaymentCapturedV1 = defineMessage({
  type: 'PaymentCaptured',
  version: 1,
  schema: PaymentCaptured,
});
export const PaymentCaptureFailedV1 = defineMessage({
  type: 'PaymentCaptureFailed',
  version: 1,
  schema: PaymentCaptureFailed,
});
export const PaymentCancelledV1 = defineMessage({
  type: 'PaymentCancelled',
  version: 1,
  schema: PaymentCancelled,
});

export const paymentMessages = [
  AuthorizePaymentV1,
  CapturePaymentV1,
  CancelPaymentV1,
  PaymentAuthorizedV1,
  PaymentDeclinedV1,
  PaymentCapturedV1,
  PaymentCaptureFailedV1,
  PaymentCancelledV1,
] as const;

/** The topic each message type travels on. */
export const paymentTopics = {
  AuthorizePayment: TOPICS.paymentCommands,
  CapturePayment: TOPICS.paymentCommands,
  CancelPayment: TOPICS.paymentCommands,
  PaymentAuthorized: TOPICS.paymentEvents,
  PaymentDeclined: TOPICS.paymentEvents,
  PaymentCaptured: TOPICS.paymentEvents,
  PaymentCaptureFailed: TOPICS.paymentEvents,
  PaymentCancelled: TOPICS.paymentEvents,
} as const;
