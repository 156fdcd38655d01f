import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { DomainError } from '@platform/domain';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { z } from 'zod';
import {
  createServiceApp,
  outboxBacklogCheck,
  ServiceDefaultsModule,
  ServiceLifecycle,
  ZodPipe,
} from './index';

const Order = z.strictObject({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
});

class OutOfLuck extends DomainError {
  constructor() {
    super('out-of-luck', 'no luck today');
  }
}

@Controller('things')
class ThingsController {
  @Post()
  create(@Body(new ZodPipe(Order, 'body')) body: z.infer<typeof Order>) {
    return { received: body };
  }

  @Get('domain-error')
  domainError() {
    throw new OutOfLuck();
  }

  @Get('crash')
  crash() {
    throw new Error('secret internals: password=hunter2');
  }
}

@Module({ imports: [ServiceDefaultsModule], controllers: [ThingsController] })
class TestModule {}

describe('service defaults over real HTTP', () => {
  let app: NestExpressApplication;
  let base: string;

  before(async () => {
    app = await createServiceApp(TestModule, {
      name: 'test-service',
      bodyLimit: '1kb',
      domainErrorStatus: { 'out-of-luck': 422 },
    });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await app.close();
  });

  const post = (body: string) =>
    fetch(`${base}/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  it('when the body is valid, then the handler gets the parsed value', async () => {
    const response = await post(JSON.stringify({ sku: 'A', quantity: 2 }));
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { received: { sku: 'A', quantity: 2 } });
  });

  it('when the body is not JSON, then 400 problem+json', async () => {
    const response = await post('{"sku": ');
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = (await response.json()) as { status: number; detail: string };
    assert.equal(problem.status, 400);
    assert.match(problem.detail, /JSON/);
  });

  it('when fields have wrong types or are missing, then 400 lists each problem', async () => {
    const response = await post(JSON.stringify({ quantity: 'two' }));
    assert.equal(response.status, 400);
    const problem = (await response.json()) as { errors: { path: string }[] };
    assert.deepEqual(problem.errors.map((e) => e.path).sort(), ['quantity', 'sku']);
  });

  it('when the body smuggles __proto__ or unknown keys, then 400', async () => {
    const response = await post('{"sku":"A","quantity":1,"__proto__":{"admin":true}}');
    assert.equal(response.status, 400);
    assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype pollution');
  });

  it('when the body is over the limit, then 413', async () => {
    const response = await post(JSON.stringify({ sku: 'A'.repeat(2048), quantity: 1 }));
    assert.equal(response.status, 413);
  });

  it('when a domain error is thrown, then its mapped status and code come back', async () => {
    const response = await fetch(`${base}/things/domain-error`);
    assert.equal(response.status, 422);
    const problem = (await response.json()) as { type: string; detail: string };
    assert.match(problem.type, /out-of-luck$/);
    assert.equal(problem.detail, 'no luck today');
  });

  it('when something unexpected fails, then 500 without internals', async () => {
    const response = await fetch(`${base}/things/crash`);
    assert.equal(response.status, 500);
    assert.doesNotMatch(await response.text(), /hunter2/);
  });

  it('when a route does not exist, then 404 problem+json', async () => {
    const response = await fetch(`${base}/nope`);
    assert.equal(response.status, 404);
    assert.match(response.headers.get('content-type') ?? '', /problem\+json/);
  });

  it('when a readiness check fails, then ready is 503 and live stays 200', async () => {
    const lifecycle = app.get(ServiceLifecycle);
    let healthy = true;
    lifecycle.addReadinessCheck({
      name: 'database',
      check: () =>
        healthy
          ? Promise.resolve({ latencyMs: 1 })
          : Promise.reject(new Error('connection refused')),
    });
    assert.equal((await fetch(`${base}/health/ready`)).status, 200);
    healthy = false;
    const ready = await fetch(`${base}/health/ready`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /connection refused/);
    assert.equal((await fetch(`${base}/health/live`)).status, 200);
    healthy = true;
  });

  it('when a readiness check fails with numbers, then the 503 shows them next to the reason, without credentials', async () => {
    const lifecycle = app.get(ServiceLifecycle);
    let backlog = 3;
    lifecycle.addReadinessCheck(
      outboxBacklogCheck(() => Promise.resolve({ backlog, oldestAgeMs: 4000 }), 5),
    );
    lifecycle.addReadinessCheck({
      name: 'secretive',
      check: () =>
        backlog > 5
          ? Promise.reject(new Error('cannot reach postgres://orders:hunter2@db:5432/orders'))
          : Promise.resolve(undefined),
    });
    const ok = await fetch(`${base}/health/ready`);
    assert.equal(ok.status, 200);
    const okBody = (await ok.json()) as { info: Record<string, unknown> };
    assert.deepEqual(okBody.info.outbox, { status: 'up', backlog: 3, max: 5, oldestAgeSeconds: 4 });

    backlog = 6;
    const ready = await fetch(`${base}/health/ready`);
    assert.equal(ready.status, 503);
    const text = await ready.text();
    const body = JSON.parse(text) as { error: Record<string, unknown> };
    assert.deepEqual(body.error.outbox, {
      status: 'down',
      backlog: 6,
      max: 5,
      oldestAgeSeconds: 4,
      reason: 'outbox backlog 6 exceeds 5',
    });
    assert.doesNotMatch(text, /hunter2/);
    backlog = 0;
  });

  it('when the OpenAPI document is requested, then it describes the routes', async () => {
    const response = await fetch(`${base}/docs-json`);
    assert.equal(response.status, 200);
    const document = (await response.json()) as { paths: Record<string, unknown> };
    assert.ok('/things' in document.paths);
  });

  it('when the service drains, then readiness is 503 and new work gets 503 with Retry-After', async () => {
    app.get(ServiceLifecycle).startDraining();
    assert.equal((await fetch(`${base}/health/ready`)).status, 503);
    assert.equal((await fetch(`${base}/health/live`)).status, 200);
    const response = await post(JSON.stringify({ sku: 'A', quantity: 1 }));
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '1');
  });
});
