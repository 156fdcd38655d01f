export {
  MONGO_OUTBOX_FIELD,
  MONGO_PARKED_FIELD,
  mongoOutboxBacklog,
  mongoOutboxEntries,
  withOutbox,
  type MongoOutboxEntry,
  type ParkedMongoOutboxEntry,
  type WithMongoOutbox,
} from './mongo-outbox';
export { MongoOutboxRelay, type MongoOutboxRelayOptions } from './mongo-outbox-relay';
export {
  OutboxTransactionRequiredError,
  PostgresOutbox,
  type OutboxBacklog,
  type ParkedOutboxMessage,
} from './postgres-outbox';
export {
  DEFAULT_OUTBOX_LOCK_KEY,
  PostgresOutboxRelay,
  type OutboxRelayTestHooks,
  type PostgresOutboxRelayOptions,
  type RelayRole,
} from './postgres-outbox-relay';
export {
  CreateOutbox1763780000000,
  OUTBOX_CHANNEL,
  OUTBOX_TABLE,
  outboxMigrations,
} from './postgres-outbox-schema';
export { type RelayBackoffOptions } from './relay-backoff';
export { MalformedOutboxMessageError } from './stored-message';
