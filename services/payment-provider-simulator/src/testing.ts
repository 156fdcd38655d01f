import { request as httpRequest } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createSimulatorApp, type SimulatorOptions } from './app';
import type { RequestLogRecord } from './http/request-log';

/** Test support: a simulator on a free port with deterministic ids and clock, and a tiny client. */

export const FIXED_NOW = new Date('2025-01-01T00:00:00.000Z');

export function sequentialIds(): (prefix: string) => string {
  let next = 0;
  return (prefix) => `${prefix}_${++next}`;
}

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: unknown;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is, for malformed bodies. */
  rawBody?: string;
  idempotencyKey?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface RunningSimulator {
  app: NestExpressApplication;
  baseUrl: string;
  port: number;
  logs: RequestLogRecord[];
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** A JSON object reply's body, failing the test if it is not one. */
  json(reply: Reply): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const logs: RequestLogRecord[] = [];
  const app = await createSimulatorApp({
    newId: sequentialIds(),
    now: () => FIXED_NOW,
    requestLog: (record) => logs.push(record),
    // The records above are what tests read; the service log would only be noise in their output.
    logLevel: 'silent',
    ...options,
  });
  await app.listen(0, '127.0.0.1');
  const baseUrl = await app.getUrl();
  const port = Number(new URL(baseUrl).port);
  return {
    app,
    baseUrl,
    port,
    logs,
    call: (method, path, callOptions = {}) => call(baseUrl, method, path, callOptions),
    json: asObject,
    close: () => app.close(),
  };
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  { body, rawBody, idempotencyKey, headers = {}, signal }: CallOptions,
): Promise<Reply> {
  const sent = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(sent === undefined ? {} : { 'content-type': 'application/json' }),
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
      ...headers,
    },
    ...(sent === undefined ? {} : { body: sent }),
    ...(signal === undefined ? {} : { signal }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed };
}

export function asObject(reply: Reply): Record<string, unknown> {
  const { body } = reply;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error(`expected a JSON object, got ${reply.status} ${JSON.stringify(body)}`);
  }
  return body as Record<string, unknown>;
}

/**
 * A POST with node:http, to see transport errors as they are (fetch wraps them): resolves with
 * the status, or rejects with the socket error (e.g. code ECONNRESET).
 */
export function rawPost(
  baseUrl: string,
  path: string,
  body: unknown,
  idempotencyKey: string,
): Promise<number> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'idempotency-key': idempotencyKey,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
