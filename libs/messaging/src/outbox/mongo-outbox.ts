import type { Collection, Document, Filter, UpdateFilter } from 'mongodb';
import type { OutgoingMessage } from '../envelope';
import type { OutboxBacklog } from './postgres-outbox';
import { assertPublishable } from './stored-message';

/** Array field of a document that holds its unpublished messages, in the order they were written. */
export const MONGO_OUTBOX_FIELD = 'outbox';
/** Array field that holds messages the broker refused for good, with the reason. */
export const MONGO_PARKED_FIELD = 'outboxParked';

/** One unpublished message inside the document whose state change caused it. */
export interface MongoOutboxEntry {
  readonly id: string;
  readonly topic: string;
  readonly key: string;
  readonly type: string;
  /**
   * The whole envelope as JSON text. Stored as text, not as a sub-document, so payload keys that
   * MongoDB refuses or treats specially (`$`-prefixed, dotted, `__proto__`) and undefined fields
   * arrive at the broker exactly as the service wrote them.
   */
  readonly envelope: string;
  readonly createdAt: Date;
}

export interface ParkedMongoOutboxEntry extends MongoOutboxEntry {
  readonly reason: string;
  readonly parkedAt: Date;
}

/** Fields the outbox adds to a service's document type. */
export interface WithMongoOutbox {
  outbox?: MongoOutboxEntry[];
  outboxParked?: ParkedMongoOutboxEntry[];
}

/** Entries for a document written with insertOne: `{ ...state, outbox: mongoOutboxEntries(messages) }`. */
export function mongoOutboxEntries(
  messages: readonly OutgoingMessage[],
  now: Date = new Date(),
): MongoOutboxEntry[] {
  return messages.map((message) => {
    assertPublishable(message);
    const { topic, envelope } = message;
    return {
      id: envelope.id,
      topic,
      key: envelope.key,
      type: envelope.type,
      envelope: JSON.stringify(envelope),
      createdAt: now,
    };
  });
}

/**
 * Adds the messages to the caller's own update, so the state change and the messages it causes
 * are applied by the same single-document `updateOne` / `findOneAndUpdate` / upsert: atomically,
 * with no transaction (the local MongoDB-compatible server has none). If the update's filter does
 * not match (a concurrency check failed), neither the state nor the messages are written.
 *
 *   await orders.updateOne(
 *     { _id: orderId, version: 3 },
 *     withOutbox({ $set: { status: 'Confirmed' }, $inc: { version: 1 } }, [message]),
 *   );
 */
export function withOutbox<TSchema extends Document>(
  update: UpdateFilter<TSchema>,
  messages: readonly OutgoingMessage[],
  options: { readonly now?: Date } = {},
): UpdateFilter<TSchema> {
  if (Array.isArray(update)) {
    throw new TypeError('withOutbox: pipeline updates are not supported; use operator updates');
  }
  if (messages.length === 0) return update;
  const operators = update as Record<string, unknown>;
  for (const [operator, fields] of Object.entries(operators)) {
    if (typeof fields !== 'object' || fields === null) continue;
    for (const field of Object.keys(fields)) {
      if (field === MONGO_OUTBOX_FIELD || field.startsWith(`${MONGO_OUTBOX_FIELD}.`)) {
        throw new TypeError(
          `withOutbox: the update already touches "${field}" with ${operator}; the outbox field belongs to the relay`,
        );
      }
    }
  }
  const push = { ...(operators.$push as Record<string, unknown> | undefined) };
  push[MONGO_OUTBOX_FIELD] = { $each: mongoOutboxEntries(messages, options.now) };
  return { ...operators, $push: push } as UpdateFilter<TSchema>;
}

/**
 * Unpublished entries of one collection and the age of the oldest, measured as the relay measures
 * its backlog (`outbox_backlog_messages`): a scan of the documents that hold entries, reading only
 * their `createdAt`. Read-only; for readiness checks and operators. The age is on this process's
 * clock against the writers' `createdAt`.
 */
export async function mongoOutboxBacklog<T extends Document>(
  collection: Collection<T>,
  now: Date = new Date(),
): Promise<OutboxBacklog> {
  let backlog = 0;
  let oldest = now.getTime();
  const pending: Filter<Document> = { [`${MONGO_OUTBOX_FIELD}.0`]: { $exists: true } };
  const cursor = collection.find(pending as Filter<T>, {
    projection: { [`${MONGO_OUTBOX_FIELD}.createdAt`]: 1 },
  });
  for await (const doc of cursor) {
    const entries: unknown = doc[MONGO_OUTBOX_FIELD];
    if (!Array.isArray(entries)) continue;
    backlog += entries.length;
    const first: unknown = entries[0];
    if (typeof first === 'object' && first !== null && 'createdAt' in first) {
      const { createdAt } = first;
      if (createdAt instanceof Date) oldest = Math.min(oldest, createdAt.getTime());
    }
  }
  return { backlog, oldestAgeMs: backlog === 0 ? 0 : now.getTime() - oldest };
}
