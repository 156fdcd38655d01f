import path from 'node:path';

/**
 * Where each local component listens and keeps its data.
 *
 * Two profiles keep a developer's running stack and the test suite apart: `dev` (what `npm run up`
 * starts) and `test` (what `npm test` starts and stops), with different ports and state
 * directories, so running the tests never kills or wipes the stack you are working against.
 */
export type Profile = 'dev' | 'test';

export interface InfraConfig {
  readonly profile: Profile;
  /** Repository root (the folder with the root package.json). */
  readonly rootDir: string;
  /** Per-profile data, logs and pid files. */
  readonly stateDir: string;
  /** Shared across profiles: the resolved JVM classpath. */
  readonly jvmDir: string;
  readonly host: string;
  readonly kafka: {
    readonly port: number;
    readonly controllerPort: number;
    /** Heap for the broker JVM, e.g. `768m`. */
    readonly heap: string;
  };
  readonly postgres: {
    readonly port: number;
    /** When set, Postgres is external: the launcher only checks it and never starts or kills it. */
    readonly externalUrl: string | undefined;
    /** Databases created on start, one per owning service. */
    readonly databases: readonly string[];
    readonly binDir: string | undefined;
  };
  readonly mongo: {
    readonly port: number;
    readonly heap: string;
  };
  /** HTTP ports of the platform's own processes. */
  readonly services: {
    readonly order: number;
    readonly inventory: number;
    readonly payment: number;
    readonly paymentProvider: number;
  };
  /** Prometheus (when installed) scraping this profile's services. */
  readonly prometheusPort: number;
  /** Zipkin (from Maven Central) receiving the services' spans. */
  readonly zipkinPort: number;
  /** Upper bound for any component to become ready. */
  readonly readyTimeoutMs: number;
}

interface ProfilePorts {
  kafka: number;
  controller: number;
  postgres: number;
  mongo: number;
  order: number;
  inventory: number;
  payment: number;
  paymentProvider: number;
  prometheus: number;
  zipkin: number;
}

const DEFAULT_PORTS: Record<Profile, ProfilePorts> = {
  dev: {
    kafka: 9092,
    controller: 9093,
    postgres: 5433,
    mongo: 27017,
    order: 3000,
    inventory: 3001,
    payment: 3002,
    paymentProvider: 4010,
    prometheus: 9090,
    zipkin: 9411,
  },
  test: {
    kafka: 29092,
    controller: 29093,
    postgres: 25433,
    mongo: 28017,
    order: 23000,
    inventory: 23001,
    payment: 23002,
    paymentProvider: 24010,
    prometheus: 29090,
    zipkin: 29411,
  },
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ConfigError(`${name} must be a TCP port (1-65535), got "${raw}"`);
  }
  return value;
}

/** An unset variable and one set to '' mean the same: not given. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function profileOf(env: NodeJS.ProcessEnv): Profile {
  const raw = env.PLATFORM_PROFILE ?? 'dev';
  if (raw === 'dev' || raw === 'test') return raw;
  throw new ConfigError(`PLATFORM_PROFILE must be "dev" or "test", got "${raw}"`);
}

/** The repository root, found from this module's location (infra/dist or infra/src). */
export const repoRoot = path.resolve(__dirname, '..', '..');

export function resolveInfraConfig(env: NodeJS.ProcessEnv = process.env): InfraConfig {
  const profile = profileOf(env);
  const defaults = DEFAULT_PORTS[profile];
  const rootDir = repoRoot;
  const stateRoot = env.PLATFORM_STATE_DIR
    ? path.resolve(env.PLATFORM_STATE_DIR)
    : path.join(rootDir, '.state');
  return {
    profile,
    rootDir,
    stateDir: path.join(stateRoot, profile),
    jvmDir: path.join(stateRoot, 'jvm'),
    host: '127.0.0.1',
    kafka: {
      port: port(env, 'KAFKA_PORT', defaults.kafka),
      controllerPort: port(env, 'KAFKA_CONTROLLER_PORT', defaults.controller),
      heap: env.KAFKA_HEAP ?? '768m',
    },
    postgres: {
      port: port(env, 'POSTGRES_PORT', defaults.postgres),
      externalUrl: nonEmpty(env.PLATFORM_POSTGRES_URL),
      databases: ['orders', 'payments'],
      binDir: nonEmpty(env.PG_BIN_DIR),
    },
    mongo: {
      port: port(env, 'MONGO_PORT', defaults.mongo),
      heap: env.MONGO_HEAP ?? '384m',
    },
    services: {
      order: port(env, 'ORDER_PORT', defaults.order),
      inventory: port(env, 'INVENTORY_PORT', defaults.inventory),
      payment: port(env, 'PAYMENT_PORT', defaults.payment),
      paymentProvider: port(env, 'PAYMENT_PROVIDER_PORT', defaults.paymentProvider),
    },
    prometheusPort: port(env, 'PROMETHEUS_PORT', defaults.prometheus),
    zipkinPort: port(env, 'ZIPKIN_PORT', defaults.zipkin),
    readyTimeoutMs: Number(env.PLATFORM_READY_TIMEOUT_MS ?? 120_000),
  };
}
