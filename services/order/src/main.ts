// Must stay the first import: tracing has to start before the modules it instruments load.
import './telemetry';
import 'reflect-metadata';
import { runService } from '@platform/service-defaults';
import { OrderServiceModule } from './app.module';
import { orderServiceConfig } from './config';

const config = orderServiceConfig();
void runService(OrderServiceModule, {
  name: 'order-service',
  description: 'Places orders and orchestrates the order saga (stock → payment → confirmation).',
  // Requests about one order correlate by its id when the caller sent no x-correlation-id.
  correlationId: (request) =>
    /^\/orders\/([0-9a-fA-F-]{36})(?:[/?]|$)/.exec(request.url ?? '')?.[1],
  port: config.port,
  host: config.host,
  domainErrorStatus: {
    'order-not-found': 404,
    'order-already-exists': 409,
    'illegal-order-transition': 409,
  },
});
