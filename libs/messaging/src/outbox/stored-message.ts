import type { Envelope, OutgoingMessage } from '../envelope';

/**
 * How both outboxes store an envelope: everything but the payload as "headers", the payload on its
 * own. Rows and entries are written by this library, but operators may edit them (to repair a
 * parked message), so reading them back validates instead of trusting a cast.
 */
export type StoredHeaders = Omit<Envelope, 'payload'>;

/** A stored row or entry that is not a valid envelope: it can never be published, so it is parked. */
export class MalformedOutboxMessageError extends Error {
  override readonly name = 'MalformedOutboxMessageError';
}

/** Refuses messages the broker or a consumer could never accept, before the caller commits. */
export function assertPublishable(message: OutgoingMessage): void {
  const { topic, envelope } = message;
  const problems: string[] = [];
  if (topic === '') problems.push('topic is empty');
  for (const field of ['id', 'type', 'source', 'time', 'key', 'correlationId'] as const) {
    if (typeof envelope[field] !== 'string' || envelope[field] === '') {
      problems.push(`envelope.${field} is empty`);
    }
  }
  if (!Number.isInteger(envelope.schemaVersion) || envelope.schemaVersion < 1) {
    problems.push('envelope.schemaVersion must be a positive integer');
  }
  if (problems.length > 0) {
    throw new RangeError(
      `outbox: message ${envelope.id} to ${topic} is not publishable: ${problems.join(', ')}`,
    );
  }
}

export function headersOf(envelope: Envelope): StoredHeaders {
  // Stored as JSON, which leaves optional fields that are present but undefined out.
  const { payload: _payload, ...headers } = envelope;
  return headers;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(headers: Record<string, unknown>, name: string): string {
  const value = headers[name];
  if (typeof value !== 'string' || value === '') {
    throw new MalformedOutboxMessageError(`stored envelope has no ${name}`);
  }
  return value;
}

function optionalText(headers: Record<string, unknown>, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new MalformedOutboxMessageError(`stored envelope ${name} is not a string`);
  }
  return value;
}

export function envelopeFrom(headers: unknown, payload: unknown): Envelope {
  if (!isRecord(headers)) throw new MalformedOutboxMessageError('stored headers are not an object');
  const schemaVersion = headers.schemaVersion;
  if (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw new MalformedOutboxMessageError('stored envelope has no valid schemaVersion');
  }
  const causationId = optionalText(headers, 'causationId');
  const traceparent = optionalText(headers, 'traceparent');
  const tracestate = optionalText(headers, 'tracestate');
  return {
    id: text(headers, 'id'),
    type: text(headers, 'type'),
    schemaVersion,
    source: text(headers, 'source'),
    time: text(headers, 'time'),
    key: text(headers, 'key'),
    correlationId: text(headers, 'correlationId'),
    ...(causationId !== undefined && { causationId }),
    ...(traceparent !== undefined && { traceparent }),
    ...(tracestate !== undefined && { tracestate }),
    payload,
  };
}
