import {
  Inject,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  DeadLetterAdminModule,
  ServiceDefaultsModule,
  ServiceLifecycle,
  ServiceMetrics,
  type ServiceOptions,
} from '@platform/service-defaults';
import { inventoryServiceConfig } from './config';
import { SERVICE_NAME } from './features/reservations/replies';
import { StockController } from './http/stock.controller';
import { INVENTORY_CONSUMED_TOPICS, InventoryRuntime } from './infrastructure/inventory-runtime';

/** What main.ts (and the HTTP tests) give runService / createServiceApp. */
export const INVENTORY_SERVICE_OPTIONS: ServiceOptions = {
  name: SERVICE_NAME,
  description:
    'Stock per SKU and the order saga’s reservations: reserve, release and commit stock, idempotently and crash-safely.',
};

@Module({
  imports: [
    ServiceDefaultsModule,
    // The command topic InventoryRuntime's consumer reads: its dead letters.
    DeadLetterAdminModule.register({
      topics: INVENTORY_CONSUMED_TOPICS,
      kafka: () => ({ brokers: inventoryServiceConfig().kafkaBrokers, clientId: SERVICE_NAME }),
    }),
  ],
  controllers: [StockController],
  providers: [
    {
      provide: InventoryRuntime,
      useFactory: (metrics: ServiceMetrics) =>
        InventoryRuntime.open(inventoryServiceConfig(), { metrics }),
      inject: [ServiceMetrics],
    },
  ],
})
export class InventoryServiceModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(InventoryRuntime) private readonly runtime: InventoryRuntime,
    @Inject(ServiceLifecycle) private readonly lifecycle: ServiceLifecycle,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const check of this.runtime.readiness) this.lifecycle.addReadinessCheck(check);
    await this.runtime.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runtime.stop();
  }
}
