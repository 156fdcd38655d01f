import { createHash, randomUUID } from 'node:crypto';
import { Currency, OrderLine } from '@platform/contracts';
import { formatPosition, type PostgresEventStore } from '@platform/event-store';
import { ProblemError } from '@platform/service-defaults';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { orderDecider, orderStreamId } from '../../domain/order';
import type { Cause, OrderSagaProcessor } from '../saga/saga-processor';

/** POST /orders body. Strict: unknown keys (and `__proto__`) are refused. */
export const PlaceOrderBody = z.strictObject({
  customerId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash or underscore'),
  lines: z.array(OrderLine).min(1).max(100),
  currency: Currency,
});
export type PlaceOrderBody = z.infer<typeof PlaceOrderBody>;

export interface PlacedOrder {
  readonly orderId: string;
  /** Global position of the write: queries given it can wait for their read model to catch up. */
  readonly position: string;
  /** True when this was a retry of an earlier request with the same Idempotency-Key. */
  readonly replayed: boolean;
}

/** Keys are sorted, so the same body hashes the same whatever the client's key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a.localeCompare(b),
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Places an order: records OrderPlaced, starts the saga (its first command goes to the outbox),
 * and remembers the Idempotency-Key, all in one transaction. A retry with the same key and body
 * returns the first answer and creates nothing; the same key with another body is a 422.
 */
export class PlaceOrder {
  constructor(
    private readonly dataSource: DataSource,
    private readonly store: PostgresEventStore,
    private readonly saga: OrderSagaProcessor,
    private readonly newId: () => string = randomUUID,
  ) {}

  async execute(
    body: PlaceOrderBody,
    idempotencyKey: string | undefined,
    cause: Cause,
    now: Date,
  ): Promise<PlacedOrder> {
    const requestHash = createHash('sha256').update(canonical(body)).digest('hex');
    const orderId = this.newId();
    return this.dataSource.transaction(async (manager) => {
      if (idempotencyKey !== undefined) {
        // Concurrent requests with one key: the second waits on the unique index, then finds the first's row.
        const inserted: unknown[] = await manager.query(
          `INSERT INTO idempotency_keys (key, request_hash, order_id, position) VALUES ($1, $2, $3, '')
           ON CONFLICT (key) DO NOTHING RETURNING key`,
          [idempotencyKey, requestHash, orderId],
        );
        if (inserted.length === 0) {
          const rows: { request_hash: string; order_id: string; position: string }[] =
            await manager.query(
              'SELECT request_hash, order_id, position FROM idempotency_keys WHERE key = $1',
              [idempotencyKey],
            );
          const row = rows[0];
          if (!row) throw new Error('idempotency key vanished inside a transaction');
          if (row.request_hash !== requestHash) {
            throw new ProblemError(
              422,
              'Idempotency Key Reused',
              'this Idempotency-Key was used with a different request body',
              {
                orderId: row.order_id,
              },
            );
          }
          return { orderId: row.order_id, position: row.position, replayed: true };
        }
      }

      const events = orderDecider.decide(
        {
          type: 'PlaceOrder',
          data: {
            orderId,
            customerId: body.customerId,
            lines: body.lines,
            currency: body.currency,
            now: now.toISOString(),
          },
        },
        orderDecider.initialState(),
      );
      const metadata = () => ({
        messageId: this.newId(),
        correlationId: orderId,
        ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
        ...(cause.actor !== undefined && { actor: cause.actor }),
      });
      const placed = await this.store.appendToStream(
        orderStreamId(orderId),
        events.map((event) => ({ type: event.type, data: event.data, metadata: metadata() })),
        { expectedVersion: 'no_stream', manager },
      );
      const placedEvent = events[0];
      if (placedEvent?.type !== 'OrderPlaced')
        throw new Error('PlaceOrder must produce OrderPlaced');
      const started = await this.saga.process(
        manager,
        orderId,
        {
          type: 'StartSaga',
          data: {
            orderId,
            customerId: body.customerId,
            lines: placedEvent.data.lines,
            currency: body.currency,
          },
          now: now.toISOString(),
        },
        cause,
      );
      const position = formatPosition((started ?? placed).lastPosition);
      if (idempotencyKey !== undefined) {
        await manager.query('UPDATE idempotency_keys SET position = $2 WHERE key = $1', [
          idempotencyKey,
          position,
        ]);
      }
      return { orderId, position, replayed: false };
    });
  }
}
