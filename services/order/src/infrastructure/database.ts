import { eventStoreMigrations } from '@platform/event-store';
import { inboxMigrations, outboxMigrations } from '@platform/messaging';
import { DataSource } from 'typeorm';
import { OrderServiceTables1795400000000 } from './order-migrations';

/** The orders database: event store, outbox, inbox and the service's own tables. Never synchronize. */
export async function openOrdersDatabase(url: string): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: [
      ...eventStoreMigrations,
      ...outboxMigrations,
      ...inboxMigrations,
      OrderServiceTables1795400000000,
    ],
    // Bounded pool and timeouts: every call across a process boundary has one.
    extra: { max: 20, connectionTimeoutMillis: 5000, idle_in_transaction_session_timeout: 30_000 },
  });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  return dataSource;
}
