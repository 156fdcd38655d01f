import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { ServiceLifecycle } from './lifecycle';

/** Import once in a service's root module: health endpoints and the shared lifecycle. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ServiceLifecycle],
  exports: [ServiceLifecycle],
})
export class ServiceDefaultsModule {}
