import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, resolveInfraConfig } from './index';

/**
 * docker-compose.yml cannot be run here (no container engine), so it is validated by Debian's
 * docker-compose v1 (`config` parses and checks it without an engine) and compared with what the
 * local launcher provides, so the two paths cannot silently drift apart.
 */
function compose(args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(
    'docker-compose',
    ['-f', path.join(repoRoot, 'docker-compose.yml'), ...args],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  );
  if (result.error) {
    throw new Error(
      `docker-compose is not installed (Debian: apt-get install docker-compose): ${result.error.message}`,
    );
  }
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

describe('docker-compose.yml', () => {
  it('when validated by docker-compose config, then it is accepted', () => {
    const result = compose(['config', '-q']);
    assert.equal(result.status, 0, result.stderr);
  });

  it('when listed, then it has the same infrastructure as the local launcher', () => {
    const services = compose(['config', '--services']).stdout.trim().split('\n').sort();
    for (const name of ['kafka', 'mongo', 'postgres'])
      assert.ok(services.includes(name), `service ${name}`);
  });

  it('when listed, then every service the launcher runs is in it, built from the shared Dockerfile', () => {
    const services = compose(['config', '--services']).stdout.trim().split('\n');
    for (const name of ['order', 'inventory', 'payment', 'payment-provider']) {
      assert.ok(services.includes(name), `service ${name}`);
    }
    const config = compose(['config']).stdout;
    for (const folder of ['order', 'inventory', 'payment', 'payment-provider-simulator']) {
      assert.match(config, new RegExp(`SERVICE: ${folder}\\n`), `build arg for ${folder}`);
    }
  });

  it('when Postgres initialises, then it creates the same per-service databases as the launcher', () => {
    const sql = readFileSync(path.join(repoRoot, 'infra', 'compose', 'postgres-init.sql'), 'utf8');
    for (const database of resolveInfraConfig().postgres.databases)
      assert.match(sql, new RegExp(`CREATE DATABASE ${database};`));
  });

  it('when Kafka starts, then topic auto-creation is off, as in the launcher', () => {
    const config = compose(['config']).stdout;
    assert.match(config, /KAFKA_AUTO_CREATE_TOPICS_ENABLE: ['"]false['"]/);
    assert.match(config, /KAFKA_PROCESS_ROLES: broker,controller/);
  });
});
