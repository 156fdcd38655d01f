import { allMessages, TOPIC_PARTITIONS, TOPICS } from '@platform/contracts';
import { listenForAppends, PostgresEventStore, type AppendListener } from '@platform/event-store';
import {
  ensureTopics,
  KafkaPublisher,
  MessageConsumer,
  MessageRegistry,
  PostgresInbox,
  PostgresOutbox,
  PostgresOutboxRelay,
  type KafkaConnectionConfig,
  type ConsumerLagMonitor,
} from '@platform/messaging';
import { MongoCheckpointStore, ProjectionRunner } from '@platform/projections';
import {
  consumerLagCheck,
  outboxBacklogCheck,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@platform/service-defaults';
import { MongoClient } from 'mongodb';
import type { DataSource, EntityManager } from 'typeorm';
import type { OrderServiceConfig } from '../config';
import { createOrderSaga } from '../domain/order-saga';
import { PlaceOrder } from '../features/place-order/place-order';
import { OrderQueries } from '../features/queries/order-queries';
import { DeadlineScheduler } from '../features/saga/deadline-scheduler';
import { sagaReplyHandlers } from '../features/saga/reply-handlers';
import { OrderSagaProcessor, SERVICE_NAME } from '../features/saga/saga-processor';
import { orderSummaryProjection } from '../read-model/order-summary.projection';
import { openOrdersDatabase } from './database';
import { AfterCommit, PrometheusSagaObserver } from './saga-metrics';

/** The reply topics the saga consumes; their dead letters are administered over HTTP too. */
export const ORDER_CONSUMED_TOPICS = [TOPICS.inventoryEvents, TOPICS.paymentEvents];

/**
 * Everything the order service runs besides HTTP, wired by hand (no framework below the edge):
 * the orders database, the outbox relay, the reply consumer, the deadline scheduler and the
 * read-model projection. `start` and `stop` order them so that nothing is lost on shutdown:
 * the lag monitor and the consumer stop first (the consumer finishing its in-flight reply), then
 * the scheduler, then the relay drains what they wrote, then the projection and the pools close.
 */
export class OrderRuntime {
  private constructor(
    readonly config: OrderServiceConfig,
    readonly dataSource: DataSource,
    readonly mongo: MongoClient,
    readonly placeOrder: PlaceOrder,
    readonly queries: OrderQueries,
    readonly readiness: readonly ReadinessCheck[],
    private readonly relay: PostgresOutboxRelay,
    private readonly consumer: MessageConsumer<EntityManager>,
    private readonly consumerLag: ConsumerLagMonitor,
    private readonly scheduler: DeadlineScheduler,
    private readonly projection: ProjectionRunner,
    private readonly publisher: KafkaPublisher,
    private listener: AppendListener | undefined,
  ) {}

  /** `metrics`: the service's registry; without it (tests) nothing is measured. */
  static async open(
    config: OrderServiceConfig,
    options: { metrics?: ServiceMetrics } = {},
  ): Promise<OrderRuntime> {
    const { metrics } = options;
    const kafka: KafkaConnectionConfig = { brokers: config.kafkaBrokers, clientId: SERVICE_NAME };
    await ensureTopics(
      kafka,
      Object.values(TOPICS).map((topic) => ({ topic, partitions: TOPIC_PARTITIONS })),
    );
    const dataSource = await openOrdersDatabase(config.databaseUrl);
    const mongo = new MongoClient(config.mongoUrl, {
      serverSelectionTimeoutMS: 3000,
      connectTimeoutMS: 3000,
    });
    await mongo.connect();
    const readDb = mongo.db(config.readModelDatabase);

    const registry = new MessageRegistry(allMessages);
    const store = new PostgresEventStore(dataSource);
    const outbox = new PostgresOutbox();
    const processor = new OrderSagaProcessor(
      store,
      outbox,
      createOrderSaga(config.saga),
      undefined,
      metrics && new PrometheusSagaObserver(metrics, new AfterCommit(dataSource)),
    );
    const publisher = new KafkaPublisher(kafka, { registry });
    const relay = new PostgresOutboxRelay({
      connection: config.databaseUrl,
      publisher,
      storeName: 'orders',
      ...(metrics && { metrics: metrics.messaging }),
    });
    const consumer = new MessageConsumer<EntityManager>({
      kafka,
      groupId: SERVICE_NAME,
      topics: ORDER_CONSUMED_TOPICS,
      registry,
      handlers: sagaReplyHandlers(processor),
      inbox: new PostgresInbox(dataSource),
      publisher,
      sessionTimeoutMs: config.consumerSessionTimeoutMs,
      ...(metrics && { metrics: metrics.messaging }),
    });
    const consumerLag = consumer.lagMonitor({ intervalMs: config.readiness.consumerLagPollMs });
    const scheduler = new DeadlineScheduler(dataSource, processor, {
      intervalMs: config.deadlineIntervalMs,
    });
    const projection = new ProjectionRunner({
      projection: orderSummaryProjection,
      source: store,
      db: readDb,
      checkpoints: new MongoCheckpointStore(readDb),
      pollIntervalMs: 500,
      ...(metrics && { metrics: metrics.projections }),
    });
    const readiness: ReadinessCheck[] = [
      {
        name: 'kafka',
        check: () => consumer.checkReady(),
      },
      {
        name: 'postgres',
        check: async () => {
          await dataSource.query('SELECT 1');
          return undefined;
        },
      },
      {
        name: 'mongodb',
        check: async () => {
          await readDb.command({ ping: 1 });
          return undefined;
        },
      },
      outboxBacklogCheck(
        () => outbox.backlog(dataSource.manager),
        config.readiness.maxOutboxBacklog,
      ),
      consumerLagCheck([consumerLag], config.readiness.maxConsumerLag),
    ];
    return new OrderRuntime(
      config,
      dataSource,
      mongo,
      new PlaceOrder(dataSource, store, processor),
      new OrderQueries(readDb, projection),
      readiness,
      relay,
      consumer,
      consumerLag,
      scheduler,
      projection,
      publisher,
      undefined,
    );
  }

  async start(): Promise<void> {
    this.relay.start();
    this.projection.start();
    this.listener = await listenForAppends(this.config.databaseUrl, () => {
      this.projection.wake();
    });
    this.scheduler.start();
    this.consumerLag.start();
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumerLag.stop();
    await this.consumer.stop();
    await this.scheduler.stop();
    await this.relay.drain(10_000).catch(() => undefined);
    await this.relay.stop();
    await this.publisher.close();
    await this.listener?.close();
    await this.projection.stop();
    await this.mongo.close();
    await this.dataSource.destroy();
  }

  /** Wakes the relay right after a local write instead of waiting for the notification. */
  nudgeRelay(): void {
    this.relay.nudge();
  }
}
