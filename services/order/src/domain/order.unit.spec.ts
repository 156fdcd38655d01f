import { describe, it } from 'node:test';
import { DeciderSpecification } from '@platform/domain/testing';
import {
  IllegalOrderTransition,
  OrderAlreadyExists,
  orderDecider,
  OrderNotFound,
  type OrderEvent,
} from './order';

const spec = DeciderSpecification.for(orderDecider);
const orderId = '3f1c2a56-8d0e-4a53-9a43-0b2d3a4e5f60';
const now = '2026-01-01T00:00:00.000Z';
const placed: OrderEvent = {
  type: 'OrderPlaced',
  data: {
    orderId,
    customerId: 'c-1',
    lines: [{ sku: 'A', quantity: 3 }],
    currency: 'EUR',
    placedAt: now,
  },
};

describe('Order aggregate', () => {
  it('when an order is placed, then lines for the same SKU are merged', () => {
    spec
      .given([])
      .when({
        type: 'PlaceOrder',
        data: {
          orderId,
          customerId: 'c-1',
          lines: [
            { sku: 'A', quantity: 1 },
            { sku: 'A', quantity: 2 },
          ],
          currency: 'EUR',
          now,
        },
      })
      .then([placed]);
  });

  it('when an order id is placed twice, then the second is refused', () => {
    spec
      .given([placed])
      .when({
        type: 'PlaceOrder',
        data: {
          orderId,
          customerId: 'c-1',
          lines: [{ sku: 'A', quantity: 1 }],
          currency: 'EUR',
          now,
        },
      })
      .thenThrows(OrderAlreadyExists);
  });

  it('when a placed order is confirmed, then it is Confirmed with its total; confirming again is a no-op', () => {
    spec
      .given([placed])
      .when({ type: 'ConfirmOrder', data: { total: 300, now } })
      .then([{ type: 'OrderConfirmed', data: { orderId, total: 300, confirmedAt: now } }]);
    spec
      .given([placed, { type: 'OrderConfirmed', data: { orderId, total: 300, confirmedAt: now } }])
      .when({ type: 'ConfirmOrder', data: { total: 300, now } })
      .thenNothing();
  });

  it('when a confirmed order is rejected, then the transition is illegal', () => {
    spec
      .given([placed, { type: 'OrderConfirmed', data: { orderId, total: 300, confirmedAt: now } }])
      .when({ type: 'RejectOrder', data: { reason: 'x', now } })
      .thenThrows(IllegalOrderTransition, /Confirmed/);
  });

  it('when an order needing attention is finally compensated, then it can be rejected', () => {
    spec
      .given([
        placed,
        { type: 'OrderNeedsAttention', data: { orderId, reason: 'stuck', flaggedAt: now } },
      ])
      .when({ type: 'RejectOrder', data: { reason: 'compensated late', now } })
      .then([
        { type: 'OrderRejected', data: { orderId, reason: 'compensated late', rejectedAt: now } },
      ]);
  });

  it('when a command targets an order that does not exist, then OrderNotFound', () => {
    spec
      .given([])
      .when({ type: 'ConfirmOrder', data: { total: 1, now } })
      .thenThrows(OrderNotFound);
  });
});
