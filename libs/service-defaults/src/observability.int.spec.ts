import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import { Body, Controller, Get, Logger, Module, Param, Post } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  createServiceApp,
  ServiceDefaultsModule,
  type ErrorContext,
  type ErrorReporter,
} from './index';

const CARD = '4111111111111111';
const TOKEN = 'Bearer s3cr3t-t0ken';

@Controller('widgets')
class WidgetsController {
  private readonly logger = new Logger('Widgets');

  @Get(':id')
  one(@Param('id') id: string) {
    return { id };
  }

  @Get(':id/crash')
  crash(): never {
    throw new Error('db down: postgres://orders:hunter2@db:5432/orders');
  }

  @Post(':id/pay')
  pay(@Param('id') id: string, @Body() body: { card: string; holder: string }) {
    this.logger.log({ msg: 'paying for a widget', widget: id, payment: body });
    return { paid: true };
  }
}

@Module({ imports: [ServiceDefaultsModule], controllers: [WidgetsController] })
class WidgetsModule {}

class RecordingReporter implements ErrorReporter {
  readonly reports: { error: unknown; context: ErrorContext }[] = [];

  report(error: unknown, context: ErrorContext): void {
    this.reports.push({ error, context });
  }
}

/** `name{labels} value` lines of one metric whose labels include every given pair. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics, logs and exception tracking over real HTTP', () => {
  let app: NestExpressApplication;
  let base: string;
  const lines: string[] = [];
  const reporter = new RecordingReporter();

  const logged = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const scrape = async () => {
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    return response.text();
  };

  before(async () => {
    app = await createServiceApp(WidgetsModule, {
      name: 'widget-service',
      errorReporter: reporter,
      logDestination: {
        write: (line: string) => {
          lines.push(line);
        },
      },
    });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await app.close();
  });

  it('when routes with ids are requested, then /metrics counts them by route template, not URL', async () => {
    assert.equal((await fetch(`${base}/widgets/41`)).status, 200);
    assert.equal((await fetch(`${base}/widgets/42`)).status, 200);
    const text = await scrape();
    const labels = { service: 'widget-service', method: 'GET', route: '/widgets/:id' };
    assert.equal(sample(text, 'http_server_requests_total', { ...labels, status: '200' }), 2);
    assert.equal(
      sample(text, 'http_server_request_duration_seconds_count', { ...labels, status: '200' }),
      2,
    );
    assert.ok(
      sample(text, 'http_server_request_duration_seconds_bucket', { ...labels, le: '0.1' }) !==
        undefined,
      'the SLO threshold is a bucket edge',
    );
    assert.doesNotMatch(text, /route="\/widgets\/4[12]"/);
  });

  it('when /metrics and health are requested, then they are neither measured nor logged', async () => {
    await fetch(`${base}/health/live`);
    await scrape();
    const text = await scrape();
    assert.doesNotMatch(text, /route="\/metrics"/);
    assert.doesNotMatch(text, /route="\/health/);
    const urls = logged().map((line) => (line.req as { url?: string } | undefined)?.url);
    assert.ok(!urls.includes('/metrics') && !urls.includes('/health/live'), String(urls));
  });

  it('when the process is scraped, then default saturation metrics carry the service label', async () => {
    const text = await scrape();
    for (const name of [
      'process_cpu_user_seconds_total',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ])
      assert.match(text, new RegExp(`^${name}\\{service="widget-service"\\} `, 'm'), name);
  });

  it('when the process is scraped, then the V8 heap limit is exported beside used and total, above both', async () => {
    const text = await scrape();
    const labels = { service: 'widget-service' };
    const limit = sample(text, 'nodejs_heap_size_limit_bytes', labels);
    const used = sample(text, 'nodejs_heap_size_used_bytes', labels);
    const total = sample(text, 'nodejs_heap_size_total_bytes', labels);
    assert.ok(used !== undefined && total !== undefined && limit !== undefined);
    assert.equal(limit, getHeapStatistics().heap_size_limit);
    assert.ok(limit > total && total >= used, `limit ${limit}, total ${total}, used ${used}`);
  });

  it('when no route matches, then the request counts as route="unmatched"', async () => {
    assert.equal((await fetch(`${base}/no/such/thing/123`)).status, 404);
    const text = await scrape();
    assert.equal(
      sample(text, 'http_server_requests_total', { route: 'unmatched', status: '404' }),
      1,
    );
    assert.doesNotMatch(text, /no\/such/);
  });

  it('when a handler fails, then the 500 series grows by one and the reporter is called once', async () => {
    const labels = { route: '/widgets/:id/crash', status: '500' };
    const before = sample(await scrape(), 'http_server_requests_total', labels) ?? 0;
    const response = await fetch(`${base}/widgets/7/crash`, {
      headers: { 'x-correlation-id': 'order-7' },
    });
    assert.equal(response.status, 500);
    assert.equal(sample(await scrape(), 'http_server_requests_total', labels), before + 1);
    assert.equal(reporter.reports.length, 1);
    const report = reporter.reports[0];
    assert.ok(report);
    assert.deepEqual(report.context, {
      method: 'GET',
      url: '/widgets/7/crash',
      route: '/widgets/:id/crash',
      status: 500,
      correlationId: 'order-7',
    });
    assert.match(String(report.error), /db down/);
  });

  it('when a 4xx is answered, then the reporter is not called', async () => {
    const reported = reporter.reports.length;
    assert.equal((await fetch(`${base}/nothing-here`)).status, 404);
    assert.equal(reporter.reports.length, reported);
  });

  it('when a request carries secrets, then log lines are JSON with the service and redact them', async () => {
    const response = await fetch(`${base}/widgets/9/pay`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: TOKEN,
        cookie: 'session=abc123',
        'x-correlation-id': 'corr-9',
      },
      body: JSON.stringify({ card: CARD, holder: 'Ada' }),
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('x-correlation-id'), 'corr-9');

    const all = logged();
    assert.ok(all.length > 0);
    for (const line of all) {
      assert.equal(line.service, 'widget-service');
      assert.equal(typeof line.level, 'string');
      assert.equal(typeof line.time, 'string');
    }
    const text = lines.join('');
    assert.ok(!text.includes(CARD), 'card number leaked');
    assert.ok(!text.includes('s3cr3t'), 'authorization leaked');
    assert.ok(!text.includes('abc123'), 'cookie leaked');

    const appLine = all.find((line) => line.msg === 'paying for a widget');
    assert.ok(appLine, 'the handler line is logged');
    assert.equal(appLine.correlationId, 'corr-9', 'in-request lines carry the correlation id');
    assert.deepEqual(appLine.payment, { card: '[Redacted]', holder: 'Ada' });

    const requestLine = all.find(
      (line) => line.route === '/widgets/:id/pay' && line.msg === 'request completed',
    );
    assert.ok(requestLine, 'the request line is logged');
    assert.equal(requestLine.correlationId, 'corr-9');
    assert.equal(typeof requestLine.durationMs, 'number');
    assert.deepEqual(requestLine.res, { statusCode: 201 });
    const req = requestLine.req as { method: string; headers: Record<string, string> };
    assert.equal(req.method, 'POST');
    assert.equal(req.headers.authorization, '[Redacted]');
  });

  it('when no correlation id is sent, then one is generated and echoed back', async () => {
    const response = await fetch(`${base}/widgets/1`);
    const id = response.headers.get('x-correlation-id') ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.ok(logged().some((line) => line.correlationId === id));
  });
});
