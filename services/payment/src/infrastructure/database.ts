import { eventStoreMigrations } from '@platform/event-store';
import { inboxMigrations, outboxMigrations } from '@platform/messaging';
import { DataSource } from 'typeorm';

export interface PaymentsDatabaseOptions {
  /**
   * Postgres ends a session that sits idle inside a transaction for longer than this. Command
   * handlers hold their transaction across the provider call, so it must exceed that call's
   * budget; it is the backstop if something hangs anyway.
   */
  readonly idleInTransactionTimeoutMs: number;
  readonly poolSize?: number;
}

/** The payments database: event store, outbox and inbox. Migrations run here; never synchronize. */
export async function openPaymentsDatabase(
  url: string,
  options: PaymentsDatabaseOptions,
): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: [...eventStoreMigrations, ...outboxMigrations, ...inboxMigrations],
    // Bounded pool and timeouts: every call across a process boundary has one.
    extra: {
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs,
    },
  });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
