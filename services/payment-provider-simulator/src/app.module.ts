import { randomUUID } from 'node:crypto';
import {
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
} from '@nestjs/common';
import { ServiceDefaultsModule } from '@platform/service-defaults';
import { AdminController } from './admin/admin.controller';
import { FaultInjector } from './faults/fault-injector';
import { IdempotencyStore } from './idempotency/idempotency-store';
import { JsonLinesLedgerFile } from './ledger/ledger-file';
import { LedgerController } from './ledger/ledger.controller';
import { PaymentsService } from './payments/payments.service';
import { ProviderController } from './payments/provider.controller';
import { PaymentProvider } from './provider/payment-provider';

export interface SimulatorModuleOptions {
  /** Append every ledger entry to this JSON-lines file and reload it on start. */
  ledgerFile?: string | undefined;
  /** Ids for authorizations, captures, voids and refunds; default `<prefix>_<uuid>`. */
  newId?: ((prefix: string) => string) | undefined;
  now?: (() => Date) | undefined;
}

function createProvider(options: SimulatorModuleOptions): PaymentProvider {
  const environment = {
    newId: options.newId ?? ((prefix: string) => `${prefix}_${randomUUID()}`),
    now: options.now ?? (() => new Date()),
  };
  if (options.ledgerFile === undefined) return new PaymentProvider(environment);
  const file = new JsonLinesLedgerFile(options.ledgerFile);
  const { entries, droppedTornLine } = file.load();
  const logger = new Logger('Ledger');
  if (droppedTornLine) logger.warn(`${file.path}: dropped an incomplete last line`);
  logger.log(`${file.path}: reloaded ${entries.length} entries`);
  return new PaymentProvider({ ...environment, sink: file }, entries);
}

/**
 * Wires the pure provider, the idempotency store and the faults behind the controllers; health,
 * metrics, problem+json and logs come from the platform's ServiceDefaultsModule (readiness has no
 * dependencies to check).
 */
@Module({})
export class AppModule implements BeforeApplicationShutdown {
  constructor(@Inject(FaultInjector) private readonly faults: FaultInjector) {}

  static forRoot(options: SimulatorModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [ServiceDefaultsModule],
      controllers: [ProviderController, LedgerController, AdminController],
      providers: [
        { provide: PaymentProvider, useFactory: () => createProvider(options) },
        { provide: IdempotencyStore, useFactory: () => new IdempotencyStore() },
        { provide: FaultInjector, useFactory: () => new FaultInjector() },
        {
          provide: PaymentsService,
          useFactory: (provider: PaymentProvider, store: IdempotencyStore, faults: FaultInjector) =>
            new PaymentsService(provider, store, faults),
          inject: [PaymentProvider, IdempotencyStore, FaultInjector],
        },
      ],
    };
  }

  /** Pending sleeps and hung requests end before the server closes, so shutdown never waits. */
  beforeApplicationShutdown(): Promise<void> {
    return this.faults.stop();
  }
}
