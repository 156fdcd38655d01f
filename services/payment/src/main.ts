// Must stay the first import: tracing has to start before the modules it instruments load.
import './telemetry';
import 'reflect-metadata';
import { runService } from '@platform/service-defaults';
import { PaymentServiceModule } from './app.module';
import { paymentServiceConfig } from './config';

const config = paymentServiceConfig();
void runService(PaymentServiceModule, {
  name: 'payment-service',
  description:
    'Event-sourced payments: authorize, capture, void and refund at the payment provider for the order saga.',
  port: config.port,
  host: config.host,
  domainErrorStatus: {
    'illegal-payment-transition': 409,
    'capture-exceeds-authorization': 422,
  },
});
