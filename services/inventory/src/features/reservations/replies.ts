import { createHash } from 'node:crypto';
import {
  StockCommittedV1,
  StockReleasedV1,
  StockReservationFailedV1,
  StockReservedV1,
  topicOf,
  type StockCommitted,
  type StockReleased,
} from '@platform/contracts';
import { createEnvelope, type MessageDefinition, type OutgoingMessage } from '@platform/messaging';
import type { ReserveReply } from '../../domain/reservation';

export const SERVICE_NAME = 'inventory-service';

/** The command a reply answers: copied into the reply's envelope. */
export interface Cause {
  readonly messageId: string;
  readonly correlationId: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
}

type ReplyType = 'StockReserved' | 'StockReservationFailed' | 'StockReleased' | 'StockCommitted';

/**
 * The envelope id of an order's reply of a type: a name-based UUID (RFC 9562 version 8 layout)
 * of `inventory-service/<orderId>/<type>`. Each order gets at most one answer of each type, and
 * the answer never changes once given, so every repetition of it (a duplicate command, a
 * republished outbox entry) carries the same id and the order service's inbox drops it.
 */
export function replyId(orderId: string, type: ReplyType): string {
  const hash = createHash('sha256').update(`${SERVICE_NAME}/${orderId}/${type}`).digest();
  const b = Buffer.from(hash.subarray(0, 16));
  b.writeUInt8((b.readUInt8(6) & 0x0f) | 0x80, 6); // version 8
  b.writeUInt8((b.readUInt8(8) & 0x3f) | 0x80, 8); // RFC variant
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function reply<Payload extends { orderId: string }>(
  definition: MessageDefinition<ReplyType, Payload>,
  payload: Payload,
  cause: Cause,
  now: Date,
): OutgoingMessage {
  return {
    topic: topicOf[definition.type],
    envelope: createEnvelope({
      id: replyId(payload.orderId, definition.type),
      type: definition,
      source: SERVICE_NAME,
      time: now,
      key: payload.orderId,
      correlationId: cause.correlationId,
      causationId: cause.messageId,
      ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
      ...(cause.tracestate !== undefined && { tracestate: cause.tracestate }),
      payload,
    }),
  };
}

export function reserveReplyMessage(
  answer: ReserveReply,
  cause: Cause,
  now: Date,
): OutgoingMessage {
  return answer.type === 'StockReserved'
    ? reply(StockReservedV1, answer.payload, cause, now)
    : reply(StockReservationFailedV1, answer.payload, cause, now);
}

export function releasedMessage(payload: StockReleased, cause: Cause, now: Date): OutgoingMessage {
  return reply(StockReleasedV1, payload, cause, now);
}

export function committedMessage(
  payload: StockCommitted,
  cause: Cause,
  now: Date,
): OutgoingMessage {
  return reply(StockCommittedV1, payload, cause, now);
}
