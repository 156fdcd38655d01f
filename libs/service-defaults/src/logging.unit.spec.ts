import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServiceLogger, LogErrorReporter, scrubConnectionStrings } from './logging';

function capture() {
  const lines: string[] = [];
  const logger = createServiceLogger('log-test', {
    logDestination: {
      write: (line: string) => {
        lines.push(line);
      },
    },
  });
  return { logger, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('service logger', () => {
  it('when the default reporter reports an error, then one error line has the context and no password', () => {
    const { logger, parsed } = capture();
    new LogErrorReporter(logger).report(
      new Error('connect failed: postgres://orders:hunter2@db:5432/orders'),
      { method: 'GET', url: '/orders/1', route: '/orders/:id', status: 500, correlationId: 'c-1' },
    );
    const lines = parsed();
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.ok(line);
    assert.equal(line.level, 'error');
    assert.equal(line.service, 'log-test');
    assert.equal(line.route, '/orders/:id');
    assert.equal(line.correlationId, 'c-1');
    const err = line.err as { message: string; stack: string };
    assert.equal(err.message, 'connect failed: postgres://orders:[Redacted]@db:5432/orders');
    assert.doesNotMatch(err.stack, /hunter2/);
  });

  it('when objects hold cards or passwords at any of the first two levels, then they are redacted', () => {
    const { logger, parsed } = capture();
    logger.info({ card: '4111', user: { password: 'pw', card: '4242' }, keep: 'ok' }, 'x');
    assert.deepEqual(
      { card: parsed()[0]?.card, user: parsed()[0]?.user, keep: parsed()[0]?.keep },
      { card: '[Redacted]', user: { password: '[Redacted]', card: '[Redacted]' }, keep: 'ok' },
    );
  });

  it('when a message or field holds a connection string, then its password is scrubbed', () => {
    const { logger, parsed } = capture();
    logger.info(
      { url: 'mongodb://app:s3cret@localhost:27017/db' },
      'using host=db password=s3cret',
    );
    const line = parsed()[0];
    assert.ok(line);
    assert.equal(line.url, 'mongodb://app:[Redacted]@localhost:27017/db');
    assert.equal(line.msg, 'using host=db password=[Redacted]');
  });

  it('when text has no secrets, then scrubbing leaves it alone', () => {
    const text = 'GET http://example.com/orders?id=1 took 3 ms';
    assert.equal(scrubConnectionStrings(text), text);
  });
});
