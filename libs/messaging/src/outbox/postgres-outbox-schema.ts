import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Table the Postgres outbox lives in (one per service database). */
export const OUTBOX_TABLE = 'outbox';

/** Channel the insert trigger notifies and the relay listens on. */
export const OUTBOX_CHANNEL = 'platform_outbox';

/**
 * The outbox table.
 *
 * - `position` (sequence) and `transaction_id` (the writer's xid8) together give the relay an
 *   order that no late-committing transaction can jump: see docs/adr/0002.
 * - `status`: `pending` until the broker acknowledged it, then `published` (kept for
 *   `publishedRetentionMs` so "did message X go out, and when?" has an answer, then purged), or
 *   `parked` with `parked_reason` when the broker refuses it for good (an operator decides).
 * - The statement-level trigger wakes the relay once per INSERT statement, not per row; payload
 *   is empty because the relay reads the table anyway.
 */
export class CreateOutbox1763780000000 implements MigrationInterface {
  readonly name = 'CreateOutbox1763780000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ${OUTBOX_TABLE} (
        position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
        message_id     text        NOT NULL,
        topic          text        NOT NULL,
        message_key    text        NOT NULL,
        message_type   text        NOT NULL,
        headers        jsonb       NOT NULL,
        payload        jsonb       NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        status         text        NOT NULL DEFAULT 'pending',
        published_at   timestamptz,
        parked_at      timestamptz,
        parked_reason  text,
        CONSTRAINT outbox_message_id_unique UNIQUE (message_id),
        CONSTRAINT outbox_status_valid CHECK (status IN ('pending', 'published', 'parked')),
        CONSTRAINT outbox_published_has_time CHECK (status <> 'published' OR published_at IS NOT NULL),
        CONSTRAINT outbox_parked_has_reason CHECK (status <> 'parked' OR parked_reason IS NOT NULL)
      )`);
    // The relay's read: pending rows in (transaction_id, position) order. Partial, so it stays
    // as small as the backlog however many published rows the table still keeps.
    await queryRunner.query(
      `CREATE INDEX outbox_pending_order ON ${OUTBOX_TABLE} (transaction_id, position) WHERE status = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX outbox_published_at ON ${OUTBOX_TABLE} (published_at) WHERE status = 'published'`,
    );
    await queryRunner.query(
      `CREATE INDEX outbox_parked_at ON ${OUTBOX_TABLE} (parked_at) WHERE status = 'parked'`,
    );
    await queryRunner.query(`
      CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${OUTBOX_CHANNEL}', '');
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER outbox_notify AFTER INSERT ON ${OUTBOX_TABLE}
      FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS ${OUTBOX_TABLE}`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS outbox_notify()`);
  }
}

/** Add these to the service's DataSource `migrations` (never `synchronize`). */
export const outboxMigrations = [CreateOutbox1763780000000];
