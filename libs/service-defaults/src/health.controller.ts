import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { ReadinessCheckError, ServiceLifecycle, type ReadinessCheck } from './lifecycle';
import { scrubConnectionStrings } from './logging';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * `/health/live`: the process can do work (answers while draining, so nothing restarts it).
 * `/health/ready`: every dependency answers and the service is not draining; 503 otherwise, with
 * per-check details (never connection strings or secrets).
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: ServiceLifecycle,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const indicator = this.indicators.check('lifecycle');
        return this.lifecycle.draining
          ? indicator.down({ draining: true })
          : indicator.up({ draining: false });
      },
      ...this.lifecycle.readinessChecks().map((check) => () => this.run(check)),
    ]);
  }

  private async run(check: ReadinessCheck): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(check.name);
    try {
      const details = await withTimeout(check.check(), CHECK_TIMEOUT_MS);
      return indicator.up(details ?? {});
    } catch (error) {
      const reason = scrubConnectionStrings(error instanceof Error ? error.message : String(error));
      const details = error instanceof ReadinessCheckError ? error.details : {};
      return indicator.down({ ...details, reason });
    }
  }
}
