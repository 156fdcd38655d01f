import { START, type GlobalPosition } from '@platform/event-store';
import type { Collection, Db } from 'mongodb';
import { positionFromKey, positionKey } from './position-key';

interface CheckpointDoc {
  _id: string;
  key: string;
  updatedAt: Date;
}

/** Where each projection remembers the last event it applied. */
export interface CheckpointStore {
  load(name: string): Promise<GlobalPosition>;
  /** Moves the checkpoint forward; a position at or before the stored one is ignored. */
  advance(name: string, position: GlobalPosition): Promise<void>;
  /** Sets the checkpoint to exactly this position (rebuild swaps); `undefined` deletes it. */
  reset(name: string, position: GlobalPosition | undefined): Promise<void>;
}

/** Checkpoints in a MongoDB collection, one document per projection. */
export class MongoCheckpointStore implements CheckpointStore {
  private readonly collection: Collection<CheckpointDoc>;

  constructor(db: Db, collectionName = 'projection_checkpoints') {
    this.collection = db.collection<CheckpointDoc>(collectionName);
  }

  async load(name: string): Promise<GlobalPosition> {
    const doc = await this.collection.findOne({ _id: name });
    return doc ? positionFromKey(doc.key) : START;
  }

  async advance(name: string, position: GlobalPosition): Promise<void> {
    const key = positionKey(position);
    try {
      // Guarded upsert: never moves backwards, even with two runners racing.
      await this.collection.updateOne(
        { _id: name, $or: [{ key: { $lt: key } }, { key: { $exists: false } }] },
        { $set: { key, updatedAt: new Date() } },
        { upsert: true },
      );
    } catch (error) {
      // Duplicate _id: the stored checkpoint is already at or past this one.
      if ((error as { code?: number }).code !== 11000) throw error;
    }
  }

  async reset(name: string, position: GlobalPosition | undefined): Promise<void> {
    if (position === undefined) {
      await this.collection.deleteOne({ _id: name });
      return;
    }
    await this.collection.updateOne(
      { _id: name },
      { $set: { key: positionKey(position), updatedAt: new Date() } },
      { upsert: true },
    );
  }
}
