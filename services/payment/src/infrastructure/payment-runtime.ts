import { allMessages, TOPIC_PARTITIONS, TOPICS } from '@platform/contracts';
import { PostgresEventStore } from '@platform/event-store';
import {
  ensureTopics,
  jsonLogger,
  KafkaPublisher,
  MessageConsumer,
  MessageRegistry,
  PostgresInbox,
  PostgresOutbox,
  PostgresOutboxRelay,
  type KafkaConnectionConfig,
  type MessagingLogger,
  type TopicSpec,
  type ConsumerLagMonitor,
} from '@platform/messaging';
import {
  consumerLagCheck,
  outboxBacklogCheck,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@platform/service-defaults';
import type { DataSource, EntityManager } from 'typeorm';
import { providerCallBudgetMs, type PaymentServiceConfig } from '../config';
import { paymentCommandHandlers } from '../features/commands/payment-command-handlers';
import {
  PaymentCommandProcessor,
  SERVICE_NAME,
  type PaymentProcessorHooks,
} from '../features/commands/payment-command-processor';
import { PaymentQueries } from '../features/queries/payment-queries';
import { openPaymentsDatabase } from './database';
import { ProviderClient, type BreakerState } from './provider-client';

/** The topics the payment consumer reads; their dead letters are administered over HTTP too. */
export const PAYMENT_CONSUMED_TOPICS = [TOPICS.paymentCommands];

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];

export interface PaymentRuntimeOptions {
  /** Test seams (see PaymentProcessorHooks); main.ts sets them only from the test-only variable. */
  readonly hooks?: PaymentProcessorHooks;
  readonly logger?: MessagingLogger;
  /** The service's metrics registry; without it (tests) nothing is measured. */
  readonly metrics?: ServiceMetrics;
}

const PAYMENT_TOPICS: TopicSpec[] = [
  { topic: TOPICS.paymentCommands, partitions: TOPIC_PARTITIONS },
  { topic: TOPICS.paymentEvents, partitions: TOPIC_PARTITIONS },
];

/** `payment_provider_breaker_state{state}`: 1 for the breaker's current state, 0 for the others. */
function trackBreakerState(provider: ProviderClient, metrics: ServiceMetrics): void {
  const gauge = metrics.gauge({
    name: 'payment_provider_breaker_state',
    help: 'The payment provider circuit breaker: 1 for its current state (closed, open, half-open, isolated), 0 otherwise.',
    labelNames: ['state'],
  });
  const show = (current: BreakerState) => {
    for (const state of BREAKER_STATES) gauge.set({ state }, state === current ? 1 : 0);
  };
  show(provider.breakerState);
  provider.onBreakerStateChange(show);
}

/**
 * Everything the payment service runs besides HTTP, wired by hand (no framework below the edge):
 * the payments database (migrated at open), the provider client with its policies, the command
 * consumer with its lag monitor and the outbox relay that publishes the replies. `stop` orders the
 * shutdown so nothing is lost: the lag monitor and the consumer stop first (the consumer finishing
 * the command in hand, provider call included), the relay then drains the replies it wrote, and
 * only then do the publisher and the pool close.
 */
export class PaymentRuntime {
  private constructor(
    readonly config: PaymentServiceConfig,
    readonly dataSource: DataSource,
    readonly provider: ProviderClient,
    readonly queries: PaymentQueries,
    readonly readiness: readonly ReadinessCheck[],
    private readonly relay: PostgresOutboxRelay,
    private readonly consumer: MessageConsumer<EntityManager>,
    private readonly consumerLag: ConsumerLagMonitor,
    private readonly publisher: KafkaPublisher,
    private readonly logger: MessagingLogger,
  ) {}

  static async open(
    config: PaymentServiceConfig,
    options: PaymentRuntimeOptions = {},
  ): Promise<PaymentRuntime> {
    const logger = options.logger ?? jsonLogger('info', SERVICE_NAME);
    const kafka: KafkaConnectionConfig = { brokers: config.kafkaBrokers, clientId: SERVICE_NAME };
    await ensureTopics(kafka, PAYMENT_TOPICS);
    const budgetMs = providerCallBudgetMs(config.provider);
    if (budgetMs >= config.consumer.sessionTimeoutMs) {
      logger.warn(
        'a provider call can outlast the Kafka session timeout; a slow provider will cause rebalances (safe, but slow)',
        { providerCallBudgetMs: budgetMs, sessionTimeoutMs: config.consumer.sessionTimeoutMs },
      );
    }
    const dataSource = await openPaymentsDatabase(config.databaseUrl, {
      idleInTransactionTimeoutMs: Math.max(30_000, 2 * budgetMs),
      // One session per partition handled concurrently (held across a provider call), plus HTTP.
      poolSize: config.consumer.partitionsConcurrently + 5,
    });

    const registry = new MessageRegistry(allMessages);
    const store = new PostgresEventStore(dataSource);
    const provider = new ProviderClient({
      baseUrl: config.providerUrl,
      policy: config.provider,
      logger,
    });
    const outbox = new PostgresOutbox();
    const processor = new PaymentCommandProcessor(store, outbox, provider, {
      ...(options.hooks && { hooks: options.hooks }),
      unknownOutcomeSettleMs: config.unknownOutcomeSettleMs,
      logger,
    });
    const publisher = new KafkaPublisher(kafka, { registry });
    const relay = new PostgresOutboxRelay({
      connection: config.databaseUrl,
      publisher,
      storeName: 'payments',
      ...(options.metrics && { metrics: options.metrics.messaging }),
    });
    const consumer = new MessageConsumer<EntityManager>({
      kafka,
      groupId: SERVICE_NAME,
      topics: PAYMENT_CONSUMED_TOPICS,
      registry,
      handlers: paymentCommandHandlers(processor),
      inbox: new PostgresInbox(dataSource),
      publisher,
      sessionTimeoutMs: config.consumer.sessionTimeoutMs,
      partitionsConsumedConcurrently: config.consumer.partitionsConcurrently,
      ...(options.metrics && { metrics: options.metrics.messaging }),
    });
    const consumerLag = consumer.lagMonitor({ intervalMs: config.readiness.consumerLagPollMs });
    if (options.metrics) trackBreakerState(provider, options.metrics);

    const readiness: ReadinessCheck[] = [
      {
        name: 'postgres',
        check: async () => {
          await dataSource.query('SELECT 1');
          return undefined;
        },
      },
      {
        name: 'kafka',
        check: () => consumer.checkReady(),
      },
      {
        // Informational, never failing: with the provider down the service still answers every
        // command (declining fast), and taking all instances out of rotation would not help.
        name: 'payment-provider',
        check: () => Promise.resolve({ breaker: provider.breakerState }),
      },
      outboxBacklogCheck(
        () => outbox.backlog(dataSource.manager),
        config.readiness.maxOutboxBacklog,
      ),
      consumerLagCheck([consumerLag], config.readiness.maxConsumerLag),
    ];
    return new PaymentRuntime(
      config,
      dataSource,
      provider,
      new PaymentQueries(store),
      readiness,
      relay,
      consumer,
      consumerLag,
      publisher,
      logger,
    );
  }

  async start(): Promise<void> {
    this.relay.start();
    this.consumerLag.start();
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumerLag.stop();
    await this.consumer.stop();
    await this.relay.drain(10_000).catch((error: unknown) => {
      this.logger.warn(
        'outbox not drained at shutdown; the relay publishes the rest on the next start',
        {
          error,
        },
      );
    });
    await this.relay.stop();
    await this.publisher.close();
    await this.dataSource.destroy();
  }
}
