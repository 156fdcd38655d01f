import { replay } from '@platform/domain';
import type { PostgresEventStore } from '@platform/event-store';
import { z } from 'zod';
import {
  paymentDecider,
  paymentStreamId,
  type PaymentEvent,
  type PaymentState,
} from '../../domain/payment';

export const OrderIdParam = z.uuid();

export interface PaymentView {
  readonly orderId: string;
  readonly status: Exclude<PaymentState['status'], 'None'>;
  /** Stream version: how many events the Payment has. */
  readonly version: number;
  readonly customerId?: string;
  readonly amount?: number;
  readonly currency?: string;
  readonly authorizationId?: string;
  readonly captureId?: string;
  readonly capturedAmount?: number;
  readonly refundedAmount?: number;
  readonly voidedAuthorizationIds?: string[];
  readonly reason?: string;
  readonly history: { version: number; type: string; recordedAt: string }[];
}

function details(state: Exclude<PaymentState, { status: 'None' }>): Partial<PaymentView> {
  switch (state.status) {
    case 'Declined':
    case 'AuthorizationUnknown':
      return { reason: state.reason };
    case 'Authorized':
      return { authorizationId: state.authorizationId };
    case 'CaptureFailed':
      return { authorizationId: state.authorizationId, reason: state.reason };
    case 'Captured':
      return {
        authorizationId: state.authorizationId,
        captureId: state.captureId,
        capturedAmount: state.capturedAmount,
      };
    case 'Voided':
      return { voidedAuthorizationIds: state.voidedAuthorizationIds };
    case 'Refunded':
      return { captureId: state.captureId, refundedAmount: state.refundedAmount };
    case 'NothingToCancel':
      return state.declineReason !== undefined ? { reason: state.declineReason } : {};
  }
}

/**
 * Reads a Payment straight from its event stream: one order's payment is a handful of events, so
 * there is no read model to keep in sync and the answer is never stale.
 */
export class PaymentQueries {
  constructor(private readonly store: PostgresEventStore) {}

  async get(orderId: string): Promise<PaymentView | undefined> {
    const recorded = await this.store.readStream(paymentStreamId(orderId));
    const events = recorded.map(
      (event) => ({ type: event.type, data: event.data }) as PaymentEvent,
    );
    const state = replay(paymentDecider, events);
    if (state.status === 'None') return undefined;
    const { terms } = state;
    return {
      orderId,
      status: state.status,
      version: recorded.length,
      ...(terms && {
        customerId: terms.customerId,
        amount: terms.amount,
        currency: terms.currency,
      }),
      ...details(state),
      history: recorded.map((event) => ({
        version: event.streamVersion,
        type: event.type,
        recordedAt: event.recordedAt.toISOString(),
      })),
    };
  }
}
