import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type LocalStack, MongoComponent, resolveInfraConfig, useLocalStack } from './index';
import { isPortOpen } from './process';

const cli = path.join(__dirname, 'cli.js');

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

describe('Launcher lifecycle', { timeout: 240_000 }, () => {
  let stack: LocalStack;

  before(async () => {
    stack = await useLocalStack();
  });

  after(async () => {
    await stack.up();
  });

  it('when a running component is started again, then nothing new is spawned', async () => {
    const pid = stack.mongo.pid();
    assert.ok(pid !== undefined);
    await stack.mongo.start();
    assert.equal(stack.mongo.pid(), pid);
  });

  it('when the stack goes down, then no process of it runs and every port is free', async () => {
    const pids = [stack.kafka.pid(), stack.mongo.pid(), stack.postgres.pid()];
    assert.ok(pids.every((p) => p !== undefined));
    await stack.down();
    for (const component of stack.components)
      assert.equal(component.isRunning(), false, component.name);
    const { host, kafka, mongo, postgres } = stack.config;
    for (const port of [kafka.port, kafka.controllerPort, mongo.port, postgres.port]) {
      assert.equal(await isPortOpen(host, port), false, `port ${port} is free`);
    }
    // Stopping what is stopped is a no-op, not an error.
    await stack.down();
  });

  it('when the stack comes back up, then every component is ready again', async () => {
    await stack.up();
    // Infrastructure only: the services are started by the e2e suites that need them.
    for (const component of stack.infrastructure) {
      assert.equal(component.isRunning(), true, component.name);
    }
  });

  it('when java is missing, then the launcher says what to install instead of printing a stack trace', () => {
    const result = runCli(['prepare'], { ...process.env, PATH: '/nonexistent' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^error: Java 17 or newer is needed/m);
    assert.match(result.stderr, /apt-get install openjdk-17-jre-headless/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('when a port is taken by another program, then start fails with a message naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'platform-infra-spec-'));
    try {
      const mongo = new MongoComponent(
        resolveInfraConfig({
          ...process.env,
          PLATFORM_STATE_DIR: stateDir,
          MONGO_PORT: String(port),
        }),
      );
      await assert.rejects(
        mongo.start(),
        new RegExp(`port ${port} on 127.0.0.1 is already in use`),
      );
      assert.equal(mongo.isRunning(), false);
    } finally {
      blocker.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('when the CLI prints the environment, then it names every endpoint', () => {
    const result = runCli(['env'], process.env);
    assert.equal(result.status, 0);
    assert.match(result.stdout, new RegExp(`KAFKA_BROKERS=127.0.0.1:${stack.config.kafka.port}`));
    assert.match(result.stdout, /POSTGRES_ORDERS_URL=postgres:\/\/.*\/orders/);
    assert.match(result.stdout, /POSTGRES_PAYMENTS_URL=postgres:\/\/.*\/payments/);
    assert.match(
      result.stdout,
      new RegExp(`MONGO_URL=mongodb://127.0.0.1:${stack.config.mongo.port}`),
    );
  });
});
