import { assertNever } from '@platform/domain';
import { z } from 'zod';
import type { MoneyMovement } from './authorization';

export const LEDGER_KINDS = ['authorization', 'capture', 'void', 'refund'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/**
 * One effective money movement, written once, never changed. `id` is the movement's own id (the
 * authorization, capture, void or refund id); `sequence` is its position in the ledger, from 1.
 * The schema also reads entries back from a ledger file.
 */
const entryFields = {
  sequence: z.int().positive(),
  id: z.string().min(1),
  authorizationId: z.string().min(1),
  reference: z.string(),
  amount: z.int().nonnegative(),
  currency: z.string(),
  at: z.string(),
  idempotencyKey: z.string(),
};
export const LedgerEntrySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('authorization'), ...entryFields, customerId: z.string() }),
  z.strictObject({ kind: z.literal('capture'), ...entryFields, captureId: z.string().min(1) }),
  z.strictObject({ kind: z.literal('void'), ...entryFields }),
  z.strictObject({ kind: z.literal('refund'), ...entryFields, captureId: z.string().min(1) }),
]);
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

export interface LedgerSummary {
  reference: string;
  currencies: string[];
  authorized: number;
  captured: number;
  voided: number;
  refunded: number;
  counts: { authorizations: number; captures: number; voids: number; refunds: number };
}

export function toLedgerEntry(event: MoneyMovement, sequence: number): LedgerEntry {
  const rest = {
    authorizationId: event.authorizationId,
    reference: event.reference,
    amount: event.amount,
    currency: event.currency,
    at: event.at,
    idempotencyKey: event.idempotencyKey,
  };
  switch (event.type) {
    case 'AuthorizationHeld':
      return {
        sequence,
        kind: 'authorization',
        id: event.authorizationId,
        ...rest,
        customerId: event.customerId,
      };
    case 'AuthorizationCaptured':
      return {
        sequence,
        kind: 'capture',
        id: event.captureId,
        ...rest,
        captureId: event.captureId,
      };
    case 'AuthorizationVoided':
      return { sequence, kind: 'void', id: event.voidId, ...rest };
    case 'CaptureRefunded':
      return { sequence, kind: 'refund', id: event.refundId, ...rest, captureId: event.captureId };
    default:
      return assertNever(event, 'money movement');
  }
}

/** The reverse of toLedgerEntry, to rebuild the provider's state from a reloaded ledger. */
export function toMoneyMovement(entry: LedgerEntry): MoneyMovement {
  const common = {
    authorizationId: entry.authorizationId,
    reference: entry.reference,
    amount: entry.amount,
    currency: entry.currency,
    at: entry.at,
    idempotencyKey: entry.idempotencyKey,
  };
  switch (entry.kind) {
    case 'authorization':
      return { ...common, type: 'AuthorizationHeld', customerId: entry.customerId };
    case 'capture':
      return { ...common, type: 'AuthorizationCaptured', captureId: entry.id };
    case 'void':
      return { ...common, type: 'AuthorizationVoided', voidId: entry.id };
    case 'refund':
      return {
        ...common,
        type: 'CaptureRefunded',
        refundId: entry.id,
        captureId: entry.captureId,
      };
    default:
      return assertNever(entry, 'ledger entry');
  }
}

const KIND_TOTALS = {
  authorization: ['authorized', 'authorizations'],
  capture: ['captured', 'captures'],
  void: ['voided', 'voids'],
  refund: ['refunded', 'refunds'],
} as const;

/** Per-reference totals, in the order the references first appear. */
export function summarize(entries: readonly LedgerEntry[]): LedgerSummary[] {
  const byReference = new Map<string, LedgerSummary>();
  for (const entry of entries) {
    let summary = byReference.get(entry.reference);
    if (summary === undefined) {
      summary = {
        reference: entry.reference,
        currencies: [],
        authorized: 0,
        captured: 0,
        voided: 0,
        refunded: 0,
        counts: { authorizations: 0, captures: 0, voids: 0, refunds: 0 },
      };
      byReference.set(entry.reference, summary);
    }
    if (!summary.currencies.includes(entry.currency)) summary.currencies.push(entry.currency);
    const [total, count] = KIND_TOTALS[entry.kind];
    summary[total] += entry.amount;
    summary.counts[count] += 1;
  }
  return [...byReference.values()];
}

/** The in-memory ledger: append-only, sequence numbers without gaps. */
export class Ledger {
  private entries: LedgerEntry[] = [];

  get size(): number {
    return this.entries.length;
  }

  /** The entry a movement would become, without recording it (so it can be persisted first). */
  next(event: MoneyMovement): LedgerEntry {
    return toLedgerEntry(event, this.entries.length + 1);
  }

  record(entry: LedgerEntry): void {
    if (entry.sequence !== this.entries.length + 1) {
      throw new Error(
        `ledger: expected sequence ${this.entries.length + 1}, got ${entry.sequence} (${entry.id})`,
      );
    }
    this.entries.push(entry);
  }

  list(reference?: string): LedgerEntry[] {
    return reference === undefined
      ? [...this.entries]
      : this.entries.filter((entry) => entry.reference === reference);
  }

  summaries(reference?: string): LedgerSummary[] {
    return summarize(this.list(reference));
  }

  clear(): void {
    this.entries = [];
  }
}
