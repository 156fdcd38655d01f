import { setTimeout as delay } from 'node:timers/promises';
import type { AnyBulkWriteOperation, Collection, Db, ObjectId } from 'mongodb';
import type { OutgoingMessage } from '../envelope';
import { noopMessagingMetrics, type MessagingMetrics } from '../metrics';
import { sleep } from '../backoff';
import { jsonLogger, type MessagingLogger } from '../logger';
import type { MessagePublisher } from '../publisher';
import {
  MONGO_OUTBOX_FIELD,
  MONGO_PARKED_FIELD,
  mongoOutboxBacklog,
  type ParkedMongoOutboxEntry,
} from './mongo-outbox';
import type { OutboxRelayTestHooks } from './postgres-outbox-relay';
import { publishIsolatingRejects } from './publish-batch';
import { envelopeFrom, MalformedOutboxMessageError } from './stored-message';
import { RelayBackoff, type RelayBackoffOptions } from './relay-backoff';
import { WakeSignal } from './wake-signal';

export interface MongoOutboxRelayOptions {
  readonly db: Db;
  /** The collection whose documents carry an `outbox` array (one document per aggregate). */
  readonly collection: string;
  readonly publisher: MessagePublisher;
  readonly metrics?: MessagingMetrics;
  /** Label for metrics. Default `mongo-outbox:<collection>`. */
  readonly storeName?: string;
  /** Documents per pass; all their pending entries go out in one publish call. Default 100. */
  readonly batchSize?: number;
  /** Poll interval; `nudge()` after a write skips the wait. Default 250 ms. */
  readonly pollIntervalMs?: number;
  /** Backoff while the broker or the database fails. Default 100 ms doubling to 10 s. */
  readonly backoff?: RelayBackoffOptions;
  /** Upper bound for one publish call; after it the batch is retried. Default 60 s. */
  readonly publishTimeoutMs?: number;
  /** Minimum time between two backlog metric reports. Default 1000 ms. */
  readonly backlogReportIntervalMs?: number;
  readonly logger?: MessagingLogger;
  readonly testHooks?: OutboxRelayTestHooks;
}

/** Documents as the relay sees them: everything it reads is validated, not trusted. */
interface OutboxHolder {
  /** Typed loosely: services choose their own ids; the relay only hands them back in filters. */
  _id: ObjectId | string | number;
  /** Entries are validated one by one when read; the element type only serves the update typing. */
  outbox?: Record<string, unknown>[];
  outboxParked?: Record<string, unknown>[];
}

interface Located {
  readonly docId: OutboxHolder['_id'];
  /** The entry as stored (a record, unless someone corrupted the array). */
  readonly entry: unknown;
}

const PENDING = { [`${MONGO_OUTBOX_FIELD}.0`]: { $exists: true } };

/**
 * Publishes the outbox entries of one MongoDB collection, for services whose state lives in
 * MongoDB. A service writes its state change and its messages in ONE document update
 * (`withOutbox`); this relay finds documents with entries, publishes each document's entries in
 * array order, then `$pull`s exactly the published ids (entries appended meanwhile stay). A crash
 * between the broker's ack and the `$pull` republishes them: consumers dedupe by id.
 *
 * There are no change streams on the local server, so it polls every `pollIntervalMs`; a service
 * calls `nudge()` right after its own write for low latency. Per-key order holds because all
 * messages of a key are written through the same document.
 */
export class MongoOutboxRelay {
  private readonly collection: Collection<OutboxHolder>;
  private readonly metrics: MessagingMetrics;
  private readonly storeName: string;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly backoffOptions: RelayBackoffOptions;
  private readonly publishTimeoutMs: number;
  private readonly backlogReportIntervalMs: number;
  private readonly logger: MessagingLogger;

  private readonly wake = new WakeSignal();
  private abort = new AbortController();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastBacklogReport = 0;
  /** Where the next pass continues when the last one was full, so busy documents cannot starve the rest. */
  private resumeAfter: OutboxHolder['_id'] | undefined;

  constructor(private readonly options: MongoOutboxRelayOptions) {
    this.collection = options.db.collection<OutboxHolder>(options.collection);
    this.metrics = options.metrics ?? noopMessagingMetrics;
    this.storeName = options.storeName ?? `mongo-outbox:${options.collection}`;
    this.batchSize = positive('batchSize', options.batchSize ?? 100);
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 250);
    this.backoffOptions = options.backoff ?? { initialDelayMs: 100, maxDelayMs: 10_000 };
    this.publishTimeoutMs = positive('publishTimeoutMs', options.publishTimeoutMs ?? 60_000);
    this.backlogReportIntervalMs = options.backlogReportIntervalMs ?? 1_000;
    this.logger = options.logger ?? jsonLogger('info', 'mongo-outbox-relay');
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  start(): void {
    if (this.loop) throw new Error('MongoOutboxRelay is already started');
    this.stopping = false;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  /** Graceful: the pass in flight completes (published entries are pulled), then it stops. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.stopping = true;
    this.abort.abort();
    this.wake.notify();
    await loop;
    this.loop = undefined;
  }

  /** Call right after a write that added outbox entries: publishes now instead of at the next poll. */
  nudge(): void {
    this.wake.notify();
  }

  /** Resolves once no document of the collection has pending entries; rejects after `timeoutMs`. */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let pending: number | undefined;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        pending = await this.collection.countDocuments(PENDING);
        if (pending === 0) return;
      } catch (error) {
        lastError = error;
      }
      this.wake.notify();
      await delay(50);
    }
    throw new Error(
      `mongo outbox ${this.options.collection}: ${pending === undefined ? 'unknown number of' : String(pending)} document(s) still hold pending messages after ${timeoutMs} ms` +
        (lastError instanceof Error ? ` (last error: ${lastError.message})` : ''),
    );
  }

  private async run(): Promise<void> {
    const backoff = new RelayBackoff(this.backoffOptions);
    while (!this.stopping) {
      this.wake.clear();
      let more = false;
      let failure: unknown;
      try {
        const outcome = await this.pass();
        more = outcome.more;
        failure = outcome.retryableError;
        await this.reportBacklog();
      } catch (error) {
        // The database is unreachable (or restarting): nothing was pulled, so nothing is lost.
        failure = error ?? new Error('mongo outbox pass failed');
      }
      if (failure !== undefined) {
        const delayMs = backoff.next();
        this.logger.warn('mongo outbox relay: pass failed; will retry the same entries', {
          collection: this.options.collection,
          error: failure,
          attempt: backoff.attempts,
          delayMs,
        });
        await sleep(delayMs, this.abort.signal);
        continue;
      }
      backoff.reset();
      if (!more) await this.wake.wait(this.pollIntervalMs);
    }
  }

  /** `more`: another pass may find work right away (a full batch, or the scan wrapped around). */
  private async pass(): Promise<{ more: boolean; retryableError?: unknown }> {
    // Documents in _id order, continuing after the last full batch: a set of documents that keep
    // getting new entries cannot hold back documents further along.
    const resumeAfter = this.resumeAfter;
    const filter = resumeAfter === undefined ? PENDING : { ...PENDING, _id: { $gt: resumeAfter } };
    const docs = await this.collection
      .find(filter, {
        projection: { [MONGO_OUTBOX_FIELD]: 1 },
        sort: { _id: 1 },
        limit: this.batchSize,
      })
      .toArray();
    const full = docs.length === this.batchSize;
    this.resumeAfter = full ? docs.at(-1)?._id : undefined;
    const more = full || resumeAfter !== undefined;
    if (docs.length === 0) return { more };

    const origin = new Map<OutgoingMessage, Located>();
    const messages: OutgoingMessage[] = [];
    const malformed: { located: Located; reason: string }[] = [];
    for (const doc of docs) {
      const entries = Array.isArray(doc.outbox) ? (doc.outbox as unknown[]) : [];
      for (const entry of entries) {
        const located = { docId: doc._id, entry };
        try {
          const message = messageOf(entry);
          messages.push(message);
          origin.set(message, located);
        } catch (error) {
          if (!(error instanceof MalformedOutboxMessageError)) throw error;
          malformed.push({ located, reason: error.message });
        }
      }
    }

    const outcome = await publishIsolatingRejects(
      this.options.publisher,
      messages,
      this.publishTimeoutMs,
    );
    if (outcome.published.length > 0) {
      await this.options.testHooks?.afterBrokerAck?.(outcome.published.map((m) => m.envelope.id));
      await this.pullPublished(outcome.published, origin);
    }
    const rejected = [
      ...malformed,
      ...outcome.rejected.flatMap(({ message, reason }) => {
        const located = origin.get(message);
        return located ? [{ located, reason }] : [];
      }),
    ];
    for (const { located, reason } of rejected) await this.park(located, reason);
    return outcome.retryableError === undefined
      ? { more }
      : { more, retryableError: outcome.retryableError };
  }

  private async pullPublished(
    published: readonly OutgoingMessage[],
    origin: ReadonlyMap<OutgoingMessage, Located>,
  ): Promise<void> {
    const idsByDoc = new Map<OutboxHolder['_id'], string[]>();
    const now = Date.now();
    for (const message of published) {
      const located = origin.get(message);
      if (!located) continue;
      const ids = idsByDoc.get(located.docId) ?? [];
      ids.push(message.envelope.id);
      idsByDoc.set(located.docId, ids);
      const createdAt = isRecord(located.entry) ? located.entry.createdAt : undefined;
      if (createdAt instanceof Date)
        this.metrics.published(message.topic, now - createdAt.getTime());
    }
    const operations: AnyBulkWriteOperation<OutboxHolder>[] = [...idsByDoc].map(([docId, ids]) => ({
      updateOne: {
        filter: { _id: docId },
        update: { $pull: { [MONGO_OUTBOX_FIELD]: { id: { $in: ids } } } },
      },
    }));
    await this.collection.bulkWrite(operations, { ordered: false });
  }

  /** Moves the entry to `outboxParked` with the reason, in one update. */
  private async park({ docId, entry }: Located, reason: string): Promise<void> {
    const record = isRecord(entry) ? entry : { value: entry };
    const parked: Partial<ParkedMongoOutboxEntry> & Record<string, unknown> = {
      ...record,
      reason,
      parkedAt: new Date(),
    };
    // Pull by id; an entry without one (corrupted by hand) by its exact value.
    const match: Record<string, unknown> =
      isRecord(entry) && typeof entry.id === 'string' ? { id: entry.id } : { $in: [entry] };
    await this.collection.updateOne(
      { _id: docId },
      {
        $pull: { [MONGO_OUTBOX_FIELD]: match },
        $push: { [MONGO_PARKED_FIELD]: parked },
      },
    );
    const topic = typeof record.topic === 'string' ? record.topic : 'unknown';
    this.metrics.publishRejected(topic, reason);
    this.logger.error(
      'mongo outbox relay: a message cannot be published; parked it, the rest continues',
      { collection: this.options.collection, messageId: record.id, topic, reason },
    );
  }

  private async reportBacklog(): Promise<void> {
    const now = Date.now();
    if (now - this.lastBacklogReport < this.backlogReportIntervalMs) return;
    this.lastBacklogReport = now;
    const { backlog, oldestAgeMs } = await mongoOutboxBacklog(this.collection, new Date(now));
    this.metrics.outboxBacklog(this.storeName, backlog, oldestAgeMs);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(entry: unknown): OutgoingMessage {
  if (!isRecord(entry)) throw new MalformedOutboxMessageError('outbox entry is not a document');
  const { topic, envelope } = entry;
  if (typeof entry.id !== 'string' || typeof topic !== 'string' || topic === '') {
    throw new MalformedOutboxMessageError('outbox entry has no id or topic');
  }
  if (typeof envelope !== 'string') {
    throw new MalformedOutboxMessageError('outbox entry has no envelope text');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(envelope);
  } catch (error) {
    throw new MalformedOutboxMessageError(
      `outbox entry envelope is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isRecord(parsed))
    throw new MalformedOutboxMessageError('outbox entry envelope is not an object');
  const { payload, ...headers } = parsed;
  const result = { topic, envelope: envelopeFrom(headers, payload) };
  if (result.envelope.id !== entry.id) {
    throw new MalformedOutboxMessageError('outbox entry id differs from its envelope id');
  }
  return result;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`${name} must be positive, got ${value}`);
  return value;
}
