import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestLogRecord {
  time: string;
  msg: 'request';
  method: string;
  path: string;
  /** null when no answer was sent (hang, dropped reply, client gone). */
  status: number | null;
  durationMs: number;
  idempotencyKey: string | null;
  faults: string[];
}

export type RequestLogWriter = (record: RequestLogRecord) => void;

const faultsByRequest = new WeakMap<IncomingMessage, string[]>();

export function noteFault(request: IncomingMessage, fault: string): void {
  const faults = faultsByRequest.get(request);
  if (faults === undefined) faultsByRequest.set(request, [fault]);
  else faults.push(fault);
}

/** The faults injected into a request so far (also on its line in the service log). */
export function faultsOf(request: IncomingMessage): string[] {
  return faultsByRequest.get(request) ?? [];
}

/** The request's Idempotency-Key header, when it sent one. */
export function idempotencyKeyOf(request: IncomingMessage): string | null {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' ? key : null;
}

/**
 * Test hook: middleware writing one record per request when its response completes or is
 * abandoned. The service's own request log (pino) carries `faults` and `idempotencyKey` too.
 */
export function requestLogger(
  write: RequestLogWriter,
): (request: IncomingMessage, response: ServerResponse, next: () => void) => void {
  return (request, response, next) => {
    const started = performance.now();
    response.once('close', () => {
      write({
        time: new Date().toISOString(),
        msg: 'request',
        method: request.method ?? '',
        path: request.url ?? '',
        status: response.writableFinished ? response.statusCode : null,
        durationMs: Math.round(performance.now() - started),
        idempotencyKey: idempotencyKeyOf(request),
        faults: faultsOf(request),
      });
    });
    next();
  };
}
