import type { OutgoingMessage } from '@platform/messaging';
import { mongoOutboxEntries, withOutbox, type WithMongoOutbox } from '@platform/messaging';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import {
  canTransition,
  type LineState,
  type Reservation,
  type ReservationFailure,
  type ReservationLine,
  type ReservationStatus,
} from '../domain/reservation';

export const RESERVATIONS_COLLECTION = 'reservations';

/** One order's reservation; `outbox` holds its unpublished replies (see MongoOutboxRelay). */
export interface ReservationDocument extends WithMongoOutbox {
  _id: string;
  status: ReservationStatus;
  lines: ReservationLine[];
  currency?: string;
  total?: number;
  failure?: ReservationFailure;
  released?: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** What may be set together with a status change. */
export interface TransitionFields {
  readonly total?: number;
  readonly failure?: ReservationFailure;
  readonly released?: boolean;
}

const DUPLICATE_KEY = 11000;

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

function toReservation(doc: ReservationDocument): Reservation {
  return {
    orderId: doc._id,
    status: doc.status,
    lines: doc.lines,
    ...(doc.currency !== undefined && { currency: doc.currency }),
    ...(doc.total !== undefined && { total: doc.total }),
    ...(doc.failure !== undefined && { failure: doc.failure }),
    ...(doc.released !== undefined && { released: doc.released }),
  };
}

/**
 * The `reservations` collection. Each method is one single-document write whose filter states
 * what must still be true (usually the status it moves from), so two writers racing on one order
 * cannot both win, and a step repeated after a crash finds its work done and changes nothing.
 * Replies ride in the same update as the status change they announce (`withOutbox`).
 */
export class ReservationStore {
  private readonly collection: Collection<ReservationDocument>;

  constructor(db: Db) {
    this.collection = db.collection<ReservationDocument>(RESERVATIONS_COLLECTION);
  }

  /** Creates the reservation (status reserving) unless the order has one; returns the stored one. */
  async open(
    orderId: string,
    lines: readonly ReservationLine[],
    currency: string,
    now: Date,
  ): Promise<Reservation> {
    for (let attempt = 1; ; attempt++) {
      try {
        const doc = await this.collection.findOneAndUpdate(
          { _id: orderId },
          {
            $setOnInsert: {
              status: 'reserving',
              lines: [...lines],
              currency,
              createdAt: now,
              updatedAt: now,
            },
          },
          { upsert: true, returnDocument: 'after' },
        );
        if (doc === null)
          throw new Error(`reservation ${orderId}: the upsert returned no document`);
        return toReservation(doc);
      } catch (error) {
        // Two upserts of a new id raced; the loser reads the winner's document on the next try.
        if (!isDuplicateKey(error) || attempt >= 3) throw error;
      }
    }
  }

  async find(orderId: string): Promise<Reservation | undefined> {
    const doc = await this.collection.findOne(
      { _id: orderId },
      { projection: { outbox: 0, outboxParked: 0 } },
    );
    return doc === null ? undefined : toReservation(doc);
  }

  async get(orderId: string): Promise<Reservation> {
    const found = await this.find(orderId);
    if (found === undefined) throw new Error(`reservation ${orderId} vanished`);
    return found;
  }

  /**
   * Records a release for an order never seen, with its reply, so a ReserveStock arriving later
   * is refused. False if the order has a reservation after all (created meanwhile).
   */
  async createReleased(orderId: string, reply: OutgoingMessage, now: Date): Promise<boolean> {
    try {
      await this.collection.insertOne({
        _id: orderId,
        status: 'released',
        lines: [],
        released: false,
        createdAt: now,
        updatedAt: now,
        outbox: mongoOutboxEntries([reply], now),
      });
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Sets one line's state (and price) while the reservation is still in `status`. */
  async recordLine(
    orderId: string,
    index: number,
    line: Pick<ReservationLine, 'sku'>,
    status: ReservationStatus,
    state: LineState,
    now: Date,
    unitPrice?: number,
  ): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: orderId, status, [`lines.${index}.sku`]: line.sku },
      {
        $set: {
          [`lines.${index}.state`]: state,
          ...(unitPrice !== undefined && { [`lines.${index}.unitPrice`]: unitPrice }),
          updatedAt: now,
        },
      },
    );
    return result.matchedCount === 1;
  }

  /** Moves `from` → `to` with the fields and messages, in one update; false if no longer `from`. */
  async transition(
    orderId: string,
    from: ReservationStatus,
    to: ReservationStatus,
    fields: TransitionFields,
    messages: readonly OutgoingMessage[],
    now: Date,
  ): Promise<boolean> {
    if (!canTransition(from, to))
      throw new Error(`reservation ${orderId}: ${from} → ${to} is not a transition`);
    const result = await this.collection.updateOne(
      { _id: orderId, status: from },
      withOutbox<ReservationDocument>(
        { $set: { status: to, ...fields, updatedAt: now } },
        messages,
        { now },
      ),
    );
    return result.matchedCount === 1;
  }

  /**
   * Queues a reply that changes nothing else: the answer to a duplicate command. A reply with the
   * same id still waiting in the outbox is the same answer (ids are fixed per order and type), so
   * it is not queued twice; the relay also pulls published entries by id, which would fold such
   * twins into one publication anyway. False when nothing was queued for that reason.
   */
  async appendReply(orderId: string, message: OutgoingMessage, now: Date): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: orderId, 'outbox.id': { $ne: message.envelope.id } },
      withOutbox<ReservationDocument>({ $set: { updatedAt: now } }, [message], { now }),
    );
    if (result.matchedCount === 1) return true;
    if ((await this.find(orderId)) === undefined)
      throw new Error(`reservation ${orderId} vanished`);
    return false;
  }
}
