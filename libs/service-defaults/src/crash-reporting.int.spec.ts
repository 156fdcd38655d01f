import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * Exception tracking outside requests: a service started with runService reports an uncaught
 * exception or unhandled rejection once, as a structured error line with its origin, and exits 1.
 */
function runFixture(
  crash: 'exception' | 'rejection',
): Promise<{ code: number | null; lines: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'testing', 'crash-fixture.js')], {
      env: { ...process.env, CRASH: crash, PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the fixture did not exit; it wrote:\n${stdout}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code, lines });
    });
  });
}

describe('crash reporting (runService)', { timeout: 90_000 }, () => {
  for (const [crash, origin, message] of [
    ['exception', 'uncaughtException', 'boom from a timer'],
    ['rejection', 'unhandledRejection', 'boom from a promise'],
  ] as const) {
    it(`when ${crash === 'exception' ? 'an exception' : 'a rejection'} escapes outside any request, then it is reported once with its origin and the process exits 1`, async () => {
      const { code, lines } = await runFixture(crash);
      assert.equal(code, 1);
      const reports = lines.filter((line) => line.origin !== undefined);
      assert.equal(reports.length, 1, JSON.stringify(lines));
      const [report] = reports;
      assert.equal(report?.origin, origin);
      assert.equal(report.level, 'error');
      assert.equal(report.service, 'crash-fixture');
      assert.match(JSON.stringify(report.err), new RegExp(message));
    });
  }
});
