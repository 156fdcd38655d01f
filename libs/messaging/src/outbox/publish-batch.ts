import type { OutgoingMessage } from '../envelope';
import { PermanentPublishError, type MessagePublisher } from '../publisher';

export interface RejectedMessage {
  readonly message: OutgoingMessage;
  readonly reason: string;
}

export interface BatchOutcome {
  /** Acknowledged by the broker, in the order given. */
  readonly published: readonly OutgoingMessage[];
  /** Refused by the broker on their own: they can never be published as they are. */
  readonly rejected: readonly RejectedMessage[];
  /**
   * Set when a retryable failure (broker down, timeout) stopped the batch. Everything after the
   * messages above is still pending and must be retried later, in the same order.
   */
  readonly retryableError?: unknown;
}

/** The publisher did not answer in time; what it was doing may still land (a duplicate, not a loss). */
export class OutboxPublishTimeoutError extends Error {
  override readonly name = 'OutboxPublishTimeoutError';
}

async function publishWithTimeout(
  publisher: MessagePublisher,
  messages: readonly OutgoingMessage[],
  timeoutMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new OutboxPublishTimeoutError(
          `publishing ${messages.length} message(s) took over ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([publisher.publish(messages), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function reasonOf(error: PermanentPublishError): string {
  return error.reason === '' ? error.message : error.reason;
}

/**
 * Publishes a batch; when the broker refuses it for good, finds the messages it refuses on their
 * own by bisection, in order: the left half completes before the right half starts, so a key's
 * messages still go out in order around the poison one.
 *
 * The error's `messageIds` are deliberately not trusted to pick the culprit: Kafka validates a
 * partition's whole record batch, so one oversized record fails its innocent neighbours too, and
 * a batch of individually fine records can be too large together. Only a message refused alone
 * is rejected.
 */
export async function publishIsolatingRejects(
  publisher: MessagePublisher,
  messages: readonly OutgoingMessage[],
  timeoutMs: number,
): Promise<BatchOutcome> {
  const published: OutgoingMessage[] = [];
  const rejected: RejectedMessage[] = [];

  /** Returns the retryable error that stopped it, if any. */
  const attempt = async (slice: readonly OutgoingMessage[]): Promise<unknown> => {
    if (slice.length === 0) return undefined;
    try {
      await publishWithTimeout(publisher, slice, timeoutMs);
      published.push(...slice);
      return undefined;
    } catch (error) {
      if (!(error instanceof PermanentPublishError)) return error ?? new Error('publish failed');
      const [only] = slice;
      if (slice.length === 1 && only !== undefined) {
        rejected.push({ message: only, reason: reasonOf(error) });
        return undefined;
      }
      const middle = Math.ceil(slice.length / 2);
      return (await attempt(slice.slice(0, middle))) ?? (await attempt(slice.slice(middle)));
    }
  };

  const retryableError = await attempt(messages);
  return retryableError === undefined
    ? { published, rejected }
    : { published, rejected, retryableError };
}
