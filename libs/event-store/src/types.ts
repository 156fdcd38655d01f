/**
 * Public types of the event store. The implementation (Postgres, TypeORM migrations) lives in
 * postgres-event-store.ts; readers such as projections depend only on these types.
 */

/**
 * Position of an event in the global order. Ordered by `commit` (the Postgres transaction id,
 * xid8) and then by `position` (a sequence value). Comparing the pair, never `position` alone,
 * is what keeps a reader from skipping an event whose transaction commits late; see
 * docs/adr/0002-gap-free-global-order-in-postgres.md and libs/event-store/README.md.
 */
export interface GlobalPosition {
  readonly commit: bigint;
  readonly position: bigint;
}

/** Before the first event: `readAll({ after: START })` reads from the beginning. */
export const START: GlobalPosition = Object.freeze({ commit: 0n, position: 0n });

/** Expected version of a stream when appending. Versions count events: the first event is 1. */
export type ExpectedVersion =
  /** The stream must be at exactly this version (0 = must not exist yet). */
  | number
  /** The stream must not exist. Same as 0. */
  | 'no_stream'
  /** No check (use only for streams with a single writer). */
  | 'any';

/** Who and what caused an event; copied into the messages it leads to. */
export interface EventMetadata {
  /** Id of this event as a message (unique; the inbox dedupes on it downstream). */
  readonly messageId: string;
  /** Id shared by everything one user request caused (one order). */
  readonly correlationId: string;
  /** Id of the message or request that directly caused this event. */
  readonly causationId?: string;
  /** W3C trace context of the operation that recorded the event. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Authenticated actor (user or service) when there is one. */
  readonly actor?: string;
}

/** An event to append. `schemaVersion` defaults to the registered current version (else 1). */
export interface NewEvent<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: EventMetadata;
  readonly schemaVersion?: number;
}

/** An event as stored, already upcast to the current schema version of its type. */
export interface RecordedEvent<Type extends string = string, Data = unknown> {
  readonly streamId: string;
  readonly streamVersion: number;
  readonly globalPosition: GlobalPosition;
  readonly type: Type;
  readonly schemaVersion: number;
  readonly data: Data;
  readonly metadata: EventMetadata;
  readonly recordedAt: Date;
}

export interface AppendResult {
  /** Stream version after the append (the version of the last appended event). */
  readonly nextExpectedVersion: number;
  /** Global position of the last appended event: a read model at or past it has seen the write. */
  readonly lastPosition: GlobalPosition;
}

/** Turns the stored data of `type` at `fromVersion` into the shape of version `fromVersion + 1`. */
export interface Upcaster {
  readonly type: string;
  readonly fromVersion: number;
  readonly upcast: (data: unknown) => unknown;
}

/** Raised when the stream is not at the expected version: someone else appended first. */
export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';

  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number | undefined,
  ) {
    super(
      `stream ${streamId} expected version ${String(expected)} but is at ${actual === undefined ? 'an unknown version' : String(actual)}`,
    );
  }
}

export function comparePositions(a: GlobalPosition, b: GlobalPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return 0;
}

/** Text form for HTTP and documents: `<commit>-<position>`. */
export function formatPosition(p: GlobalPosition): string {
  return `${p.commit.toString()}-${p.position.toString()}`;
}

export function parsePosition(text: string): GlobalPosition {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(text);
  if (!match?.[1] || !match[2]) throw new RangeError(`not a global position: "${text}"`);
  return { commit: BigInt(match[1]), position: BigInt(match[2]) };
}
