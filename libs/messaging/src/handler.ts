import type { IncomingMessage } from './envelope';
import type { MessageDefinition } from './schemas';

/**
 * Thrown by a handler when the message can never succeed (it contradicts state that will not
 * change, say). The consumer dead-letters it at once instead of retrying.
 */
export class PermanentHandlerError extends Error {
  override readonly name = 'PermanentHandlerError';
}

/**
 * Thrown when a dependency the handler cannot work without is down (the inbox's database, say).
 * Such failures do not count as attempts: the consumer keeps the partition waiting, retrying at
 * the policy's longest delay, until the dependency is back or the consumer stops. Dead-lettering
 * every message while the database restarts would turn an outage into an operator's chore.
 * Throw it only for "cannot even try" conditions; an error inside the handler's own logic
 * should count as an attempt and eventually reach the dead-letter topic.
 */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
}

export interface HandlerContext {
  /** 1 for the first run of this delivery. */
  readonly attempt: number;
  readonly consumerGroup: string;
  /** The version the producer wrote (the payload has already been upcast to the current one). */
  readonly receivedSchemaVersion: number;
}

export interface InboxHandlerContext<Tx> extends HandlerContext {
  /** The inbox transaction: write the handler's effects through it so they commit with the dedupe row. */
  readonly tx: Tx;
}

/** A handler whose effects commit in the inbox's transaction (the default). */
export interface InboxMessageHandler<Tx> {
  readonly kind: 'inbox';
  readonly definition: MessageDefinition;
  readonly handle: (message: IncomingMessage, context: InboxHandlerContext<Tx>) => Promise<void>;
}

/** A handler that dedupes by itself; the consumer calls it without an inbox. */
export interface IdempotentMessageHandler {
  readonly kind: 'idempotent';
  readonly definition: MessageDefinition;
  readonly handle: (message: IncomingMessage, context: HandlerContext) => Promise<void>;
}

export type MessageHandler<Tx> = InboxMessageHandler<Tx> | IdempotentMessageHandler;

/**
 * A handler for the current version of a message type, run inside the inbox transaction: the
 * consumer records the message id and runs `handle` with the transaction (`context.tx`) in one
 * database transaction, and skips a message whose id the inbox already holds.
 */
export function handler<Payload, Tx>(
  definition: MessageDefinition<string, Payload>,
  handle: (message: IncomingMessage<Payload>, context: InboxHandlerContext<Tx>) => Promise<void>,
): InboxMessageHandler<Tx> {
  return {
    kind: 'inbox',
    definition,
    // The registry has parsed and upcast the payload against `definition` before this runs.
    handle: (message, context) => handle(message as IncomingMessage<Payload>, context),
  };
}

/**
 * A handler that needs no inbox because applying the same message twice has one effect by
 * construction. Appropriate when the handler's write and its dedupe record are one atomic write
 * in a store without multi-statement transactions, e.g. a MongoDB update that changes a document
 * only if its `appliedMessageIds` lacks the id and adds the id in the same update
 * (`{ _id, appliedMessageIds: { $ne: id } }` with `$push`), or a pure upsert of a value that does
 * not depend on earlier state. Not appropriate when the handler has several writes, calls another
 * service, or publishes: those need the inbox (or the outbox) to stay exactly-once in effect.
 */
export function idempotentHandler<Payload>(
  definition: MessageDefinition<string, Payload>,
  handle: (message: IncomingMessage<Payload>, context: HandlerContext) => Promise<void>,
): IdempotentMessageHandler {
  return {
    kind: 'idempotent',
    definition,
    handle: (message, context) => handle(message as IncomingMessage<Payload>, context),
  };
}
