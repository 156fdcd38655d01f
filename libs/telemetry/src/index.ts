import type { IncomingMessage } from 'node:http';
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';

export interface TelemetryOptions {
  /** `service.name` of every span, e.g. `order-service`; OTEL_SERVICE_NAME overrides it. */
  readonly serviceName: string;
}

/** Paths that are polled, not used: tracing them would bury the real traces. */
const UNTRACED_PATHS = /^\/(health|metrics)(\/|\?|$)/;

let running: NodeSDK | undefined;

/**
 * Starts OpenTelemetry tracing. Call it before anything else is loaded (a service's `main.ts`
 * imports its `telemetry.ts` first), because instrumentation works by patching modules as they
 * are required: a module loaded earlier is not traced.
 *
 * What is traced: incoming HTTP (Express routes and NestJS handlers) except health and metrics,
 * outgoing fetch (the payment provider), and pg and MongoDB calls made inside a trace. Kafka is
 * traced by `@platform/messaging` itself (a producer span per record, a consumer span per
 * delivery, W3C trace context in the record headers), because the outbox relay publishes long
 * after, and apart from, the request that wrote the record; see docs/adr/0005-tracing-across-kafka.md.
 * Log lines written with pino get `trace_id` and `span_id` while a span is active.
 *
 * Where spans go is the standard OTEL_* environment: OTEL_TRACES_EXPORTER=otlp (compose, to the
 * collector at OTEL_EXPORTER_OTLP_ENDPOINT), zipkin (the local stack, OTEL_EXPORTER_ZIPKIN_ENDPOINT),
 * console, or none. Unlike the SDK's own default (otlp), nothing is exported unless it is set, so
 * tests and scripts that load a service do not try to reach a collector that is not there.
 * Metrics stay with Prometheus and logs with stdout, so the SDK's metric and log exporters default
 * to none as well.
 */
export function startTelemetry(options: TelemetryOptions): void {
  if (running !== undefined) return;
  const env = process.env;
  env.OTEL_SERVICE_NAME ??= options.serviceName;
  env.OTEL_TRACES_EXPORTER ??= 'none';
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  // Service and host identify a span well enough; the process detector's command line and
  // runtime details would be repeated on every span by the Zipkin exporter.
  env.OTEL_NODE_RESOURCE_DETECTORS ??= 'env,host';
  // The SDK reports its own trouble (an exporter that cannot connect) only to a diag logger.
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR);

  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request: IncomingMessage) =>
          UNTRACED_PATHS.test(request.url ?? ''),
      }),
      // Routes and handlers only: a span per middleware (body parser, logger, metrics) is noise.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      new NestInstrumentation(),
      new UndiciInstrumentation(),
      // Only inside a trace: the relays, projections and deadline scheduler poll the stores all
      // the time, and each poll would otherwise be a trace of its own.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      new MongoDBInstrumentation({ requireParentSpan: true }),
      // Adds trace_id / span_id to log lines; the lines themselves stay on stdout.
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  running = sdk;
}

/** Exports the spans still buffered and stops the SDK; a no-op when telemetry was not started. */
export async function shutdownTelemetry(): Promise<void> {
  const sdk = running;
  running = undefined;
  if (sdk === undefined) return;
  await sdk.shutdown().catch((error: unknown) => {
    diag.error('telemetry shutdown failed', error);
  });
}
