import type { MessageRejectionReason } from './schemas';

/**
 * Headers a dead letter carries beside the original record's own (key, value and headers are
 * copied unchanged). Plain strings, so `kcat -f '%h'` shows them.
 */
export const DEAD_LETTER_HEADER = {
  reason: 'dlq-reason',
  error: 'dlq-error',
  errorName: 'dlq-error-name',
  attempts: 'dlq-attempts',
  originalTopic: 'dlq-original-topic',
  originalPartition: 'dlq-original-partition',
  originalOffset: 'dlq-original-offset',
  consumerGroup: 'dlq-consumer-group',
  failedAt: 'dlq-failed-at',
} as const;

/** Headers a redriven record carries. */
export const REDRIVE_HEADER = {
  redrivenAt: 'redriven-at',
  count: 'redrive-count',
} as const;

/**
 * Why a record was dead-lettered:
 * - `malformed`: not an envelope (missing ce_* headers or key, value not JSON);
 * - `unknown-type`, `future-version`, `unsupported-version`, `invalid-payload`: refused by the
 *   schema registry;
 * - `no-handler`: a known type this consumer has no handler for;
 * - `permanent-error`: the handler threw PermanentHandlerError;
 * - `retries-exhausted`: the handler failed on every attempt.
 */
export type DeadLetterReason =
  MessageRejectionReason | 'malformed' | 'no-handler' | 'permanent-error' | 'retries-exhausted';

export interface DeadLetterDetails {
  readonly reason: string;
  readonly error: string;
  readonly errorName: string;
  /** Handler attempts made (0 when the record was refused before any handler ran). */
  readonly attempts: number;
  readonly originalTopic: string;
  readonly originalPartition: number;
  readonly originalOffset: string;
  readonly consumerGroup: string;
  /** ISO-8601. */
  readonly failedAt: string;
}

const MAX_ERROR_LENGTH = 2000;

export function deadLetterHeaders(details: DeadLetterDetails): Record<string, string> {
  const error =
    details.error.length > MAX_ERROR_LENGTH
      ? `${details.error.slice(0, MAX_ERROR_LENGTH)}...`
      : details.error;
  return {
    [DEAD_LETTER_HEADER.reason]: details.reason,
    [DEAD_LETTER_HEADER.error]: error,
    [DEAD_LETTER_HEADER.errorName]: details.errorName,
    [DEAD_LETTER_HEADER.attempts]: String(details.attempts),
    [DEAD_LETTER_HEADER.originalTopic]: details.originalTopic,
    [DEAD_LETTER_HEADER.originalPartition]: String(details.originalPartition),
    [DEAD_LETTER_HEADER.originalOffset]: details.originalOffset,
    [DEAD_LETTER_HEADER.consumerGroup]: details.consumerGroup,
    [DEAD_LETTER_HEADER.failedAt]: details.failedAt,
  };
}

/** The dead-letter details of a record read from a `.dlq` topic, if it has them. */
export function readDeadLetterDetails(
  headers: Readonly<Record<string, string>>,
): DeadLetterDetails | undefined {
  const reason = headers[DEAD_LETTER_HEADER.reason];
  const originalTopic = headers[DEAD_LETTER_HEADER.originalTopic];
  if (reason === undefined || originalTopic === undefined) return undefined;
  return {
    reason,
    error: headers[DEAD_LETTER_HEADER.error] ?? '',
    errorName: headers[DEAD_LETTER_HEADER.errorName] ?? '',
    attempts: Number(headers[DEAD_LETTER_HEADER.attempts] ?? 0),
    originalTopic,
    originalPartition: Number(headers[DEAD_LETTER_HEADER.originalPartition] ?? -1),
    originalOffset: headers[DEAD_LETTER_HEADER.originalOffset] ?? '',
    consumerGroup: headers[DEAD_LETTER_HEADER.consumerGroup] ?? '',
    failedAt: headers[DEAD_LETTER_HEADER.failedAt] ?? '',
  };
}

export function isDeadLetterHeader(name: string): boolean {
  return Object.values<string>(DEAD_LETTER_HEADER).includes(name);
}

type HeaderValue = Buffer | string | readonly (Buffer | string)[] | undefined;

/** A header value as text (UTF-8); the last one when the name repeats. */
export function headerText(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  const last = value[value.length - 1];
  return last === undefined ? undefined : headerText(last);
}

/** All headers as text, for the codec and for reading dead-letter details. */
export function textHeaders(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) result[name] = text;
  }
  return result;
}
