import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Actors, AdminGuard, AUTH_SETTINGS, authSettingsFromEnv } from './actor';
import { AuditLog } from './audit';
import { HealthController } from './health.controller';
import { ServiceLifecycle } from './lifecycle';
import { MetricsController, ServiceMetrics } from './metrics';

/**
 * Import once in a service's root module: health endpoints, `/metrics`, the shared lifecycle and
 * the service's metrics registry (inject `ServiceMetrics` to hand its hooks to relays, consumers
 * and projections, or to add service metrics), the audit log (`AuditLog`), actor resolution
 * (`Actors`) and the optional admin-token guard (`@AdminOnly(...)`), configured from the
 * environment (`AUTH_TRUSTED_ACTOR_HEADER`, `ADMIN_TOKENS`) when the app is created.
 */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, MetricsController],
  providers: [
    ServiceLifecycle,
    ServiceMetrics,
    AuditLog,
    Actors,
    AdminGuard,
    { provide: AUTH_SETTINGS, useFactory: () => authSettingsFromEnv() },
  ],
  exports: [ServiceLifecycle, ServiceMetrics, AuditLog, Actors, AdminGuard, AUTH_SETTINGS],
})
export class ServiceDefaultsModule {}
