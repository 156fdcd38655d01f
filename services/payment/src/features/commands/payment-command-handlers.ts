import {
  AuthorizePaymentV1,
  CancelPaymentV1,
  CapturePaymentV1,
  type AuthorizePayment,
  type CancelPayment,
  type CapturePayment,
} from '@platform/contracts';
import { handler, type InboxMessageHandler } from '@platform/messaging';
import type { EntityManager } from 'typeorm';
import type { PaymentCommandProcessor } from './payment-command-processor';

/**
 * One inbox handler per command on `payment.commands`. The consumer records the message id and
 * runs the handler in one transaction, so a redelivered command (same id) is dropped by the inbox
 * and never reaches the provider again; a repeated command (new id, same order) reaches the
 * processor, which answers from the Payment's state without a second provider effect.
 */
export function paymentCommandHandlers(
  processor: PaymentCommandProcessor,
): InboxMessageHandler<EntityManager>[] {
  return [
    handler<AuthorizePayment, EntityManager>(AuthorizePaymentV1, async ({ envelope }, { tx }) => {
      await processor.process(tx, { type: 'AuthorizePayment', data: envelope.payload }, envelope);
    }),
    handler<CapturePayment, EntityManager>(CapturePaymentV1, async ({ envelope }, { tx }) => {
      await processor.process(tx, { type: 'CapturePayment', data: envelope.payload }, envelope);
    }),
    handler<CancelPayment, EntityManager>(CancelPaymentV1, async ({ envelope }, { tx }) => {
      await processor.process(tx, { type: 'CancelPayment', data: envelope.payload }, envelope);
    }),
  ];
}
