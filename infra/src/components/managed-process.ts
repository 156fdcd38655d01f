import path from 'node:path';
import type { ComponentEndpoint, InfraComponent } from '../component';
import type { InfraConfig } from '../config';
import {
  isPortOpen,
  livePid,
  removeFile,
  signal,
  spawnDetached,
  tailOf,
  terminate,
  waitForExit,
  waitForPortClosed,
  waitUntil,
} from '../process';

export interface LaunchSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A component that is one long-running process we start ourselves (the Kafka JVM, the
 * MongoDB-compatible server JVM). Subclasses say how to prepare, launch and probe it; this class
 * owns the pid file, the log file, idempotent start, graceful stop, kill -9 and port checks.
 */
export abstract class ManagedProcessComponent implements InfraComponent {
  abstract readonly name: string;
  protected abstract readonly ports: readonly number[];
  /** How long a graceful stop may take before SIGKILL. */
  protected readonly stopGraceMs: number = 30_000;

  constructor(protected readonly config: InfraConfig) {}

  protected get dir(): string {
    return path.join(this.config.stateDir, this.name);
  }

  protected get logFile(): string {
    return path.join(this.config.stateDir, 'logs', `${this.name}.log`);
  }

  private get pidFile(): string {
    return path.join(this.dir, `${this.name}.pid`);
  }

  /** A string unique to this component's command line (a path under its state directory). */
  protected abstract get marker(): string;
  /** Creates configuration and data directories; runs once per start. */
  protected abstract prepare(): Promise<void>;
  protected abstract launchSpec(): LaunchSpec;
  /** A real request against the component; throws while it is not ready. */
  protected abstract probe(): Promise<void>;
  abstract endpoint(): ComponentEndpoint;

  pid(): number | undefined {
    return livePid(this.pidFile, this.marker);
  }

  isRunning(): boolean {
    return this.pid() !== undefined;
  }

  async start(): Promise<void> {
    if (!this.isRunning()) {
      for (const port of this.ports) {
        if (await isPortOpen(this.config.host, port)) {
          throw new Error(
            `${this.name}: port ${port} on ${this.config.host} is already in use by another process. ` +
              'Stop it, or choose other ports (see docs/local-stack.md).',
          );
        }
      }
      await this.prepare();
      const spec = this.launchSpec();
      spawnDetached({ ...spec, logFile: this.logFile, pidFile: this.pidFile });
    }
    await this.waitUntilReady();
  }

  async waitUntilReady(timeoutMs = this.config.readyTimeoutMs): Promise<void> {
    await waitUntil(
      this.name,
      timeoutMs,
      () => this.probe(),
      () => this.isRunning(),
      this.logFile,
    ).catch((error: unknown) => {
      const tail = tailOf(this.logFile, 15);
      throw new Error(
        `${(error as Error).message}${tail ? `\n--- last lines of ${this.logFile} ---\n${tail}` : ''}`,
      );
    });
  }

  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    await terminate(pid, this.stopGraceMs);
    await this.afterExit();
  }

  async kill(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    signal(pid, 'SIGKILL');
    await waitForExit(pid, 10_000);
    await this.afterExit();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Only after our own process ended: a port held by someone else is not ours to wait for. */
  private async afterExit(): Promise<void> {
    removeFile(this.pidFile);
    for (const port of this.ports) await waitForPortClosed(this.config.host, port, 10_000);
  }
}
