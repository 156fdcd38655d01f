/**
 * Fixtures for the consumer-side integration tests (not exported from the index): a migrated
 * scratch database with an effects table, message types and builders, unique names, a
 * collecting logger and metrics, and polling helpers.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { useLocalStack, type LocalStack } from '@platform/infra';
import { Kafka, logLevel } from 'kafkajs';
import { DataSource, type EntityManager, type MigrationInterface, type QueryRunner } from 'typeorm';
import { z } from 'zod';
import type { Envelope, IncomingMessage, OutgoingMessage } from '../envelope';
import { inboxMigrations } from '../inbox';
import type { KafkaConnectionConfig } from '../kafka-client';
import type { MessagingLogger } from '../logger';
import type { MessagingMetrics } from '../metrics';
import { createEnvelope, defineMessage, defineUpcaster, MessageRegistry } from '../schemas';

// Message types used by the tests. ItemAdded changed its quantity from a string (v1) to a number (v2).
export const ItemAddedV1 = defineMessage({
  type: 'ItemAdded',
  version: 1,
  schema: z.object({ orderId: z.string(), sku: z.string(), quantity: z.string() }),
});
export const ItemAddedV2 = defineMessage({
  type: 'ItemAdded',
  version: 2,
  schema: z.object({
    orderId: z.string(),
    sku: z.string(),
    quantity: z.number().int().positive(),
  }),
});
export const registry = new MessageRegistry(
  [ItemAddedV2],
  [
    defineUpcaster(ItemAddedV1, ItemAddedV2, (v1) => ({
      orderId: v1.orderId,
      sku: v1.sku,
      quantity: Number.parseInt(v1.quantity, 10),
    })),
  ],
);

export type ItemAdded = z.output<typeof ItemAddedV2.schema>;

let sequence = 0;

/**
 * An ItemAdded v2 envelope keyed by `orderId`, with a fresh id. Overrides are applied after the
 * schema check, so they can make it invalid on purpose (a negative quantity, another type).
 */
export function anItemAdded(
  orderId: string,
  overrides: Partial<Envelope> & { quantity?: number } = {},
): Envelope<ItemAdded> {
  sequence += 1;
  const { quantity, ...rest } = overrides;
  const envelope = createEnvelope({
    id: randomUUID(),
    type: ItemAddedV2,
    source: 'consumer-int-spec',
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, sequence % 60)),
    key: orderId,
    correlationId: orderId,
    payload: { orderId, sku: `SKU-${sequence}`, quantity: 1 },
  });
  const payload = quantity === undefined ? envelope.payload : { ...envelope.payload, quantity };
  return { ...envelope, payload, ...rest } as Envelope<ItemAdded>;
}

export function to(topic: string, ...envelopes: Envelope[]): OutgoingMessage[] {
  return envelopes.map((envelope) => ({ topic, envelope }));
}

/** A topic or group name no other test (or earlier run) uses. */
export function unique(name: string): string {
  return `it.messaging.${name}.${randomUUID().slice(0, 8)}`;
}

class CreateEffects1763780000200 implements MigrationInterface {
  readonly name = 'CreateEffects1763780000200';
  async up(queryRunner: QueryRunner): Promise<void> {
    // No unique constraint on purpose: applying a message twice would show as two rows.
    await queryRunner.query(`
      CREATE TABLE effects (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        consumer_group  text  NOT NULL,
        message_id      text  NOT NULL,
        order_id        text  NOT NULL,
        received_version int  NOT NULL,
        payload         jsonb NOT NULL
      )`);
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE effects');
  }
}

export interface TestDatabase {
  readonly stack: LocalStack;
  readonly dataSource: DataSource;
  /** Rows in `effects`, per message id. */
  effectCounts(): Promise<Map<string, number>>;
  /** Rows in `effects` written by one consumer group. */
  effectsOf(consumerGroup: string): Promise<number>;
  /** Creates the inbox and effects tables (done at open unless `migrate: false`). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export async function openTestDatabase(
  prefix: string,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const stack = await useLocalStack();
  const scratch = await stack.postgres.createScratchDatabase(prefix);
  const dataSource = new DataSource({
    type: 'postgres',
    url: scratch.url,
    migrations: [...inboxMigrations, CreateEffects1763780000200],
    synchronize: false,
    poolSize: 10,
  });
  await dataSource.initialize();
  if (options.migrate !== false) await dataSource.runMigrations();
  return {
    stack,
    dataSource,
    migrate: async () => {
      await dataSource.runMigrations();
    },
    effectCounts: async () => {
      const rows: { message_id: string; n: number }[] = await dataSource.query(
        'SELECT message_id, count(*)::int AS n FROM effects GROUP BY message_id',
      );
      return new Map(rows.map((r) => [r.message_id, r.n]));
    },
    effectsOf: async (consumerGroup) => {
      const [row] = await dataSource.query<{ n: number }[]>(
        'SELECT count(*)::int AS n FROM effects WHERE consumer_group = $1',
        [consumerGroup],
      );
      return row?.n ?? 0;
    },
    close: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      await scratch.drop();
    },
  };
}

/** What the test handlers write: one row per application of a message. */
export async function recordEffect(
  tx: EntityManager,
  consumerGroup: string,
  message: IncomingMessage<ItemAdded>,
  receivedVersion: number,
): Promise<void> {
  await tx.query(
    'INSERT INTO effects (consumer_group, message_id, order_id, received_version, payload) VALUES ($1, $2, $3, $4, $5)',
    [
      consumerGroup,
      message.envelope.id,
      message.envelope.payload.orderId,
      receivedVersion,
      JSON.stringify(message.envelope.payload),
    ],
  );
}

export function kafkaConfig(
  stack: LocalStack,
  clientId: string,
  logger: MessagingLogger,
): KafkaConnectionConfig {
  return { brokers: stack.kafka.brokers, clientId, logger };
}

/** Sum of the group's committed offsets over the topic's partitions (-1 = none counts as 0). */
export async function committedOffsets(
  stack: LocalStack,
  groupId: string,
  topic: string,
): Promise<number> {
  const kafka = new Kafka({
    clientId: 'consumer-int-offsets',
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Polls `check` until it returns true; fails with `describe()` after the timeout. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  describe: () => Promise<string> | string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}. ${await describe()}`);
    }
    await delay(100);
  }
}

export class RecordingMetrics implements MessagingMetrics {
  readonly handledOutcomes: { topic: string; type: string; outcome: string }[] = [];
  readonly retries: { topic: string; type: string; attempt: number }[] = [];
  readonly deadLetters: { topic: string; type: string; reason: string }[] = [];

  outboxBacklog(): void {
    // not used by consumers
  }
  published(): void {
    // not used by consumers
  }
  publishRejected(): void {
    // not used by consumers
  }
  handled(topic: string, type: string, outcome: string): void {
    this.handledOutcomes.push({ topic, type, outcome });
  }
  retried(topic: string, type: string, attempt: number): void {
    this.retries.push({ topic, type, attempt });
  }
  deadLettered(topic: string, type: string, reason: string): void {
    this.deadLetters.push({ topic, type, reason });
  }

  count(outcome: string): number {
    return this.handledOutcomes.filter((h) => h.outcome === outcome).length;
  }
}

/** Keeps log lines for assertions; prints them too when MESSAGING_TEST_LOG=1. */
export class CollectingLogger implements MessagingLogger {
  readonly lines: { level: string; message: string; fields: Readonly<Record<string, unknown>> }[] =
    [];
  private readonly echo = process.env.MESSAGING_TEST_LOG === '1';

  debug(message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.add('debug', message, fields);
  }
  info(message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.add('info', message, fields);
  }
  warn(message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.add('warn', message, fields);
  }
  error(message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.add('error', message, fields);
  }

  count(message: string): number {
    return this.lines.filter((l) => l.message === message).length;
  }

  private add(level: string, message: string, fields: Readonly<Record<string, unknown>>): void {
    if (level === 'debug') return;
    this.lines.push({ level, message, fields });
    if (this.echo) {
      const shown = Object.fromEntries(
        Object.entries(fields).map(([k, v]) => [
          k,
          v instanceof Error ? `${v.name}: ${v.message}` : v,
        ]),
      );
      process.stderr.write(
        `${new Date().toISOString()} [${level}] ${message} ${JSON.stringify(shown)}\n`,
      );
    }
  }
}
