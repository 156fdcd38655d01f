import { readinessThresholds, setting } from '@platform/service-defaults';

/** Everything the order service reads from its environment, read once at start. */
export function orderServiceConfig() {
  return {
    port: setting.int('PORT', 3000),
    host: setting.string('HOST', '127.0.0.1'),
    databaseUrl: setting.string('ORDERS_DATABASE_URL', 'postgres://postgres@127.0.0.1:5433/orders'),
    mongoUrl: setting.string('MONGO_URL', 'mongodb://127.0.0.1:27017'),
    readModelDatabase: setting.string('ORDERS_READ_DATABASE', 'orders_read'),
    kafkaBrokers: setting.list('KAFKA_BROKERS', ['127.0.0.1:9092']),
    saga: {
      stepTimeoutMs: setting.int('SAGA_STEP_TIMEOUT_MS', 15_000),
      maxAttempts: setting.int('SAGA_MAX_ATTEMPTS', 5),
      retryDelayMs: setting.int('SAGA_RETRY_DELAY_MS', 2_000),
    },
    deadlineIntervalMs: setting.int('SAGA_DEADLINE_POLL_MS', 250),
    consumerSessionTimeoutMs: setting.int('KAFKA_SESSION_TIMEOUT_MS', 10_000),
    /** READY_MAX_OUTBOX_BACKLOG, READY_MAX_CONSUMER_LAG, CONSUMER_LAG_POLL_MS (docs/observability.md). */
    readiness: readinessThresholds(),
  };
}

export type OrderServiceConfig = ReturnType<typeof orderServiceConfig>;
