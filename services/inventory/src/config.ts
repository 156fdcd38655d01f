import { TOPIC_PARTITIONS } from '@platform/contracts';
import { readinessThresholds, setting } from '@platform/service-defaults';

/** Everything the inventory service reads from its environment, read once at start. */
export function inventoryServiceConfig() {
  return {
    port: setting.int('PORT', 3001),
    host: setting.string('HOST', '127.0.0.1'),
    mongoUrl: setting.string('MONGO_URL', 'mongodb://127.0.0.1:27017'),
    database: setting.string('INVENTORY_DATABASE', 'inventory'),
    kafkaBrokers: setting.list('KAFKA_BROKERS', ['127.0.0.1:9092']),
    consumerGroup: setting.string('INVENTORY_CONSUMER_GROUP', 'inventory-service'),
    consumerSessionTimeoutMs: setting.int('KAFKA_SESSION_TIMEOUT_MS', 10_000),
    /** Partitions of inventory.commands handled at once (orders on one partition stay in order). */
    consumerConcurrency: setting.int('INVENTORY_CONSUMER_CONCURRENCY', TOPIC_PARTITIONS),
    relayPollIntervalMs: setting.int('INVENTORY_RELAY_POLL_MS', 250),
    /** READY_MAX_OUTBOX_BACKLOG, READY_MAX_CONSUMER_LAG, CONSUMER_LAG_POLL_MS (docs/observability.md). */
    readiness: readinessThresholds(),
    /**
     * Test-only crash switch, inert unless set: the process SIGKILLs itself right after the first
     * SKU hold of an order whose id is this value (or of any order with `*`), before the
     * reservation records it. The failure-scenario suites use it to prove crash safety.
     */
    crashAfterHold: process.env.INVENTORY_TEST_CRASH_AFTER_HOLD ?? '',
  };
}

export type InventoryServiceConfig = ReturnType<typeof inventoryServiceConfig>;
