import { Injectable } from '@nestjs/common';

/** A dependency the service cannot work without; readiness fails while any check fails. */
export interface ReadinessCheck {
  readonly name: string;
  /** Resolves with details when healthy; throws (or rejects) with the reason when not. */
  check(): Promise<Record<string, unknown> | undefined>;
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
