import type {
  OrderLine,
  PaymentAuthorized,
  PaymentCancelled,
  PaymentCaptured,
  PaymentCaptureFailed,
  PaymentDeclined,
  StockCommitted,
  StockReleased,
  StockReservationFailed,
  StockReserved,
} from '@platform/contracts';
import { assertNever, type Decider } from '@platform/domain';

/**
 * The order saga, orchestrated by the order service:
 *
 *   reserve stock → authorize payment → capture payment → commit stock → Confirmed
 *
 * Any failure or missed deadline after something was done starts compensation (release the
 * stock, cancel the payment: void an authorization, refund a capture) and ends Rejected. A
 * compensation that keeps failing ends NeedsAttention, visibly, and still completes to Rejected
 * if its replies arrive later. A reply that arrives after the saga gave up (a late authorization,
 * a late reservation) is compensated too, never silently kept.
 *
 * Pure: time arrives in every input (`now`), durations in the factory's options. Each saga event
 * says what to send (see `outgoingCommands`) and the state says which deadline is armed.
 * Event-sourced: its stream is `order-saga-<orderId>`.
 */

export interface SagaOptions {
  /** How long each forward step waits for its reply. */
  readonly stepTimeoutMs: number;
  /** Re-sends of a step whose outcome must eventually happen (capture, stock commit, compensation). */
  readonly maxAttempts: number;
  /** Back-off between compensation attempts (multiplied by the attempt number). */
  readonly retryDelayMs: number;
}

export type SagaStep =
  'ReserveStock' | 'AuthorizePayment' | 'CapturePayment' | 'CommitStock' | 'Compensate';

interface Reply<T extends string, P> {
  type: T;
  data: P;
  now: string;
}

export type SagaInput =
  | {
      type: 'StartSaga';
      data: { orderId: string; customerId: string; lines: OrderLine[]; currency: string };
      now: string;
    }
  | Reply<'StockReserved', StockReserved>
  | Reply<'StockReservationFailed', StockReservationFailed>
  | Reply<'StockReleased', StockReleased>
  | Reply<'StockCommitted', StockCommitted>
  | Reply<'PaymentAuthorized', PaymentAuthorized>
  | Reply<'PaymentDeclined', PaymentDeclined>
  | Reply<'PaymentCaptured', PaymentCaptured>
  | Reply<'PaymentCaptureFailed', PaymentCaptureFailed>
  | Reply<'PaymentCancelled', PaymentCancelled>
  | { type: 'DeadlineFired'; data: { step: SagaStep; attempt: number }; now: string };

export type SagaEvent =
  | {
      type: 'SagaStarted';
      data: {
        orderId: string;
        customerId: string;
        lines: OrderLine[];
        currency: string;
        at: string;
      };
    }
  | { type: 'StockReservationRequested'; data: { deadlineAt: string } }
  | { type: 'StockReservationConfirmed'; data: { total: number; at: string } }
  | { type: 'PaymentAuthorizationRequested'; data: { amount: number; deadlineAt: string } }
  | { type: 'PaymentAuthorizationConfirmed'; data: { authorizationId: string; at: string } }
  | {
      type: 'PaymentCaptureRequested';
      data: { amount: number; attempt: number; deadlineAt: string };
    }
  | { type: 'PaymentCaptureConfirmed'; data: { at: string } }
  | { type: 'StockCommitRequested'; data: { attempt: number; deadlineAt: string } }
  | { type: 'SagaConfirmed'; data: { total: number; at: string } }
  | {
      type: 'CompensationStarted';
      data: {
        reason: string;
        releaseStock: boolean;
        cancelPayment: boolean;
        deadlineAt: string;
        at: string;
      };
    }
  | { type: 'PaymentCancellationRequested'; data: { reason: string } }
  | { type: 'CompensationRetried'; data: { attempt: number; deadlineAt: string } }
  | { type: 'StockReleaseConfirmed'; data: { at: string } }
  | {
      type: 'PaymentCancellationConfirmed';
      data: { outcome: PaymentCancelled['outcome']; at: string };
    }
  | { type: 'SagaRejected'; data: { reason: string; at: string } }
  | { type: 'SagaNeedsAttention'; data: { reason: string; at: string } }
  /** A reply that arrived after the saga ended; its effect is undone by the command it names. */
  | {
      type: 'LateReplyCompensated';
      data: { reply: SagaInput['type']; command: 'ReleaseStock' | 'CancelPayment'; at: string };
    };

export type SagaStatus =
  | 'NotStarted'
  | 'ReservingStock'
  | 'AuthorizingPayment'
  | 'CapturingPayment'
  | 'CommittingStock'
  | 'Compensating'
  | 'Confirmed'
  | 'Rejected'
  | 'NeedsAttention';

export interface Deadline {
  readonly step: SagaStep;
  readonly attempt: number;
  readonly dueAt: string;
}

export interface SagaData {
  readonly orderId: string;
  readonly customerId: string;
  readonly lines: OrderLine[];
  readonly currency: string;
  readonly total?: number;
  readonly authorizationId?: string;
  /** Compensation bookkeeping: what has been asked for and what is confirmed. */
  readonly compensation?: {
    readonly reason: string;
    readonly releaseStock: 'not-needed' | 'pending' | 'done';
    readonly cancelPayment: 'not-needed' | 'pending' | 'done';
  };
  readonly deadline?: Deadline;
  readonly outcome?: string;
}

export type SagaState =
  { status: 'NotStarted' } | ({ status: Exclude<SagaStatus, 'NotStarted'> } & SagaData);

const TERMINAL: readonly SagaStatus[] = ['Confirmed', 'Rejected'];

export function isTerminal(state: SagaState): boolean {
  return TERMINAL.includes(state.status);
}

function plus(now: string, ms: number): string {
  return new Date(Date.parse(now) + ms).toISOString();
}

export function createOrderSaga(options: SagaOptions): Decider<SagaInput, SagaEvent, SagaState> {
  const { stepTimeoutMs, maxAttempts, retryDelayMs } = options;

  const compensate = (
    input: SagaInput,
    reason: string,
    what: { releaseStock: boolean; cancelPayment: boolean },
  ): SagaEvent[] => {
    if (!what.releaseStock && !what.cancelPayment)
      return [{ type: 'SagaRejected', data: { reason, at: input.now } }];
    return [
      {
        type: 'CompensationStarted',
        data: { reason, ...what, deadlineAt: plus(input.now, stepTimeoutMs), at: input.now },
      },
    ];
  };

  /** Once every requested compensation is confirmed, the saga ends Rejected. */
  const finishIfCompensated = (
    state: Extract<SagaState, SagaData>,
    confirmed: SagaEvent,
    now: string,
  ): SagaEvent[] => {
    const next = evolve(state, confirmed);
    if (next.status === 'NotStarted' || !next.compensation) return [confirmed];
    const { releaseStock, cancelPayment, reason } = next.compensation;
    const done = releaseStock !== 'pending' && cancelPayment !== 'pending';
    return done ? [confirmed, { type: 'SagaRejected', data: { reason, at: now } }] : [confirmed];
  };

  const decide = (input: SagaInput, state: SagaState): SagaEvent[] => {
    if (state.status === 'NotStarted') {
      if (input.type !== 'StartSaga') return [];
      const { orderId, customerId, lines, currency } = input.data;
      return [
        { type: 'SagaStarted', data: { orderId, customerId, lines, currency, at: input.now } },
        { type: 'StockReservationRequested', data: { deadlineAt: plus(input.now, stepTimeoutMs) } },
      ];
    }
    if (input.type === 'StartSaga') return []; // already started: a duplicate

    // A deadline row can outlive the step it was armed for; only the armed one counts.
    if (
      input.type === 'DeadlineFired' &&
      (state.deadline?.step !== input.data.step || state.deadline.attempt !== input.data.attempt)
    ) {
      return [];
    }

    switch (state.status) {
      case 'ReservingStock':
        switch (input.type) {
          case 'StockReserved':
            return [
              {
                type: 'StockReservationConfirmed',
                data: { total: input.data.total, at: input.now },
              },
              {
                type: 'PaymentAuthorizationRequested',
                data: { amount: input.data.total, deadlineAt: plus(input.now, stepTimeoutMs) },
              },
            ];
          case 'StockReservationFailed':
            return [
              {
                type: 'SagaRejected',
                data: { reason: `stock: ${input.data.reason}`, at: input.now },
              },
            ];
          case 'DeadlineFired':
            // The reservation may still happen after we gave up: release whatever it holds.
            return compensate(input, 'stock reservation timed out', {
              releaseStock: true,
              cancelPayment: false,
            });
          default:
            return [];
        }

      case 'AuthorizingPayment':
        switch (input.type) {
          case 'PaymentAuthorized':
            return [
              {
                type: 'PaymentAuthorizationConfirmed',
                data: { authorizationId: input.data.authorizationId, at: input.now },
              },
              {
                type: 'PaymentCaptureRequested',
                data: {
                  amount: state.total ?? input.data.amount,
                  attempt: 1,
                  deadlineAt: plus(input.now, stepTimeoutMs),
                },
              },
            ];
          case 'PaymentDeclined':
            // A decline may hide an authorization whose outcome the payment service could not
            // learn (provider unreachable); cancelling a payment that does not exist is a no-op.
            return compensate(input, `payment declined: ${input.data.reason}`, {
              releaseStock: true,
              cancelPayment: true,
            });
          case 'DeadlineFired':
            // The authorization may arrive later: ask for it to be voided as well.
            return compensate(input, 'payment authorization timed out', {
              releaseStock: true,
              cancelPayment: true,
            });
          default:
            return [];
        }

      case 'CapturingPayment':
        switch (input.type) {
          case 'PaymentCaptured':
            return [
              { type: 'PaymentCaptureConfirmed', data: { at: input.now } },
              {
                type: 'StockCommitRequested',
                data: { attempt: 1, deadlineAt: plus(input.now, stepTimeoutMs) },
              },
            ];
          case 'PaymentCaptureFailed':
            return compensate(input, `payment capture failed: ${input.data.reason}`, {
              releaseStock: true,
              cancelPayment: true,
            });
          case 'DeadlineFired':
            // Capturing is idempotent at the payment service: asking again is safe.
            if (input.data.attempt < maxAttempts) {
              return [
                {
                  type: 'PaymentCaptureRequested',
                  data: {
                    amount: state.total ?? 0,
                    attempt: input.data.attempt + 1,
                    deadlineAt: plus(input.now, stepTimeoutMs),
                  },
                },
              ];
            }
            return compensate(input, 'payment capture timed out', {
              releaseStock: true,
              cancelPayment: true,
            });
          default:
            return [];
        }

      case 'CommittingStock':
        switch (input.type) {
          case 'StockCommitted':
            return [{ type: 'SagaConfirmed', data: { total: state.total ?? 0, at: input.now } }];
          case 'DeadlineFired':
            // The customer has paid; the sale must be recorded, so keep asking, then flag it.
            if (input.data.attempt < maxAttempts) {
              return [
                {
                  type: 'StockCommitRequested',
                  data: {
                    attempt: input.data.attempt + 1,
                    deadlineAt: plus(input.now, retryDelayMs * input.data.attempt),
                  },
                },
              ];
            }
            return [
              {
                type: 'SagaNeedsAttention',
                data: {
                  reason: 'stock commit keeps failing after payment was captured',
                  at: input.now,
                },
              },
            ];
          default:
            return [];
        }

      case 'Compensating':
      case 'NeedsAttention':
        switch (input.type) {
          case 'StockReleased':
            if (state.compensation?.releaseStock !== 'pending') return [];
            return finishIfCompensated(
              state,
              { type: 'StockReleaseConfirmed', data: { at: input.now } },
              input.now,
            );
          case 'PaymentCancelled':
            if (state.compensation?.cancelPayment !== 'pending') return [];
            return finishIfCompensated(
              state,
              {
                type: 'PaymentCancellationConfirmed',
                data: { outcome: input.data.outcome, at: input.now },
              },
              input.now,
            );
          case 'PaymentAuthorized':
          case 'PaymentCaptured':
            // Money moved while we were undoing: it must be cancelled too.
            if (state.compensation?.cancelPayment === 'pending') return [];
            return [
              {
                type: 'PaymentCancellationRequested',
                data: { reason: `late ${input.type} during compensation` },
              },
            ];
          case 'DeadlineFired':
            if (state.status === 'NeedsAttention') return [];
            if (input.data.attempt < maxAttempts) {
              return [
                {
                  type: 'CompensationRetried',
                  data: {
                    attempt: input.data.attempt + 1,
                    deadlineAt: plus(input.now, retryDelayMs * input.data.attempt),
                  },
                },
              ];
            }
            return [
              {
                type: 'SagaNeedsAttention',
                data: {
                  reason: `compensation did not complete after ${maxAttempts} attempts: ${state.compensation?.reason ?? ''}`,
                  at: input.now,
                },
              },
            ];
          default:
            return [];
        }

      case 'Rejected':
        switch (input.type) {
          case 'PaymentAuthorized':
          case 'PaymentCaptured':
            return [
              {
                type: 'LateReplyCompensated',
                data: { reply: input.type, command: 'CancelPayment', at: input.now },
              },
            ];
          case 'StockReserved':
            return [
              {
                type: 'LateReplyCompensated',
                data: { reply: input.type, command: 'ReleaseStock', at: input.now },
              },
            ];
          default:
            return [];
        }

      case 'Confirmed':
        return [];

      default:
        return assertNever(state, 'saga state');
    }
  };

  const evolve = (state: SagaState, event: SagaEvent): SagaState => {
    if (event.type === 'SagaStarted') {
      const { at: _at, ...data } = event.data;
      return { status: 'ReservingStock', ...data };
    }
    if (state.status === 'NotStarted') return state;
    switch (event.type) {
      case 'StockReservationRequested':
        return {
          ...state,
          deadline: { step: 'ReserveStock', attempt: 1, dueAt: event.data.deadlineAt },
        };
      case 'StockReservationConfirmed':
        return { ...state, total: event.data.total };
      case 'PaymentAuthorizationRequested':
        return {
          ...state,
          status: 'AuthorizingPayment',
          deadline: { step: 'AuthorizePayment', attempt: 1, dueAt: event.data.deadlineAt },
        };
      case 'PaymentAuthorizationConfirmed':
        return { ...state, authorizationId: event.data.authorizationId };
      case 'PaymentCaptureRequested':
        return {
          ...state,
          status: 'CapturingPayment',
          deadline: {
            step: 'CapturePayment',
            attempt: event.data.attempt,
            dueAt: event.data.deadlineAt,
          },
        };
      case 'PaymentCaptureConfirmed':
        return state;
      case 'StockCommitRequested':
        return {
          ...state,
          status: 'CommittingStock',
          deadline: {
            step: 'CommitStock',
            attempt: event.data.attempt,
            dueAt: event.data.deadlineAt,
          },
        };
      case 'SagaConfirmed': {
        const { deadline: _deadline, ...rest } = state;
        return { ...rest, status: 'Confirmed', outcome: 'confirmed' };
      }
      case 'CompensationStarted':
        return {
          ...state,
          status: 'Compensating',
          compensation: {
            reason: event.data.reason,
            releaseStock: event.data.releaseStock ? 'pending' : 'not-needed',
            cancelPayment: event.data.cancelPayment ? 'pending' : 'not-needed',
          },
          deadline: { step: 'Compensate', attempt: 1, dueAt: event.data.deadlineAt },
        };
      case 'PaymentCancellationRequested':
        return state.compensation
          ? { ...state, compensation: { ...state.compensation, cancelPayment: 'pending' } }
          : state;
      case 'CompensationRetried':
        return {
          ...state,
          deadline: {
            step: 'Compensate',
            attempt: event.data.attempt,
            dueAt: event.data.deadlineAt,
          },
        };
      case 'StockReleaseConfirmed':
        return state.compensation
          ? { ...state, compensation: { ...state.compensation, releaseStock: 'done' } }
          : state;
      case 'PaymentCancellationConfirmed':
        return state.compensation
          ? { ...state, compensation: { ...state.compensation, cancelPayment: 'done' } }
          : state;
      case 'SagaRejected': {
        const { deadline: _deadline, ...rest } = state;
        return { ...rest, status: 'Rejected', outcome: event.data.reason };
      }
      case 'SagaNeedsAttention': {
        const { deadline: _deadline, ...rest } = state;
        return { ...rest, status: 'NeedsAttention', outcome: event.data.reason };
      }
      case 'LateReplyCompensated':
        return state;
      default:
        return assertNever(event, 'saga event');
    }
  };

  return { initialState: () => ({ status: 'NotStarted' }), evolve, decide };
}

/** A command the saga sends, before it is wrapped in an envelope by the outbox adapter. */
export type SagaCommand =
  | { type: 'ReserveStock'; payload: { orderId: string; lines: OrderLine[]; currency: string } }
  | { type: 'ReleaseStock'; payload: { orderId: string; reason: string } }
  | { type: 'CommitStock'; payload: { orderId: string } }
  | {
      type: 'AuthorizePayment';
      payload: { orderId: string; customerId: string; amount: number; currency: string };
    }
  | { type: 'CapturePayment'; payload: { orderId: string; amount: number } }
  | { type: 'CancelPayment'; payload: { orderId: string; reason: string } };

/**
 * What to send because of one saga event, given the state after it. Compensation retries re-send
 * only what is still pending; every command is idempotent at its receiver.
 */
export function outgoingCommands(event: SagaEvent, after: SagaState): SagaCommand[] {
  if (after.status === 'NotStarted') return [];
  const { orderId } = after;
  const release = (reason: string): SagaCommand => ({
    type: 'ReleaseStock',
    payload: { orderId, reason },
  });
  const cancel = (reason: string): SagaCommand => ({
    type: 'CancelPayment',
    payload: { orderId, reason },
  });
  switch (event.type) {
    case 'StockReservationRequested':
      return [
        {
          type: 'ReserveStock',
          payload: { orderId, lines: after.lines, currency: after.currency },
        },
      ];
    case 'PaymentAuthorizationRequested':
      return [
        {
          type: 'AuthorizePayment',
          payload: {
            orderId,
            customerId: after.customerId,
            amount: event.data.amount,
            currency: after.currency,
          },
        },
      ];
    case 'PaymentCaptureRequested':
      return [{ type: 'CapturePayment', payload: { orderId, amount: event.data.amount } }];
    case 'StockCommitRequested':
      return [{ type: 'CommitStock', payload: { orderId } }];
    case 'CompensationStarted':
    case 'CompensationRetried': {
      const compensation = after.compensation;
      if (!compensation) return [];
      const commands: SagaCommand[] = [];
      if (compensation.releaseStock === 'pending') commands.push(release(compensation.reason));
      if (compensation.cancelPayment === 'pending') commands.push(cancel(compensation.reason));
      return commands;
    }
    case 'PaymentCancellationRequested':
      return [cancel(event.data.reason)];
    case 'LateReplyCompensated':
      return [
        event.data.command === 'ReleaseStock'
          ? release(`late ${event.data.reply}`)
          : cancel(`late ${event.data.reply}`),
      ];
    case 'SagaStarted':
    case 'StockReservationConfirmed':
    case 'PaymentAuthorizationConfirmed':
    case 'PaymentCaptureConfirmed':
    case 'SagaConfirmed':
    case 'StockReleaseConfirmed':
    case 'PaymentCancellationConfirmed':
    case 'SagaRejected':
    case 'SagaNeedsAttention':
      return [];
    default:
      return assertNever(event, 'saga event');
  }
}

export const sagaStreamId = (orderId: string): string => `order-saga-${orderId}`;
