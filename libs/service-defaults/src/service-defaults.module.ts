import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { ServiceLifecycle } from './lifecycle';
import { MetricsController, ServiceMetrics } from './metrics';

/**
 * Import once in a service's root module: health endpoints, `/metrics`, the shared lifecycle and
 * the service's metrics registry (inject `ServiceMetrics` to hand its hooks to relays, consumers
 * and projections, or to add service metrics).
 */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, MetricsController],
  providers: [ServiceLifecycle, ServiceMetrics],
  exports: [ServiceLifecycle, ServiceMetrics],
})
export class ServiceDefaultsModule {}
