import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { DuplicateEventError } from './errors';
import { SCHEMA } from './schema';
import {
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
import { SchemaRegistry } from './upcasting';

export interface PostgresEventStoreOptions {
  /** Steps that lift stored data to the next schema version of a type. */
  readonly upcasters?: readonly Upcaster[];
  /** Current schema version per event type (default 1): appends stamp it, reads upcast to it. */
  readonly currentVersions?: Record<string, number>;
}

export interface AppendOptions {
  readonly expectedVersion: ExpectedVersion;
  /**
   * A transactional EntityManager (from `dataSource.transaction(...)` or a QueryRunner after
   * `startTransaction()`): the append joins that transaction and commits or rolls back with it.
   * Without one, the append runs in its own transaction.
   */
  readonly manager?: EntityManager;
  /** Stored on a new stream; defaults to the part of the stream id before the first `-`. */
  readonly streamType?: string;
}

export interface ReadStreamOptions {
  /** First stream version to return (inclusive); default 1. */
  readonly fromVersion?: number;
  /** Read inside this transaction (sees its own uncommitted appends). */
  readonly manager?: EntityManager;
}

export interface ReadAllOptions {
  /** Exclusive: returns events strictly after this position. */
  readonly after: GlobalPosition;
  /** At most this many events (1..10000). */
  readonly limit: number;
}

/**
 * How to fold a stream into state. `Event` lets the caller name the event shapes it expects; the
 * store does not validate payloads, it only upcasts them to the current schema version.
 */
export interface StreamFold<State, Event extends RecordedEvent = RecordedEvent> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: Event) => State;
}

export interface SnapshotOptions {
  /** Name of the folded state (one snapshot per stream and type). */
  readonly type: string;
  /** Write a new snapshot once this many events were folded beyond the one loaded. */
  readonly every: number;
  /**
   * Version of the state's shape (default 1). Bump it whenever `evolve` or the state shape
   * changes: a stored snapshot with another version is ignored and rebuilt from the events.
   */
  readonly schemaVersion?: number;
}

export interface AggregateStreamOptions {
  readonly snapshot?: SnapshotOptions;
  /** Read (and write the snapshot) inside this transaction. */
  readonly manager?: EntityManager;
}

export interface AggregateResult<State> {
  readonly state: State;
  /** Version of the last event folded in (0 for a stream without events). */
  readonly version: number;
}

const MAX_READ_ALL_LIMIT = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Positions travel as text (bigint and xid8 exceed JS numbers). The aliases differ from the
// column names on purpose: ORDER BY prefers output names, and ordering by text is wrong.
const EVENT_COLUMNS = `
  e.global_position::text AS position_text,
  e.transaction_id::text  AS commit_text,
  e.stream_id, e.stream_version, e.event_type, e.schema_version, e.data, e.metadata, e.recorded_at`;

interface EventRow {
  position_text: string;
  commit_text: string;
  stream_id: string;
  stream_version: number;
  event_type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  recorded_at: Date;
}

interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: string;
  readonly metadata: string;
}

/**
 * Event store on PostgreSQL (tables from `eventStoreMigrations`).
 *
 * Writes: optimistic concurrency on the stream's row, inside the caller's transaction or its own.
 * Reads: per stream in version order, and globally in `(transaction_id, position)` order without
 * ever skipping a late-committing transaction (ADR 0002). See README.md for the guarantees.
 */
export class PostgresEventStore {
  private readonly schemas: SchemaRegistry;

  constructor(
    private readonly dataSource: DataSource,
    options: PostgresEventStoreOptions = {},
  ) {
    this.schemas = new SchemaRegistry(options.upcasters, options.currentVersions);
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    requireStreamId(streamId);
    if (events.length === 0) {
      throw new RangeError(`appendToStream(${streamId}): no events to append`);
    }
    const expected = requireExpectedVersion(options.expectedVersion);
    const prepared = events.map((event) => this.prepare(streamId, event));
    const ids = prepared.map((event) => event.id.toLowerCase());
    if (new Set(ids).size !== ids.length) throw new DuplicateEventError(streamId, ids);
    const streamType = options.streamType ?? streamId.split('-', 1)[0] ?? streamId;

    const append = (runner: QueryRunner) =>
      this.appendWith(runner, streamId, streamType, prepared, expected).catch((error: unknown) => {
        throw translateError(error, streamId, expected, ids);
      });
    if (options.manager) return append(transactionalRunner(options.manager));
    return this.dataSource.transaction((manager) => append(transactionalRunner(manager)));
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    requireStreamId(streamId);
    const fromVersion = options.fromVersion ?? 1;
    if (!Number.isSafeInteger(fromVersion) || fromVersion < 0) {
      throw new RangeError(`fromVersion must be an integer >= 0, got ${String(fromVersion)}`);
    }
    const rows = await select<EventRow>(
      options.manager ?? this.dataSource.manager,
      `SELECT ${EVENT_COLUMNS}
         FROM ${SCHEMA}.events e
        WHERE e.stream_id = $1 AND e.stream_version >= $2
        ORDER BY e.stream_version`,
      [streamId, fromVersion],
    );
    return rows.map((row) => this.toRecorded(row));
  }

  /**
   * Events after `after` in global order. Only transactions older than the oldest one still
   * running are visible here, so whatever commits later sorts after everything returned: a
   * checkpoint at the last returned position never skips an event. Costs lag, never loss.
   */
  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const { after, limit } = options;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_READ_ALL_LIMIT) {
      throw new RangeError(
        `limit must be an integer in 1..${MAX_READ_ALL_LIMIT}, got ${String(limit)}`,
      );
    }
    requirePosition(after);
    const rows = await select<EventRow>(
      this.dataSource.manager,
      `SELECT ${EVENT_COLUMNS}
         FROM ${SCHEMA}.events e
        WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
          AND e.transaction_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
        ORDER BY e.transaction_id, e.global_position
        LIMIT $3`,
      [after.commit.toString(), after.position.toString(), limit],
    );
    return rows.map((row) => this.toRecorded(row));
  }

  /** The last position `readAll` could return right now (START when there is none). */
  async headPosition(): Promise<GlobalPosition> {
    const rows = await select<{ commit_text: string; position_text: string }>(
      this.dataSource.manager,
      `SELECT e.transaction_id::text AS commit_text, e.global_position::text AS position_text
         FROM ${SCHEMA}.events e
        WHERE e.transaction_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
        ORDER BY e.transaction_id DESC, e.global_position DESC
        LIMIT 1`,
      [],
    );
    const row = rows[0];
    return row ? { commit: BigInt(row.commit_text), position: BigInt(row.position_text) } : START;
  }

  /**
   * Folds a stream into state. With `snapshot`, starts from the stored snapshot (when its schema
   * version matches), folds only the events after it, and stores a fresh snapshot once `every`
   * events were folded beyond it. Snapshots are a cache: the result equals a full replay.
   */
  async aggregateStream<State, Event extends RecordedEvent = RecordedEvent>(
    streamId: string,
    fold: StreamFold<State, Event>,
    options: AggregateStreamOptions = {},
  ): Promise<AggregateResult<State>> {
    requireStreamId(streamId);
    const manager = options.manager ?? this.dataSource.manager;
    const snapshot = options.snapshot;
    const snapshotVersion = snapshot?.schemaVersion ?? 1;
    if (snapshot) {
      if (!Number.isSafeInteger(snapshot.every) || snapshot.every < 1) {
        throw new RangeError(
          `snapshot.every must be an integer >= 1, got ${String(snapshot.every)}`,
        );
      }
      if (!Number.isSafeInteger(snapshotVersion) || snapshotVersion < 1) {
        throw new RangeError(
          `snapshot.schemaVersion must be an integer >= 1, got ${String(snapshotVersion)}`,
        );
      }
    }

    let state = fold.initialState();
    let version = 0;
    if (snapshot) {
      const rows = await select<{ stream_version: number; schema_version: number; state: unknown }>(
        manager,
        `SELECT stream_version, schema_version, state
           FROM ${SCHEMA}.snapshots
          WHERE stream_id = $1 AND snapshot_type = $2`,
        [streamId, snapshot.type],
      );
      const stored = rows[0];
      if (stored?.schema_version === snapshotVersion) {
        // The snapshot was written from this State type (same schema version); JSON is all
        // that can be checked here.
        state = stored.state as State;
        version = stored.stream_version;
      }
    }
    const base = version;

    for (const event of await this.readStream(streamId, { fromVersion: version + 1, manager })) {
      state = fold.evolve(state, event as Event);
      version = event.streamVersion;
    }

    if (snapshot && version - base >= snapshot.every) {
      await manager.query(
        `INSERT INTO ${SCHEMA}.snapshots (stream_id, snapshot_type, stream_version, schema_version, state)
         VALUES ($1, $2, $3, $4, $5::jsonb)
         ON CONFLICT (stream_id, snapshot_type) DO UPDATE
            SET stream_version = EXCLUDED.stream_version,
                schema_version = EXCLUDED.schema_version,
                state = EXCLUDED.state,
                created_at = now()
          WHERE ${SCHEMA}.snapshots.stream_version < EXCLUDED.stream_version
             OR ${SCHEMA}.snapshots.schema_version <> EXCLUDED.schema_version`,
        [streamId, snapshot.type, version, snapshotVersion, toJson(state, 'snapshot state')],
      );
    }
    return { state, version };
  }

  private prepare(streamId: string, event: NewEvent): PreparedEvent {
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new TypeError(`stream ${streamId}: an event needs a non-empty type`);
    }
    const metadata: unknown = event.metadata;
    if (!isMetadata(metadata)) {
      throw new TypeError(
        `stream ${streamId}: event ${event.type} needs metadata with string messageId and correlationId`,
      );
    }
    if (!UUID.test(metadata.messageId)) {
      throw new TypeError(
        `stream ${streamId}: metadata.messageId must be a UUID (it is the event id), got "${metadata.messageId}"`,
      );
    }
    return {
      id: metadata.messageId,
      type: event.type,
      schemaVersion: this.schemas.versionForAppend(event.type, event.schemaVersion),
      data: toJson(event.data, `data of ${event.type}`),
      metadata: toJson(metadata, `metadata of ${event.type}`),
    };
  }

  private async appendWith(
    runner: QueryRunner,
    streamId: string,
    streamType: string,
    events: readonly PreparedEvent[],
    expected: ExpectedVersion,
  ): Promise<AppendResult> {
    const count = events.length;
    let startVersion: number;
    if (expected === 'any') {
      const rows = await execute<{ version: number }>(
        runner,
        `INSERT INTO ${SCHEMA}.streams AS s (stream_id, stream_type, version)
         VALUES ($1, $2, $3)
         ON CONFLICT (stream_id) DO UPDATE SET version = s.version + EXCLUDED.version, updated_at = now()
         RETURNING version`,
        [streamId, streamType, count],
      );
      startVersion = requireRow(rows, 'stream upsert').version - count;
    } else if (expected === 'no_stream' || expected === 0) {
      // ON CONFLICT waits for a concurrent, uncommitted creator and then does nothing if it
      // committed: exactly one creator wins.
      const rows = await execute<{ version: number }>(
        runner,
        `INSERT INTO ${SCHEMA}.streams (stream_id, stream_type, version)
         VALUES ($1, $2, $3)
         ON CONFLICT (stream_id) DO NOTHING
         RETURNING version`,
        [streamId, streamType, count],
      );
      if (rows.length === 0) {
        throw new WrongExpectedVersionError(
          streamId,
          expected,
          await currentVersion(runner, streamId),
        );
      }
      startVersion = 0;
    } else {
      // Under READ COMMITTED a concurrent writer blocks on the row lock; once it commits, the WHERE
      // is re-checked against the new row and no longer matches: 0 rows, never a lost update.
      const rows = await execute<{ version: number }>(
        runner,
        `UPDATE ${SCHEMA}.streams
            SET version = version + $3, updated_at = now()
          WHERE stream_id = $1 AND version = $2
          RETURNING version`,
        [streamId, expected, count],
      );
      if (rows.length === 0) {
        throw new WrongExpectedVersionError(
          streamId,
          expected,
          await currentVersion(runner, streamId),
        );
      }
      startVersion = expected;
    }

    const inserted = await execute<{
      position_text: string;
      commit_text: string;
      stream_version: number;
    }>(
      runner,
      `INSERT INTO ${SCHEMA}.events
              (stream_id, stream_version, event_id, event_type, schema_version, data, metadata)
       SELECT $1, $2::integer + e.ord::integer, e.event_id, e.event_type, e.schema_version, e.data, e.metadata
         FROM unnest($3::uuid[], $4::text[], $5::integer[], $6::jsonb[], $7::jsonb[])
              WITH ORDINALITY AS e (event_id, event_type, schema_version, data, metadata, ord)
        ORDER BY e.ord
       RETURNING global_position::text AS position_text,
                 transaction_id::text  AS commit_text,
                 stream_version`,
      [
        streamId,
        startVersion,
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => e.schemaVersion),
        events.map((e) => e.data),
        events.map((e) => e.metadata),
      ],
    );
    const last = inserted.reduce<(typeof inserted)[number] | undefined>(
      (found, row) => (found && found.stream_version > row.stream_version ? found : row),
      undefined,
    );
    if (!last || inserted.length !== count) {
      throw new Error(`stream ${streamId}: inserted ${inserted.length} of ${count} events`);
    }
    return {
      nextExpectedVersion: last.stream_version,
      lastPosition: { commit: BigInt(last.commit_text), position: BigInt(last.position_text) },
    };
  }

  private toRecorded(row: EventRow): RecordedEvent {
    if (!isMetadata(row.metadata)) {
      throw new Error(
        `event at position ${row.commit_text}-${row.position_text} (stream ${row.stream_id}) has malformed metadata`,
      );
    }
    const { data, version } = this.schemas.upcast(row.event_type, row.schema_version, row.data);
    return {
      streamId: row.stream_id,
      streamVersion: row.stream_version,
      globalPosition: { commit: BigInt(row.commit_text), position: BigInt(row.position_text) },
      type: row.event_type,
      schemaVersion: version,
      data,
      metadata: row.metadata,
      recordedAt: row.recorded_at,
    };
  }
}

/** The QueryRunner of a manager that is inside a transaction; anything else is a caller bug. */
function transactionalRunner(manager: EntityManager): QueryRunner {
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) {
    // Without a transaction the stream row and the events would commit separately.
    throw new TypeError(
      'appendToStream: options.manager must be a transactional EntityManager (dataSource.transaction(...) or a QueryRunner after startTransaction())',
    );
  }
  return runner;
}

/** Rows of a statement with RETURNING (structured result: TypeORM reshapes UPDATE results). */
async function execute<T>(runner: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  const result = await runner.query(sql, params, true);
  const records: unknown = (result as { records?: unknown }).records;
  if (!Array.isArray(records)) throw new Error('unexpected query result: no records');
  return records as T[];
}

/** Rows of a SELECT. */
async function select<T>(manager: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const rows: unknown = await manager.query(sql, params);
  if (!Array.isArray(rows)) throw new Error('unexpected query result: not a row list');
  return rows as T[];
}

async function currentVersion(runner: QueryRunner, streamId: string): Promise<number> {
  const rows = await execute<{ version: number }>(
    runner,
    `SELECT version FROM ${SCHEMA}.streams WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0]?.version ?? 0;
}

function requireRow<T>(rows: readonly T[], what: string): T {
  const row = rows[0];
  if (row === undefined) throw new Error(`${what} returned no row`);
  return row;
}

/**
 * Unique violations mean another writer got there first; they back up the version check (e.g.
 * when 'any' races a creator), so they surface as the same error, never as a silent overwrite.
 */
function translateError(
  error: unknown,
  streamId: string,
  expected: ExpectedVersion,
  ids: readonly string[],
): unknown {
  const { code, constraint } = pgErrorFields(error);
  if (code !== '23505') return error;
  const translated =
    constraint === 'events_event_id_key'
      ? new DuplicateEventError(streamId, ids)
      : new WrongExpectedVersionError(streamId, expected, undefined);
  translated.cause = error;
  return translated;
}

function pgErrorFields(error: unknown): { code?: string; constraint?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const driverError: unknown = (error as { driverError?: unknown }).driverError;
  const source = typeof driverError === 'object' && driverError !== null ? driverError : error;
  const { code, constraint } = source as { code?: unknown; constraint?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof constraint === 'string' ? { constraint } : {}),
  };
}

function isMetadata(value: unknown): value is EventMetadata {
  if (typeof value !== 'object' || value === null) return false;
  const { messageId, correlationId } = value as Record<string, unknown>;
  return typeof messageId === 'string' && typeof correlationId === 'string';
}

function toJson(value: unknown, what: string): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError(`${what} is not JSON-serialisable`);
  return json;
}

function requireStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new TypeError('a stream id must be a non-empty string');
  }
}

function requireExpectedVersion(expected: ExpectedVersion): ExpectedVersion {
  if (expected === 'any' || expected === 'no_stream') return expected;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) {
    return expected;
  }
  throw new RangeError(
    `expectedVersion must be 'any', 'no_stream' or an integer >= 0, got ${String(expected)}`,
  );
}

function requirePosition(position: GlobalPosition): void {
  const { commit, position: value } = position;
  if (typeof commit !== 'bigint' || typeof value !== 'bigint' || commit < 0n || value < 0n) {
    throw new RangeError('after must be a GlobalPosition with non-negative bigint fields');
  }
}
