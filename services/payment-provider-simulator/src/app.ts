import 'reflect-metadata';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  createServiceApp,
  type LoggingOptions,
  type ServiceOptions,
} from '@platform/service-defaults';
import { AppModule, type SimulatorModuleOptions } from './app.module';
import { simulatorProblem } from './http/problem';
import {
  faultsOf,
  idempotencyKeyOf,
  requestLogger,
  type RequestLogWriter,
} from './http/request-log';

export const BODY_LIMIT_BYTES = 64 * 1024;

/** The `service` of its log lines and metrics; Prometheus scrapes it as job `payment-provider`. */
export const SERVICE_NAME = 'payment-provider';

export interface SimulatorOptions extends SimulatorModuleOptions, LoggingOptions {
  /**
   * Test hook: one record per request (method, path, status, key, injected faults). The service
   * log has the same on each request line; false or absent: no extra records.
   */
  requestLog?: RequestLogWriter | false | undefined;
}

/**
 * The platform defaults as the simulator uses them (main.ts and the tests): its own problem codes
 * before the platform's, the injected faults and the Idempotency-Key on every request log line,
 * and hung or held requests cut when the server closes rather than waited for.
 */
export function simulatorServiceOptions(logging: LoggingOptions = {}): ServiceOptions {
  return {
    name: SERVICE_NAME,
    description:
      'Payment provider simulator: authorize, capture, void and refund with idempotency keys; a ledger of effective money movements; runtime fault knobs under /admin.',
    bodyLimit: BODY_LIMIT_BYTES,
    problems: simulatorProblem,
    requestLogFields: (request) => ({
      idempotencyKey: idempotencyKeyOf(request),
      faults: faultsOf(request),
    }),
    forceCloseConnections: true,
    // A damaged ledger file fails creation with its reason instead of aborting the process.
    abortOnError: false,
    ...(logging.logDestination !== undefined && { logDestination: logging.logDestination }),
    ...(logging.logLevel !== undefined && { logLevel: logging.logLevel }),
  };
}

/**
 * The simulator as a Nest application with the platform defaults, configured but not listening:
 * `await app.listen(port)`. Tests start it on port 0 in-process; main.ts runs it with `runService`.
 */
export async function createSimulatorApp(
  options: SimulatorOptions = {},
): Promise<NestExpressApplication> {
  const app = await createServiceApp(AppModule.forRoot(options), simulatorServiceOptions(options));
  if (options.requestLog !== undefined && options.requestLog !== false)
    app.use(requestLogger(options.requestLog));
  return app;
}
