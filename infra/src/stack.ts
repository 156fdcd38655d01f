import type { InfraComponent } from './component';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KafkaComponent } from './components/kafka';
import { MongoComponent } from './components/mongo';
import { NodeServiceComponent } from './components/node-service';
import { PrometheusComponent, prometheusInstalled } from './components/prometheus';
import { PostgresComponent } from './components/postgres';
import { ZipkinComponent } from './components/zipkin';
import { resolveInfraConfig, type InfraConfig } from './config';
import { ensureJvmRuntime } from './jvm';

/**
 * The local stack: every component the platform needs, in start order. Observability components
 * join by adding a class that implements InfraComponent and a field here.
 */
export class LocalStack {
  readonly kafka: KafkaComponent;
  readonly postgres: PostgresComponent;
  readonly mongo: MongoComponent;
  readonly paymentProvider: NodeServiceComponent;
  readonly inventory: NodeServiceComponent;
  readonly payment: NodeServiceComponent;
  readonly order: NodeServiceComponent;
  readonly prometheus: PrometheusComponent;
  readonly zipkin: ZipkinComponent;

  constructor(readonly config: InfraConfig = resolveInfraConfig()) {
    this.postgres = new PostgresComponent(config);
    this.mongo = new MongoComponent(config);
    this.kafka = new KafkaComponent(config);
    this.zipkin = new ZipkinComponent(config);
    const brokers = () => this.kafka.brokers.join(',');
    // Every service (the provider simulator too) sends its spans to this profile's Zipkin, in
    // batches flushed every half second so a trace is complete soon after the work ends.
    const tracing = () => ({
      // OTEL_TRACES_EXPORTER=none in the launcher's environment turns tracing off.
      OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER ?? 'zipkin',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: this.zipkin.spansEndpoint,
      OTEL_BSP_SCHEDULE_DELAY: '500',
      // Room for load-test bursts: spans beyond a full queue are dropped, not waited for.
      OTEL_BSP_MAX_QUEUE_SIZE: '8192',
    });
    this.paymentProvider = new NodeServiceComponent(config, {
      name: 'payment-provider',
      folder: 'payment-provider-simulator',
      port: config.services.paymentProvider,
      readyPath: '/health/ready',
      env: () => ({
        ...tracing(),
        LEDGER_FILE: path.join(config.stateDir, 'payment-provider', 'ledger.jsonl'),
      }),
    });
    this.inventory = new NodeServiceComponent(config, {
      name: 'inventory',
      folder: 'inventory',
      port: config.services.inventory,
      readyPath: '/health/ready',
      env: () => ({
        ...tracing(),
        MONGO_URL: this.mongo.url,
        KAFKA_BROKERS: brokers(),
        INVENTORY_DATABASE: 'inventory',
      }),
    });
    this.payment = new NodeServiceComponent(config, {
      name: 'payment',
      folder: 'payment',
      port: config.services.payment,
      readyPath: '/health/ready',
      env: () => ({
        ...tracing(),
        PAYMENTS_DATABASE_URL: this.postgres.databaseUrl('payments'),
        KAFKA_BROKERS: brokers(),
        PAYMENT_PROVIDER_URL: this.paymentProvider.url,
      }),
    });
    this.prometheus = new PrometheusComponent(config);
    this.order = new NodeServiceComponent(config, {
      name: 'order',
      folder: 'order',
      port: config.services.order,
      readyPath: '/health/ready',
      env: () => ({
        ...tracing(),
        ORDERS_DATABASE_URL: this.postgres.databaseUrl('orders'),
        MONGO_URL: this.mongo.url,
        KAFKA_BROKERS: brokers(),
      }),
    });
  }

  /** Stores, broker and the trace backend the services export to; they start in parallel. */
  get infrastructure(): readonly InfraComponent[] {
    return [this.postgres, this.mongo, this.kafka, this.zipkin];
  }

  /** The platform's own processes that exist in this checkout, dependencies first. */
  get services(): readonly NodeServiceComponent[] {
    const all = [this.paymentProvider, this.inventory, this.payment, this.order];
    return all.filter((service) =>
      existsSync(path.join(this.config.rootDir, 'services', folderOf(service), 'package.json')),
    );
  }

  /** Monitoring that runs beside the services when its binary is installed (Debian's prometheus). */
  get observability(): readonly InfraComponent[] {
    return prometheusInstalled() ? [this.prometheus] : [];
  }

  get components(): readonly InfraComponent[] {
    return [...this.infrastructure, ...this.services, ...this.observability];
  }

  component(name: string): InfraComponent {
    const found = this.components.find((c) => c.name === name);
    if (!found) {
      throw new Error(
        `unknown component "${name}"; known: ${this.components.map((c) => c.name).join(', ')}`,
      );
    }
    return found;
  }

  /** Resolves the JVM artifacts once, up front, so progress shows before anything starts. */
  prepare(log: (line: string) => void = console.error): void {
    ensureJvmRuntime(this.config, log);
  }

  /**
   * Starts the infrastructure (or the named components) and waits until each is ready. Safe to
   * repeat. With `{ services: true }` the platform's services start too, after the infrastructure.
   */
  async up(names?: readonly string[], options: { services?: boolean } = {}): Promise<void> {
    this.prepare();
    if (names?.length) {
      await Promise.all(names.map((n) => this.component(n).start()));
      return;
    }
    // Independent components start in parallel; each waits for its own readiness.
    await Promise.all(this.infrastructure.map((c) => c.start()));
    if (options.services) {
      // Services in dependency order: the provider before payment, the others before order.
      for (const service of this.services) await service.start();
      for (const component of this.observability) await component.start();
    }
  }

  /** Stops everything this stack started, services first. External Postgres is left alone. */
  async down(): Promise<void> {
    for (const component of [...this.components].reverse()) {
      if (component === this.postgres && this.config.postgres.externalUrl) continue;
      await component.stop();
    }
  }
}

function folderOf(service: NodeServiceComponent): string {
  return service.name === 'payment-provider' ? 'payment-provider-simulator' : service.name;
}

let shared: LocalStack | undefined;

/**
 * For integration tests: the stack for the current profile (PLATFORM_PROFILE, `test` under
 * `npm test`), started if it is not already running.
 */
export async function useLocalStack(options: { services?: boolean } = {}): Promise<LocalStack> {
  shared ??= new LocalStack();
  await shared.up(undefined, options);
  return shared;
}
