import 'reflect-metadata';
import { runService } from '@platform/service-defaults';
import { OrderServiceModule } from './app.module';
import { orderServiceConfig } from './config';

const config = orderServiceConfig();
void runService(OrderServiceModule, {
  name: 'order-service',
  description: 'Places orders and orchestrates the order saga (stock → payment → confirmation).',
  port: config.port,
  host: config.host,
  domainErrorStatus: {
    'order-not-found': 404,
    'order-already-exists': 409,
    'illegal-order-transition': 409,
  },
});
