import { allMessages, TOPIC_PARTITIONS, TOPICS } from '@platform/contracts';
import {
  ensureTopics,
  jsonLogger,
  KafkaPublisher,
  MessageConsumer,
  MessageRegistry,
  mongoOutboxBacklog,
  MongoOutboxRelay,
  type KafkaConnectionConfig,
  type MessagingLogger,
  type RetryPolicy,
  type TopicSpec,
  type ConsumerLagMonitor,
} from '@platform/messaging';
import {
  consumerLagCheck,
  outboxBacklogCheck,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@platform/service-defaults';
import { MongoClient, type Db } from 'mongodb';
import type { InventoryServiceConfig } from '../config';
import { inventoryCommandHandlers } from '../features/reservations/command-handlers';
import { SERVICE_NAME } from '../features/reservations/replies';
import { Reservations, type ReservationHooks } from '../features/reservations/reservations';
import { StockCatalog } from '../features/stock/stock-catalog';
import { crashSwitchHooks } from './crash-switch';
import { RESERVATIONS_COLLECTION, ReservationStore } from './reservation-store';
import { StockStore } from './stock-store';

/** The topics the inventory consumer reads; their dead letters are administered over HTTP too. */
export const INVENTORY_CONSUMED_TOPICS = [TOPICS.inventoryCommands];

/** The topics this service reads and writes, each with its `.dlq` (the broker never auto-creates). */
export const INVENTORY_TOPICS: readonly TopicSpec[] = [
  TOPICS.inventoryCommands,
  TOPICS.inventoryEvents,
].map((topic) => ({ topic, partitions: TOPIC_PARTITIONS }));

export interface InventoryRuntimeOptions {
  /** Test hooks for the reservation steps; the config's crash switch applies when absent. */
  readonly hooks?: ReservationHooks;
  readonly logger?: MessagingLogger;
  readonly retry?: Partial<RetryPolicy>;
  readonly clock?: () => Date;
  /** The service's metrics registry; without it (tests) nothing is measured. */
  readonly metrics?: ServiceMetrics;
}

/**
 * Everything the inventory service runs besides HTTP, wired by hand (no framework below the edge):
 * the MongoDB client and stores, the command consumer, the outbox relay of the reservations
 * collection, the consumer lag monitor and the readiness checks. `stop` orders the shutdown so
 * nothing is lost: the lag monitor and the consumer stop first (the command in hand finishes and
 * its offset is committed), then the relay drains the replies that command queued, then the
 * publisher and the database client close.
 */
export class InventoryRuntime {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly config: InventoryServiceConfig,
    readonly db: Db,
    readonly catalog: StockCatalog,
    readonly reservations: Reservations,
    readonly readiness: readonly ReadinessCheck[],
    private readonly mongo: MongoClient,
    private readonly consumer: MessageConsumer,
    private readonly consumerLag: ConsumerLagMonitor,
    private readonly relay: MongoOutboxRelay,
    private readonly publisher: KafkaPublisher,
    private readonly logger: MessagingLogger,
  ) {}

  static async open(
    config: InventoryServiceConfig,
    options: InventoryRuntimeOptions = {},
  ): Promise<InventoryRuntime> {
    const logger = options.logger ?? jsonLogger('info', SERVICE_NAME);
    const kafka: KafkaConnectionConfig = {
      brokers: config.kafkaBrokers,
      clientId: SERVICE_NAME,
      logger,
    };
    await ensureTopics(kafka, INVENTORY_TOPICS);
    const mongo = new MongoClient(config.mongoUrl, {
      serverSelectionTimeoutMS: 3000,
      connectTimeoutMS: 3000,
    });
    await mongo.connect();
    const db = mongo.db(config.database);

    const registry = new MessageRegistry(allMessages);
    const publisher = new KafkaPublisher(kafka, { registry });
    const relay = new MongoOutboxRelay({
      db,
      collection: RESERVATIONS_COLLECTION,
      publisher,
      pollIntervalMs: config.relayPollIntervalMs,
      logger,
      ...(options.metrics && { metrics: options.metrics.messaging }),
    });
    const stock = new StockStore(db);
    const reservations = new Reservations(new ReservationStore(db), stock, {
      onReplyQueued: () => {
        relay.nudge();
      },
      hooks: options.hooks ?? crashSwitchHooks(config.crashAfterHold),
      logger,
      ...(options.clock !== undefined && { clock: options.clock }),
    });
    const consumer = new MessageConsumer({
      kafka,
      groupId: config.consumerGroup,
      topics: INVENTORY_CONSUMED_TOPICS,
      registry,
      handlers: inventoryCommandHandlers(reservations),
      publisher,
      sessionTimeoutMs: config.consumerSessionTimeoutMs,
      partitionsConsumedConcurrently: config.consumerConcurrency,
      logger,
      ...(options.retry !== undefined && { retry: options.retry }),
      ...(options.metrics && { metrics: options.metrics.messaging }),
    });
    const consumerLag = consumer.lagMonitor({ intervalMs: config.readiness.consumerLagPollMs });

    const readiness: ReadinessCheck[] = [
      {
        name: 'mongodb',
        check: async () => {
          await db.command({ ping: 1 });
          return undefined;
        },
      },
      {
        name: 'kafka',
        check: () => consumer.checkReady(),
      },
      outboxBacklogCheck(
        () => mongoOutboxBacklog(db.collection(RESERVATIONS_COLLECTION)),
        config.readiness.maxOutboxBacklog,
      ),
      consumerLagCheck([consumerLag], config.readiness.maxConsumerLag),
    ];
    return new InventoryRuntime(
      config,
      db,
      new StockCatalog(stock, options.clock),
      reservations,
      readiness,
      mongo,
      consumer,
      consumerLag,
      relay,
      publisher,
      logger,
    );
  }

  async start(): Promise<void> {
    this.relay.start();
    this.consumerLag.start();
    await this.consumer.start();
  }

  /** Graceful and idempotent: lag monitor, consumer, relay (drained), publisher, MongoDB. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await this.consumerLag.stop();
    await this.consumer.stop();
    try {
      await this.relay.drain(10_000);
    } catch (error) {
      // Undrained replies stay in their documents and go out after the next start.
      this.logger.warn('outbox not drained at shutdown', { error });
    }
    await this.relay.stop();
    await this.publisher.close();
    await this.mongo.close();
  }
}
