/**
 * Fixtures for this library's own tests (not exported from the index): a scratch database with
 * the migrations applied, an event builder, a seeded random source and small async helpers.
 */
import { randomUUID } from 'node:crypto';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { DataSource } from 'typeorm';
import { eventStoreMigrations } from './migrations';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store';
import type { EventMetadata, NewEvent } from './types';

export interface TestDatabase {
  readonly stack: LocalStack;
  readonly url: string;
  readonly dataSource: DataSource;
  store(options?: PostgresEventStoreOptions): PostgresEventStore;
  close(): Promise<void>;
}

/** A fresh database on the local stack's Postgres, migrated through TypeORM like a service. */
export async function openTestDatabase(): Promise<TestDatabase> {
  const stack = await useLocalStack();
  const scratch = await stack.postgres.createScratchDatabase('es');
  const dataSource = new DataSource({
    type: 'postgres',
    url: scratch.url,
    migrations: eventStoreMigrations,
    migrationsRun: true,
    synchronize: false,
    poolSize: 40,
  });
  await dataSource.initialize();
  return {
    stack,
    url: scratch.url,
    dataSource,
    store: (options) => new PostgresEventStore(dataSource, options),
    close: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      await scratch.drop();
    },
  };
}

/** Event ids are UUIDs (the messageId is the event id). */
export function nextId(): string {
  return randomUUID();
}

export function anEvent<Data>(
  type: string,
  data: Data,
  overrides: { metadata?: Partial<EventMetadata>; schemaVersion?: number } = {},
): NewEvent<string, Data> {
  return {
    type,
    data,
    metadata: { messageId: nextId(), correlationId: 'corr-test', ...overrides.metadata },
    ...(overrides.schemaVersion === undefined ? {} : { schemaVersion: overrides.schemaVersion }),
  };
}

/** mulberry32: a small, seeded PRNG so randomized tests replay exactly from their seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves for everyone once `parties` callers are waiting. */
export function barrier(parties: number): () => Promise<void> {
  let waiting = 0;
  let release: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return async () => {
    waiting++;
    if (waiting === parties) release();
    await opened;
  };
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
