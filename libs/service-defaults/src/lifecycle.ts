import { Injectable } from '@nestjs/common';

/** A dependency the service cannot work without; readiness fails while any check fails. */
export interface ReadinessCheck {
  readonly name: string;
  /**
   * Resolves with details when healthy; throws (or rejects) with the reason when not, as a
   * `ReadinessCheckError` to report details too.
   */
  check(): Promise<Record<string, unknown> | undefined>;
}

/**
 * A failed readiness check that has numbers to show (`{ backlog: 12000, max: 10000 }`): the
 * health endpoint reports them next to the reason. Never put connection strings or secrets here.
 */
export class ReadinessCheckError extends Error {
  override readonly name = 'ReadinessCheckError';

  constructor(
    message: string,
    readonly details: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/**
 * The service's lifecycle as the platform sees it: ready to take work, or draining (lame duck).
 * Adapters register readiness checks for their dependencies (database, broker, read store), and
 * a SIGTERM flips `draining` before anything stops, so load balancers and orchestrators take the
 * instance out of rotation while in-flight work finishes.
 */
@Injectable()
export class ServiceLifecycle {
  private drainingSince: Date | undefined;
  private readonly checks: ReadinessCheck[] = [];

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(now: Date = new Date()): void {
    this.drainingSince ??= now;
  }

  addReadinessCheck(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  readinessChecks(): readonly ReadinessCheck[] {
    return this.checks;
  }
}
