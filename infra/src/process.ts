import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Process and port primitives for the launcher. Components are started detached, so they outlive
 * the command that started them (`npm run up` returns), and found again through pid files. A pid
 * is only trusted while `/proc/<pid>/cmdline` still contains the component's marker (a path
 * unique to it), so a recycled pid is never signalled by mistake.
 */

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means it exists but belongs to someone else: alive, not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers signal 0; it has exited for every practical purpose.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Live pid from a pid file, or undefined when the file is missing, stale or points elsewhere. */
export function livePid(pidFile: string, marker: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (!isAlive(pid) || !cmdlineOf(pid).includes(marker)) return undefined;
  return pid;
}

export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked; nothing to collect.
    }
  }
  return children;
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves once the process is gone. */
export async function terminate(pid: number, graceMs: number): Promise<'graceful' | 'killed'> {
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) return 'graceful';
  signal(pid, 'SIGKILL');
  await waitForExit(pid, 10_000);
  return 'killed';
}

export interface DetachedProcess {
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly pidFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts a process in its own session with output appended to a log file; records its pid. */
export function spawnDetached(spec: DetachedProcess): number {
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  mkdirSync(path.dirname(spec.pidFile), { recursive: true });
  const log = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) {
      throw new Error(`could not start ${spec.command}: ${spec.logFile} may say why`);
    }
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

export async function waitForPortClosed(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortOpen(host, port)) {
    if (Date.now() > deadline) {
      throw new Error(
        `${host}:${port} still accepts connections ${timeoutMs} ms after its process stopped`,
      );
    }
    await sleep(100);
  }
}

/** Polls `probe` until it resolves, failing with the last error after `timeoutMs`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  probe: () => Promise<void>,
  isStillStarting: () => boolean = () => true,
  logHint?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
    }
    const hint = logHint ? ` (see ${logHint})` : '';
    if (!isStillStarting()) {
      throw new Error(`${what} exited while starting${hint}: ${describe(lastError)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} was not ready within ${timeoutMs} ms${hint}: ${describe(lastError)}`,
      );
    }
    await sleep(Math.min(1000, 100 * 2 ** Math.min(attempt, 4)));
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a short command to completion; output is captured unless `inherit` is set. */
export function run(
  command: string,
  args: readonly string[],
  options: SpawnSyncOptions & { inherit?: boolean } = {},
): RunResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    stdio: options.inherit ? 'inherit' : 'pipe',
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  if (result.error) throw result.error;
  return {
    status: result.status ?? 1,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
  };
}

export function tailOf(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
