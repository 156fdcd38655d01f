import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { HEADER } from './codec';
import {
  headerText,
  isDeadLetterHeader,
  readDeadLetterDetails,
  REDRIVE_HEADER,
  textHeaders,
  type DeadLetterDetails,
} from './dead-letter';
import { createKafka, type KafkaConnectionConfig } from './kafka-client';
import type { RawRecord, RawRecordPublisher } from './publisher';
import { isDeadLetterTopic, originalTopicOf } from './topics';

/** One record of a dead-letter topic. */
export interface DeadLetterEntry {
  readonly dlqTopic: string;
  readonly partition: number;
  readonly offset: string;
  /** The envelope's id (`ce_id`), absent when the record was not an envelope at all. */
  readonly messageId: string | undefined;
  readonly type: string | undefined;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Headers as text, the dead-letter ones included. */
  readonly headers: Readonly<Record<string, string>>;
  /** Headers as received, for a byte-exact copy. */
  readonly rawHeaders: RawRecord['headers'];
  /** Why and where it failed; undefined if the record lacks the dead-letter headers. */
  readonly details: DeadLetterDetails | undefined;
}

export interface RedriveSelection {
  /** Envelope ids; when an id was dead-lettered more than once, its latest record is used. */
  readonly messageIds?: readonly string[];
  /** Exact dead-letter records, e.g. for malformed ones that have no id. */
  readonly records?: readonly { readonly partition: number; readonly offset: string }[];
}

export interface RedriveResult {
  readonly redriven: readonly {
    readonly messageId: string | undefined;
    readonly topic: string;
    readonly dlqPartition: number;
    readonly dlqOffset: string;
  }[];
  /** Selected ids or records that the dead-letter topic does not hold. */
  readonly notFound: readonly string[];
}

export interface DeadLettersOptions {
  /** Publishes the redriven records. */
  readonly publisher: RawRecordPublisher;
  readonly clock?: () => Date;
  /** Reading a dead-letter topic to its end gives up after this long. Default 30000 ms. */
  readonly readTimeoutMs?: number;
}

/** Reading the dead-letter topic did not reach its end in time. */
export class DeadLetterReadTimeoutError extends Error {
  override readonly name = 'DeadLetterReadTimeoutError';
}

/**
 * Operator tools for dead-letter topics: list what is there, and send chosen records back to the
 * topic they came from.
 *
 * A dead-letter topic is a log: redriving does not remove a record from it (Kafka cannot), so the
 * list keeps showing redriven records; their redrive is visible on the original topic, and the
 * consumer's inbox makes a second redrive of an applied message harmless.
 */
export class DeadLetters {
  private readonly kafka: Kafka;

  constructor(
    private readonly config: KafkaConnectionConfig,
    private readonly options: DeadLettersOptions,
  ) {
    this.kafka = createKafka(config, 'dead-letters');
  }

  /**
   * Every record of `dlqTopic` from the beginning up to its end as of this call (the end is read
   * first, so records dead-lettered meanwhile are not waited for).
   */
  async listDeadLetters(dlqTopic: string): Promise<DeadLetterEntry[]> {
    if (!isDeadLetterTopic(dlqTopic))
      throw new RangeError(`${dlqTopic} is not a dead-letter topic`);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(dlqTopic);
      const ends = new Map<number, bigint>();
      for (const { partition, high, low } of offsets) {
        if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
      }
      if (ends.size === 0) return [];
      const groupId = `${this.config.clientId}-dlq-reader-${randomUUID()}`;
      try {
        return await this.readUntil(dlqTopic, groupId, ends);
      } finally {
        // The throwaway group committed nothing; remove its empty shell.
        await admin.deleteGroups([groupId]).catch(() => undefined);
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Publishes the selected dead letters to their original topic: original key, value and headers
   * (envelope included, so the message id is unchanged and the inbox still dedupes if it was in
   * fact applied), without the dead-letter headers, with `redriven-at` and `redrive-count`.
   */
  async redrive(dlqTopic: string, selection: RedriveSelection): Promise<RedriveResult> {
    const entries = await this.listDeadLetters(dlqTopic);
    const chosen: DeadLetterEntry[] = [];
    const notFound: string[] = [];
    for (const id of new Set(selection.messageIds ?? [])) {
      const matches = entries.filter((e) => e.messageId === id);
      const latest = matches.reduce<DeadLetterEntry | undefined>(
        (best, e) => (best === undefined || isLater(e, best) ? e : best),
        undefined,
      );
      if (latest === undefined) notFound.push(id);
      else chosen.push(latest);
    }
    for (const { partition, offset } of selection.records ?? []) {
      const entry = entries.find((e) => e.partition === partition && e.offset === offset);
      if (entry === undefined) notFound.push(`${dlqTopic}/${partition}@${offset}`);
      else if (!chosen.includes(entry)) chosen.push(entry);
    }
    if (chosen.length === 0) return { redriven: [], notFound };

    const now = (this.options.clock ?? (() => new Date()))().toISOString();
    const records: RawRecord[] = chosen.map((entry) => {
      const headers: Record<string, RawRecord['headers'][string]> = {};
      for (const [name, value] of Object.entries(entry.rawHeaders)) {
        if (
          !isDeadLetterHeader(name) &&
          name !== REDRIVE_HEADER.redrivenAt &&
          name !== REDRIVE_HEADER.count
        ) {
          headers[name] = value;
        }
      }
      const previous = Number(entry.headers[REDRIVE_HEADER.count] ?? 0);
      headers[REDRIVE_HEADER.redrivenAt] = now;
      headers[REDRIVE_HEADER.count] = String((Number.isInteger(previous) ? previous : 0) + 1);
      return {
        topic: entry.details?.originalTopic ?? originalTopicOf(dlqTopic),
        key: entry.key,
        value: entry.value,
        headers,
      };
    });
    await this.options.publisher.publishRaw(records);
    return {
      redriven: chosen.map((entry, i) => ({
        messageId: entry.messageId,
        topic: records[i]?.topic ?? '',
        dlqPartition: entry.partition,
        dlqOffset: entry.offset,
      })),
      notFound,
    };
  }

  private async readUntil(
    dlqTopic: string,
    groupId: string,
    ends: ReadonlyMap<number, bigint>,
  ): Promise<DeadLetterEntry[]> {
    const timeoutMs = this.options.readTimeoutMs ?? 30_000;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
    });
    const entries: DeadLetterEntry[] = [];
    const pending = new Set(ends.keys());
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          reject(
            new DeadLetterReadTimeoutError(
              `read ${entries.length} record(s) of ${dlqTopic} but not its end within ${timeoutMs} ms (partitions left: ${[...pending].join(', ')})`,
            ),
          );
        }, timeoutMs);
        consumer
          .run({
            autoCommit: false,
            eachBatch: ({ batch }) => {
              const end = ends.get(batch.partition);
              if (end === undefined) return Promise.resolve();
              for (const message of batch.messages) {
                if (BigInt(message.offset) >= end) break;
                const headers = textHeaders(message.headers);
                const rawHeaders: Record<string, RawRecord['headers'][string]> = {};
                for (const [name, value] of Object.entries(message.headers ?? {})) {
                  if (value !== undefined) rawHeaders[name] = value;
                }
                entries.push({
                  dlqTopic,
                  partition: batch.partition,
                  offset: message.offset,
                  messageId: headerText(message.headers?.[HEADER.id]),
                  type: headers[HEADER.type],
                  key: message.key,
                  value: message.value,
                  headers,
                  rawHeaders,
                  details: readDeadLetterDetails(headers),
                });
              }
              // lastOffset() also covers records the client filtered out (control records).
              if (BigInt(batch.lastOffset()) + 1n >= end) pending.delete(batch.partition);
              if (pending.size === 0) resolve();
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
    }
    return entries.sort((a, b) =>
      a.partition !== b.partition ? a.partition - b.partition : compareOffsets(a.offset, b.offset),
    );
  }
}

function compareOffsets(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function isLater(a: DeadLetterEntry, b: DeadLetterEntry): boolean {
  const at = a.details?.failedAt ?? '';
  const bt = b.details?.failedAt ?? '';
  if (at !== bt) return at > bt;
  return a.partition === b.partition && compareOffsets(a.offset, b.offset) > 0;
}
