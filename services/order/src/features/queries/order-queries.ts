import { parsePosition } from '@platform/event-store';
import { LAST_POSITION_FIELD, type ProjectionRunner } from '@platform/projections';
import { ValidationProblem } from '@platform/service-defaults';
import type { Db, Filter } from 'mongodb';
import { z } from 'zod';
import { ORDER_SUMMARIES, type OrderSummary } from '../../read-model/order-summary.projection';

export const MAX_PAGE_SIZE = 100;

/** GET /orders query. Strict, so `?status[$ne]=x` style operator injection is a 400, not a filter. */
export const ListOrdersQuery = z.strictObject({
  customerId: z.string().min(1).max(64).optional(),
  status: z.enum(['Placed', 'Confirmed', 'Rejected', 'NeedsAttention']).optional(),
  /** Absurd limits are capped, not refused: `limit=1e9` returns one full page. */
  limit: z.coerce.number().int().min(1).optional(),
  cursor: z.string().max(500).optional(),
});
export type ListOrdersQuery = z.infer<typeof ListOrdersQuery>;

export const OrderIdParam = z.uuid();
export const PositionParam = z
  .string()
  .regex(/^\d{1,20}-\d{1,20}$/, 'a position as returned by POST /orders');

export type OrderView = Omit<OrderSummary, '_id'>;

function toView(doc: OrderSummary & Record<string, unknown>): OrderView {
  const { _id: _id, [LAST_POSITION_FIELD]: _position, ...view } = doc;
  return view;
}

interface Cursor {
  placedAt: string;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.placedAt, cursor.id])).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && typeof parsed[0] === 'string' && typeof parsed[1] === 'string') {
      return { placedAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through to the validation problem
  }
  throw new ValidationProblem('the cursor is invalid', [
    { path: 'cursor', message: 'use the nextCursor of a previous page' },
  ]);
}

/** Reads the order summary read model (MongoDB). Never reads the event store. */
export class OrderQueries {
  constructor(
    private readonly db: Db,
    private readonly projection: ProjectionRunner,
    private readonly readYourWritesWaitMs = 2000,
  ) {}

  private get collection() {
    return this.db.collection<OrderSummary>(ORDER_SUMMARIES);
  }

  /**
   * One order. With `minPosition` (from POST /orders) it first waits up to a bound for the read
   * model to reach that write, and says so when it has not.
   */
  async get(orderId: string, minPosition?: string): Promise<OrderView | 'not-found' | 'lagging'> {
    if (minPosition !== undefined) {
      const reached = await this.projection.waitForPosition(
        parsePosition(minPosition),
        this.readYourWritesWaitMs,
      );
      if (!reached) return 'lagging';
    }
    const doc = await this.collection.findOne({ _id: orderId });
    return doc ? toView(doc) : 'not-found';
  }

  async list(query: ListOrdersQuery): Promise<{ items: OrderView[]; nextCursor?: string }> {
    const limit = Math.min(query.limit ?? 20, MAX_PAGE_SIZE);
    const filter: Filter<OrderSummary> = {};
    if (query.customerId !== undefined) filter.customerId = query.customerId;
    if (query.status !== undefined) filter.status = query.status;
    if (query.cursor !== undefined) {
      const cursor = decodeCursor(query.cursor);
      filter.$or = [
        { placedAt: { $lt: cursor.placedAt } },
        { placedAt: cursor.placedAt, _id: { $lt: cursor.id } },
      ];
    }
    const docs = await this.collection
      .find(filter)
      .sort({ placedAt: -1, _id: -1 })
      .limit(limit + 1)
      .toArray();
    const page = docs.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toView),
      ...(docs.length > limit &&
        last && { nextCursor: encodeCursor({ placedAt: last.placedAt, id: last._id }) }),
    };
  }
}
