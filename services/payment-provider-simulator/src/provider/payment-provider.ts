import { assertNever } from '@platform/domain';
import {
  authorization,
  movesMoney,
  refundedAmount,
  type AuthorizationCommand,
  type AuthorizationState,
  type DeclineReason,
  type DeclineRules,
} from './authorization';
import { AuthorizationNotFound, CaptureNotFound } from './errors';
import { Ledger, toMoneyMovement, type LedgerEntry } from './ledger';

/** Where ledger entries are made durable before they count (a JSON-lines file, or nothing). */
export interface LedgerSink {
  append(entry: LedgerEntry): void;
  clear(): void;
}

export interface ProviderEnvironment {
  /** A new unique id with the given prefix ('auth', 'cap', 'void', 'ref'). */
  readonly newId: (prefix: string) => string;
  readonly now: () => Date;
  readonly sink?: LedgerSink | undefined;
}

export interface AuthorizeRequest {
  amount: number;
  currency: string;
  customerId: string;
  card?: string | undefined;
  reference: string;
}

export interface AuthorizationResult {
  id: string;
  status: 'authorized' | 'declined';
  declineReason?: DeclineReason;
  amount: number;
  currency: string;
  reference: string;
}

export interface CaptureResult {
  id: string;
  authorizationId: string;
  status: 'captured';
  amount: number;
}

export interface VoidResult {
  id: string;
  authorizationId: string;
  status: 'voided';
  amount: number;
}

export interface RefundResult {
  id: string;
  captureId: string;
  status: 'refunded';
  amount: number;
}

export interface AuthorizationView {
  id: string;
  status: 'declined' | 'authorized' | 'voided' | 'captured' | 'refunded';
  declineReason?: DeclineReason;
  reference: string;
  customerId: string;
  currency: string;
  /** The amount asked for. */
  amount: number;
  amounts: { authorized: number; captured: number; voided: number; refunded: number };
  captureId?: string;
  refunds: { id: string; amount: number; at: string }[];
  createdAt: string;
}

type Existing = Exclude<AuthorizationState, { status: 'none' }>;

/**
 * The provider's books: every authorization's state plus the ledger of money movements. Each call
 * runs the authorization decider, persists money movements to the sink, then applies them, so a
 * movement is durable before anyone is told about it. Synchronous on purpose: no other request can
 * interleave between the check and the effect.
 */
export class PaymentProvider {
  private readonly authorizations = new Map<string, Existing>();
  private readonly captureToAuthorization = new Map<string, string>();
  readonly ledger = new Ledger();

  constructor(
    private readonly env: ProviderEnvironment,
    history: readonly LedgerEntry[] = [],
  ) {
    for (const entry of history) this.restore(entry);
  }

  authorize(request: AuthorizeRequest, rules: DeclineRules, key: string): AuthorizationResult {
    const authorizationId = this.env.newId('auth');
    const state = this.handle(authorizationId, {
      type: 'Authorize',
      authorizationId,
      ...request,
      declineRules: rules,
      meta: this.meta(key),
    });
    return {
      id: state.id,
      status: state.status === 'declined' ? 'declined' : 'authorized',
      ...(state.status === 'declined' ? { declineReason: state.declineReason } : {}),
      amount: state.amount,
      currency: state.currency,
      reference: state.reference,
    };
  }

  capture(authorizationId: string, amount: number, key: string): CaptureResult {
    const captureId = this.env.newId('cap');
    this.handle(authorizationId, {
      type: 'Capture',
      authorizationId,
      captureId,
      amount,
      meta: this.meta(key),
    });
    return { id: captureId, authorizationId, status: 'captured', amount };
  }

  void(authorizationId: string, key: string): VoidResult {
    const voidId = this.env.newId('void');
    const state = this.handle(authorizationId, {
      type: 'Void',
      authorizationId,
      voidId,
      meta: this.meta(key),
    });
    return { id: voidId, authorizationId, status: 'voided', amount: state.amount };
  }

  refund(captureId: string, amount: number, key: string): RefundResult {
    const authorizationId = this.captureToAuthorization.get(captureId);
    if (authorizationId === undefined) throw new CaptureNotFound(captureId);
    const refundId = this.env.newId('ref');
    this.handle(authorizationId, {
      type: 'Refund',
      refundId,
      captureId,
      amount,
      meta: this.meta(key),
    });
    return { id: refundId, captureId, status: 'refunded', amount };
  }

  get(authorizationId: string): AuthorizationView {
    const state = this.authorizations.get(authorizationId);
    if (state === undefined) throw new AuthorizationNotFound(authorizationId);
    return view(state);
  }

  /**
   * Every authorization (declined ones included) made for a reference, oldest first. Real
   * providers offer such a search; the payment service uses it to resolve an authorization whose
   * outcome it never learned.
   */
  findByReference(reference: string): AuthorizationView[] {
    return [...this.authorizations.values()]
      .filter((state) => state.reference === reference)
      .map(view)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Forgets everything: authorizations, captures and the ledger (and the sink's copy). */
  clear(): void {
    this.env.sink?.clear();
    this.authorizations.clear();
    this.captureToAuthorization.clear();
    this.ledger.clear();
  }

  private meta(idempotencyKey: string): { at: string; idempotencyKey: string } {
    return { at: this.env.now().toISOString(), idempotencyKey };
  }

  private handle(authorizationId: string, command: AuthorizationCommand): Existing {
    let state: AuthorizationState = this.authorizations.get(authorizationId) ?? {
      status: 'none',
    };
    for (const event of authorization.decide(command, state)) {
      if (movesMoney(event)) {
        const entry = this.ledger.next(event);
        this.env.sink?.append(entry);
        this.ledger.record(entry);
      }
      state = authorization.evolve(state, event);
      if (event.type === 'AuthorizationCaptured') {
        this.captureToAuthorization.set(event.captureId, authorizationId);
      }
    }
    if (state.status === 'none') throw new Error(`authorization ${authorizationId} has no state`);
    this.authorizations.set(authorizationId, state);
    return state;
  }

  /** Rebuilds state from one reloaded entry; refuses entries that don't fit what came before. */
  private restore(entry: LedgerEntry): void {
    const event = toMoneyMovement(entry);
    const before = this.authorizations.get(entry.authorizationId) ?? { status: 'none' };
    const after = authorization.evolve(before, event);
    const fits = event.type === 'AuthorizationHeld' ? before.status === 'none' : after !== before;
    if (!fits || after.status === 'none') {
      throw new Error(
        `ledger history: entry ${entry.sequence} (${entry.kind} ${entry.id}) does not apply to authorization ${entry.authorizationId} in state ${before.status}`,
      );
    }
    this.ledger.record(entry);
    this.authorizations.set(entry.authorizationId, after);
    if (event.type === 'AuthorizationCaptured') {
      this.captureToAuthorization.set(event.captureId, entry.authorizationId);
    }
  }
}

function view(state: Existing): AuthorizationView {
  const common = {
    id: state.id,
    reference: state.reference,
    customerId: state.customerId,
    currency: state.currency,
    amount: state.amount,
    createdAt: state.createdAt,
  };
  const amounts = { authorized: state.amount, captured: 0, voided: 0, refunded: 0 };
  switch (state.status) {
    case 'declined':
      return {
        ...common,
        status: 'declined',
        declineReason: state.declineReason,
        amounts: { ...amounts, authorized: 0 },
        refunds: [],
      };
    case 'authorized':
      return { ...common, status: 'authorized', amounts, refunds: [] };
    case 'voided':
      return {
        ...common,
        status: 'voided',
        amounts: { ...amounts, voided: state.amount },
        refunds: [],
      };
    case 'captured': {
      const refunded = refundedAmount(state.refunds);
      return {
        ...common,
        status: refunded > 0 && refunded === state.capture.amount ? 'refunded' : 'captured',
        amounts: { ...amounts, captured: state.capture.amount, refunded },
        captureId: state.capture.id,
        refunds: [...state.refunds],
      };
    }
    default:
      return assertNever(state, 'authorization state');
  }
}
