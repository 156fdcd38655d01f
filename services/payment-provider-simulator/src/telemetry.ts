// Loaded first by main.ts: OpenTelemetry instruments modules as they are required, so the SDK
// must be running before NestJS or pino are loaded. The simulator stands in for an external
// provider; its spans show the provider's side of the payment service's calls.
import { startTelemetry } from '@platform/telemetry';

startTelemetry({ serviceName: 'payment-provider' });
