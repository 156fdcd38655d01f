import {
  createKafka,
  errorChain,
  protocolErrorType,
  type KafkaConnectionConfig,
} from './kafka-client';
import { deadLetterTopic, isDeadLetterTopic } from './topics';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** Topic-level broker settings, e.g. `{ 'retention.ms': '604800000' }`. */
  readonly config?: Readonly<Record<string, string>>;
  /** Also create `<topic>.dlq` with the same partition count. Default true. */
  readonly deadLetterTopic?: boolean;
}

/** A topic exists with a different partition count than the code asks for. */
export class TopicMismatchError extends Error {
  override readonly name = 'TopicMismatchError';
}

export interface EnsureTopicsResult {
  readonly created: readonly string[];
  readonly existing: readonly string[];
}

/**
 * Creates the topics that do not exist yet, each with its `.dlq` companion (the broker never
 * auto-creates topics). Idempotent and safe to run from several processes at once. An existing
 * topic with another partition count is an error, never "fixed" here: adding partitions moves
 * keys to other partitions and breaks per-key order, so that is an operator's decision.
 */
export async function ensureTopics(
  config: KafkaConnectionConfig,
  topics: readonly TopicSpec[],
): Promise<EnsureTopicsResult> {
  const wanted = new Map<
    string,
    { partitions: number; config?: Readonly<Record<string, string>> }
  >();
  const want = (
    topic: string,
    spec: { partitions: number; config?: Readonly<Record<string, string>> },
  ) => {
    const previous = wanted.get(topic);
    if (previous !== undefined && previous.partitions !== spec.partitions) {
      throw new RangeError(
        `${topic} is asked for with ${previous.partitions} and ${spec.partitions} partitions`,
      );
    }
    wanted.set(topic, spec);
  };
  for (const spec of topics) {
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new RangeError(`${spec.topic}: partitions must be an integer >= 1`);
    }
    want(spec.topic, { partitions: spec.partitions, ...(spec.config && { config: spec.config }) });
    if (spec.deadLetterTopic !== false && !isDeadLetterTopic(spec.topic)) {
      want(deadLetterTopic(spec.topic), { partitions: spec.partitions });
    }
  }
  if (wanted.size === 0) return { created: [], existing: [] };

  const admin = createKafka(config, 'admin').admin();
  await admin.connect();
  try {
    const present = new Set(await admin.listTopics());
    const missing = [...wanted].filter(([topic]) => !present.has(topic));
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map(([topic, spec]) => ({
            topic,
            numPartitions: spec.partitions,
            configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({
              name,
              value,
            })),
          })),
        });
      } catch (error) {
        // Another process created some of them between our list and create.
        if (!onlyAlreadyExists(error)) throw error;
      }
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [...wanted.keys()] });
    for (const { name, partitions } of metadata.topics) {
      const expected = wanted.get(name)?.partitions;
      if (expected !== undefined && partitions.length !== expected) {
        throw new TopicMismatchError(
          `topic ${name} has ${partitions.length} partitions, the code expects ${expected}`,
        );
      }
    }
    return {
      created: missing.map(([topic]) => topic),
      existing: [...wanted.keys()].filter((topic) => present.has(topic)),
    };
  } finally {
    await admin.disconnect();
  }
}

/** kafkajs reports per-topic failures as an aggregate; "already exists" for all is success. */
function onlyAlreadyExists(error: unknown): boolean {
  if (protocolErrorType(error) === 'TOPIC_ALREADY_EXISTS') return true;
  for (const link of errorChain(error)) {
    if (link instanceof Error && 'errors' in link && Array.isArray(link.errors)) {
      const errors: unknown[] = link.errors;
      return (
        errors.length > 0 && errors.every((e) => protocolErrorType(e) === 'TOPIC_ALREADY_EXISTS')
      );
    }
  }
  return false;
}
