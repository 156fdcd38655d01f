import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from './process';

/** A prerequisite is missing; the message says what to install, never a stack trace. */
export class MissingToolError extends Error {
  override readonly name = 'MissingToolError';
}

function onPath(command: string): boolean {
  try {
    return run('sh', ['-c', `command -v ${command}`]).status === 0;
  } catch {
    return false;
  }
}

export function requireJava(): void {
  if (!onPath('java')) {
    throw new MissingToolError(
      'Java 17 or newer is needed to run Kafka and the MongoDB-compatible server locally. ' +
        'Install it (Debian: apt-get install openjdk-17-jre-headless) or put `java` on PATH.',
    );
  }
  const version = run('java', ['-version']);
  const match = /version "(\d+)/.exec(version.stderr + version.stdout);
  const major = match?.[1] ? Number(match[1]) : 0;
  if (major < 17) {
    throw new MissingToolError(
      `Kafka 4 needs Java 17 or newer; \`java -version\` reports ${major || 'an unknown version'}.`,
    );
  }
}

export function requireMaven(): void {
  if (!onPath('mvn')) {
    throw new MissingToolError(
      'Apache Maven is needed once, to fetch Kafka and mongo-java-server from Maven Central. ' +
        'Install it (Debian: apt-get install maven) or put `mvn` on PATH.',
    );
  }
}

/** Directory with initdb, pg_ctl and postgres: PG_BIN_DIR, `pg_config --bindir`, or the newest Debian install. */
export function postgresBinDir(explicit: string | undefined): string {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  if (onPath('pg_config')) {
    const bindir = run('pg_config', ['--bindir']).stdout.trim();
    if (bindir) candidates.push(bindir);
  }
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debianRoot, v, 'bin')));
  }
  const found = candidates.find((dir) =>
    ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(path.join(dir, b))),
  );
  if (!found) {
    throw new MissingToolError(
      'PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install them ' +
        '(Debian: apt-get install postgresql), set PG_BIN_DIR to their folder, or point ' +
        'PLATFORM_POSTGRES_URL at an existing server.',
    );
  }
  return found;
}
