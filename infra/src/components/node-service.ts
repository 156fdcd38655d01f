import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ComponentEndpoint } from '../component';
import type { InfraConfig } from '../config';
import { ManagedProcessComponent, type LaunchSpec } from './managed-process';

export interface NodeServiceSpec {
  /** Component name, e.g. `order`. */
  readonly name: string;
  /** Folder under services/, e.g. `order`. */
  readonly folder: string;
  readonly port: number;
  /** Path probed for readiness; 200 means ready. */
  readonly readyPath: string;
  /** Environment for the process (connection settings); merged over the launcher's own. */
  readonly env: () => NodeJS.ProcessEnv;
  readonly stopGraceMs?: number;
}

/**
 * One of the platform's Node.js services (or the payment-provider simulator), run from its
 * compiled `dist/main.js` as a detached process. Ready when its readiness endpoint answers 200,
 * which for the services means their database, broker and read store all answer too.
 */
export class NodeServiceComponent extends ManagedProcessComponent {
  readonly name: string;
  protected readonly ports: readonly number[];
  protected override readonly stopGraceMs: number;
  private overrides: NodeJS.ProcessEnv = {};

  constructor(
    config: InfraConfig,
    private readonly spec: NodeServiceSpec,
  ) {
    super(config);
    this.name = spec.name;
    this.ports = [spec.port];
    this.stopGraceMs = spec.stopGraceMs ?? 30_000;
  }

  get url(): string {
    return `http://${this.config.host}:${this.spec.port}`;
  }

  private get entry(): string {
    return path.join(this.config.rootDir, 'services', this.spec.folder, 'dist', 'main.js');
  }

  /**
   * The process title (`--title`), which is also what /proc/<pid>/cmdline shows once Node has set
   * it: a string only this component's command line contains, before and after.
   */
  protected get marker(): string {
    return `platform-${this.config.profile}-${this.spec.name}`;
  }

  /**
   * Extra environment for the next start, added to what earlier calls set (tests shorten saga
   * timeouts this way). Restart the component for it to take effect.
   */
  setEnvironment(overrides: NodeJS.ProcessEnv): void {
    this.overrides = { ...this.overrides, ...overrides };
  }

  endpoint(): ComponentEndpoint {
    return {
      url: this.url,
      host: this.config.host,
      port: this.spec.port,
      details: { log: this.logFile },
    };
  }

  protected prepare(): Promise<void> {
    if (!existsSync(this.entry)) {
      return Promise.reject(
        new Error(`${this.name}: ${this.entry} does not exist; build first (npm run build)`),
      );
    }
    return Promise.resolve();
  }

  protected launchSpec(): LaunchSpec {
    return {
      command: process.execPath,
      args: [`--title=${this.marker}`, '--enable-source-maps', this.entry],
      env: {
        ...process.env,
        NODE_ENV: process.env.NODE_ENV ?? 'development',
        HOST: this.config.host,
        PORT: String(this.spec.port),
        ...this.spec.env(),
        ...this.overrides,
      },
    };
  }

  protected async probe(): Promise<void> {
    const response = await fetch(`${this.url}${this.spec.readyPath}`, {
      signal: AbortSignal.timeout(2000),
    });
    if (response.status !== 200)
      throw new Error(`${this.spec.readyPath} answered ${response.status}`);
  }
}
