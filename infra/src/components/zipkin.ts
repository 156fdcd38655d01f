import { mkdirSync } from 'node:fs';
import type { ComponentEndpoint } from '../component';
import type { InfraConfig } from '../config';
import { ensureJvmRuntime, type JvmRuntime } from '../jvm';
import { ManagedProcessComponent, type LaunchSpec } from './managed-process';

/**
 * Zipkin's server (io.zipkin:zipkin-server, the executable jar from Maven Central) as the local
 * stack's trace backend: the services export their spans to it (OTEL_TRACES_EXPORTER=zipkin) and
 * its UI and API show one order as one trace. Spans are kept in memory only: traces are for
 * looking at now, and a restart starts empty. Compose uses the OTel collector and Jaeger instead.
 */
export class ZipkinComponent extends ManagedProcessComponent {
  readonly name = 'zipkin';
  protected readonly ports: readonly number[];
  private runtime: JvmRuntime | undefined;

  constructor(config: InfraConfig) {
    super(config);
    this.ports = [config.zipkinPort];
  }

  get url(): string {
    return `http://${this.config.host}:${this.config.zipkinPort}`;
  }

  /** Where the services' Zipkin exporter posts spans (OTEL_EXPORTER_ZIPKIN_ENDPOINT). */
  get spansEndpoint(): string {
    return `${this.url}/api/v2/spans`;
  }

  /** The state directory on the command line tells this profile's Zipkin from another's. */
  protected get marker(): string {
    return `-Dplatform.state=${this.dir}`;
  }

  endpoint(): ComponentEndpoint {
    return {
      url: this.url,
      host: this.config.host,
      port: this.config.zipkinPort,
      details: { ui: `${this.url}/zipkin/`, log: this.logFile },
    };
  }

  protected prepare(): Promise<void> {
    this.runtime ??= ensureJvmRuntime(this.config, (line) => {
      console.error(line);
    });
    mkdirSync(this.dir, { recursive: true });
    return Promise.resolve();
  }

  protected launchSpec(): LaunchSpec {
    if (!this.runtime) throw new Error('zipkin: prepare() must run before launch');
    return {
      command: 'java',
      args: [
        '-Xms64m',
        '-Xmx384m',
        '-XX:+UseSerialGC',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        this.marker,
        '-jar',
        this.runtime.zipkinJar,
        // Loopback only, like every other component of the local stack. Spring replaces the
        // whole list entry, so the port and protocol are restated with the address.
        `--armeria.ports[0].ip=${this.config.host}`,
        `--armeria.ports[0].port=${this.config.zipkinPort}`,
        '--armeria.ports[0].protocols[0]=http',
      ],
      env: {
        ...process.env,
        QUERY_PORT: String(this.config.zipkinPort),
        STORAGE_TYPE: 'mem',
        // Oldest traces are dropped beyond this; it keeps the heap bounded during load tests.
        MEM_MAX_SPANS: '50000',
        // Zipkin's own self-tracing and its banner are noise here.
        SELF_TRACING_ENABLED: 'false',
      },
    };
  }

  protected async probe(): Promise<void> {
    const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
    if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
  }
}

/** A span as Zipkin's API v2 returns it (for tests that assert on exported traces). */
export interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name?: string;
  readonly kind?: 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
  readonly localEndpoint?: { readonly serviceName?: string };
  readonly tags?: Readonly<Record<string, string>>;
}
