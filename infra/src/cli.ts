#!/usr/bin/env node
import { UnsupportedOperationError } from './component';
import { ConfigError } from './config';
import { LocalStack } from './stack';
import { MissingToolError } from './toolchain';

const USAGE = `usage: platform-infra <command> [component...]

  up [--infra] [c...]
                   start the infrastructure and the services (or only the infrastructure,
                   or the named components) and wait until each is ready
  down             stop every component gracefully; nothing is left running
  status           show what runs and where it listens
  prepare          resolve the JVM artifacts (Kafka, mongo-java-server) with Maven
  start <c...>     start components
  stop <c...>      stop components gracefully
  kill <c...>      SIGKILL components, as a crash would
  restart <c...>   stop, then start
  env              print connection settings as shell variables

components: postgres, mongo, kafka, payment-provider, inventory, payment, order
profile: PLATFORM_PROFILE=dev (default) or test; ports and state directory differ per profile`;

function printEndpoints(stack: LocalStack): void {
  const rows = stack.components.map((c) => {
    const e = c.endpoint();
    const state = c.isRunning() ? 'running' : 'stopped';
    const details = Object.entries(e.details)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    return `  ${c.name.padEnd(9)} ${state.padEnd(8)} ${e.url}\n  ${''.padEnd(18)} ${details}`;
  });
  console.log(
    `profile ${stack.config.profile}, state in ${stack.config.stateDir}\n${rows.join('\n')}`,
  );
}

function printEnv(stack: LocalStack): void {
  console.log(`export KAFKA_BROKERS=${stack.kafka.brokers.join(',')}`);
  console.log(`export POSTGRES_URL=${stack.postgres.url}`);
  for (const db of stack.config.postgres.databases) {
    console.log(`export POSTGRES_${db.toUpperCase()}_URL=${stack.postgres.databaseUrl(db)}`);
  }
  console.log(`export MONGO_URL=${stack.mongo.url}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...names] = argv;
  const stack = new LocalStack();
  const each = async (op: 'start' | 'stop' | 'kill' | 'restart') => {
    if (names.length === 0) throw new ConfigError(`${op} needs at least one component name`);
    for (const name of names) {
      const component = stack.component(name);
      const began = Date.now();
      await component[op]();
      console.log(`${name}: ${op} done in ${Date.now() - began} ms`);
    }
  };
  switch (command) {
    case 'up': {
      const began = Date.now();
      const infraOnly = names.includes('--infra');
      await stack.up(
        names.filter((n) => n !== '--infra'),
        { services: !infraOnly },
      );
      console.log(`Local stack is up (${((Date.now() - began) / 1000).toFixed(1)} s):`);
      printEndpoints(stack);
      return;
    }
    case 'down':
      await stack.down();
      console.log('Local infrastructure is down; no component is running.');
      return;
    case 'status':
      printEndpoints(stack);
      return;
    case 'prepare':
      stack.prepare();
      return;
    case 'env':
      printEnv(stack);
      return;
    case 'start':
    case 'stop':
    case 'kill':
    case 'restart':
      await each(command);
      return;
    default:
      console.error(USAGE);
      process.exitCode =
        command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known =
    error instanceof MissingToolError ||
    error instanceof ConfigError ||
    error instanceof UnsupportedOperationError;
  // Expected problems get one clear line; anything else keeps its stack for the bug report.
  console.error(known ? `error: ${error.message}` : error);
  process.exitCode = 1;
});
