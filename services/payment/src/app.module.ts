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
import { paymentServiceConfig } from './config';
import { SERVICE_NAME } from './features/commands/payment-command-processor';
import type { PaymentProcessorHooks } from './features/commands/payment-command-processor';
import { PaymentsController } from './http/payments.controller';
import { PAYMENT_CONSUMED_TOPICS, PaymentRuntime } from './infrastructure/payment-runtime';

/** The test-only crash hook: inert unless PAYMENT_TEST_CRASH_AFTER_PROVIDER_CALL names steps. */
function crashHooks(steps: readonly string[]): PaymentProcessorHooks | undefined {
  if (steps.length === 0) return undefined;
  return {
    afterProviderCall: (step, orderId) => {
      if (!steps.includes(step)) return;
      process.stderr.write(
        `test hook: crashing after the provider call "${step}" for ${orderId}\n`,
      );
      process.kill(process.pid, 'SIGKILL');
    },
  };
}

async function openRuntime(metrics: ServiceMetrics): Promise<PaymentRuntime> {
  const config = paymentServiceConfig();
  const hooks = crashHooks(config.crashAfterProviderCall);
  return PaymentRuntime.open(config, { metrics, ...(hooks && { hooks }) });
}

@Module({
  imports: [
    ServiceDefaultsModule,
    // The command topic PaymentRuntime's consumer reads: its dead letters.
    DeadLetterAdminModule.register({
      topics: PAYMENT_CONSUMED_TOPICS,
      kafka: () => ({ brokers: paymentServiceConfig().kafkaBrokers, clientId: SERVICE_NAME }),
    }),
  ],
  controllers: [PaymentsController],
  providers: [{ provide: PaymentRuntime, useFactory: openRuntime, inject: [ServiceMetrics] }],
})
export class PaymentServiceModule implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(PaymentRuntime) private readonly runtime: PaymentRuntime,
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
