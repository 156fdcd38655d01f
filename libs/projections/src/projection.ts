import type { RecordedEvent } from '@platform/event-store';

/**
 * The MongoDB update operators a projection may use. A narrower type than the driver's
 * `UpdateFilter`, whose generic field typing fights documents with open shapes.
 */
export interface ReadModelUpdate {
  readonly $set?: Readonly<Record<string, unknown>>;
  readonly $setOnInsert?: Readonly<Record<string, unknown>>;
  readonly $inc?: Readonly<Record<string, number>>;
  readonly $push?: Readonly<Record<string, unknown>>;
  readonly $addToSet?: Readonly<Record<string, unknown>>;
  readonly $unset?: Readonly<Record<string, ''>>;
  readonly $max?: Readonly<Record<string, unknown>>;
  readonly $min?: Readonly<Record<string, unknown>>;
}

/**
 * One write to one read-model document, caused by one event. The runner applies it as an upsert
 * guarded by the event's global position, so applying the same event twice (after a crash, or
 * from two runners) changes nothing the second time.
 */
export interface ProjectionUpdate {
  /** `_id` of the read-model document. */
  readonly id: string;
  /** A MongoDB update (`$set`, `$inc`, `$push`, ...). Must not touch `_lastPosition`. */
  readonly update: ReadModelUpdate;
}

/**
 * A read model built from events. `project` is a pure function of one event: it says which
 * documents change and how, and never reads the read model (so replays are deterministic and a
 * rebuild equals the live result).
 */
export interface Projection {
  /** Also the checkpoint's name. */
  readonly name: string;
  /** The live collection queries read. */
  readonly collection: string;
  project(event: RecordedEvent): readonly ProjectionUpdate[];
}

/** Where events come from: the event store's global read (PostgresEventStore satisfies this). */
export interface EventSource {
  readAll(options: {
    after: RecordedEvent['globalPosition'];
    limit: number;
  }): Promise<readonly RecordedEvent[]>;
}

/** Observability hooks; `noopProjectionMetrics` ignores them. */
export interface ProjectionMetrics {
  /** Events applied in one pass. */
  applied(projection: string, events: number): void;
  /** Time between the newest applied event's recording and now (0 when caught up). */
  lag(projection: string, lagMs: number): void;
  /** A pass failed and will be retried. */
  failed(projection: string, error: unknown): void;
}

export const noopProjectionMetrics: ProjectionMetrics = {
  applied: () => undefined,
  lag: () => undefined,
  failed: () => undefined,
};
