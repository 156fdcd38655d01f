export { MongoCheckpointStore, type CheckpointStore } from './checkpoint-store';
export { positionFromKey, positionKey } from './position-key';
export {
  noopProjectionMetrics,
  type EventSource,
  type Projection,
  type ProjectionMetrics,
  type ProjectionUpdate,
  type ReadModelUpdate,
} from './projection';
export { rebuildProjection, type RebuildOptions, type RebuildResult } from './rebuild';
export { LAST_POSITION_FIELD, ProjectionRunner, type ProjectionRunnerOptions } from './runner';
