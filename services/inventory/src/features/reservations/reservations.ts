import type { CommitStock, ReleaseStock, ReserveStock } from '@platform/contracts';
import {
  PermanentHandlerError,
  silentLogger,
  type MessagingLogger,
  type OutgoingMessage,
} from '@platform/messaging';
import {
  completeReservation,
  diagnoseHoldMiss,
  failedReply,
  FINAL_STATUSES,
  initialLines,
  isStrayHold,
  nextCommitStep,
  nextReleaseStep,
  nextReserveStep,
  oversizedLine,
  reservedReply,
  type Reservation,
  type ReservationFailure,
  type ReservationLine,
  type ReservationStatus,
} from '../../domain/reservation';
import type { ReservationStore } from '../../infrastructure/reservation-store';
import type { StockStore } from '../../infrastructure/stock-store';
import { committedMessage, releasedMessage, reserveReplyMessage, type Cause } from './replies';

/**
 * Test hooks, inert unless a test (or the env-guarded crash switch, see config.ts) sets them.
 * `afterHold` runs right after a SKU update placed (or found) an order's hold and before the
 * reservation records it: the widest crash window of the whole protocol.
 */
export interface ReservationHooks {
  readonly afterHold?: (event: {
    readonly orderId: string;
    readonly sku: string;
    readonly index: number;
  }) => void | Promise<void>;
}

export interface ReservationsOptions {
  readonly clock?: () => Date;
  /** Called after every write that queued a reply (the relay's nudge). */
  readonly onReplyQueued?: () => void;
  readonly hooks?: ReservationHooks;
  readonly logger?: MessagingLogger;
}

/** A handler never needs more rounds than this; more means two writers keep undoing each other. */
const MAX_ROUNDS = 12;
/** A hold that misses while the SKU looks sufficient is retried this often (the SKU just changed). */
const HOLD_ATTEMPTS = 3;

/**
 * The three commands of the saga's inventory step. Each handler is a loop over the reservation
 * document: read it, ask the domain what the next step is for its status, do that step, and read
 * again, until the step is "reply". Every step is safe to repeat, so a handler that crashed at
 * any point, or ran twice, or raced a duplicate of itself, converges on the same outcome, and the
 * same reply (same envelope id) is queued again rather than a different one.
 */
export class Reservations {
  private readonly clock: () => Date;
  private readonly onReplyQueued: () => void;
  private readonly hooks: ReservationHooks;
  private readonly logger: MessagingLogger;

  constructor(
    private readonly reservations: ReservationStore,
    private readonly stock: StockStore,
    options: ReservationsOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.onReplyQueued = options.onReplyQueued ?? (() => undefined);
    this.hooks = options.hooks ?? {};
    this.logger = options.logger ?? silentLogger;
  }

  /** ReserveStock: hold every line, or none; answer StockReserved or StockReservationFailed. */
  async reserve(command: ReserveStock, cause: Cause): Promise<void> {
    const { orderId } = command;
    let reservation = await this.reservations.open(
      orderId,
      initialLines(command.lines),
      command.currency,
      this.clock(),
    );
    this.warnIfDifferent(reservation, command);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const step = nextReserveStep(reservation);
      switch (step.kind) {
        case 'hold-lines':
          if (await this.holdLines(reservation, cause)) return;
          break;
        case 'undo-for-failure':
          if (await this.undoForFailure(reservation, cause)) return;
          break;
        case 'reply':
          await this.queueReply(orderId, reserveReplyMessage(step.reply, cause, this.clock()));
          return;
      }
      reservation = await this.reservations.get(orderId);
    }
    throw this.unsettled(orderId, reservation);
  }

  /**
   * ReleaseStock: undo whatever the order holds; answer StockReleased. An order never seen gets
   * a released reservation, so a ReserveStock that arrives after its release is refused.
   */
  async release(command: ReleaseStock, cause: Cause): Promise<void> {
    const { orderId } = command;
    let reservation = await this.reservations.find(orderId);
    if (reservation === undefined) {
      const reply = releasedMessage({ orderId, released: false }, cause, this.clock());
      if (await this.reservations.createReleased(orderId, reply, this.clock())) {
        this.onReplyQueued();
        return;
      }
      reservation = await this.reservations.get(orderId);
    }
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const step = nextReleaseStep(reservation);
      switch (step.kind) {
        case 'start-releasing':
          await this.reservations.transition(
            orderId,
            reservation.status,
            'releasing',
            { released: step.released },
            [],
            this.clock(),
          );
          break;
        case 'undo-for-release':
          if (await this.undoForRelease(reservation, cause)) return;
          break;
        case 'undo-for-failure':
          await this.undoForFailure(reservation, cause);
          break;
        case 'sell':
          await this.sell(reservation, cause);
          break;
        case 'reply':
          await this.queueReply(orderId, releasedMessage(step.payload, cause, this.clock()));
          return;
      }
      reservation = await this.reservations.get(orderId);
    }
    throw this.unsettled(orderId, reservation);
  }

  /** CommitStock: turn every hold into a sale; answer StockCommitted. */
  async commit(command: CommitStock, cause: Cause): Promise<void> {
    const { orderId } = command;
    let reservation = await this.reservations.find(orderId);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const step = nextCommitStep(reservation);
      switch (step.kind) {
        case 'refuse':
          throw new PermanentHandlerError(`CommitStock for order ${orderId}: ${step.reason}`);
        case 'start-committing':
          await this.reservations.transition(
            orderId,
            'reserved',
            'committing',
            {},
            [],
            this.clock(),
          );
          break;
        case 'sell':
          if (reservation !== undefined && (await this.sell(reservation, cause))) return;
          break;
        case 'reply':
          await this.queueReply(orderId, committedMessage(step.payload, cause, this.clock()));
          return;
      }
      reservation = await this.reservations.get(orderId);
    }
    throw this.unsettled(orderId, reservation);
  }

  /**
   * Holds the lines still pending, recording each on the reservation; then reserved (with the
   * reply) in one update. False when the reservation must be read again (it is failing now, or
   * another writer moved it).
   */
  private async holdLines(reservation: Reservation, cause: Cause): Promise<boolean> {
    const { orderId, currency } = reservation;
    if (currency === undefined) throw new Error(`reservation ${orderId} has no currency`);
    const oversized = oversizedLine(reservation.lines);
    if (oversized !== undefined) {
      return this.startFailing(orderId, { cause: 'line-limit', sku: oversized.sku });
    }
    const lines: ReservationLine[] = [...reservation.lines];
    for (const [index, line] of reservation.lines.entries()) {
      if (line.state === 'held') continue;
      if (line.state !== 'pending') {
        throw new Error(
          `reservation ${orderId} is reserving but line ${line.sku} is ${line.state}`,
        );
      }
      const outcome = await this.holdOne(orderId, line, currency);
      if ('failure' in outcome) return this.startFailing(orderId, outcome.failure);
      await this.hooks.afterHold?.({ orderId, sku: line.sku, index });
      const recorded = await this.reservations.recordLine(
        orderId,
        index,
        line,
        'reserving',
        'held',
        this.clock(),
        outcome.unitPrice,
      );
      if (!recorded) {
        await this.undoStrayHold(orderId, index, line);
        return false;
      }
      lines[index] = { ...line, state: 'held', unitPrice: outcome.unitPrice };
    }
    const completion = completeReservation(lines);
    if ('failure' in completion) return this.startFailing(orderId, completion.failure);
    const reply = reservedReply({ ...reservation, lines, total: completion.total });
    const done = await this.reservations.transition(
      orderId,
      'reserving',
      'reserved',
      { total: completion.total },
      [reserveReplyMessage(reply, cause, this.clock())],
      this.clock(),
    );
    if (done) this.onReplyQueued();
    return done;
  }

  /** One conditional SKU update; a miss is diagnosed from the SKU as it is now. */
  private async holdOne(
    orderId: string,
    line: ReservationLine,
    currency: string,
  ): Promise<{ readonly unitPrice: number } | { readonly failure: ReservationFailure }> {
    for (let attempt = 1; attempt <= HOLD_ATTEMPTS; attempt++) {
      const held = await this.stock.hold(line.sku, orderId, line.quantity, currency, this.clock());
      if (held !== undefined) return held;
      const miss = diagnoseHoldMiss(await this.stock.snapshot(line.sku, orderId), line, currency);
      switch (miss.kind) {
        case 'already-held':
          return { unitPrice: miss.unitPrice };
        case 'failed':
          return { failure: miss.failure };
        case 'retry':
          continue;
      }
    }
    return { failure: { cause: 'out-of-stock', sku: line.sku } };
  }

  /** Persists the decision to fail before undoing anything, so a crash resumes the undoing. */
  private async startFailing(orderId: string, failure: ReservationFailure): Promise<false> {
    await this.reservations.transition(
      orderId,
      'reserving',
      'failing',
      { failure },
      [],
      this.clock(),
    );
    return false;
  }

  /**
   * A hold this run placed (or found) could not be recorded because the reservation left
   * `reserving` meanwhile (another run of the same command got further). Undo it if the
   * reservation's current state says no such hold may exist.
   */
  private async undoStrayHold(
    orderId: string,
    index: number,
    line: ReservationLine,
  ): Promise<void> {
    if (isStrayHold(await this.reservations.get(orderId), index)) {
      await this.stock.undoHold(line.sku, orderId, line.quantity, this.clock());
    }
  }

  /** Undoes every hold (conditionally: each at most once), then failed with the reply. */
  private async undoForFailure(reservation: Reservation, cause: Cause): Promise<boolean> {
    const { orderId } = reservation;
    await this.undoLines(reservation, 'failing');
    const done = await this.reservations.transition(
      orderId,
      'failing',
      'failed',
      {},
      [reserveReplyMessage(failedReply(reservation), cause, this.clock())],
      this.clock(),
    );
    if (done) this.onReplyQueued();
    return done;
  }

  private async undoForRelease(reservation: Reservation, cause: Cause): Promise<boolean> {
    const { orderId } = reservation;
    const undone = await this.undoLines(reservation, 'releasing');
    const released = (reservation.released ?? false) || undone;
    const done = await this.reservations.transition(
      orderId,
      'releasing',
      'released',
      { released },
      [releasedMessage({ orderId, released }, cause, this.clock())],
      this.clock(),
    );
    if (done) this.onReplyQueued();
    return done;
  }

  /**
   * Undoes the hold of every line not yet released. Pending lines too: a crash between a SKU
   * update and its record leaves a hold the reservation does not know about. True if any hold
   * existed.
   */
  private async undoLines(reservation: Reservation, status: ReservationStatus): Promise<boolean> {
    let undoneAny = false;
    for (const [index, line] of reservation.lines.entries()) {
      if (line.state === 'released' || line.state === 'sold') continue;
      const undone = await this.stock.undoHold(
        line.sku,
        reservation.orderId,
        line.quantity,
        this.clock(),
      );
      undoneAny ||= undone;
      await this.reservations.recordLine(
        reservation.orderId,
        index,
        line,
        status,
        'released',
        this.clock(),
      );
    }
    return undoneAny;
  }

  /** Moves every hold to sold (each at most once), then committed with the reply. */
  private async sell(reservation: Reservation, cause: Cause): Promise<boolean> {
    const { orderId } = reservation;
    for (const [index, line] of reservation.lines.entries()) {
      if (line.state === 'sold') continue;
      const sold = await this.stock.sell(line.sku, orderId, line.quantity, this.clock());
      if (!sold) {
        // Sold by an earlier run that crashed before recording it (the hold is gone either way).
        this.logger.info('no hold left to sell; an earlier run sold it', {
          orderId,
          sku: line.sku,
        });
      }
      await this.reservations.recordLine(orderId, index, line, 'committing', 'sold', this.clock());
    }
    const done = await this.reservations.transition(
      orderId,
      'committing',
      'committed',
      {},
      [committedMessage({ orderId }, cause, this.clock())],
      this.clock(),
    );
    if (done) this.onReplyQueued();
    return done;
  }

  private async queueReply(orderId: string, message: OutgoingMessage): Promise<void> {
    // Nudge either way: a twin still pending is what the relay should publish now.
    await this.reservations.appendReply(orderId, message, this.clock());
    this.onReplyQueued();
  }

  private warnIfDifferent(reservation: Reservation, command: ReserveStock): void {
    if (FINAL_STATUSES.includes(reservation.status) && reservation.lines.length === 0) return;
    const asked = initialLines(command.lines);
    const same =
      asked.length === reservation.lines.length &&
      asked.every((line, i) => {
        const stored = reservation.lines[i];
        return stored?.sku === line.sku && stored.quantity === line.quantity;
      });
    if (!same || reservation.currency !== command.currency) {
      // The first ReserveStock of an order decides; a later one with other lines is a saga bug.
      this.logger.warn('ReserveStock differs from the stored reservation; the stored one applies', {
        orderId: command.orderId,
      });
    }
  }

  private unsettled(orderId: string, reservation: Reservation | undefined): Error {
    return new Error(
      `reservation ${orderId} did not settle after ${MAX_ROUNDS} rounds (status ${reservation?.status ?? 'none'})`,
    );
  }
}
