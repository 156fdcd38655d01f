import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { allMessages, topicOf, type MessageType } from '@platform/contracts';
import { replay } from '@platform/domain';
import {
  type AppendResult,
  type NewEvent,
  type PostgresEventStore,
  type RecordedEvent,
} from '@platform/event-store';
import {
  createEnvelope,
  type OutgoingMessage,
  type PostgresOutbox,
  type TraceContext,
} from '@platform/messaging';
import type { EntityManager } from 'typeorm';
import {
  orderDecider,
  orderStreamId,
  type OrderCommand,
  type OrderEvent,
} from '../../domain/order';
import {
  outgoingCommands,
  sagaStreamId,
  type createOrderSaga,
  type SagaCommand,
  type SagaEvent,
  type SagaInput,
  type SagaState,
} from '../../domain/order-saga';

export const SERVICE_NAME = 'order-service';

/** Where an input came from, copied into the metadata of everything it causes. */
export interface Cause {
  readonly messageId?: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly actor?: string;
}

type SagaDecider = ReturnType<typeof createOrderSaga>;

/**
 * Told about the saga events each `process` appends, inside the transaction; implementations that
 * count them (metrics) defer to after the commit, so a rolled-back step is never counted.
 */
export interface SagaObserver {
  appended(
    manager: EntityManager,
    events: readonly SagaEvent[],
    startedAt: string | undefined,
  ): void;
}

const definitions = new Map(allMessages.map((definition) => [definition.type, definition]));

function asEvents<E>(recorded: readonly RecordedEvent[]): E[] {
  // The store returns events in their current schema; these streams hold only these types.
  return recorded.map((event) => ({ type: event.type, data: event.data }) as E);
}

function startedAt(
  history: readonly RecordedEvent[],
  decided: readonly SagaEvent[],
): string | undefined {
  const started = [...asEvents<SagaEvent>(history), ...decided].find(
    (event) => event.type === 'SagaStarted',
  );
  return started?.type === 'SagaStarted' ? started.data.at : undefined;
}

/**
 * Runs saga inputs (replies, deadlines, the start) against the persisted saga, inside the
 * caller's transaction: in one commit it appends the saga's events, moves the Order aggregate
 * when the saga ends, writes the commands to send into the outbox, and re-arms the deadline.
 * Either all of it happens or none of it.
 */
export class OrderSagaProcessor {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly outbox: PostgresOutbox,
    private readonly saga: SagaDecider,
    private readonly newId: () => string = randomUUID,
    private readonly observer?: SagaObserver,
  ) {}

  async process(
    manager: EntityManager,
    orderId: string,
    input: SagaInput,
    cause: Cause,
  ): Promise<AppendResult | undefined> {
    // One order at a time: replies from two topics and the deadline scheduler may race.
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [orderId]);

    const streamId = sagaStreamId(orderId);
    trace.getActiveSpan()?.setAttributes({
      'saga.id': streamId,
      'order.id': orderId,
      'saga.input': input.type,
    });
    const history = await this.store.readStream(streamId, { manager });
    const state = replay(this.saga, asEvents<SagaEvent>(history));
    const decided = this.saga.decide(input, state);
    if (decided.length === 0) return undefined;
    // A deadline has no message behind it: what it causes continues the order's trace.
    if (cause.traceparent === undefined) cause = { ...cause, ...lastTraceContext(history) };

    const metadata = (): NewEvent['metadata'] => ({
      messageId: this.newId(),
      correlationId: orderId,
      ...(cause.messageId !== undefined && { causationId: cause.messageId }),
      ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
      ...(cause.tracestate !== undefined && { tracestate: cause.tracestate }),
      ...(cause.actor !== undefined && { actor: cause.actor }),
    });

    let result = await this.store.appendToStream(
      streamId,
      decided.map((event) => ({ type: event.type, data: event.data, metadata: metadata() })),
      { expectedVersion: history.length, manager },
    );

    let after: SagaState = state;
    const messages: OutgoingMessage[] = [];
    for (const event of decided) {
      after = this.saga.evolve(after, event);
      for (const command of outgoingCommands(event, after))
        messages.push(this.envelope(orderId, command, input.now, cause));
      const orderCommand = this.orderCommandFor(event, input.now);
      if (orderCommand) {
        const appended = await this.moveOrder(manager, orderId, orderCommand, metadata);
        if (appended) result = appended;
      }
    }
    if (messages.length > 0) await this.outbox.enqueue(manager, messages);
    await this.armDeadline(manager, orderId, after);
    this.observer?.appended(manager, decided, startedAt(history, decided));
    return result;
  }

  private orderCommandFor(event: SagaEvent, now: string): OrderCommand | undefined {
    switch (event.type) {
      case 'SagaConfirmed':
        return { type: 'ConfirmOrder', data: { total: event.data.total, now } };
      case 'SagaRejected':
        return { type: 'RejectOrder', data: { reason: event.data.reason, now } };
      case 'SagaNeedsAttention':
        return { type: 'FlagOrderForAttention', data: { reason: event.data.reason, now } };
      default:
        return undefined;
    }
  }

  private async moveOrder(
    manager: EntityManager,
    orderId: string,
    command: OrderCommand,
    metadata: () => NewEvent['metadata'],
  ): Promise<AppendResult | undefined> {
    const streamId = orderStreamId(orderId);
    const history = await this.store.readStream(streamId, { manager });
    const events = orderDecider.decide(
      command,
      replay(orderDecider, asEvents<OrderEvent>(history)),
    );
    if (events.length === 0) return undefined;
    return this.store.appendToStream(
      streamId,
      events.map((event) => ({ type: event.type, data: event.data, metadata: metadata() })),
      { expectedVersion: history.length, manager },
    );
  }

  private envelope(
    orderId: string,
    command: SagaCommand,
    now: string,
    cause: Cause,
  ): OutgoingMessage {
    const type: MessageType = command.type;
    const definition = definitions.get(type);
    if (!definition) throw new Error(`no message definition for ${type}`);
    return {
      topic: topicOf[type],
      envelope: createEnvelope({
        id: this.newId(),
        type: definition,
        source: SERVICE_NAME,
        time: now,
        key: orderId,
        correlationId: orderId,
        ...(cause.messageId !== undefined && { causationId: cause.messageId }),
        ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
        ...(cause.tracestate !== undefined && { tracestate: cause.tracestate }),
        payload: command.payload,
      }),
    };
  }

  private async armDeadline(
    manager: EntityManager,
    orderId: string,
    state: SagaState,
  ): Promise<void> {
    const deadline = state.status === 'NotStarted' ? undefined : state.deadline;
    if (!deadline) {
      await manager.query('DELETE FROM saga_deadlines WHERE order_id = $1', [orderId]);
      return;
    }
    await manager.query(
      `INSERT INTO saga_deadlines (order_id, step, attempt, due_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (order_id) DO UPDATE SET step = EXCLUDED.step, attempt = EXCLUDED.attempt, due_at = EXCLUDED.due_at`,
      [orderId, deadline.step, deadline.attempt, deadline.dueAt],
    );
  }
}

/** The trace context of the latest event that has one. */
function lastTraceContext(history: readonly RecordedEvent[]): TraceContext {
  for (let i = history.length - 1; i >= 0; i--) {
    const { traceparent, tracestate } = history[i]?.metadata ?? {};
    if (traceparent !== undefined) {
      return { traceparent, ...(tracestate !== undefined && { tracestate }) };
    }
  }
  return {};
}
