import {
  Inject,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  ServiceDefaultsModule,
  ServiceLifecycle,
  ServiceMetrics,
} from '@platform/service-defaults';
import { orderServiceConfig } from './config';
import { OrdersController } from './http/orders.controller';
import { OrderRuntime } from './infrastructure/order-runtime';

@Module({
  imports: [ServiceDefaultsModule],
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
