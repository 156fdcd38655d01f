import { HttpException } from '@nestjs/common';
import { DomainError } from '@platform/domain';
import type { ProblemDetails } from '@platform/service-defaults';
import type { Request } from 'express';
import { SimulatedFailure } from '../faults/errors';
import { ClientGone } from '../payments/payments.service';
import type { InvalidField } from './validation';
import { RequestValidationError } from './validation';

/** RFC 9457 problem details, with a short `code` (the last segment of `type`) for convenience. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: InvalidField[];
}

export const PROBLEM_TYPE_BASE = 'https://payment-provider-simulator.example/problems/';

/** The one place where refusals become HTTP statuses. */
const DOMAIN_PROBLEMS: Record<string, { status: number; title: string } | undefined> = {
  'authorization-not-found': { status: 404, title: 'Authorization not found' },
  'capture-not-found': { status: 404, title: 'Capture not found' },
  'invalid-authorization-state': {
    status: 409,
    title: 'The authorization is not in a state that allows this',
  },
  'amount-exceeds-authorized': { status: 422, title: 'Amount exceeds the authorized amount' },
  'amount-exceeds-refundable': { status: 422, title: 'Amount exceeds the refundable amount' },
  'idempotency-key-reused': {
    status: 422,
    title: 'Idempotency-Key reused with a different request',
  },
};

const SIMULATED_TITLES: Record<SimulatedFailure['code'], string> = {
  'injected-failure': 'Injected provider failure',
  'hang-released': 'Hung request released',
  'shutting-down': 'Provider shutting down',
};

const HTTP_CODES: Record<number, { code: string; title: string } | undefined> = {
  400: { code: 'malformed-request', title: 'Malformed request' },
  404: { code: 'not-found', title: 'Not found' },
  405: { code: 'method-not-allowed', title: 'Method not allowed' },
  413: { code: 'payload-too-large', title: 'Request body too large' },
  415: { code: 'unsupported-media-type', title: 'Unsupported media type' },
};

export function problem(
  code: string,
  title: string,
  status: number,
  detail: string,
  extra: Partial<Problem> = {},
): Problem {
  return { type: `${PROBLEM_TYPE_BASE}${code}`, title, status, detail, code, ...extra };
}

/**
 * Maps anything thrown while handling a request to a problem. `unexpected` is true for errors that
 * are bugs (answered with a generic 500 without internals, and worth logging).
 */
export function toProblem(error: unknown): { problem: Problem; unexpected: boolean } {
  if (error instanceof RequestValidationError) {
    return {
      problem: problem('invalid-request', `Invalid request ${error.part}`, 400, error.message, {
        errors: error.errors,
      }),
      unexpected: false,
    };
  }
  if (error instanceof SimulatedFailure) {
    return {
      problem: problem(error.code, SIMULATED_TITLES[error.code], error.status, error.message),
      unexpected: false,
    };
  }
  if (error instanceof DomainError) {
    const mapped = DOMAIN_PROBLEMS[error.code];
    if (mapped !== undefined) {
      return {
        problem: problem(error.code, mapped.title, mapped.status, error.message),
        unexpected: false,
      };
    }
  }
  if (error instanceof HttpException) {
    return { problem: fromHttpStatus(error.getStatus(), error.message), unexpected: false };
  }
  // Errors from the body parser (http-errors): 413 too large, 415 charset, 400 aborted.
  const status = clientErrorStatus(error);
  if (status !== undefined && error instanceof Error) {
    return { problem: fromHttpStatus(status, error.message), unexpected: false };
  }
  return {
    problem: problem('internal-error', 'Internal error', 500, 'unexpected error; see the log'),
    unexpected: true,
  };
}

/**
 * The simulator's errors as problems for the platform's problem filter (`ServiceOptions.problems`),
 * with `code` (the payment service's client reads it) and `instance` (the path). Unexpected errors
 * are left to the platform: a generic 500, reported once.
 */
export function simulatorProblem(error: unknown, request: Request): ProblemDetails | undefined {
  // The client left while its request hung: the filter finds the connection closed and sends
  // nothing; 499 only keeps it from counting as the provider's failure.
  if (error instanceof ClientGone) {
    return { ...problem('client-gone', 'Client closed the request', 499, error.message) };
  }
  const { problem: mapped, unexpected } = toProblem(error);
  if (unexpected) return undefined;
  return { ...mapped, instance: request.path };
}

function fromHttpStatus(status: number, detail: string): Problem {
  const known = HTTP_CODES[status];
  return problem(known?.code ?? `http-${status}`, known?.title ?? 'HTTP error', status, detail);
}

function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = 'status' in error ? error.status : undefined;
  const expose = 'expose' in error ? error.expose : false;
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true
    ? status
    : undefined;
}
