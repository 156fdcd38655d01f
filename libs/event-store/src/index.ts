export {
  comparePositions,
  formatPosition,
  parsePosition,
  START,
  WrongExpectedVersionError,
  type AppendResult,
  type EventMetadata,
  type ExpectedVersion,
  type GlobalPosition,
  type NewEvent,
  type RecordedEvent,
  type Upcaster,
} from './types';
export { DuplicateEventError, UnknownSchemaVersionError } from './errors';
export {
  PostgresEventStore,
  type AggregateResult,
  type AggregateStreamOptions,
  type AppendOptions,
  type PostgresEventStoreOptions,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SnapshotOptions,
  type StreamFold,
} from './postgres-event-store';
export { EventStoreSchema1795305600000, eventStoreMigrations } from './migrations';
export { listenForAppends, type AppendListener, type AppendListenerOptions } from './listener';
export { APPENDS_CHANNEL } from './schema';
