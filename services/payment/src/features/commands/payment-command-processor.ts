import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { allMessages, topicOf } from '@platform/contracts';
import { assertNever, DomainError, replay } from '@platform/domain';
import type { NewEvent, PostgresEventStore, RecordedEvent } from '@platform/event-store';
import {
  createEnvelope,
  jsonLogger,
  PermanentHandlerError,
  tagActiveSpan,
  type Envelope,
  type MessagingLogger,
  type OutgoingMessage,
  type PostgresOutbox,
} from '@platform/messaging';
import type { EntityManager } from 'typeorm';
import {
  OUTCOME_UNKNOWN,
  PROVIDER_UNAVAILABLE,
  paymentDecider,
  paymentStreamId,
  type AuthorizationOutcome,
  type CancellationOutcome,
  type CaptureOutcome,
  type PaymentCommand,
  type PaymentEvent,
  type PaymentState,
} from '../../domain/payment';
import {
  nextStep,
  replyFor,
  type PaymentReply,
  type PaymentRequest,
  type PaymentStep,
} from '../../domain/payment-steps';
import {
  idempotencyKeys,
  type PaymentProvider,
  type ProviderAuthorization,
  type ProviderCapture,
  type ProviderOutcome,
} from './payment-provider';

export const SERVICE_NAME = 'payment-service';

/** Steps that call the provider (the others answer or record without it). */
const CALLS_PROVIDER = new Set<PaymentStep['kind']>([
  'authorize',
  'capture',
  'void',
  'refund',
  'find-and-void',
]);

/** The provider's problem code for a key already used with another request. */
const IDEMPOTENCY_KEY_REUSED = 'idempotency-key-reused';

/** The provider could not be reached for a step that must happen (a void, a refund): try again. */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
}

export interface PaymentProcessorHooks {
  /**
   * Test seam for "crashed after the provider acted, before the commit" (reliability scenario 3):
   * runs after the provider calls of a command returned and before anything is written. Unset in
   * normal runs.
   */
  readonly afterProviderCall?: (step: PaymentStep['kind'], orderId: string) => void | Promise<void>;
}

export interface PaymentProcessorOptions {
  readonly hooks?: PaymentProcessorHooks;
  /**
   * How long after an authorization's outcome became unknown its cancellation waits before
   * looking at the provider: a request abandoned at its timeout may still be processed there a
   * little later, and the listing must not run before it lands. Default 2000 ms.
   */
  readonly unknownOutcomeSettleMs?: number;
  readonly clock?: () => Date;
  readonly newId?: () => string;
  readonly logger?: MessagingLogger;
}

const definitions = new Map(allMessages.map((definition) => [definition.type, definition]));

function asEvents(recorded: readonly RecordedEvent[]): PaymentEvent[] {
  // The payment stream holds only these types, in their current schema.
  return recorded.map((event) => ({ type: event.type, data: event.data }) as PaymentEvent);
}

/**
 * Runs one payment command inside the caller's (the inbox's) transaction: loads the Payment,
 * asks the domain which provider call the command needs, makes it, records the outcome on the
 * Payment stream and puts the reply in the outbox. The inbox row, the events and the reply commit
 * together or not at all.
 *
 * Why the transaction stays open across the provider call. The alternative, committing an
 * "about to call" record, calling, then committing the result, needs a recovery process for the
 * records left in between. Here a crash or rollback anywhere simply leaves nothing behind: the
 * command is redelivered, the Payment is still in its old state, the same call is made again with
 * the same idempotency key, and the provider replays its first answer. The cost is a database
 * session (and an advisory lock on the order) held for the length of the call, which the client's
 * policies bound: 3 attempts × 2 s + 2 × 1 s backoff = 8 s at worst, usually tens of milliseconds. The
 * pool has room for it (one session per partition consumed concurrently), and the session's
 * idle-in-transaction timeout (30 s) is the backstop. One more cost is cluster-wide: the open
 * transaction holds an xid, so gap-free global readers on the same Postgres cluster (the event
 * store's readAll, the outbox relay) wait for it; a slow provider delays them by up to the bound.
 *
 * At higher scale (many partitions per instance, long provider timeouts, a shared cluster) that
 * trade flips: record the intent and commit, call the provider outside any transaction, record the
 * result in a second transaction, and let a sweeper re-drive intents older than the call bound
 * with the same idempotency key. The Payment's states already fit that shape.
 */
export class PaymentCommandProcessor {
  private readonly clock: () => Date;
  private readonly newId: () => string;
  private readonly logger: MessagingLogger;

  constructor(
    private readonly store: PostgresEventStore,
    private readonly outbox: PostgresOutbox,
    private readonly provider: PaymentProvider,
    private readonly options: PaymentProcessorOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.logger = options.logger ?? jsonLogger('info', 'payment-commands');
  }

  async process(
    manager: EntityManager,
    request: PaymentRequest,
    cause: Envelope,
  ): Promise<PaymentReply> {
    const { orderId } = request.data;
    const streamId = paymentStreamId(orderId);
    tagActiveSpan({ 'order.id': orderId, 'payment.id': streamId, 'payment.request': request.type });
    // One command per order at a time, even if a rebalance briefly hands the partition to two
    // consumers: the second waits here and then sees the first one's outcome.
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [streamId]);
    const history = await this.store.readStream(streamId, { manager });
    const before = replay(paymentDecider, asEvents(history));

    const step = nextStep(request, before);
    const commands = await this.perform(step, request, before);
    if (CALLS_PROVIDER.has(step.kind)) {
      await this.options.hooks?.afterProviderCall?.(step.kind, orderId);
    }

    let state = before;
    const events: PaymentEvent[] = [];
    for (const command of commands) {
      for (const event of this.decide(orderId, command, state)) {
        state = paymentDecider.evolve(state, event);
        events.push(event);
      }
    }
    if (events.length > 0) {
      await this.store.appendToStream(
        streamId,
        events.map((event): NewEvent => ({
          type: event.type,
          data: event.data,
          metadata: this.metadata(cause),
        })),
        { expectedVersion: history.length, manager },
      );
    }
    const reply = replyFor(request, state);
    await this.outbox.enqueue(manager, [this.envelope(reply, cause)]);
    this.logger.info('payment command handled', {
      orderId,
      command: request.type,
      messageId: cause.id,
      step: step.kind,
      from: before.status,
      to: state.status,
      reply: reply.type,
    });
    return reply;
  }

  /**
   * A refusal here means the provider answered something the Payment cannot record (a capture
   * above the authorization, say). A retry would replay the same answer, so it is dead-lettered at
   * once with the reason, for an operator.
   */
  private decide(
    orderId: string,
    command: PaymentCommand,
    state: PaymentState,
  ): readonly PaymentEvent[] {
    try {
      return paymentDecider.decide(command, state);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      throw new PermanentHandlerError(`${command.type} for order ${orderId}: ${error.message}`, {
        cause: error,
      });
    }
  }

  /** Carries out a step and returns the domain commands that record what happened. */
  private async perform(
    step: PaymentStep,
    request: PaymentRequest,
    state: PaymentState,
  ): Promise<PaymentCommand[]> {
    const { orderId } = request.data;
    const now = () => this.clock().toISOString();
    const reason = request.type === 'CancelPayment' ? request.data.reason : '';
    const cancelled = (outcome: CancellationOutcome): PaymentCommand => ({
      type: 'RecordCancellation',
      data: { orderId, reason, outcome, now: now() },
    });
    switch (step.kind) {
      case 'reply':
        return [];
      case 'authorize': {
        const { customerId, amount, currency } = step.terms;
        const result = await this.provider.authorize(
          { amount, currency, customerId, reference: orderId },
          idempotencyKeys.authorize(orderId),
        );
        return [
          {
            type: 'RecordAuthorization',
            data: {
              terms: step.terms,
              outcome: this.authorizationOutcome(orderId, result),
              now: now(),
            },
          },
        ];
      }
      case 'capture': {
        const result = await this.provider.capture(
          step.authorizationId,
          step.amount,
          idempotencyKeys.capture(orderId),
        );
        return [
          {
            type: 'RecordCapture',
            data: {
              orderId,
              amount: step.amount,
              outcome: this.captureOutcome(orderId, result),
              now: now(),
            },
          },
        ];
      }
      case 'refuse-capture': {
        const amount = request.type === 'CapturePayment' ? request.data.amount : 0;
        return [
          {
            type: 'RecordCapture',
            data: {
              orderId,
              amount,
              outcome: { status: 'failed', reason: step.reason },
              now: now(),
            },
          },
        ];
      }
      case 'void':
        return [
          cancelled(await this.voidAuthorization(orderId, step.authorizationId, step.amount)),
        ];
      case 'refund':
        return [cancelled(await this.refund(orderId, step.captureId, step.amount))];
      case 'find-and-void': {
        const outcomes = await this.findAndUndo(orderId, state);
        return outcomes.length === 0
          ? [cancelled({ status: 'nothing-to-cancel' })]
          : outcomes.map(cancelled);
      }
      case 'nothing-to-cancel':
        return [cancelled({ status: 'nothing-to-cancel' })];
      default: {
        const unexpected: never = step;
        throw new Error(`unexpected step ${JSON.stringify(unexpected)}`);
      }
    }
  }

  private authorizationOutcome(
    orderId: string,
    result: ProviderOutcome<ProviderAuthorization>,
  ): AuthorizationOutcome {
    switch (result.kind) {
      case 'ok':
        return result.value.status === 'authorized'
          ? { status: 'authorized', authorizationId: result.value.id }
          : { status: 'declined', reason: result.value.declineReason ?? 'declined' };
      case 'rejected':
        this.logger.warn('provider refused an authorization', { orderId, ...result });
        // The key is the order's: a request under it with other terms was made before, and may
        // have authorized. Treat it like a lost answer, so the cancellation looks for it.
        if (result.code === IDEMPOTENCY_KEY_REUSED)
          return { status: 'unknown', reason: OUTCOME_UNKNOWN };
        return { status: 'declined', reason: `provider refused (${result.status} ${result.code})` };
      case 'unavailable':
        // Nothing reached the provider: declining is safe, there is nothing to undo.
        this.logger.warn('provider unavailable for an authorization', {
          orderId,
          reason: result.reason,
        });
        return { status: 'declined', reason: PROVIDER_UNAVAILABLE };
      case 'unknown':
        // The provider may have authorized. The saga answers a decline with CancelPayment, which
        // looks the authorization up by reference and voids it.
        this.logger.warn('authorization outcome unknown', { orderId, reason: result.reason });
        return { status: 'unknown', reason: OUTCOME_UNKNOWN };
      default:
        return assertNever(result, 'provider outcome');
    }
  }

  private captureOutcome(
    orderId: string,
    result: ProviderOutcome<ProviderCapture>,
  ): CaptureOutcome {
    switch (result.kind) {
      case 'ok':
        return { status: 'captured', captureId: result.value.id, amount: result.value.amount };
      case 'rejected':
        this.logger.warn('provider refused a capture', { orderId, ...result });
        return {
          status: 'failed',
          reason: `provider refused the capture (${result.status} ${result.code})`,
        };
      case 'unavailable':
        this.logger.warn('provider unavailable for a capture', { orderId, reason: result.reason });
        return { status: 'failed', reason: PROVIDER_UNAVAILABLE };
      case 'unknown':
        // If it did capture, the compensation's void is refused as "captured" and becomes a refund.
        this.logger.warn('capture outcome unknown', { orderId, reason: result.reason });
        return { status: 'failed', reason: OUTCOME_UNKNOWN };
      default:
        return assertNever(result, 'provider outcome');
    }
  }

  /**
   * Releases an authorization. If the provider says it is no longer authorized, it is asked what
   * became of it: already voided (an earlier void whose answer was lost) or captured (a capture
   * whose answer was lost), in which case the capture is refunded.
   */
  private async voidAuthorization(
    orderId: string,
    authorizationId: string,
    amount: number,
  ): Promise<CancellationOutcome> {
    const result = await this.provider.void(
      authorizationId,
      idempotencyKeys.void(orderId, authorizationId),
    );
    if (result.kind === 'ok')
      return { status: 'voided', authorizationId, voidId: result.value.id, amount };
    if (result.kind === 'rejected' && result.status === 409) {
      const view = await this.provider.getAuthorization(authorizationId);
      if (view.kind !== 'ok') throw this.cannotUndo(orderId, 'look up', view);
      const { status, captureId, amounts } = view.value;
      if (status === 'voided') return { status: 'voided', authorizationId, amount: amounts.voided };
      if ((status === 'captured' || status === 'refunded') && captureId !== undefined) {
        const left = amounts.captured - amounts.refunded;
        if (left === 0) return { status: 'refunded', captureId, amount: amounts.refunded };
        return this.refund(orderId, captureId, left);
      }
      throw new PermanentHandlerError(
        `void of ${authorizationId} refused and the authorization is ${status}`,
      );
    }
    throw this.cannotUndo(orderId, 'void', result);
  }

  private async refund(
    orderId: string,
    captureId: string,
    amount: number,
  ): Promise<CancellationOutcome> {
    const result = await this.provider.refund(
      captureId,
      amount,
      idempotencyKeys.refund(orderId, captureId),
    );
    if (result.kind === 'ok') {
      return {
        status: 'refunded',
        captureId,
        refundId: result.value.id,
        amount: result.value.amount,
      };
    }
    throw this.cannotUndo(orderId, 'refund', result);
  }

  /**
   * The authorization's outcome is unknown: whatever the provider holds for this order now gets
   * released. Found authorizations are voided, captures (never made by us without knowing the
   * authorization, but checked anyway) refunded. All our attempts used one idempotency key, so the
   * provider holds at most one authorization for them, and it exists by the time the first
   * attempt has been processed; the settle wait covers a provider that processes an abandoned
   * request after our timeout. One that takes longer than that is not seen here: see the README
   * (provider-side expiry of uncaptured holds, reconciliation).
   */
  private async findAndUndo(orderId: string, state: PaymentState): Promise<CancellationOutcome[]> {
    if (state.status === 'AuthorizationUnknown') {
      const settleMs = this.options.unknownOutcomeSettleMs ?? 2000;
      const wait = Date.parse(state.since) + settleMs - this.clock().getTime();
      if (wait > 0) await sleep(Math.min(wait, settleMs));
    }
    const listed = await this.provider.listAuthorizations(orderId);
    if (listed.kind !== 'ok') throw this.cannotUndo(orderId, 'list authorizations', listed);
    const outcomes: CancellationOutcome[] = [];
    for (const found of listed.value) {
      if (found.reference !== orderId) continue;
      if (found.status === 'authorized') {
        outcomes.push(await this.voidAuthorization(orderId, found.id, found.amount));
      } else if (found.status === 'captured' && found.captureId !== undefined) {
        const left = found.amounts.captured - found.amounts.refunded;
        if (left > 0) outcomes.push(await this.refund(orderId, found.captureId, left));
      }
    }
    this.logger.info('resolved an unknown authorization outcome', {
      orderId,
      from: state.status,
      found: listed.value.map(({ id, status }) => ({ id, status })),
      undone: outcomes.length,
    });
    return outcomes;
  }

  private cannotUndo(
    orderId: string,
    what: string,
    result: Exclude<ProviderOutcome<unknown>, { kind: 'ok' }>,
  ): Error {
    if (result.kind === 'rejected') {
      // A refusal will not change by retrying: dead-letter it with the reason, for an operator.
      return new PermanentHandlerError(
        `order ${orderId}: provider refused to ${what} (${result.status} ${result.code}: ${result.detail})`,
      );
    }
    // The money is still held: fail the message, so the consumer retries it (and the saga re-sends).
    return new ProviderUnavailableError(`order ${orderId}: could not ${what}: ${result.reason}`);
  }

  private metadata(cause: Envelope): NewEvent['metadata'] {
    return {
      messageId: this.newId(),
      correlationId: cause.correlationId,
      causationId: cause.id,
      ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
      ...(cause.tracestate !== undefined && { tracestate: cause.tracestate }),
    };
  }

  private envelope(reply: PaymentReply, cause: Envelope): OutgoingMessage {
    const definition = definitions.get(reply.type);
    if (!definition) throw new Error(`no message definition for ${reply.type}`);
    return {
      topic: topicOf[reply.type],
      envelope: createEnvelope({
        id: this.newId(),
        type: definition,
        source: SERVICE_NAME,
        time: this.clock(),
        key: reply.payload.orderId,
        correlationId: cause.correlationId,
        causationId: cause.id,
        ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
        ...(cause.tracestate !== undefined && { tracestate: cause.tracestate }),
        payload: reply.payload,
      }),
    };
  }
}
