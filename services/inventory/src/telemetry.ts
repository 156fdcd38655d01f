// Loaded first by main.ts: OpenTelemetry instruments modules as they are required, so the SDK
// must be running before NestJS, pg, the MongoDB driver or pino are loaded.
import { startTelemetry } from '@platform/telemetry';

startTelemetry({ serviceName: 'inventory-service' });
