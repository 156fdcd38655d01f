import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  AuditLog,
  auditRequestContext,
  MemoryAuditSink,
  redactAuditDetails,
  type AuditRecord,
  type AuditSink,
} from './audit';
import { createServiceLogger } from './logging';

function auditLogWithCapture(logLevel = 'info', extra: AuditSink[] = []) {
  const lines: string[] = [];
  const logger = createServiceLogger('audit-test', {
    logLevel,
    logDestination: {
      write: (line: string) => {
        lines.push(line);
      },
    },
  });
  const sink = new MemoryAuditSink();
  const audit = new AuditLog();
  audit.configure({ service: 'audit-test', logger, sinks: [sink, ...extra] });
  return { audit, sink, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const ENTRY = {
  action: 'stock.changed',
  actor: { id: 'alice', via: 'admin-token' },
  subject: { type: 'sku', id: 'SKU-1' },
  outcome: 'succeeded',
  details: { previous: { available: 1 }, new: { available: 5 } },
} as const;

/** Runs `work` as if inside a request whose correlation id pino-http named `id`. */
function inRequest<T>(id: string, work: () => Promise<T>): Promise<T> {
  const request = new IncomingMessage(new Socket());
  Object.assign(request, { id });
  return new Promise<T>((resolve, reject) => {
    auditRequestContext()(request, new ServerResponse(request), () => {
      work().then(resolve, reject);
    });
  });
}

describe('audit log', () => {
  it('when an action is recorded, then one audit line has the record and the request correlation id', async () => {
    const { audit, sink, lines } = auditLogWithCapture();
    await inRequest('corr-1', () => audit.record(ENTRY));

    const written = lines();
    assert.equal(written.length, 1);
    const line = written[0] ?? {};
    assert.equal(typeof line.time, 'string');
    const { time: _time, ...rest } = line;
    assert.deepEqual(rest, {
      level: 'info',
      service: 'audit-test',
      audit: true,
      action: 'stock.changed',
      actor: { id: 'alice', via: 'admin-token' },
      subject: { type: 'sku', id: 'SKU-1' },
      outcome: 'succeeded',
      details: { previous: { available: 1 }, new: { available: 5 } },
      correlationId: 'corr-1',
      msg: 'audit: stock.changed succeeded',
    });

    const [record] = sink.records;
    assert.ok(record);
    assert.equal(record.service, 'audit-test');
    assert.equal(record.correlationId, 'corr-1');
    assert.ok(!Number.isNaN(Date.parse(record.time)));
  });

  it('when details hold a token, a card or a password at any depth, then no sink and no line sees them', async () => {
    const { audit, sink, lines } = auditLogWithCapture();
    await audit.record({
      ...ENTRY,
      details: {
        adminToken: 'tok-123456',
        payment: { card: '4111111111111111', cardNumber: '4242424242424242', cvv: '123' },
        steps: [{ credentials: { password: 'hunter2' } }],
        url: 'postgres://svc:pa55word@db/orders',
        note: 'retried with token=abc.def',
        keep: 'visible',
      },
    });
    const text = JSON.stringify(sink.records) + JSON.stringify(lines());
    for (const secret of [
      'tok-123456',
      '4111111111111111',
      '4242',
      'hunter2',
      'pa55word',
      'abc.def',
    ])
      assert.doesNotMatch(text, new RegExp(secret));
    assert.deepEqual(sink.records[0]?.details, {
      adminToken: '[Redacted]',
      payment: { card: '[Redacted]', cardNumber: '[Redacted]', cvv: '[Redacted]' },
      steps: [{ credentials: { password: '[Redacted]' } }],
      url: 'postgres://svc:[Redacted]@db/orders',
      note: 'retried with token=[Redacted]',
      keep: 'visible',
    });
  });

  it('when the log level is warn, then audit lines are still written; when silent, not', async () => {
    const warn = auditLogWithCapture('warn');
    await warn.audit.record(ENTRY);
    assert.equal(warn.lines().length, 1);
    const silent = auditLogWithCapture('silent');
    await silent.audit.record(ENTRY);
    assert.equal(silent.lines().length, 0);
    assert.equal(silent.sink.records.length, 1, 'sinks still get it');
  });

  it('when a sink fails, then recording does not throw and the other sinks still get the record', async () => {
    const failing: AuditSink = {
      write: () => Promise.reject(new Error('store down')),
    };
    const later: AuditRecord[] = [];
    const { audit, sink, lines } = auditLogWithCapture('info', [
      failing,
      { write: (r) => void later.push(r) },
    ]);
    await audit.record(ENTRY);
    assert.equal(sink.records.length, 1);
    assert.equal(later.length, 1);
    assert.equal(lines().filter((l) => l.audit === true).length, 1);
  });

  it('when details are redacted, then the input is not modified', () => {
    const details = { token: 't', nested: { ok: 1 } };
    redactAuditDetails(details);
    assert.deepEqual(details, { token: 't', nested: { ok: 1 } });
  });
});
