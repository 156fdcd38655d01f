/**
 * Fixtures for the inventory service's integration tests (not part of the service): the runtime
 * started in-process against the local stack's real Kafka and MongoDB-compatible server, with
 * its own database and consumer group, a raw reply observer on inventory.events, command
 * builders, and polling helpers. Topic names come from the contracts and are shared, so each
 * harness starts its consumer groups at the topics' current end and filters by its own order ids.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CommitStockV1,
  ReleaseStockV1,
  ReserveStockV1,
  TOPICS,
  type OrderLine,
} from '@platform/contracts';
import { useLocalStack, type LocalStack } from '@platform/infra';
import {
  createEnvelope,
  decodeRecord,
  ensureTopics,
  KafkaPublisher,
  silentLogger,
  type Envelope,
  type MessagingLogger,
} from '@platform/messaging';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { MongoClient, type Db } from 'mongodb';
import type { InventoryServiceConfig } from '../config';
import {
  InventoryRuntime,
  INVENTORY_TOPICS,
  type InventoryRuntimeOptions,
} from '../infrastructure/inventory-runtime';
import type { ReservationDocument } from '../infrastructure/reservation-store';
import type { StockDocument } from '../infrastructure/stock-store';

export const SOURCE = 'inventory-int-spec';

/** A name no other test file (or earlier run) uses. */
export function unique(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Polls until `check` returns a value (not undefined), or fails with what it saw last. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await delay(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}` +
      (lastError instanceof Error ? ` (last error: ${lastError.message})` : ''),
  );
}

/** Logs warnings and errors only, as JSON lines; tests stay readable. */
export const quietLogger: MessagingLogger = {
  info: () => undefined,
  warn: (message, fields) => {
    process.stderr.write(`${JSON.stringify({ level: 'warn', message, ...safe(fields) })}\n`);
  },
  error: (message, fields) => {
    process.stderr.write(`${JSON.stringify({ level: 'error', message, ...safe(fields) })}\n`);
  },
};

function safe(fields: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    out[key] = value instanceof Error ? value.message : value;
  }
  return out;
}

/** Commits the group's offsets at the topic's current end, so it only sees what comes after. */
export async function startGroupAtEnd(
  brokers: readonly string[],
  groupId: string,
  topic: string,
): Promise<void> {
  const admin = new Kafka({
    clientId: `${SOURCE}-admin`,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    // Real offsets: kafkajs's resetOffsets commits -1 ("latest"), which a consumer reads as
    // "no committed offset" and then starts from the beginning.
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({
      groupId,
      topic,
      partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** Every message on a topic (inventory.events by default) for the orders a test registered, decoded. */
export class TopicObserver {
  private readonly received: { envelope: Envelope; extraHeaders: Record<string, string> }[] = [];
  private readonly orders = new Set<string>();

  private constructor(private readonly consumer: Consumer) {}

  static async start(
    brokers: readonly string[],
    topic: string = TOPICS.inventoryEvents,
  ): Promise<TopicObserver> {
    const groupId = unique('inventory-int-observer');
    await startGroupAtEnd(brokers, groupId, topic);
    const consumer = new Kafka({
      clientId: `${SOURCE}-observer`,
      brokers: [...brokers],
      logLevel: logLevel.NOTHING,
    }).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
    const observer = new TopicObserver(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined)
            headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
        }
        const { envelope, extraHeaders } = decodeRecord({
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value,
          headers,
        });
        if (observer.orders.has(envelope.key)) observer.received.push({ envelope, extraHeaders });
        return Promise.resolve();
      },
    });
    return observer;
  }

  /** Start collecting replies for these orders. */
  track(...orderIds: string[]): void {
    for (const id of orderIds) this.orders.add(id);
  }

  all(): readonly Envelope[] {
    return this.received.map((r) => r.envelope);
  }

  of(orderId: string, type?: string): Envelope[] {
    return this.all().filter((e) => e.key === orderId && (type === undefined || e.type === type));
  }

  /** Headers beyond the envelope's (dead-letter details) of the order's messages. */
  extraHeadersOf(orderId: string): Record<string, string>[] {
    return this.received.filter((r) => r.envelope.key === orderId).map((r) => r.extraHeaders);
  }

  /** Waits until `count` replies of the type arrived for the order; returns them. */
  async waitFor(orderId: string, type: string, count = 1, timeoutMs = 60_000): Promise<Envelope[]> {
    return eventually(
      `${count} × ${type} for ${orderId} (have: ${this.of(orderId)
        .map((e) => e.type)
        .join(', ')})`,
      () => {
        const found = this.of(orderId, type);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
    );
  }

  /** Waits until every order has at least one reply of one of the types. */
  async waitForEach(
    orderIds: readonly string[],
    types: readonly string[],
    timeoutMs = 120_000,
  ): Promise<void> {
    await eventually(
      `a ${types.join('/')} reply for each of ${orderIds.length} orders`,
      () => {
        const missing = orderIds.filter((id) => !this.of(id).some((e) => types.includes(e.type)));
        return missing.length === 0 ? true : undefined;
      },
      timeoutMs,
      200,
    );
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

let sequence = 0;

function command<Payload>(
  definition: Parameters<typeof createEnvelope<Payload>>[0]['type'],
  orderId: string,
  payload: Payload,
  id: string,
): Envelope<Payload> {
  sequence += 1;
  return createEnvelope({
    id,
    type: definition,
    source: SOURCE,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, sequence % 60)),
    key: orderId,
    correlationId: orderId,
    payload,
  });
}

export function aReserveStock(
  orderId: string,
  lines: OrderLine[],
  options: { currency?: string; id?: string } = {},
): Envelope {
  return command(
    ReserveStockV1,
    orderId,
    { orderId, lines, currency: options.currency ?? 'EUR' },
    options.id ?? randomUUID(),
  );
}

export function aReleaseStock(orderId: string, id: string = randomUUID()): Envelope {
  return command(ReleaseStockV1, orderId, { orderId, reason: 'test' }, id);
}

export function aCommitStock(orderId: string, id: string = randomUUID()): Envelope {
  return command(CommitStockV1, orderId, { orderId }, id);
}

export interface HarnessOptions extends InventoryRuntimeOptions {
  /** Overrides of the test config (database and group are unique unless given). */
  readonly config?: Partial<InventoryServiceConfig>;
}

/**
 * The inventory runtime on the local stack, plus what tests need around it. `restart` replaces
 * the runtime by a new one on the same database and consumer group (a service restart).
 */
export class InventoryHarness {
  runtime: InventoryRuntime;

  private constructor(
    readonly stack: LocalStack,
    readonly config: InventoryServiceConfig,
    readonly client: MongoClient,
    readonly db: Db,
    readonly publisher: KafkaPublisher,
    readonly replies: TopicObserver,
    runtime: InventoryRuntime,
  ) {
    this.runtime = runtime;
  }

  static testConfig(
    stack: LocalStack,
    overrides: Partial<InventoryServiceConfig> = {},
  ): InventoryServiceConfig {
    return {
      port: 0,
      host: '127.0.0.1',
      mongoUrl: stack.mongo.url,
      database: unique('it_inventory'),
      kafkaBrokers: stack.kafka.brokers,
      consumerGroup: unique('inventory-int'),
      consumerSessionTimeoutMs: 6000,
      consumerConcurrency: 6,
      relayPollIntervalMs: 100,
      readiness: { maxOutboxBacklog: 10_000, maxConsumerLag: 10_000, consumerLagPollMs: 5000 },
      crashAfterHold: '',
      ...overrides,
    };
  }

  static async start(options: HarnessOptions = {}): Promise<InventoryHarness> {
    const stack = await useLocalStack();
    const config = InventoryHarness.testConfig(stack, options.config);
    await ensureTopics({ brokers: stack.kafka.brokers, clientId: SOURCE }, INVENTORY_TOPICS);
    await startGroupAtEnd(stack.kafka.brokers, config.consumerGroup, TOPICS.inventoryCommands);
    const client = new MongoClient(stack.mongo.url, { serverSelectionTimeoutMS: 3000 });
    await client.connect();
    const publisher = new KafkaPublisher({
      brokers: stack.kafka.brokers,
      clientId: SOURCE,
      logger: silentLogger,
    });
    const replies = await TopicObserver.start(stack.kafka.brokers);
    const runtime = await InventoryHarness.openRuntime(config, options);
    return new InventoryHarness(
      stack,
      config,
      client,
      client.db(config.database),
      publisher,
      replies,
      runtime,
    );
  }

  private static async openRuntime(
    config: InventoryServiceConfig,
    options: InventoryRuntimeOptions,
  ): Promise<InventoryRuntime> {
    const runtime = await InventoryRuntime.open(config, {
      logger: quietLogger,
      retry: { attempts: 5, initialDelayMs: 100, maxDelayMs: 1000 },
      ...options,
    });
    await runtime.start();
    return runtime;
  }

  /** Stops the runtime (gracefully) and starts a new one on the same database and group. */
  async restart(options: InventoryRuntimeOptions = {}): Promise<void> {
    await this.runtime.stop();
    this.runtime = await InventoryHarness.openRuntime(this.config, options);
  }

  /** Produces commands to inventory.commands as the order service would. */
  async send(...envelopes: Envelope[]): Promise<void> {
    this.replies.track(...envelopes.map((e) => e.key));
    await this.publisher.publish(
      envelopes.map((envelope) => ({ topic: TOPICS.inventoryCommands, envelope })),
    );
  }

  /** Sets a SKU through the same path as PUT /admin/stock/:sku. */
  async stock(sku: string, available: number, unitPrice: number, currency = 'EUR'): Promise<void> {
    await this.runtime.catalog.set(sku, { available, unitPrice, currency });
  }

  async sku(sku: string): Promise<StockDocument> {
    const doc = await this.db.collection<StockDocument>('stock').findOne({ _id: sku });
    if (doc === null) throw new Error(`no SKU ${sku}`);
    return doc;
  }

  async reservation(orderId: string): Promise<ReservationDocument | undefined> {
    return (
      (await this.db.collection<ReservationDocument>('reservations').findOne({ _id: orderId })) ??
      undefined
    );
  }

  /** Resolves once no reservation has unpublished replies. */
  async outboxDrained(timeoutMs = 60_000): Promise<void> {
    await eventually(
      'the reservations outbox to drain',
      async () => {
        const pending = await this.db
          .collection<ReservationDocument>('reservations')
          .countDocuments({ 'outbox.0': { $exists: true } });
        return pending === 0 ? true : undefined;
      },
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    await this.runtime.stop();
    await this.replies.stop();
    await this.publisher.close();
    await this.db.dropDatabase().catch(() => undefined);
    await this.client.close();
  }
}
