/**
 * One piece of local infrastructure the launcher manages. Every component supports the same
 * lifecycle so that `npm run up`, the tests and the failure-scenario suite can drive any of them
 * the same way. Adding a component (Zipkin, Prometheus) means implementing this and registering
 * it in stack.ts.
 */
export interface InfraComponent {
  readonly name: string;
  /** Starts the component if it is not running, then waits until it is really ready. Safe to repeat. */
  start(): Promise<void>;
  /** Graceful stop; afterwards no process of it runs and its ports are free. Safe when stopped. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would: no shutdown hooks, no flush. Safe when stopped. */
  kill(): Promise<void>;
  /** stop + start. */
  restart(): Promise<void>;
  /** True when its process is alive (not necessarily ready). */
  isRunning(): boolean;
  /** Resolves once the component answers a real request; throws after the timeout. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Where clients connect, for humans and for tests. */
  endpoint(): ComponentEndpoint;
}

export interface ComponentEndpoint {
  /** Connection string a client library accepts. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Extra facts worth printing (log file, data directory, databases). */
  readonly details: Readonly<Record<string, string>>;
}

/** Raised for lifecycle operations a component cannot do, e.g. killing an external Postgres. */
export class UnsupportedOperationError extends Error {
  override readonly name = 'UnsupportedOperationError';
}
