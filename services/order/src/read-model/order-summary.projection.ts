import type { RecordedEvent } from '@platform/event-store';
import type { Projection, ProjectionUpdate } from '@platform/projections';
import type { OrderEvent } from '../domain/order';
import type { SagaEvent } from '../domain/order-saga';

/**
 * The order summary read model: one document per order with its status and the saga's step
 * timeline, served by GET /orders and GET /orders/:id. Built from both streams of an order
 * (`order-<id>` and `order-saga-<id>`), so the customer-facing status and the saga's progress are
 * in one place.
 */
export interface OrderSummary {
  _id: string;
  orderId: string;
  customerId: string;
  status: 'Placed' | 'Confirmed' | 'Rejected' | 'NeedsAttention';
  lines: { sku: string; quantity: number }[];
  currency: string;
  total?: number;
  reason?: string;
  placedAt: string;
  updatedAt: string;
  /** Saga steps in order: what happened and when. */
  timeline: { step: string; at: string; detail?: string }[];
}

export const ORDER_SUMMARIES = 'order_summaries';

const ORDER_STREAM = /^order-([0-9a-f-]{36})$/;
const SAGA_STREAM = /^order-saga-([0-9a-f-]{36})$/;

/** Saga events worth showing on the timeline, with a short detail. */
function timelineEntry(event: SagaEvent, at: string): OrderSummary['timeline'][number] | undefined {
  switch (event.type) {
    case 'StockReservationRequested':
      return { step: 'stock reservation requested', at };
    case 'StockReservationConfirmed':
      return { step: 'stock reserved', at, detail: `total ${String(event.data.total)}` };
    case 'PaymentAuthorizationRequested':
      return { step: 'payment authorization requested', at };
    case 'PaymentAuthorizationConfirmed':
      return { step: 'payment authorized', at };
    case 'PaymentCaptureRequested':
      return {
        step: 'payment capture requested',
        at,
        detail: `attempt ${String(event.data.attempt)}`,
      };
    case 'PaymentCaptureConfirmed':
      return { step: 'payment captured', at };
    case 'StockCommitRequested':
      return {
        step: 'stock commit requested',
        at,
        detail: `attempt ${String(event.data.attempt)}`,
      };
    case 'CompensationStarted':
      return { step: 'compensation started', at, detail: event.data.reason };
    case 'CompensationRetried':
      return { step: 'compensation retried', at, detail: `attempt ${String(event.data.attempt)}` };
    case 'PaymentCancellationRequested':
      return { step: 'payment cancellation requested', at, detail: event.data.reason };
    case 'StockReleaseConfirmed':
      return { step: 'stock released', at };
    case 'PaymentCancellationConfirmed':
      return { step: 'payment cancelled', at, detail: event.data.outcome };
    case 'LateReplyCompensated':
      return {
        step: 'late reply compensated',
        at,
        detail: `${event.data.reply} → ${event.data.command}`,
      };
    case 'SagaConfirmed':
      return { step: 'saga confirmed', at };
    case 'SagaRejected':
      return { step: 'saga rejected', at, detail: event.data.reason };
    case 'SagaNeedsAttention':
      return { step: 'saga needs attention', at, detail: event.data.reason };
    case 'SagaStarted':
      return undefined;
  }
}

export const orderSummaryProjection: Projection = {
  name: 'order-summaries',
  collection: ORDER_SUMMARIES,
  project(event: RecordedEvent): ProjectionUpdate[] {
    const at = event.recordedAt.toISOString();
    const orderMatch = ORDER_STREAM.exec(event.streamId);
    if (orderMatch?.[1]) {
      const id = orderMatch[1];
      const e = { type: event.type, data: event.data } as OrderEvent;
      switch (e.type) {
        case 'OrderPlaced':
          return [
            {
              id,
              update: {
                $set: {
                  orderId: id,
                  customerId: e.data.customerId,
                  lines: e.data.lines,
                  currency: e.data.currency,
                  placedAt: e.data.placedAt,
                  updatedAt: at,
                },
                // The saga's events may be projected first; status only moves forward from Placed.
                $setOnInsert: { status: 'Placed', timeline: [] },
              },
            },
          ];
        case 'OrderConfirmed':
          return [
            { id, update: { $set: { status: 'Confirmed', total: e.data.total, updatedAt: at } } },
          ];
        case 'OrderRejected':
          return [
            { id, update: { $set: { status: 'Rejected', reason: e.data.reason, updatedAt: at } } },
          ];
        case 'OrderNeedsAttention':
          return [
            {
              id,
              update: { $set: { status: 'NeedsAttention', reason: e.data.reason, updatedAt: at } },
            },
          ];
        default:
          return [];
      }
    }
    const sagaMatch = SAGA_STREAM.exec(event.streamId);
    if (sagaMatch?.[1]) {
      const entry = timelineEntry({ type: event.type, data: event.data } as SagaEvent, at);
      return entry
        ? [{ id: sagaMatch[1], update: { $push: { timeline: entry }, $set: { updatedAt: at } } }]
        : [];
    }
    return [];
  },
};
