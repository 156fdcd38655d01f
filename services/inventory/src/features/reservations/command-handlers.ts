import { CommitStockV1, ReleaseStockV1, ReserveStockV1 } from '@platform/contracts';
import {
  DependencyUnavailableError,
  idempotentHandler,
  tagActiveSpan,
  type Envelope,
  type IdempotentMessageHandler,
} from '@platform/messaging';
import { isMongoUnavailable } from '../../infrastructure/mongo-errors';
import type { Cause } from './replies';
import type { Reservations } from './reservations';

function causeOf(envelope: Envelope): Cause {
  // Every inventory command is keyed by its order: tag the delivery's span so the trace is found by it.
  tagActiveSpan({ 'order.id': envelope.key });
  return {
    messageId: envelope.id,
    correlationId: envelope.correlationId,
    ...(envelope.traceparent !== undefined && { traceparent: envelope.traceparent }),
    ...(envelope.tracestate !== undefined && { tracestate: envelope.tracestate }),
  };
}

/** A database outage says nothing about the message: the consumer waits instead of counting attempts. */
async function unlessMongoIsDown(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (isMongoUnavailable(error)) {
      throw new DependencyUnavailableError(
        `MongoDB unavailable: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The consumer's handlers for `inventory.commands`. `idempotentHandler`: there is no inbox here;
 * the reservation document is the dedupe record (see Reservations), so a redelivered command,
 * under its old id or a new one, finds its work done and only repeats the reply.
 */
export function inventoryCommandHandlers(reservations: Reservations): IdempotentMessageHandler[] {
  return [
    idempotentHandler(ReserveStockV1, (message) =>
      unlessMongoIsDown(() =>
        reservations.reserve(message.envelope.payload, causeOf(message.envelope)),
      ),
    ),
    idempotentHandler(ReleaseStockV1, (message) =>
      unlessMongoIsDown(() =>
        reservations.release(message.envelope.payload, causeOf(message.envelope)),
      ),
    ),
    idempotentHandler(CommitStockV1, (message) =>
      unlessMongoIsDown(() =>
        reservations.commit(message.envelope.payload, causeOf(message.envelope)),
      ),
    ),
  ];
}
