import { assertNever } from '@platform/domain';
import { HangReleased, InjectedFailure, SimulatorShuttingDown } from '../faults/errors';
import type { FaultInjector } from '../faults/fault-injector';
import { fingerprint, type IdempotencyStore } from '../idempotency/idempotency-store';
import type { Operation } from '../provider/authorization';
import type {
  AuthorizationResult,
  AuthorizeRequest,
  CaptureResult,
  PaymentProvider,
  RefundResult,
  VoidResult,
} from '../provider/payment-provider';
import type { ClientConnection } from './client-connection';

/** The client left while its request hung; there is nobody to answer. */
export class ClientGone extends Error {
  override readonly name = 'ClientGone';
  constructor() {
    super('the client disconnected before an answer');
  }
}

export interface MutatingCall {
  idempotencyKey: string;
  client: ClientConnection;
}

/**
 * The provider API's use cases: every mutating call goes through the faults, then the idempotency
 * store, then the provider. Faults model the network and the provider's health, not the
 * idempotency store, so a retry (a replay) sees the same knobs as any request.
 */
export class PaymentsService {
  constructor(
    private readonly provider: PaymentProvider,
    private readonly idempotency: IdempotencyStore,
    private readonly faults: FaultInjector,
  ) {}

  authorize(request: AuthorizeRequest, call: MutatingCall): Promise<AuthorizationResult> {
    return this.execute('authorize', '', request, call, () =>
      this.provider.authorize(request, this.faults.knobs.declineRules(), call.idempotencyKey),
    );
  }

  capture(authorizationId: string, amount: number, call: MutatingCall): Promise<CaptureResult> {
    return this.execute('capture', authorizationId, { amount }, call, () =>
      this.provider.capture(authorizationId, amount, call.idempotencyKey),
    );
  }

  void(authorizationId: string, call: MutatingCall): Promise<VoidResult> {
    return this.execute('void', authorizationId, {}, call, () =>
      this.provider.void(authorizationId, call.idempotencyKey),
    );
  }

  refund(captureId: string, amount: number, call: MutatingCall): Promise<RefundResult> {
    return this.execute('refund', captureId, { amount }, call, () =>
      this.provider.refund(captureId, amount, call.idempotencyKey),
    );
  }

  /** Clears the knobs; with `ledger`, also the ledger (and its file), state and idempotency keys. */
  reset(options: { ledger: boolean }): void {
    this.faults.replace({});
    if (options.ledger) {
      this.provider.clear();
      this.idempotency.clear();
    }
  }

  private async execute<T>(
    operation: Operation,
    target: string,
    body: unknown,
    { idempotencyKey, client }: MutatingCall,
    effect: () => T,
  ): Promise<T> {
    const plan = this.faults.knobs.plan(operation);
    if (plan.latencyMs > 0) {
      client.note('latency');
      await this.faults.delay(plan.latencyMs);
    }
    switch (plan.before.kind) {
      case 'hang': {
        client.note('hang');
        const end = await this.faults.hang(client);
        if (end === 'client-gone') throw new ClientGone();
        throw end === 'shutdown' ? new SimulatorShuttingDown() : new HangReleased();
      }
      case 'fail':
        client.note(`error:${plan.before.cause}`);
        throw new InjectedFailure(plan.before.status, plan.before.cause);
      case 'proceed':
        break;
      default:
        assertNever(plan.before, 'fault plan');
    }

    const run = this.idempotency.run(idempotencyKey, fingerprint(operation, target, body), effect);
    if (run.replayed) client.setHeader('Idempotent-Replayed', 'true');

    if (plan.delayReplyMs > 0) {
      client.note('delayed-reply');
      await this.faults.holdReply(plan.delayReplyMs, client);
    }
    if (plan.dropReply) {
      client.note('drop-reply');
      client.drop();
    }
    if (run.outcome.kind === 'refused') throw run.outcome.error;
    return run.outcome.value;
  }
}
