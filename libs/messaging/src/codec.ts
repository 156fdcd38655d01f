import type { Envelope, WireRecord } from './envelope';

/**
 * Envelope <-> Kafka record, CloudEvents binary mode (ce_* headers, JSON value).
 * Decoding checks the envelope's own fields; payload validation is the schema registry's job.
 */

const SPEC_VERSION = '1.0';

export const HEADER = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  schemaVersion: 'ce_schemaversion',
  correlationId: 'ce_correlationid',
  causationId: 'ce_causationid',
  contentType: 'content-type',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

const ENVELOPE_HEADERS = new Set<string>(Object.values(HEADER));

/** Raised when a record is not a valid envelope: it can never be processed (dead-letter it). */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

export function encodeEnvelope(envelope: Envelope): WireRecord {
  const headers: Record<string, string> = {
    [HEADER.specversion]: SPEC_VERSION,
    [HEADER.id]: envelope.id,
    [HEADER.type]: envelope.type,
    [HEADER.source]: envelope.source,
    [HEADER.time]: envelope.time,
    [HEADER.schemaVersion]: String(envelope.schemaVersion),
    [HEADER.correlationId]: envelope.correlationId,
    [HEADER.contentType]: 'application/json',
  };
  if (envelope.causationId !== undefined) headers[HEADER.causationId] = envelope.causationId;
  if (envelope.traceparent !== undefined) headers[HEADER.traceparent] = envelope.traceparent;
  if (envelope.tracestate !== undefined) headers[HEADER.tracestate] = envelope.tracestate;
  return { key: envelope.key, value: Buffer.from(JSON.stringify(envelope.payload)), headers };
}

function required(headers: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = headers[name];
  if (value === undefined || value === '')
    throw new MalformedMessageError(`missing header ${name}`);
  return value;
}

export interface DecodedRecord {
  readonly envelope: Envelope;
  /** Headers that are not part of the envelope (dead-letter details, redrive marks). */
  readonly extraHeaders: Record<string, string>;
}

export function decodeRecord(record: {
  key: string | null;
  value: Buffer | null;
  headers: Readonly<Record<string, string | undefined>>;
}): DecodedRecord {
  const { headers } = record;
  if (headers[HEADER.specversion] !== SPEC_VERSION) {
    throw new MalformedMessageError(
      `unsupported or missing ${HEADER.specversion}: ${String(headers[HEADER.specversion])}`,
    );
  }
  if (record.key === null || record.key === '')
    throw new MalformedMessageError('missing record key');
  if (record.value === null) throw new MalformedMessageError('missing record value');
  const schemaVersion = Number(required(headers, HEADER.schemaVersion));
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw new MalformedMessageError(
      `invalid ${HEADER.schemaVersion}: ${String(headers[HEADER.schemaVersion])}`,
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    throw new MalformedMessageError(`value is not JSON: ${(error as Error).message}`);
  }
  const extraHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!ENVELOPE_HEADERS.has(name) && value !== undefined) extraHeaders[name] = value;
  }
  const causationId = headers[HEADER.causationId];
  const traceparent = headers[HEADER.traceparent];
  const tracestate = headers[HEADER.tracestate];
  return {
    envelope: {
      id: required(headers, HEADER.id),
      type: required(headers, HEADER.type),
      schemaVersion,
      source: required(headers, HEADER.source),
      time: required(headers, HEADER.time),
      key: record.key,
      correlationId: required(headers, HEADER.correlationId),
      ...(causationId !== undefined && { causationId }),
      ...(traceparent !== undefined && { traceparent }),
      ...(tracestate !== undefined && { tracestate }),
      payload,
    },
    extraHeaders,
  };
}
