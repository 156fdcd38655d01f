import type { DataSource, EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import { DependencyUnavailableError } from './handler';

/** What the inbox records about a handled message. */
export interface InboxEntry {
  readonly consumerGroup: string;
  readonly messageId: string;
  readonly messageType: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * Dedupe by message id, atomically with the handler's effects. The consumer calls `runOnce` for
 * every message: the implementation records (consumer group, message id) and runs `effect` in
 * the same transaction, or skips `effect` if that pair was recorded before.
 *
 * Failures before `effect` ran (the store is down, the table is missing) must surface as
 * DependencyUnavailableError: they say nothing about the message, so they do not count as attempts.
 */
export interface Inbox<Tx> {
  runOnce(entry: InboxEntry, effect: (tx: Tx) => Promise<void>): Promise<'applied' | 'duplicate'>;
}

export const INBOX_TABLE = 'inbox';

/** Rolls back a run whose message another delivery recorded first. */
class ConcurrentDuplicate extends Error {
  override readonly name = 'ConcurrentDuplicate';
}

/**
 * The inbox table: one row per (consumer group, message id) ever applied. The group is part of
 * the key because two groups consuming the same message are two different effects.
 */
export class CreateInbox1763780000100 implements MigrationInterface {
  readonly name = 'CreateInbox1763780000100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ${INBOX_TABLE} (
        consumer_group text        NOT NULL,
        message_id     text        NOT NULL,
        message_type   text        NOT NULL,
        topic          text        NOT NULL,
        "partition"    integer     NOT NULL,
        "offset"       bigint      NOT NULL,
        processed_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, message_id)
      )`);
    // Serves pruning by age.
    await queryRunner.query(`CREATE INDEX inbox_processed_at ON ${INBOX_TABLE} (processed_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${INBOX_TABLE}`);
  }
}

/** Add these to the service DataSource's `migrations`. */
export const inboxMigrations = [CreateInbox1763780000100];

/**
 * The inbox in the service's own Postgres database (TypeORM). The handler gets the transaction's
 * EntityManager; everything it writes through it commits or rolls back with the inbox row, which
 * is inserted after the effect (see runOnce for why).
 */
export class PostgresInbox implements Inbox<EntityManager> {
  constructor(private readonly dataSource: DataSource) {}

  async runOnce(
    entry: InboxEntry,
    effect: (tx: EntityManager) => Promise<void>,
  ): Promise<'applied' | 'duplicate'> {
    const progress = { effectStarted: false };
    try {
      return await this.dataSource.transaction(async (tx) => {
        // Look first, record last. A read takes no transaction id, so a handler that calls out
        // before it writes (the payment provider) does not hold back the commit-ordered readers
        // (outbox relays, projections) that wait on the oldest running transaction id.
        const seen: unknown = await tx.query(
          `SELECT 1 FROM ${INBOX_TABLE} WHERE consumer_group = $1 AND message_id = $2`,
          [entry.consumerGroup, entry.messageId],
        );
        if (Array.isArray(seen) && seen.length > 0) return 'duplicate';
        progress.effectStarted = true;
        await effect(tx);
        const inserted: unknown = await tx.query(
          `INSERT INTO ${INBOX_TABLE} (consumer_group, message_id, message_type, topic, "partition", "offset")
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (consumer_group, message_id) DO NOTHING
           RETURNING message_id`,
          [
            entry.consumerGroup,
            entry.messageId,
            entry.messageType,
            entry.topic,
            entry.partition,
            entry.offset,
          ],
        );
        // A concurrent delivery of the same message committed first (we waited for it on the
        // primary key): undo this run's effects.
        if (!Array.isArray(inserted) || inserted.length === 0) throw new ConcurrentDuplicate();
        return 'applied';
      });
    } catch (error) {
      if (error instanceof ConcurrentDuplicate) return 'duplicate';
      if (progress.effectStarted) throw error;
      throw new DependencyUnavailableError(
        `inbox: could not check message ${entry.messageId}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /** Whether the group has applied the message (for operators and tests). */
  async contains(consumerGroup: string, messageId: string): Promise<boolean> {
    const rows: unknown = await this.dataSource.query(
      `SELECT 1 FROM ${INBOX_TABLE} WHERE consumer_group = $1 AND message_id = $2`,
      [consumerGroup, messageId],
    );
    return Array.isArray(rows) && rows.length > 0;
  }

  /**
   * Deletes rows older than `before`; returns how many. Keep rows at least as long as a message
   * can be redelivered: the topic's retention, and as long as dead letters may be redriven.
   */
  async prune(before: Date): Promise<number> {
    const result: unknown = await this.dataSource.query(
      `DELETE FROM ${INBOX_TABLE} WHERE processed_at < $1`,
      [before],
    );
    // TypeORM returns [rows, affectedCount] for DELETE on Postgres.
    return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
  }
}
