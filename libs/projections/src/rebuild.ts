import { START } from '@platform/event-store';
import type { Db } from 'mongodb';
import type { CheckpointStore } from './checkpoint-store';
import type { EventSource, Projection, ProjectionMetrics } from './projection';
import { ProjectionRunner } from './runner';

export interface RebuildOptions {
  readonly projection: Projection;
  readonly source: EventSource;
  readonly db: Db;
  readonly checkpoints: CheckpointStore;
  /** The live runner, if one runs in this process: paused for the swap, then resumed. */
  readonly liveRunner?: ProjectionRunner;
  readonly batchSize?: number;
  readonly metrics?: ProjectionMetrics;
  /** Clock for the scratch collection's name; injectable for tests. */
  readonly now?: () => Date;
}

export interface RebuildResult {
  /** The scratch collection that was filled and renamed over the live one. */
  readonly builtIn: string;
  readonly durationMs: number;
}

/**
 * Rebuilds a read model from the first event into a new collection, then swaps it in.
 *
 * 1. Replay everything into `<collection>__rebuild_<time>` with its own checkpoint, while the live
 *    read model keeps serving (and, if its runner runs, keeps updating).
 * 2. Pause the live runner, replay the tail that arrived meanwhile, rename the new collection over
 *    the live one (dropTarget) and move the live checkpoint to the rebuild's.
 * 3. Resume the live runner: it continues from exactly where the rebuild stopped.
 *
 * Queries see either the old or the new collection, never a half-built one. Runners of the same
 * projection in other processes must be stopped for the swap (their checkpoint moves under them,
 * which is safe only because every write is position-guarded, but they would keep writing to the
 * renamed-away collection until they reopen it).
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const began = Date.now();
  const { projection, source, db, checkpoints, liveRunner } = options;
  const stamp = (options.now ?? (() => new Date()))().toISOString().replace(/\D/g, '');
  const scratch = `${projection.collection}__rebuild_${stamp}`;
  const scratchCheckpoint = `${projection.name}__rebuild_${stamp}`;

  await checkpoints.reset(scratchCheckpoint, START);
  const rebuild = new ProjectionRunner({
    projection,
    source,
    db,
    checkpoints,
    targetCollection: scratch,
    checkpointName: scratchCheckpoint,
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(options.metrics !== undefined && { metrics: options.metrics }),
  });
  await rebuild.catchUp();

  const wasRunning = liveRunner?.isRunning ?? false;
  if (liveRunner) await liveRunner.stop();
  try {
    await rebuild.catchUp();
    const position = await checkpoints.load(scratchCheckpoint);
    const exists = (await db.listCollections({ name: scratch }).toArray()).length > 0;
    if (exists) {
      await db.collection(scratch).rename(projection.collection, { dropTarget: true });
    } else {
      // No event concerned this projection: the rebuilt read model is empty.
      await db.collection(projection.collection).deleteMany({});
    }
    await checkpoints.reset(projection.name, position);
    await checkpoints.reset(scratchCheckpoint, undefined);
  } finally {
    if (liveRunner && wasRunning) liveRunner.start();
  }
  return { builtIn: scratch, durationMs: Date.now() - began };
}
