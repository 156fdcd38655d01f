import type { OrderLine } from '@platform/contracts';
import { assertNever, DomainError, type Decider } from '@platform/domain';

/**
 * The Order aggregate: what the customer asked for and where it ended. Its lifecycle is driven by
 * the order saga (order-saga.ts); the aggregate only guards that the lifecycle is legal.
 * Event-sourced: its stream is `order-<orderId>`.
 */

export type OrderStatus = 'Placed' | 'Confirmed' | 'Rejected' | 'NeedsAttention';

export type OrderEvent =
  | {
      type: 'OrderPlaced';
      data: {
        orderId: string;
        customerId: string;
        lines: OrderLine[];
        currency: string;
        placedAt: string;
      };
    }
  | { type: 'OrderConfirmed'; data: { orderId: string; total: number; confirmedAt: string } }
  | { type: 'OrderRejected'; data: { orderId: string; reason: string; rejectedAt: string } }
  | { type: 'OrderNeedsAttention'; data: { orderId: string; reason: string; flaggedAt: string } };

export type OrderCommand =
  | {
      type: 'PlaceOrder';
      data: {
        orderId: string;
        customerId: string;
        lines: OrderLine[];
        currency: string;
        now: string;
      };
    }
  | { type: 'ConfirmOrder'; data: { total: number; now: string } }
  | { type: 'RejectOrder'; data: { reason: string; now: string } }
  | { type: 'FlagOrderForAttention'; data: { reason: string; now: string } };

export type OrderState =
  | { status: 'Empty' }
  | {
      status: OrderStatus;
      orderId: string;
      customerId: string;
      lines: OrderLine[];
      currency: string;
      total?: number;
      reason?: string;
    };

export class OrderAlreadyExists extends DomainError {
  constructor(orderId: string) {
    super('order-already-exists', `order ${orderId} already exists`);
  }
}

export class OrderNotFound extends DomainError {
  constructor() {
    super('order-not-found', 'no such order');
  }
}

export class IllegalOrderTransition extends DomainError {
  constructor(from: OrderStatus, command: OrderCommand['type']) {
    super('illegal-order-transition', `cannot ${command} an order that is ${from}`);
  }
}

/** Lines for the same SKU are merged, so an order never holds two lines competing for one SKU. */
export function normalizeLines(lines: readonly OrderLine[]): OrderLine[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku.entries()].map(([sku, quantity]) => ({ sku, quantity }));
}

function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  if (command.type === 'PlaceOrder') {
    if (state.status !== 'Empty') throw new OrderAlreadyExists(command.data.orderId);
    const { orderId, customerId, lines, currency, now } = command.data;
    return [
      {
        type: 'OrderPlaced',
        data: { orderId, customerId, lines: normalizeLines(lines), currency, placedAt: now },
      },
    ];
  }
  if (state.status === 'Empty') throw new OrderNotFound();
  switch (command.type) {
    case 'ConfirmOrder':
      if (state.status === 'Confirmed') return [];
      if (state.status !== 'Placed') throw new IllegalOrderTransition(state.status, command.type);
      return [
        {
          type: 'OrderConfirmed',
          data: {
            orderId: state.orderId,
            total: command.data.total,
            confirmedAt: command.data.now,
          },
        },
      ];
    case 'RejectOrder':
      if (state.status === 'Rejected') return [];
      // A compensation that finally succeeded moves a flagged order on to Rejected.
      if (state.status !== 'Placed' && state.status !== 'NeedsAttention')
        throw new IllegalOrderTransition(state.status, command.type);
      return [
        {
          type: 'OrderRejected',
          data: {
            orderId: state.orderId,
            reason: command.data.reason,
            rejectedAt: command.data.now,
          },
        },
      ];
    case 'FlagOrderForAttention':
      if (state.status === 'NeedsAttention') return [];
      if (state.status !== 'Placed') throw new IllegalOrderTransition(state.status, command.type);
      return [
        {
          type: 'OrderNeedsAttention',
          data: {
            orderId: state.orderId,
            reason: command.data.reason,
            flaggedAt: command.data.now,
          },
        },
      ];
    default:
      return assertNever(command, 'order command');
  }
}

function evolve(state: OrderState, event: OrderEvent): OrderState {
  switch (event.type) {
    case 'OrderPlaced':
      return { status: 'Placed', ...event.data };
    case 'OrderConfirmed':
      return state.status === 'Empty'
        ? state
        : { ...state, status: 'Confirmed', total: event.data.total };
    case 'OrderRejected':
      return state.status === 'Empty'
        ? state
        : { ...state, status: 'Rejected', reason: event.data.reason };
    case 'OrderNeedsAttention':
      return state.status === 'Empty'
        ? state
        : { ...state, status: 'NeedsAttention', reason: event.data.reason };
    default:
      return assertNever(event, 'order event');
  }
}

export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  initialState: () => ({ status: 'Empty' }),
  evolve,
  decide,
};

export const orderStreamId = (orderId: string): string => `order-${orderId}`;
