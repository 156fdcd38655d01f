// Must stay the first import: tracing has to start before the modules it instruments load.
import './telemetry';
import 'reflect-metadata';
import { runService } from '@platform/service-defaults';
import { simulatorServiceOptions } from './app';
import { AppModule } from './app.module';
import { readConfig } from './config';

// SIGTERM/SIGINT: readiness turns 503, then the app closes (hung requests and sleeps are released
// first, see AppModule) and the process exits.
const config = readConfig(process.env);
void runService(AppModule.forRoot({ ledgerFile: config.ledgerFile }), {
  ...simulatorServiceOptions(),
  port: config.port,
  host: config.host,
});
