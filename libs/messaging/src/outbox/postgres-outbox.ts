import type { EntityManager } from 'typeorm';
import type { OutgoingMessage } from '../envelope';
import { OUTBOX_TABLE } from './postgres-outbox-schema';
import { assertPublishable, headersOf } from './stored-message';

/** Thrown when enqueue is called outside a transaction: the outbox would lose its whole point. */
export class OutboxTransactionRequiredError extends Error {
  override readonly name = 'OutboxTransactionRequiredError';
}

/** A message the relay could not publish and set aside, for an operator. */
export interface ParkedOutboxMessage {
  readonly messageId: string;
  readonly topic: string;
  readonly key: string;
  readonly type: string;
  readonly reason: string;
  readonly createdAt: Date;
  readonly parkedAt: Date;
}

/** Unpublished messages and the age of the oldest (0 when there are none). */
export interface OutboxBacklog {
  readonly backlog: number;
  readonly oldestAgeMs: number;
}

/**
 * The relay's backlog measure (`outbox_backlog_messages`, `outbox_oldest_message_age_seconds`):
 * pending rows, counted through the partial index on them, and the age of the oldest on the
 * database clock. Parked rows are not backlog: they wait for an operator, not for the relay.
 */
export const OUTBOX_BACKLOG_SQL = `SELECT count(*)::float8 AS backlog,
              coalesce(extract(epoch FROM clock_timestamp() - min(created_at)) * 1000, 0)::float8 AS oldest_age_ms
         FROM ${OUTBOX_TABLE} WHERE status = 'pending'`;

/** Rows per INSERT statement: 6 parameters each keeps a statement far below Postgres' 65535. */
const ROWS_PER_STATEMENT = 1000;

/**
 * The writing side of the Postgres outbox. A service calls `enqueue` with the EntityManager of the
 * transaction that changes its state, so the state change and the messages it causes commit
 * together or not at all; `PostgresOutboxRelay` publishes them afterwards.
 */
export class PostgresOutbox {
  /**
   * Inserts the messages in the caller's transaction, in the order given (the relay keeps that
   * order per key). Refuses to run outside a transaction. A message id that is already in the
   * outbox fails the caller's transaction (unique violation): two different messages must never
   * share an id, since consumers would drop the second as a duplicate.
   */
  async enqueue(manager: EntityManager, messages: readonly OutgoingMessage[]): Promise<void> {
    if (manager.queryRunner?.isTransactionActive !== true) {
      throw new OutboxTransactionRequiredError(
        'PostgresOutbox.enqueue must run inside the transaction that changes the state (use the EntityManager that dataSource.transaction() passes in)',
      );
    }
    messages.forEach(assertPublishable);
    for (let start = 0; start < messages.length; start += ROWS_PER_STATEMENT) {
      const chunk = messages.slice(start, start + ROWS_PER_STATEMENT);
      const parameters: string[] = [];
      // VALUES rows are inserted in list order, so positions follow the caller's order.
      const rows = chunk.map(({ topic, envelope }) => {
        const base = parameters.length;
        parameters.push(
          envelope.id,
          topic,
          envelope.key,
          envelope.type,
          JSON.stringify(headersOf(envelope)),
          JSON.stringify(envelope.payload ?? null),
        );
        return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}::jsonb, $${base + 6}::jsonb)`;
      });
      await manager.query(
        `INSERT INTO ${OUTBOX_TABLE} (message_id, topic, message_key, message_type, headers, payload)
         VALUES ${rows.join(', ')}`,
        parameters,
      );
    }
  }

  /** Parked messages, oldest first. */
  async listParked(manager: EntityManager, limit = 100): Promise<ParkedOutboxMessage[]> {
    const rows: {
      message_id: string;
      topic: string;
      message_key: string;
      message_type: string;
      parked_reason: string;
      created_at: Date;
      parked_at: Date;
    }[] = await manager.query(
      `SELECT message_id, topic, message_key, message_type, parked_reason, created_at, parked_at
         FROM ${OUTBOX_TABLE} WHERE status = 'parked' ORDER BY parked_at, position LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({
      messageId: row.message_id,
      topic: row.topic,
      key: row.message_key,
      type: row.message_type,
      reason: row.parked_reason,
      createdAt: row.created_at,
      parkedAt: row.parked_at,
    }));
  }

  /**
   * What the relay still has to publish, measured as the relay measures it (read-only; for
   * readiness checks and operators). Any instance can ask, not only the relay's leader.
   */
  async backlog(manager: EntityManager): Promise<OutboxBacklog> {
    const rows: { backlog: number; oldest_age_ms: number }[] =
      await manager.query(OUTBOX_BACKLOG_SQL);
    const row = rows[0];
    return { backlog: row?.backlog ?? 0, oldestAgeMs: row?.oldest_age_ms ?? 0 };
  }

  /**
   * Puts parked messages back in line (after the operator fixed the cause, e.g. created the
   * topic or raised the broker's limit). They keep their original place in the order, so the
   * relay publishes them next; their key's later messages have gone out already. Returns how
   * many were requeued.
   */
  async requeueParked(manager: EntityManager, messageIds: readonly string[]): Promise<number> {
    // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE, rows for a SELECT.
    const rows: { requeued: number }[] = await manager.query(
      `WITH requeued AS (
         UPDATE ${OUTBOX_TABLE} SET status = 'pending', parked_at = NULL, parked_reason = NULL
          WHERE status = 'parked' AND message_id = ANY($1::text[]) RETURNING 1)
       SELECT count(*)::int AS requeued FROM requeued`,
      [messageIds],
    );
    return rows[0]?.requeued ?? 0;
  }
}
