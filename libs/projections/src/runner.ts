import { comparePositions, type GlobalPosition, type RecordedEvent } from '@platform/event-store';
import type { Collection, Db, Document, UpdateFilter } from 'mongodb';
import type { CheckpointStore } from './checkpoint-store';
import { positionKey } from './position-key';
import {
  noopProjectionMetrics,
  type EventSource,
  type Projection,
  type ProjectionMetrics,
} from './projection';

export interface ProjectionRunnerOptions {
  readonly projection: Projection;
  readonly source: EventSource;
  readonly db: Db;
  readonly checkpoints: CheckpointStore;
  /** Write into this collection instead of the projection's live one (rebuilds). */
  readonly targetCollection?: string;
  /** Checkpoint name; defaults to the projection's name. */
  readonly checkpointName?: string;
  readonly batchSize?: number;
  /** Safety-net polling interval when idle; `wake()` (e.g. on an append notification) cuts it short. */
  readonly pollIntervalMs?: number;
  /** Longest back-off after failures (MongoDB or Postgres down). */
  readonly maxBackoffMs?: number;
  readonly metrics?: ProjectionMetrics;
  readonly onError?: (error: unknown) => void;
}

/** Read-model documents are keyed by a string id (usually the stream's id). */
type ReadModelDocument = Document & { _id: string };

/** Field the runner keeps on every read-model document: the last event position applied to it. */
export const LAST_POSITION_FIELD = '_lastPosition';

/**
 * Applies events from the event store's global order to a MongoDB read model.
 *
 * Guarantees:
 * - Every write is an upsert guarded by the event's position on that document
 *   (`_lastPosition < position`), so re-applying an event is a no-op. MongoDB (and the local
 *   server especially) has no multi-document transactions, so document writes and the checkpoint
 *   cannot commit together; the guard is what makes replay after a crash safe.
 * - The checkpoint is written only after every write of the batch was acknowledged: it is never
 *   ahead of what was applied. After a crash the runner re-reads from the checkpoint and the
 *   guard skips what was already there.
 * - A failing pass (MongoDB down, Postgres down, a projection bug) is retried with back-off from
 *   the same checkpoint. Events are never skipped: a projection that throws on an event stops
 *   the read model there, visibly (metrics.failed, onError), until it is fixed.
 */
export class ProjectionRunner {
  private readonly projection: Projection;
  private readonly source: EventSource;
  private readonly checkpoints: CheckpointStore;
  private readonly collection: Collection<ReadModelDocument>;
  private readonly checkpointName: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly metrics: ProjectionMetrics;
  private readonly onError: (error: unknown) => void;

  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;

  constructor(options: ProjectionRunnerOptions) {
    this.projection = options.projection;
    this.source = options.source;
    this.checkpoints = options.checkpoints;
    this.collection = options.db.collection<ReadModelDocument>(
      options.targetCollection ?? options.projection.collection,
    );
    this.checkpointName = options.checkpointName ?? options.projection.name;
    this.batchSize = options.batchSize ?? 500;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.metrics = options.metrics ?? noopProjectionMetrics;
    this.onError = options.onError ?? (() => undefined);
  }

  get name(): string {
    return this.checkpointName;
  }

  /** Starts the loop in the background. Safe to call twice. */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Finishes the current batch (its checkpoint included), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
    this.running = undefined;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Cuts the idle wait short: call it when new events were appended. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Applies one batch after the checkpoint. Returns how many events it read (0 when caught up).
   * Throws when the pass fails; the checkpoint then still names the last fully applied batch.
   */
  async runOnce(): Promise<number> {
    const after = await this.checkpoints.load(this.checkpointName);
    const events = await this.source.readAll({ after, limit: this.batchSize });
    for (const event of events) await this.apply(event);
    const last = events.at(-1);
    if (last) {
      await this.checkpoints.advance(this.checkpointName, last.globalPosition);
      this.metrics.applied(this.checkpointName, events.length);
    }
    this.metrics.lag(
      this.checkpointName,
      last && events.length === this.batchSize ? Date.now() - last.recordedAt.getTime() : 0,
    );
    return events.length;
  }

  /** Runs passes until one finds nothing new: the read model has caught up with the store. */
  async catchUp(): Promise<void> {
    while ((await this.runOnce()) > 0) {
      // keep going until a pass reads nothing
    }
  }

  /** Resolves once the checkpoint is at or past `position`; false after the timeout. */
  async waitForPosition(position: GlobalPosition, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (comparePositions(await this.checkpoints.load(this.checkpointName), position) >= 0)
        return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now()))),
      );
    }
  }

  private async apply(event: RecordedEvent): Promise<void> {
    const key = positionKey(event.globalPosition);
    for (const { id, update } of this.projection.project(event)) {
      if (LAST_POSITION_FIELD in (update.$set ?? {})) {
        throw new Error(
          `projection ${this.projection.name} must not set ${LAST_POSITION_FIELD} itself`,
        );
      }
      try {
        await this.collection.updateOne(
          {
            _id: id,
            $or: [
              { [LAST_POSITION_FIELD]: { $lt: key } },
              { [LAST_POSITION_FIELD]: { $exists: false } },
            ],
          },
          {
            ...update,
            $set: { ...update.$set, [LAST_POSITION_FIELD]: key },
          } as UpdateFilter<ReadModelDocument>,
          { upsert: true },
        );
      } catch (error) {
        // The document exists at this position or later: this event was applied before.
        if ((error as { code?: number }).code !== 11000) throw error;
      }
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let read = 0;
      try {
        read = await this.runOnce();
        failures = 0;
      } catch (error) {
        failures++;
        this.metrics.failed(this.checkpointName, error);
        this.onError(error);
      }
      if (this.stopRequested()) break;
      if (failures > 0) {
        const ceiling = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(failures, 10));
        await this.idle(ceiling / 2 + Math.random() * (ceiling / 2));
      } else if (read < this.batchSize) {
        await this.idle(this.pollIntervalMs);
      }
    }
  }

  /** Read through a method: `stop()` flips the flag while the loop awaits. */
  private stopRequested(): boolean {
    return this.stopping;
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }
}
