import 'reflect-metadata';
import type { LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, type SimulatorModuleOptions } from './app.module';
import { ProblemFilter } from './http/problem.filter';
import { requestLogger, stdoutRequestLog, type RequestLogWriter } from './http/request-log';

export const BODY_LIMIT_BYTES = 64 * 1024;

export interface SimulatorOptions extends SimulatorModuleOptions {
  /** Nest's own log (startup, unexpected errors); default off. */
  logger?: LoggerService | LogLevel[] | false | undefined;
  /** One record per request; default a JSON line on stdout; false for none. */
  requestLog?: RequestLogWriter | false | undefined;
}

/**
 * The simulator as a Nest application, configured but not listening: `await app.listen(port)`.
 * Tests start it on port 0 in-process; main.ts adds the environment and signal handling.
 */
export async function createSimulatorApp(
  options: SimulatorOptions = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bodyParser: false,
    logger: options.logger ?? false,
    // Hung and held requests must not keep a closing server open.
    forceCloseConnections: true,
    abortOnError: false,
  });
  app.disable('x-powered-by');
  const requestLog = options.requestLog ?? stdoutRequestLog;
  if (requestLog !== false) app.use(requestLogger(requestLog));
  // Registered before the routes, so its errors (malformed JSON 400, 413) reach ProblemFilter.
  app.useBodyParser('json', { limit: BODY_LIMIT_BYTES });
  app.useGlobalFilters(new ProblemFilter());

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Payment provider simulator')
      .setDescription(
        'Authorize, capture, void and refund with idempotency keys; a ledger of effective money movements; runtime fault knobs under /admin.',
      )
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  return app;
}
