import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The order service's own tables, beside the event store's, the outbox's and the inbox's:
 * - idempotency_keys: one row per Idempotency-Key a client used for POST /orders, with a hash of
 *   the request, so a retry returns the same order and a different body under the same key is
 *   refused (422).
 * - saga_deadlines: the one armed deadline of each running saga. The scheduler fires due rows
 *   under FOR UPDATE SKIP LOCKED, so each fires once even with several instances, and rows
 *   survive restarts.
 */
export class OrderServiceTables1795400000000 implements MigrationInterface {
  name = 'OrderServiceTables1795400000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE idempotency_keys (
        key          text PRIMARY KEY,
        request_hash text NOT NULL,
        order_id     uuid NOT NULL,
        position     text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE saga_deadlines (
        order_id uuid PRIMARY KEY,
        step     text NOT NULL,
        attempt  integer NOT NULL,
        due_at   timestamptz NOT NULL
      )`);
    await runner.query(`CREATE INDEX saga_deadlines_due ON saga_deadlines (due_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE saga_deadlines`);
    await runner.query(`DROP TABLE idempotency_keys`);
  }
}
