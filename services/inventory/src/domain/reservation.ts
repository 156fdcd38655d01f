import type {
  OrderLine,
  StockCommitted,
  StockReleased,
  StockReservationFailed,
  StockReserved,
} from '@platform/contracts';
import { assertNever } from '@platform/domain';

/**
 * One order's reservation, as the inventory service keeps it: one document per order, so every
 * decision about the order is a single-document write (the store has no multi-document
 * transactions). Stock itself lives on the SKU documents as `holds.<orderId>`; this document
 * records what the service DECIDED and how far it got applying that decision to the SKUs.
 *
 * Every multi-step change follows the same pattern, so a crash anywhere can be resumed by running
 * the same command again:
 *
 *   1. persist the intent (a transitional status: `reserving`, `failing`, `releasing`, `committing`)
 *   2. apply the effects to the SKU documents, each a conditional single-document update that
 *      cannot apply twice (holds are keyed by order id)
 *   3. persist the outcome (a final status) together with the reply, in one update
 *
 * Pure: no database, no framework, no clock. Time arrives as an argument where it matters.
 */

export type ReservationStatus =
  /** Lines are being held one by one. */
  | 'reserving'
  /** A line could not be held: holds already taken are being undone. */
  | 'failing'
  /** Every line is held; the reply StockReserved went out with this status. */
  | 'reserved'
  /** Holds are being undone because the saga asked to release them. */
  | 'releasing'
  /** Holds are being turned into sales. */
  | 'committing'
  | 'failed'
  | 'released'
  | 'committed';

/** Statuses after which nothing changes any more; only the reply is repeated. */
export const FINAL_STATUSES: readonly ReservationStatus[] = ['failed', 'released', 'committed'];

export type LineState = 'pending' | 'held' | 'released' | 'sold';

export interface ReservationLine {
  readonly sku: string;
  readonly quantity: number;
  /** Price per unit in minor units, read from the SKU when the line was held. */
  readonly unitPrice?: number;
  readonly state: LineState;
}

/**
 * Why a reservation failed. The first three are the contract's reasons; the others are refusals
 * the contract has no word for yet and are sent as `out-of-stock` (see `replyReasonOf`).
 */
export type FailureCause =
  | 'out-of-stock'
  | 'unknown-sku'
  | 'currency-mismatch'
  /** The order was released (or never reserved and released) before this ReserveStock arrived. */
  | 'order-closed'
  /** After merging, one SKU's quantity exceeds what one reply line may carry. */
  | 'line-limit'
  /** Σ quantity × unitPrice exceeds the largest amount the contracts allow. */
  | 'total-limit';

export interface ReservationFailure {
  readonly cause: FailureCause;
  readonly sku?: string;
}

export interface Reservation {
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly lines: readonly ReservationLine[];
  /** Absent on a reservation created by ReleaseStock for an order it never saw. */
  readonly currency?: string;
  readonly total?: number;
  readonly failure?: ReservationFailure;
  /** The `released` flag of the StockReleased reply, fixed when the release began or ended. */
  readonly released?: boolean;
}

/** Limits that keep every reply valid against the contracts (see @platform/contracts common.ts). */
export const MAX_LINE_QUANTITY = 10_000;
export const MAX_AMOUNT = 1_000_000_000_00;

/**
 * Merges lines for the same SKU (the order service merges them too), keeping the order in which
 * each SKU first appears, so the SKUs are always held in the same order for the same command.
 */
export function mergeLines(lines: readonly OrderLine[]): OrderLine[] {
  const merged = new Map<string, number>();
  for (const { sku, quantity } of lines) merged.set(sku, (merged.get(sku) ?? 0) + quantity);
  return [...merged].map(([sku, quantity]) => ({ sku, quantity }));
}

/** The lines a new reservation starts with: merged, all pending. */
export function initialLines(lines: readonly OrderLine[]): ReservationLine[] {
  return mergeLines(lines).map(({ sku, quantity }) => ({ sku, quantity, state: 'pending' }));
}

/** A line whose quantity no single reply line can carry, if any. */
export function oversizedLine(lines: readonly OrderLine[]): OrderLine | undefined {
  return lines.find((line) => line.quantity > MAX_LINE_QUANTITY);
}

/** Σ quantity × unitPrice over held lines; undefined while a line has no price. */
export function totalOf(lines: readonly ReservationLine[]): number | undefined {
  let total = 0;
  for (const line of lines) {
    if (line.unitPrice === undefined) return undefined;
    total += line.quantity * line.unitPrice;
  }
  return total;
}

/** True when the order may hold stock right now (some line was recorded as held). */
export function holdsAnything(reservation: Reservation): boolean {
  return reservation.lines.some((line) => line.state === 'held');
}

/**
 * What a SKU document looked like when a conditional hold did not match, and what that means.
 * `retry` covers the race where the SKU changed between the failed update and this read.
 */
export interface SkuSnapshot {
  readonly available: number;
  readonly currency: string;
  readonly unitPrice: number;
  readonly heldForOrder: number | undefined;
}

export type HoldMiss =
  | { readonly kind: 'already-held'; readonly unitPrice: number }
  | { readonly kind: 'failed'; readonly failure: ReservationFailure }
  | { readonly kind: 'retry' };

export function diagnoseHoldMiss(
  snapshot: SkuSnapshot | undefined,
  line: Pick<ReservationLine, 'sku' | 'quantity'>,
  currency: string,
): HoldMiss {
  const { sku } = line;
  if (snapshot === undefined) return { kind: 'failed', failure: { cause: 'unknown-sku', sku } };
  // A hold for this order already exists: an earlier run placed it and crashed before recording.
  if (snapshot.heldForOrder !== undefined)
    return { kind: 'already-held', unitPrice: snapshot.unitPrice };
  if (snapshot.currency !== currency)
    return { kind: 'failed', failure: { cause: 'currency-mismatch', sku } };
  if (snapshot.available < line.quantity)
    return { kind: 'failed', failure: { cause: 'out-of-stock', sku } };
  return { kind: 'retry' };
}

/**
 * Whether a hold of this order on the line's SKU, found after the reservation left `reserving`,
 * is a stray to undo. A hold can appear late only from a second run of ReserveStock that raced
 * the first (a redelivery during a rebalance): once the order failed or was released no hold may
 * exist, and once a line is sold its hold is gone for good, so a new one is the racer's.
 */
export function isStrayHold(reservation: Reservation, index: number): boolean {
  switch (reservation.status) {
    case 'failing':
    case 'failed':
    case 'releasing':
    case 'released':
    case 'committed':
      return true;
    case 'committing':
      return reservation.lines[index]?.state === 'sold';
    case 'reserving':
    case 'reserved':
      return false;
    default:
      return assertNever(reservation.status, 'reservation status');
  }
}

// What each command does in each status. The handlers loop: act, re-read, ask again, until the
// answer is a reply; a concurrent writer that moved the status first just changes the next answer.

export type ReserveStep =
  | { readonly kind: 'hold-lines' }
  | { readonly kind: 'undo-for-failure' }
  | { readonly kind: 'reply'; readonly reply: ReserveReply };

export type ReserveReply =
  | { readonly type: 'StockReserved'; readonly payload: StockReserved }
  | { readonly type: 'StockReservationFailed'; readonly payload: StockReservationFailed };

export function nextReserveStep(reservation: Reservation): ReserveStep {
  switch (reservation.status) {
    case 'reserving':
      return { kind: 'hold-lines' };
    case 'failing':
      return { kind: 'undo-for-failure' };
    case 'failed':
      return { kind: 'reply', reply: failedReply(reservation) };
    case 'reserved':
    case 'committing':
    case 'committed':
      // The reservation succeeded once; a duplicate command repeats that answer.
      return { kind: 'reply', reply: reservedReply(reservation) };
    case 'releasing':
    case 'released':
      // Released after it was reserved: same answer as then. Released before it ever was
      // reserved (ReleaseStock overtook it): refused, the order is dead.
      return reservation.total !== undefined
        ? { kind: 'reply', reply: reservedReply(reservation) }
        : { kind: 'reply', reply: failedReply(reservation) };
    default:
      return assertNever(reservation.status, 'reservation status');
  }
}

export type ReleaseStep =
  | { readonly kind: 'start-releasing'; readonly released: boolean }
  | { readonly kind: 'undo-for-release' }
  | { readonly kind: 'undo-for-failure' }
  | { readonly kind: 'sell' }
  | { readonly kind: 'reply'; readonly payload: StockReleased };

export function nextReleaseStep(reservation: Reservation): ReleaseStep {
  const { orderId } = reservation;
  switch (reservation.status) {
    case 'reserving':
    case 'reserved':
      return {
        kind: 'start-releasing',
        released: reservation.status === 'reserved' || holdsAnything(reservation),
      };
    case 'releasing':
      return { kind: 'undo-for-release' };
    case 'released':
      return { kind: 'reply', payload: { orderId, released: reservation.released ?? false } };
    case 'failing':
      // Finish the failure first (its own reply goes out), then answer: nothing was held.
      return { kind: 'undo-for-failure' };
    case 'committing':
      // The sale was decided before the release arrived; a sale is never undone by a release.
      return { kind: 'sell' };
    case 'failed':
    case 'committed':
      return { kind: 'reply', payload: { orderId, released: false } };
    default:
      return assertNever(reservation.status, 'reservation status');
  }
}

export type CommitStep =
  | { readonly kind: 'start-committing' }
  | { readonly kind: 'sell' }
  | { readonly kind: 'reply'; readonly payload: StockCommitted }
  | { readonly kind: 'refuse'; readonly reason: string };

export function nextCommitStep(reservation: Reservation | undefined): CommitStep {
  if (reservation === undefined) return { kind: 'refuse', reason: 'the order has no reservation' };
  switch (reservation.status) {
    case 'reserved':
      return { kind: 'start-committing' };
    case 'committing':
      return { kind: 'sell' };
    case 'committed':
      return { kind: 'reply', payload: { orderId: reservation.orderId } };
    case 'reserving':
    case 'failing':
    case 'failed':
    case 'releasing':
    case 'released':
      // The saga commits only after StockReserved; anything else contradicts it. Nothing to
      // commit: the command goes to the dead-letter topic with this reason, visibly.
      return {
        kind: 'refuse',
        reason: `the reservation is ${reservation.status}, not reserved`,
      };
    default:
      return assertNever(reservation.status, 'reservation status');
  }
}

/** The transitions the store allows; any other conditional update is a bug. */
const TRANSITIONS: Readonly<Record<ReservationStatus, readonly ReservationStatus[]>> = {
  reserving: ['reserved', 'failing', 'releasing'],
  failing: ['failed'],
  reserved: ['releasing', 'committing'],
  releasing: ['released'],
  committing: ['committed'],
  failed: [],
  released: [],
  committed: [],
};

export function canTransition(from: ReservationStatus, to: ReservationStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The contract's reason for a failure cause. */
export function replyReasonOf(cause: FailureCause): StockReservationFailed['reason'] {
  switch (cause) {
    case 'out-of-stock':
    case 'unknown-sku':
    case 'currency-mismatch':
      return cause;
    case 'order-closed':
    case 'line-limit':
    case 'total-limit':
      return 'out-of-stock';
    default:
      return assertNever(cause, 'failure cause');
  }
}

export function failedReply(reservation: Reservation): ReserveReply {
  const failure = reservation.failure ?? { cause: 'order-closed' };
  return {
    type: 'StockReservationFailed',
    payload: {
      orderId: reservation.orderId,
      reason: replyReasonOf(failure.cause),
      ...(failure.sku !== undefined && { sku: failure.sku }),
    },
  };
}

export function reservedReply(reservation: Reservation): ReserveReply {
  const lines = reservation.lines.map(({ sku, quantity, unitPrice }) => {
    if (unitPrice === undefined) {
      throw new Error(`reservation ${reservation.orderId}: line ${sku} has no price`);
    }
    return { sku, quantity, unitPrice };
  });
  const total = reservation.total ?? totalOf(reservation.lines);
  if (total === undefined || reservation.currency === undefined) {
    throw new Error(`reservation ${reservation.orderId} has no total or currency`);
  }
  return {
    type: 'StockReserved',
    payload: { orderId: reservation.orderId, lines, total, currency: reservation.currency },
  };
}

/** The outcome once every line is held: reserved with its total, or failed on a limit. */
export function completeReservation(
  lines: readonly ReservationLine[],
): { readonly total: number } | { readonly failure: ReservationFailure } {
  const total = totalOf(lines);
  if (total === undefined) throw new Error('completeReservation: a held line has no price');
  if (total > MAX_AMOUNT || !Number.isSafeInteger(total))
    return { failure: { cause: 'total-limit' } };
  return { total };
}
