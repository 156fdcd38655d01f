// Must stay the first import: tracing has to start before the modules it instruments load.
import './telemetry';
import 'reflect-metadata';
import { runService } from '@platform/service-defaults';
import { INVENTORY_SERVICE_OPTIONS, InventoryServiceModule } from './app.module';
import { inventoryServiceConfig } from './config';

const config = inventoryServiceConfig();
void runService(InventoryServiceModule, {
  ...INVENTORY_SERVICE_OPTIONS,
  port: config.port,
  host: config.host,
});
