// Public surface of @platform/messaging. Each area keeps its own block; add, do not reorder.

// Envelope, codec, publisher contract, metrics hooks, topic naming (shared)
export type { Envelope, IncomingMessage, OutgoingMessage, WireRecord } from './envelope';
export {
  decodeRecord,
  encodeEnvelope,
  HEADER,
  MalformedMessageError,
  type DecodedRecord,
} from './codec';
export {
  PermanentPublishError,
  type MessagePublisher,
  type RawRecord,
  type RawRecordPublisher,
} from './publisher';
export { noopMessagingMetrics, type MessagingMetrics } from './metrics';
export { deadLetterTopic, isDeadLetterTopic, originalTopicOf, retryTopic } from './topics';

// Schemas and envelopes
export {
  createEnvelope,
  defineMessage,
  defineUpcaster,
  FutureSchemaVersionError,
  InvalidPayloadError,
  MessageRegistry,
  MessageValidationError,
  RegistryDefinitionError,
  UnknownMessageTypeError,
  UnsupportedSchemaVersionError,
  type CreateEnvelopeInput,
  type IncomingValidation,
  type MessageDefinition,
  type MessageRejectionReason,
  type Upcaster,
} from './schemas';

// Kafka transport (kafkajs stays behind these)
export type { KafkaConnectionConfig } from './kafka-client';
export { KafkaPublisher, PublishTimeoutError, type KafkaPublisherOptions } from './kafka-publisher';
export {
  ensureTopics,
  TopicMismatchError,
  type EnsureTopicsResult,
  type TopicSpec,
} from './topic-admin';
export { jsonLogger, silentLogger, type MessagingLogger } from './logger';

// Consumers, inbox, retries, dead letters, redrive
export { MessageConsumer, type ConsumerState, type MessageConsumerOptions } from './consumer';
export {
  ConsumerLagMonitor,
  DEFAULT_CONSUMER_LAG_INTERVAL_MS,
  type ConsumerLagMonitorOptions,
  type ConsumerLagSnapshot,
  type PartitionLag,
} from './consumer-lag';
export {
  DependencyUnavailableError,
  handler,
  idempotentHandler,
  PermanentHandlerError,
  type HandlerContext,
  type IdempotentMessageHandler,
  type InboxHandlerContext,
  type InboxMessageHandler,
  type MessageHandler,
} from './handler';
export {
  CreateInbox1763780000100,
  INBOX_TABLE,
  inboxMigrations,
  PostgresInbox,
  type Inbox,
  type InboxEntry,
} from './inbox';
export { backoffDelay, DEFAULT_RETRY_POLICY, maxRetryBudgetMs, type RetryPolicy } from './backoff';
export {
  DEAD_LETTER_HEADER,
  readDeadLetterDetails,
  REDRIVE_HEADER,
  type DeadLetterDetails,
  type DeadLetterReason,
} from './dead-letter';
export {
  DeadLetterReadTimeoutError,
  DeadLetters,
  type DeadLetterEntry,
  type DeadLettersOptions,
  type RedriveResult,
  type RedriveSelection,
} from './redrive';

// Transactional outbox (Postgres and MongoDB) and its relays
export {
  CreateOutbox1763780000000,
  DEFAULT_OUTBOX_LOCK_KEY,
  MalformedOutboxMessageError,
  MONGO_OUTBOX_FIELD,
  MONGO_PARKED_FIELD,
  mongoOutboxBacklog,
  mongoOutboxEntries,
  MongoOutboxRelay,
  OUTBOX_CHANNEL,
  OUTBOX_TABLE,
  outboxMigrations,
  OutboxTransactionRequiredError,
  PostgresOutbox,
  PostgresOutboxRelay,
  withOutbox,
  type MongoOutboxEntry,
  type MongoOutboxRelayOptions,
  type OutboxBacklog,
  type OutboxRelayTestHooks,
  type ParkedMongoOutboxEntry,
  type ParkedOutboxMessage,
  type PostgresOutboxRelayOptions,
  type RelayBackoffOptions,
  type RelayRole,
  type WithMongoOutbox,
} from './outbox';
export { activeTraceContext, tagActiveSpan, type TraceContext } from './tracing';
