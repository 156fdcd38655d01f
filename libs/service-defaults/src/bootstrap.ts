import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { Logger as PinoNestLogger, LoggerModule } from 'nestjs-pino';
import { pinoHttp } from 'pino-http';
import { shutdownTelemetry } from '@platform/telemetry';
import { AuditLog, auditRequestContext, type AuditSink } from './audit';
import { ServiceLifecycle } from './lifecycle';
import {
  createServiceLogger,
  httpLoggingOptions,
  LogErrorReporter,
  type CorrelationIdSource,
  type ErrorReporter,
  type LoggingOptions,
  type ProcessErrorContext,
  type RequestLogFields,
} from './logging';
import { ServiceMetrics } from './metrics';
import { ProblemDetailsFilter, type ProblemMapper } from './problem-details';
import { ServiceDefaultsModule } from './service-defaults.module';

export interface ServiceOptions extends LoggingOptions {
  /** e.g. `order-service`; the `service` field of every log line and label of every metric. */
  readonly name: string;
  readonly description?: string;
  /** Largest accepted JSON body (`'64kb'` or bytes); larger ones get 413. */
  readonly bodyLimit?: string | number;
  /** DomainError code → HTTP status; unmapped codes are 409. */
  readonly domainErrorStatus?: Readonly<Record<string, number>>;
  /** Exception tracking for 5xx; default: one pino error line with the request's context. */
  readonly errorReporter?: ErrorReporter;
  /** A correlation id from the request when the caller sent no `x-correlation-id`. */
  readonly correlationId?: CorrelationIdSource;
  /** The service's own error → problem mapping, tried before the defaults. */
  readonly problems?: ProblemMapper;
  /** Extra fields for each finished-request log line. */
  readonly requestLogFields?: RequestLogFields;
  /** Durable audit stores; every record also goes to the log (`audit: true` lines). */
  readonly auditSinks?: readonly AuditSink[];
  /** Close open connections (hung or held requests) on `app.close()` instead of waiting for them. */
  readonly forceCloseConnections?: boolean;
  /** Default true (Nest's): a failing module factory aborts the process; false: creation rejects. */
  readonly abortOnError?: boolean;
}

export interface RunOptions extends ServiceOptions {
  readonly port: number;
  readonly host?: string;
  /** Lame-duck period: how long readiness reports draining before the service stops. */
  readonly drainDelayMs?: number;
  /** Upper bound for a graceful shutdown before the process exits anyway. */
  readonly shutdownTimeoutMs?: number;
}

/**
 * Creates a NestJS application with the platform's defaults, without listening:
 * JSON logs through pino (Nest's logger too) with a correlation id per request, Prometheus
 * metrics at `/metrics` (HTTP RED by route template, process saturation), JSON bodies up to
 * `bodyLimit`, problem+json errors with 5xx sent to the ErrorReporter, OpenAPI at `/docs`, and
 * new requests refused with 503 + Retry-After while draining (health endpoints excepted).
 */
export async function createServiceApp(
  rootModule: Type | DynamicModule,
  options: ServiceOptions,
): Promise<NestExpressApplication> {
  const logger = createServiceLogger(options.name, options);
  // The service's module plus the logging module, so services keep importing only their own.
  // pino-http runs as the app's first middleware (below), so requests refused before routing
  // (bad JSON, too large, draining) are logged too; nestjs-pino reuses its request logger.
  @Module({
    imports: [
      LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true }),
      ServiceDefaultsModule,
      rootModule,
    ],
  })
  class ServiceRootModule {}

  const app = await NestFactory.create<NestExpressApplication>(ServiceRootModule, {
    bodyParser: false,
    bufferLogs: true,
    ...(options.forceCloseConnections !== undefined && {
      forceCloseConnections: options.forceCloseConnections,
    }),
    ...(options.abortOnError !== undefined && { abortOnError: options.abortOnError }),
  });
  app.useLogger(app.get(PinoNestLogger));
  const metrics = app.get(ServiceMetrics);
  metrics.setServiceName(options.name);
  app.get(AuditLog).configure({
    service: options.name,
    logger,
    ...(options.auditSinks !== undefined && { sinks: options.auditSinks }),
  });
  // First, so refused bodies and draining 503s are counted and logged too.
  app.use(metrics.httpMiddleware());
  app.use(pinoHttp(httpLoggingOptions(logger, options.correlationId, options.requestLogFields)));
  // After pino-http, which names the correlation id that audit records carry.
  app.use(auditRequestContext());
  app.useBodyParser('json', { limit: options.bodyLimit ?? '64kb' });
  app.useGlobalFilters(
    new ProblemDetailsFilter(
      options.domainErrorStatus,
      options.errorReporter ?? new LogErrorReporter(logger),
      options.problems,
    ),
  );
  app.disable('x-powered-by');

  const lifecycle = app.get(ServiceLifecycle);
  app.use((request: Request, response: Response, next: NextFunction) => {
    if (lifecycle.draining && !request.path.startsWith('/health')) {
      response
        .status(503)
        .set('Retry-After', '1')
        .type('application/problem+json')
        .send(
          JSON.stringify({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: 'the service is shutting down',
          }),
        );
      return;
    }
    next();
  });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(options.name)
      .setDescription(options.description ?? '')
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  return app;
}

/**
 * Creates, listens, and handles SIGTERM/SIGINT as a lame duck: readiness turns 503 first, new
 * HTTP work is refused, then after `drainDelayMs` the application closes (modules stop consumers,
 * flush relays and close pools in their shutdown hooks) and the process exits.
 */
export async function runService(
  rootModule: Type | DynamicModule,
  options: RunOptions,
): Promise<INestApplication> {
  const logger = new Logger(options.name);
  const app = await createServiceApp(rootModule, options);
  await app.listen(options.port, options.host ?? '127.0.0.1');
  logger.log(`listening on http://${options.host ?? '127.0.0.1'}:${options.port} (docs at /docs)`);

  reportCrashes(
    options.errorReporter ?? new LogErrorReporter(createServiceLogger(options.name, options)),
    options.name,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining`);
    app.get(ServiceLifecycle).startDraining();
    const hardStop = setTimeout(() => {
      logger.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, options.shutdownTimeoutMs ?? 30_000);
    hardStop.unref();
    setTimeout(() => {
      app
        .close()
        // Spans still buffered would be lost with the process.
        .then(() => shutdownTelemetry())
        .then(
          () => {
            logger.log('stopped');
            process.exit(0);
          },
          (error: unknown) => {
            logger.error(`shutdown failed: ${String(error)}`);
            process.exit(1);
          },
        );
    }, options.drainDelayMs ?? 1000);
  };
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
  return app;
}

/**
 * Uncaught exceptions and unhandled rejections go to the ErrorReporter once, with the service's
 * name, and the process exits with 1, as Node would, but with a structured report instead of a
 * bare stack on stderr.
 */
function reportCrashes(reporter: ErrorReporter, service: string): void {
  let reported = false;
  const crash = (origin: ProcessErrorContext['origin']) => (error: unknown) => {
    if (!reported) {
      reported = true;
      try {
        reporter.report(error, { origin, service });
      } catch {
        // A broken reporter must not keep a broken process alive.
      }
    }
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaughtException'));
  process.on('unhandledRejection', crash('unhandledRejection'));
}
