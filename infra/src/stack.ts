import type { InfraComponent } from './component';
import { KafkaComponent } from './components/kafka';
import { MongoComponent } from './components/mongo';
import { PostgresComponent } from './components/postgres';
import { resolveInfraConfig, type InfraConfig } from './config';
import { ensureJvmRuntime } from './jvm';

/**
 * The local stack: every component the platform needs, in start order. Observability components
 * (Zipkin, Prometheus) join by adding a class that implements InfraComponent and a field here.
 */
export class LocalStack {
  readonly kafka: KafkaComponent;
  readonly postgres: PostgresComponent;
  readonly mongo: MongoComponent;

  constructor(readonly config: InfraConfig = resolveInfraConfig()) {
    this.postgres = new PostgresComponent(config);
    this.mongo = new MongoComponent(config);
    this.kafka = new KafkaComponent(config);
  }

  /** Start order: stores first, the broker last (it takes longest, and nothing waits on it here). */
  get components(): readonly InfraComponent[] {
    return [this.postgres, this.mongo, this.kafka];
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

  /** Starts every component (or the named ones) and waits until each is ready. Safe to repeat. */
  async up(names?: readonly string[]): Promise<void> {
    const selected = names?.length ? names.map((n) => this.component(n)) : this.components;
    this.prepare();
    // Independent components start in parallel; each waits for its own readiness.
    await Promise.all(selected.map((c) => c.start()));
  }

  /** Stops everything this stack started, in reverse order. External Postgres is left alone. */
  async down(): Promise<void> {
    for (const component of [...this.components].reverse()) {
      if (component === this.postgres && this.config.postgres.externalUrl) continue;
      await component.stop();
    }
  }
}

let shared: LocalStack | undefined;

/**
 * For integration tests: the stack for the current profile (PLATFORM_PROFILE, `test` under
 * `npm test`), started if it is not already running.
 */
export async function useLocalStack(): Promise<LocalStack> {
  shared ??= new LocalStack();
  await shared.up();
  return shared;
}
