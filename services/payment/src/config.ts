import { readinessThresholds, setting, SettingError } from '@platform/service-defaults';

/** Everything the payment service reads from its environment, read once at start. */
export function paymentServiceConfig() {
  const config = {
    port: setting.int('PORT', 3002),
    host: setting.string('HOST', '127.0.0.1'),
    databaseUrl: setting.string(
      'PAYMENTS_DATABASE_URL',
      'postgres://postgres@127.0.0.1:5433/payments',
    ),
    kafkaBrokers: setting.list('KAFKA_BROKERS', ['127.0.0.1:9092']),
    providerUrl: setting.string('PAYMENT_PROVIDER_URL', 'http://127.0.0.1:4010'),
    /** The provider client's policies; the defaults and their reasons are in provider-client.ts. */
    provider: {
      timeoutMs: setting.int('PROVIDER_TIMEOUT_MS', 2000),
      attempts: setting.int('PROVIDER_ATTEMPTS', 3),
      backoff: {
        initialDelayMs: setting.int('PROVIDER_BACKOFF_INITIAL_MS', 100),
        maxDelayMs: setting.int('PROVIDER_BACKOFF_MAX_MS', 1000),
      },
      breaker: {
        consecutiveFailures: setting.int('PROVIDER_BREAKER_FAILURES', 5),
        halfOpenAfterMs: setting.int('PROVIDER_BREAKER_HALF_OPEN_MS', 10_000),
      },
      bulkhead: {
        limit: setting.int('PROVIDER_BULKHEAD_LIMIT', 8),
        queue: setting.int('PROVIDER_BULKHEAD_QUEUE', 16),
      },
    },
    /**
     * A cancellation that must find an authorization of unknown outcome waits until this long
     * after the attempts gave up, so a request the provider processes late is seen.
     */
    unknownOutcomeSettleMs: setting.int('PROVIDER_SETTLE_MS', 2000),
    consumer: {
      /** Should exceed the provider call budget (providerCallBudgetMs): handlers do not heartbeat. */
      sessionTimeoutMs: setting.int('KAFKA_SESSION_TIMEOUT_MS', 20_000),
      /** Partitions handled in parallel: one slow order does not hold up the others. */
      partitionsConcurrently: setting.int('PAYMENT_PARTITIONS_CONCURRENTLY', 3),
    },
    /**
     * Fault injection for the failure-scenario suites, inert unless set: step kinds (`authorize`,
     * `capture`, `void`, ...) after whose provider call the process kills itself with SIGKILL,
     * before committing (reliability scenario 3).
     */
    /** READY_MAX_OUTBOX_BACKLOG, READY_MAX_CONSUMER_LAG, CONSUMER_LAG_POLL_MS (docs/observability.md). */
    readiness: readinessThresholds(),
    crashAfterProviderCall: setting.list('PAYMENT_TEST_CRASH_AFTER_PROVIDER_CALL', []),
  };
  if (config.provider.attempts < 1 || config.provider.timeoutMs < 1) {
    throw new SettingError('PROVIDER_ATTEMPTS and PROVIDER_TIMEOUT_MS must be at least 1');
  }
  return config;
}

export type PaymentServiceConfig = ReturnType<typeof paymentServiceConfig>;

/**
 * The longest one provider call (all attempts and waits) can take. Handlers do not heartbeat, so
 * above KAFKA_SESSION_TIMEOUT_MS a slow call gets the consumer evicted mid-command. That is safe
 * (the command is redelivered, the advisory lock on the order serializes the two runs, and the
 * idempotency keys make the provider replay), but it costs a rebalance: the runtime warns at start.
 */
export function providerCallBudgetMs(provider: {
  timeoutMs: number;
  attempts: number;
  backoff: { maxDelayMs: number };
}): number {
  return (
    provider.attempts * provider.timeoutMs + (provider.attempts - 1) * provider.backoff.maxDelayMs
  );
}
