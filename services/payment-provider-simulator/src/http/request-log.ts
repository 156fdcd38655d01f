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

export const stdoutRequestLog: RequestLogWriter = (record) => {
  process.stdout.write(`${JSON.stringify(record)}\n`);
};

/** Middleware writing one record per request when its response completes or is abandoned. */
export function requestLogger(
  write: RequestLogWriter,
): (request: IncomingMessage, response: ServerResponse, next: () => void) => void {
  return (request, response, next) => {
    const started = performance.now();
    response.once('close', () => {
      const key = request.headers['idempotency-key'];
      write({
        time: new Date().toISOString(),
        msg: 'request',
        method: request.method ?? '',
        path: request.url ?? '',
        status: response.writableFinished ? response.statusCode : null,
        durationMs: Math.round(performance.now() - started),
        idempotencyKey: typeof key === 'string' ? key : null,
        faults: faultsByRequest.get(request) ?? [],
      });
    });
    next();
  };
}
