import { createHash, randomUUID } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  UnsupportedOperationError,
  type ComponentEndpoint,
  type InfraComponent,
} from '../component';
import type { InfraConfig } from '../config';
import {
  childrenOf,
  cmdlineOf,
  isAlive,
  isPortOpen,
  run,
  signal,
  tailOf,
  waitForExit,
  waitForPortClosed,
  waitUntil,
  type RunResult,
} from '../process';
import { postgresBinDir } from '../toolchain';

const isRoot = process.getuid?.() === 0;

/**
 * PostgreSQL for the local stack: a private cluster (own port, own data directory) run from the
 * installed server binaries, or an external server when PLATFORM_POSTGRES_URL is set.
 *
 * The private cluster runs with fsync off. That keeps tests fast and is still honest for the
 * failure scenarios, which kill processes, not machines: a killed postmaster loses nothing that
 * the kernel's page cache already holds, and committed transactions are in the WAL there.
 */
export class PostgresComponent implements InfraComponent {
  readonly name = 'postgres';
  private binDir: string | undefined;
  private clusterDirCache: string | undefined;

  constructor(private readonly config: InfraConfig) {}

  private get external(): boolean {
    return this.config.postgres.externalUrl !== undefined;
  }

  /** Connection URL for the `postgres` maintenance database (or the external URL as given). */
  get url(): string {
    return (
      this.config.postgres.externalUrl ??
      `postgres://postgres@${this.config.host}:${this.config.postgres.port}/postgres`
    );
  }

  /** Connection URL for one database on this server. */
  databaseUrl(database: string): string {
    const url = new URL(this.url);
    url.pathname = `/${database}`;
    return url.toString();
  }

  /**
   * Creates a uniquely named, empty database for one test file; `drop()` removes it again.
   * Tests that share one server stay independent this way.
   */
  async createScratchDatabase(
    prefix: string,
  ): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
    const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const admin = async (sql: string) => {
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return {
      url: this.databaseUrl(name),
      name,
      drop: () => admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
    };
  }

  /**
   * The cluster's own folder. Postgres refuses to run as root, so as root the cluster belongs to
   * the `postgres` user; if that user cannot reach the project folder (a clone under /root, say),
   * the cluster lives under /var/tmp, keyed by the state directory.
   */
  private get clusterDir(): string {
    this.clusterDirCache ??= this.chooseClusterDir();
    return this.clusterDirCache;
  }

  private chooseClusterDir(): string {
    const preferred = path.join(this.config.stateDir, 'postgres');
    if (!isRoot || this.postgresCanReach(path.dirname(preferred))) return preferred;
    const key = createHash('sha256').update(preferred).digest('hex').slice(0, 12);
    return path.join(os.tmpdir() === '/tmp' ? '/var/tmp' : os.tmpdir(), `platform-postgres-${key}`);
  }

  private postgresCanReach(dir: string): boolean {
    mkdirSync(dir, { recursive: true });
    return run('runuser', ['-u', 'postgres', '--', 'test', '-x', dir]).status === 0;
  }

  private get dataDir(): string {
    return path.join(this.clusterDir, 'data');
  }

  private get logFile(): string {
    return path.join(this.config.stateDir, 'logs', 'postgres.log');
  }

  endpoint(): ComponentEndpoint {
    const url = new URL(this.url);
    return {
      url: this.url,
      host: url.hostname,
      port: Number(url.port || 5432),
      details: this.external
        ? {
            mode: 'external (PLATFORM_POSTGRES_URL)',
            databases: this.config.postgres.databases.join(', '),
          }
        : {
            mode: 'private cluster',
            data: this.dataDir,
            log: this.logFile,
            databases: this.config.postgres.databases.join(', '),
          },
    };
  }

  private bin(name: string): string {
    this.binDir ??= postgresBinDir(this.config.postgres.binDir);
    return path.join(this.binDir, name);
  }

  private runAsPostgres(command: string, args: string[]): RunResult {
    return isRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
  }

  /** Pid of the postmaster, from its own postmaster.pid, if it is alive and ours. */
  pid(): number | undefined {
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || !isAlive(pid) || !cmdlineOf(pid).includes(this.dataDir))
      return undefined;
    return pid;
  }

  isRunning(): boolean {
    return this.external || this.pid() !== undefined;
  }

  async start(): Promise<void> {
    if (!this.external && !this.isRunning()) {
      if (await isPortOpen(this.config.host, this.config.postgres.port)) {
        throw new Error(
          `postgres: port ${this.config.postgres.port} on ${this.config.host} is already in use by another process. ` +
            'Set POSTGRES_PORT to a free port, or PLATFORM_POSTGRES_URL to use that server.',
        );
      }
      this.initCluster();
      this.startCluster();
    }
    await this.waitUntilReady();
    await this.createDatabases();
  }

  private initCluster(): void {
    if (existsSync(path.join(this.dataDir, 'PG_VERSION'))) return;
    mkdirSync(this.clusterDir, { recursive: true });
    if (isRoot) chownSync(this.clusterDir, postgresUid(), postgresGid());
    const result = this.runAsPostgres(this.bin('initdb'), [
      '-D',
      this.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
    ]);
    if (result.status !== 0)
      throw new Error(`postgres: initdb failed:\n${result.stderr || result.stdout}`);
  }

  private startCluster(): void {
    mkdirSync(path.dirname(this.logFile), { recursive: true });
    closeSync(openSync(this.logFile, 'a'));
    if (isRoot) chownSync(this.logFile, postgresUid(), postgresGid());
    const options = [
      `-p ${this.config.postgres.port}`,
      `-c listen_addresses=${this.config.host}`,
      // TCP only: socket paths under a deep clone can exceed the 107-byte limit.
      "-c unix_socket_directories=''",
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
      '-c shared_buffers=128MB',
    ].join(' ');
    const result = this.runAsPostgres(this.bin('pg_ctl'), [
      '-D',
      this.dataDir,
      '-l',
      this.logFile,
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    if (result.status !== 0) {
      throw new Error(
        `postgres: pg_ctl start failed:\n${result.stderr || result.stdout}\n${tailOf(this.logFile, 15)}`,
      );
    }
  }

  private async createDatabases(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      for (const database of this.config.postgres.databases) {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
          database,
        ]);
        if (found.rowCount === 0) {
          await client
            .query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
            .catch((error: unknown) => {
              // Two starters may race; the loser finds it created.
              if ((error as { code?: string }).code !== '42P04') throw error;
            });
        }
      }
    } finally {
      await client.end();
    }
  }

  async waitUntilReady(timeoutMs = this.config.readyTimeoutMs): Promise<void> {
    await waitUntil(
      'postgres',
      timeoutMs,
      async () => {
        const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000 });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('SELECT 1');
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      () => this.isRunning(),
      this.external ? undefined : this.logFile,
    );
  }

  async stop(): Promise<void> {
    this.requirePrivate('stop');
    if (this.pid() !== undefined) {
      const result = this.runAsPostgres(this.bin('pg_ctl'), [
        '-D',
        this.dataDir,
        '-m',
        'fast',
        '-w',
        '-t',
        '60',
        'stop',
      ]);
      if (result.status !== 0 && this.pid() !== undefined) {
        throw new Error(`postgres: pg_ctl stop failed:\n${result.stderr || result.stdout}`);
      }
    }
    await waitForPortClosed(this.config.host, this.config.postgres.port, 10_000);
  }

  /** SIGKILL to the postmaster and every backend at once, like a machine losing the process. */
  async kill(): Promise<void> {
    this.requirePrivate('kill');
    const pid = this.pid();
    if (pid !== undefined) {
      const all = [pid, ...childrenOf(pid)];
      for (const p of all) signal(p, 'SIGKILL');
      await Promise.all(all.map((p) => waitForExit(p, 10_000)));
      // The dead postmaster may linger as a zombie until its parent reaps it, and postgres's own
      // stale-lock check would take the zombie for a live server. It is dead: drop its lock file.
      rmSync(path.join(this.dataDir, 'postmaster.pid'), { force: true });
    }
    await waitForPortClosed(this.config.host, this.config.postgres.port, 10_000);
  }

  async restart(): Promise<void> {
    this.requirePrivate('restart');
    await this.stop();
    await this.start();
  }

  private requirePrivate(operation: string): void {
    if (this.external) {
      throw new UnsupportedOperationError(
        `postgres: cannot ${operation} an external server (PLATFORM_POSTGRES_URL is set); unset it to use the private cluster`,
      );
    }
  }
}

function postgresUid(): number {
  return Number(run('id', ['-u', 'postgres']).stdout.trim());
}

function postgresGid(): number {
  return Number(run('id', ['-g', 'postgres']).stdout.trim());
}
