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
} from '@platform/service-defaults';
import { orderServiceConfig } from './config';
import { SERVICE_NAME } from './features/saga/saga-processor';
import { OrdersController } from './http/orders.controller';
import { ORDER_CONSUMED_TOPICS, OrderRuntime } from './infrastructure/order-runtime';

@Module({
  imports: [
    ServiceDefaultsModule,
    // The reply topics the saga consumes (OrderRuntime's consumer): their dead letters.
    DeadLetterAdminModule.register({
      topics: ORDER_CONSUMED_TOPICS,
      kafka: () => ({ brokers: orderServiceConfig().kafkaBrokers, clientId: SERVICE_NAME }),
    }),
  ],
  controllers: [OrdersController],
  providers: [
    {
      provide: OrderRuntime,
      useFactory: (metrics: ServiceMetrics) => OrderRuntime.open(orderServiceConfig(), { metrics }),
      inject: [ServiceMetrics],
    },
  ],
})
export class OrderServiceModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(OrderRuntime) private readonly runtime: OrderRuntime,
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
