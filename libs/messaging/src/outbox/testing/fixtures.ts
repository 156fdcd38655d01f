/**
 * Fixtures for the outbox's own integration tests (not exported from the index): a migrated
 * scratch database, message builders, a raw Kafka observer and the delivery assertions every
 * scenario ends with.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { decodeRecord } from '../../codec';
import type { Envelope, OutgoingMessage } from '../../envelope';
import type { MessagingMetrics } from '../../metrics';
import type { MessagingLogger } from '../../logger';
import { inboxMigrations } from '../../inbox';
import { outboxMigrations } from '../postgres-outbox-schema';
import { PostgresOutbox } from '../postgres-outbox';
import { defineMessage, MessageRegistry } from '../../schemas';

/** The one message type these tests send, as a consumer's registry knows it. */
export const OrderAdvanced = defineMessage({
  type: 'OrderAdvanced',
  version: 1,
  schema: z.object({ n: z.number().int(), filler: z.string().optional() }),
});
export const orderRegistry = new MessageRegistry([OrderAdvanced]);

export interface OutboxDatabase {
  readonly stack: LocalStack;
  readonly url: string;
  readonly dataSource: DataSource;
  /** Enqueues in its own transaction (with a state row, like a service would). */
  commit(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Number of rows per status. */
  statusCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** A fresh database on the local stack's Postgres, migrated through TypeORM like a service. */
export async function openOutboxDatabase(prefix = 'outbox'): Promise<OutboxDatabase> {
  const stack = await useLocalStack();
  const scratch = await stack.postgres.createScratchDatabase(prefix);
  const dataSource = new DataSource({
    type: 'postgres',
    url: scratch.url,
    // A service's DataSource carries both: what it sends (outbox) and what it received (inbox).
    migrations: [...outboxMigrations, ...inboxMigrations],
    migrationsRun: true,
    synchronize: false,
    poolSize: 20,
  });
  await dataSource.initialize();
  await dataSource.query(
    'CREATE TABLE order_state (order_id text PRIMARY KEY, status text NOT NULL, version int NOT NULL)',
  );
  // What a downstream consumer did, one row per applied message, in the order it applied them.
  await dataSource.query(
    'CREATE TABLE effects (seq bigserial PRIMARY KEY, message_id text NOT NULL, order_key text NOT NULL)',
  );
  const outbox = new PostgresOutbox();
  return {
    stack,
    url: scratch.url,
    dataSource,
    commit: (messages) =>
      dataSource.transaction(async (manager) => {
        await touchState(manager, messages);
        await outbox.enqueue(manager, messages);
      }),
    statusCounts: async () => {
      const rows: { status: string; n: number }[] = await dataSource.query(
        'SELECT status, count(*)::int AS n FROM outbox GROUP BY status',
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
    close: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      await scratch.drop();
    },
  };
}

/** The state change the messages stand for: one row per key, its version bumped per message. */
export async function touchState(
  manager: EntityManager,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  for (const { envelope } of messages) {
    await manager.query(
      `INSERT INTO order_state (order_id, status, version) VALUES ($1, $2, 1)
       ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, version = order_state.version + 1`,
      [envelope.key, envelope.type],
    );
  }
}

export function uniqueTopic(name: string): string {
  return `it.outbox.${name}.${randomUUID().slice(0, 8)}`;
}

/**
 * `count` messages per key, numbered from `from`, interleaved across keys (k0#1, k1#1, k0#2, ...)
 * so that a relay that mixed keys up or reordered within a key would show it.
 */
export function messagesFor(
  topic: string,
  keys: readonly string[],
  count: number,
  options: { from?: number; payloadBytes?: number } = {},
): OutgoingMessage[] {
  const from = options.from ?? 1;
  const messages: OutgoingMessage[] = [];
  for (let n = from; n < from + count; n++) {
    for (const key of keys) messages.push(aMessage(topic, key, n, options.payloadBytes));
  }
  return messages;
}

export function aMessage(topic: string, key: string, n: number, payloadBytes = 0): OutgoingMessage {
  const envelope: Envelope<{ n: number; filler?: string }> = {
    // Topics are unique per test, so ids are unique across tests and runs.
    id: `${topic}:${key}:${n}`,
    type: 'OrderAdvanced',
    schemaVersion: 1,
    source: 'outbox-int-test',
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, n % 60)).toISOString(),
    key,
    correlationId: `corr-${key}`,
    payload: payloadBytes > 0 ? { n, filler: 'x'.repeat(payloadBytes) } : { n },
  };
  return { topic, envelope };
}

export interface Received {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly receivedAt: number;
  readonly envelope: Envelope;
}

/** A plain consumer group reading topics from the beginning: what actually reached the broker. */
export class TopicObserver {
  readonly received: Received[] = [];

  private constructor(private readonly consumer: Consumer) {}

  static async start(
    brokers: readonly string[],
    topics: readonly string[],
  ): Promise<TopicObserver> {
    const kafka = new Kafka({
      clientId: 'outbox-int-observer',
      brokers: [...brokers],
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({
      groupId: `it-outbox-observer-${randomUUID()}`,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 200,
    });
    const observer = new TopicObserver(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        resolve();
      });
    });
    await consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined) headers[name] = value.toString();
        }
        const { envelope } = decodeRecord({
          key: message.key?.toString() ?? null,
          value: message.value,
          headers,
        });
        observer.received.push({
          topic,
          partition,
          offset: BigInt(message.offset),
          receivedAt: Date.now(),
          envelope,
        });
        return Promise.resolve();
      },
    });
    await joined;
    return observer;
  }

  ids(): Set<string> {
    return new Set(this.received.map((r) => r.envelope.id));
  }

  has(id: string): boolean {
    return this.received.some((r) => r.envelope.id === id);
  }

  async waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
    await waitFor(what, condition, timeoutMs);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}

/**
 * The end-of-scenario check: every expected id arrived (at least once), nothing else did, and in
 * each key the FIRST occurrences come in the order the messages were enqueued. First occurrences
 * are what a consumer that dedupes by id acts on, so this is the order the effects happen in.
 * Returns how many deliveries were duplicates.
 */
export function assertDeliveredInOrder(
  received: readonly Received[],
  expected: readonly OutgoingMessage[],
): { duplicates: number } {
  const expectedIds = new Set(expected.map((m) => m.envelope.id));
  const inLogOrder = [...received].sort((a, b) =>
    a.topic !== b.topic
      ? a.topic.localeCompare(b.topic)
      : a.partition !== b.partition
        ? a.partition - b.partition
        : a.offset < b.offset
          ? -1
          : a.offset > b.offset
            ? 1
            : 0,
  );
  const unexpected = inLogOrder.filter((r) => !expectedIds.has(r.envelope.id));
  assert.deepEqual(
    unexpected.map((r) => r.envelope.id),
    [],
    'only enqueued messages are published',
  );
  const seen = new Set<string>();
  const firstByKey = new Map<string, string[]>();
  for (const r of inLogOrder) {
    if (seen.has(r.envelope.id)) continue;
    seen.add(r.envelope.id);
    const list = firstByKey.get(r.envelope.key) ?? [];
    list.push(r.envelope.id);
    firstByKey.set(r.envelope.key, list);
  }
  assert.equal(seen.size, expectedIds.size, 'every enqueued message id arrives');
  const wantByKey = new Map<string, string[]>();
  for (const m of expected) {
    const list = wantByKey.get(m.envelope.key) ?? [];
    list.push(m.envelope.id);
    wantByKey.set(m.envelope.key, list);
  }
  for (const [key, want] of wantByKey) {
    assert.deepEqual(firstByKey.get(key), want, `messages of key ${key} arrive in enqueue order`);
  }
  return { duplicates: received.length - seen.size };
}

/** Metrics calls, recorded for assertions. */
export class RecordingMetrics implements MessagingMetrics {
  readonly backlog: { store: string; backlog: number; oldestAgeMs: number }[] = [];
  readonly publishedLatencies: { topic: string; latencyMs: number }[] = [];
  readonly rejected: { topic: string; reason: string }[] = [];

  outboxBacklog(store: string, backlog: number, oldestAgeMs: number): void {
    this.backlog.push({ store, backlog, oldestAgeMs });
  }

  published(topic: string, latencyMs: number): void {
    this.publishedLatencies.push({ topic, latencyMs });
  }

  publishRejected(topic: string, reason: string): void {
    this.rejected.push({ topic, reason });
  }

  readonly outcomes: string[] = [];

  handled(_topic: string, _type: string, outcome: string): void {
    this.outcomes.push(outcome);
  }

  count(outcome: string): number {
    return this.outcomes.filter((o) => o === outcome).length;
  }

  retried(): void {
    // consumer-side hook, not asserted here
  }

  deadLettered(): void {
    // consumer-side hook, not asserted here
  }
}

/** Keeps the relays' log lines for a failure message instead of flooding the test output. */
export class CollectingLogger implements MessagingLogger {
  readonly lines: string[] = [];

  info(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.add('info', message, fields);
  }

  warn(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.add('warn', message, fields);
  }

  error(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.add('error', message, fields);
  }

  private add(level: string, message: string, fields?: Readonly<Record<string, unknown>>): void {
    const rendered = Object.entries(fields ?? {})
      .map(([k, v]) => `${k}=${v instanceof Error ? v.message : JSON.stringify(v)}`)
      .join(' ');
    this.lines.push(`${new Date().toISOString()} ${level} ${message} ${rendered}`);
  }
}
