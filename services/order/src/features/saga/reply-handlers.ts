import {
  PaymentAuthorizedV1,
  PaymentCancelledV1,
  PaymentCapturedV1,
  PaymentCaptureFailedV1,
  PaymentDeclinedV1,
  StockCommittedV1,
  StockReleasedV1,
  StockReservationFailedV1,
  StockReservedV1,
} from '@platform/contracts';
import { handler, type InboxMessageHandler } from '@platform/messaging';
import type { EntityManager } from 'typeorm';
import type { SagaInput } from '../../domain/order-saga';
import type { OrderSagaProcessor } from './saga-processor';

type ReplyInput = Exclude<SagaInput, { type: 'StartSaga' } | { type: 'DeadlineFired' }>;

/**
 * One inbox handler per reply type: the reply and its effects on the saga commit in the inbox's
 * transaction, so a redelivered reply is dropped by the inbox and never advances the saga twice.
 */
export function sagaReplyHandlers(
  processor: OrderSagaProcessor,
  clock: () => Date = () => new Date(),
): InboxMessageHandler<EntityManager>[] {
  const forward = <P extends { orderId: string }>(
    type: ReplyInput['type'],
    definition: Parameters<typeof handler<P, EntityManager>>[0],
  ) =>
    handler<P, EntityManager>(definition, async (message, context) => {
      const { envelope } = message;
      await processor.process(
        context.tx,
        envelope.payload.orderId,
        { type, data: envelope.payload, now: clock().toISOString() } as ReplyInput,
        {
          messageId: envelope.id,
          ...(envelope.traceparent !== undefined && { traceparent: envelope.traceparent }),
          ...(envelope.tracestate !== undefined && { tracestate: envelope.tracestate }),
        },
      );
    });
  return [
    forward('StockReserved', StockReservedV1),
    forward('StockReservationFailed', StockReservationFailedV1),
    forward('StockReleased', StockReleasedV1),
    forward('StockCommitted', StockCommittedV1),
    forward('PaymentAuthorized', PaymentAuthorizedV1),
    forward('PaymentDeclined', PaymentDeclinedV1),
    forward('PaymentCaptured', PaymentCapturedV1),
    forward('PaymentCaptureFailed', PaymentCaptureFailedV1),
    forward('PaymentCancelled', PaymentCancelledV1),
  ];
}
