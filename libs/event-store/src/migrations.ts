import type { MigrationInterface, QueryRunner } from 'typeorm';
import { APPENDS_CHANNEL, SCHEMA } from './schema';

/**
 * The event store's tables, in their own schema so they never collide with a service's tables.
 *
 * - `streams` holds one row per stream with its version: the optimistic-concurrency check is an
 *   `UPDATE ... WHERE version = expected` on that row.
 * - `events` records the writing transaction (`transaction_id`) beside the sequence position;
 *   readers order by the pair (ADR 0002). The index serves exactly that order.
 * - `snapshots` is a cache of folded state, one row per (stream, snapshot type).
 * - A statement-level trigger notifies `platform_events` so readers wake up without polling; the
 *   notification is delivered at commit, and never for a rolled-back append.
 */
export class EventStoreSchema1795305600000 implements MigrationInterface {
  readonly name = 'EventStoreSchema1795305600000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await runner.query(`
      CREATE TABLE ${SCHEMA}.streams (
        stream_id   text        PRIMARY KEY,
        stream_type text        NOT NULL,
        version     integer     NOT NULL CHECK (version >= 0),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE ${SCHEMA}.events (
        global_position bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
        stream_id       text        NOT NULL REFERENCES ${SCHEMA}.streams (stream_id),
        stream_version  integer     NOT NULL CHECK (stream_version >= 1),
        event_id        uuid        NOT NULL,
        event_type      text        NOT NULL,
        schema_version  integer     NOT NULL CHECK (schema_version >= 1),
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
        CONSTRAINT events_event_id_key UNIQUE (event_id)
      )`);
    await runner.query(
      `CREATE INDEX events_commit_order_idx ON ${SCHEMA}.events (transaction_id, global_position)`,
    );
    await runner.query(`
      CREATE TABLE ${SCHEMA}.snapshots (
        stream_id      text        NOT NULL REFERENCES ${SCHEMA}.streams (stream_id),
        snapshot_type  text        NOT NULL,
        stream_version integer     NOT NULL CHECK (stream_version >= 1),
        schema_version integer     NOT NULL CHECK (schema_version >= 1),
        state          jsonb       NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (stream_id, snapshot_type)
      )`);
    await runner.query(`
      CREATE FUNCTION ${SCHEMA}.notify_appended() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${APPENDS_CHANNEL}', '');
        RETURN NULL;
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER events_notify_appended
        AFTER INSERT ON ${SCHEMA}.events
        FOR EACH STATEMENT EXECUTE FUNCTION ${SCHEMA}.notify_appended()`);
    // Recorded events are facts: an UPDATE is a bug (or an attempt to rewrite history), never a
    // silent success.
    await runner.query(`
      CREATE FUNCTION ${SCHEMA}.reject_event_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'event_store.events is append-only (global_position %)', OLD.global_position
          USING ERRCODE = 'restrict_violation';
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER events_append_only
        BEFORE UPDATE ON ${SCHEMA}.events
        FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.reject_event_update()`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ${SCHEMA}.snapshots`);
    await runner.query(`DROP TABLE ${SCHEMA}.events`);
    await runner.query(`DROP TABLE ${SCHEMA}.streams`);
    await runner.query(`DROP FUNCTION ${SCHEMA}.notify_appended()`);
    await runner.query(`DROP FUNCTION ${SCHEMA}.reject_event_update()`);
    await runner.query(`DROP SCHEMA ${SCHEMA}`);
  }
}

/** Put these in a service's DataSource `migrations` (never `synchronize`). */
export const eventStoreMigrations = [EventStoreSchema1795305600000];
