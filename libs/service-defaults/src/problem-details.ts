import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { DomainError } from '@platform/domain';
import type { Request, Response } from 'express';
import type { ErrorReporter } from './logging';
import { routeTemplate } from './metrics';

/**
 * Every error leaves a service as RFC 9457 problem details (`application/problem+json`), mapped in
 * this one place: validation problems → 400, body-parser failures → 400/413, domain errors →
 * the status the service maps their code to, HTTP exceptions → their status, anything else → 500
 * with no internals in the body.
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Field-level problems for 400s: where and what. */
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** Input that failed validation; the filter turns it into a 400 with `errors`. */
export class ValidationProblem extends Error {
  override readonly name = 'ValidationProblem';

  constructor(
    message: string,
    readonly errors: { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** An error that already knows its problem details (e.g. 422 for a reused Idempotency-Key). */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';

  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

const PROBLEM_BASE = 'https://platform.example/problems/';

function statusTitle(status: number): string {
  const name = HttpStatus[status];
  return typeof name === 'string'
    ? name
        .toLowerCase()
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join(' ')
    : 'Error';
}

/** body-parser's errors carry a `type` and a `status`; see its README. */
function bodyParserProblem(error: unknown): ProblemDetails | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  const type = error.type;
  if (type === 'entity.too.large') {
    return {
      type: `${PROBLEM_BASE}payload-too-large`,
      title: 'Payload Too Large',
      status: 413,
      detail: 'the request body exceeds the limit',
    };
  }
  if (type === 'entity.parse.failed') {
    return {
      type: `${PROBLEM_BASE}malformed-json`,
      title: 'Bad Request',
      status: 400,
      detail: 'the request body is not valid JSON',
    };
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return {
      type: `${PROBLEM_BASE}unsupported-encoding`,
      title: 'Unsupported Media Type',
      status: 415,
      detail: 'unsupported body encoding',
    };
  }
  return undefined;
}

export function toProblem(
  error: unknown,
  domainStatus: Readonly<Record<string, number>>,
): ProblemDetails {
  if (error instanceof ValidationProblem) {
    return {
      type: `${PROBLEM_BASE}validation`,
      title: 'Bad Request',
      status: 400,
      detail: error.message,
      errors: error.errors,
    };
  }
  if (error instanceof ProblemError) {
    return {
      type: `${PROBLEM_BASE}${error.title.toLowerCase().replaceAll(' ', '-')}`,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...error.extensions,
    };
  }
  if (error instanceof DomainError) {
    const status = domainStatus[error.code] ?? 409;
    return {
      type: `${PROBLEM_BASE}${error.code}`,
      title: statusTitle(status),
      status,
      detail: error.message,
    };
  }
  const parsing = bodyParserProblem(error);
  if (parsing) return parsing;
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const detail =
      typeof response === 'string'
        ? response
        : typeof response === 'object' && 'message' in response
          ? String(response.message)
          : error.message;
    return {
      type: status === 404 ? `${PROBLEM_BASE}not-found` : 'about:blank',
      title: statusTitle(status),
      status,
      detail,
    };
  }
  return {
    type: 'about:blank',
    title: 'Internal Server Error',
    status: 500,
    detail: 'an unexpected error occurred',
  };
}

/**
 * A service's own error mapping, tried before the defaults: a problem for errors it knows (its
 * request, domain and fault errors), undefined for the rest. A problem it returns is an outcome
 * the service chose, so even a 5xx is not handed to the ErrorReporter.
 */
export type ProblemMapper = (error: unknown, request: Request) => ProblemDetails | undefined;

/** Used when no reporter is given: the stack through Nest's logger (pino in a service). */
class NestLoggerErrorReporter implements ErrorReporter {
  private readonly logger = new Logger('ProblemDetails');

  report(error: unknown): void {
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(
    private readonly domainStatus: Readonly<Record<string, number>> = {},
    private readonly reporter: ErrorReporter = new NestLoggerErrorReporter(),
    private readonly mapper?: ProblemMapper,
  ) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    if (error instanceof HttpException && request.path.startsWith('/health')) {
      // Health checks answer in the health-check response format monitors expect, not problem+json.
      response.status(error.getStatus()).json(error.getResponse());
      return;
    }
    const mapped = this.mapper?.(error, request);
    const problem = mapped ?? toProblem(error, this.domainStatus);
    // 4xx are the caller's problem and show in the request log; 5xx are ours and get tracked.
    if (mapped === undefined && problem.status >= 500) this.report(error, request, problem.status);
    // A dropped or abandoned connection has nobody to answer.
    if (response.headersSent || response.writableEnded || request.socket.destroyed) return;
    response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private report(error: unknown, request: Request, status: number): void {
    const id: unknown = request.id;
    try {
      this.reporter.report(error, {
        method: request.method,
        url: request.originalUrl,
        route: routeTemplate(request),
        status,
        ...(typeof id === 'string' && { correlationId: id }),
      });
    } catch {
      // A broken tracker must not turn a 500 into a hung request.
    }
  }
}
