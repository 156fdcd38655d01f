import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException, NotFoundException } from '@nestjs/common';
import { InjectedFailure } from '../faults/errors';
import { IdempotencyKeyReused } from '../idempotency/idempotency-store';
import {
  AmountExceedsAuthorized,
  AuthorizationNotFound,
  InvalidAuthorizationState,
} from '../provider/errors';
import { PROBLEM_TYPE_BASE, toProblem } from './problem';
import { RequestValidationError } from './validation';

function statusAndCode(error: unknown): [number, string, boolean] {
  const { problem, unexpected } = toProblem(error);
  assert.equal(problem.type, `${PROBLEM_TYPE_BASE}${problem.code}`);
  return [problem.status, problem.code, unexpected];
}

describe('toProblem', () => {
  it('when the provider refuses, then its code decides the status', () => {
    assert.deepEqual(statusAndCode(new AuthorizationNotFound('a')), [
      404,
      'authorization-not-found',
      false,
    ]);
    assert.deepEqual(statusAndCode(new InvalidAuthorizationState('a', 'void', 'captured')), [
      409,
      'invalid-authorization-state',
      false,
    ]);
    assert.deepEqual(statusAndCode(new AmountExceedsAuthorized(2, 1)), [
      422,
      'amount-exceeds-authorized',
      false,
    ]);
    assert.deepEqual(statusAndCode(new IdempotencyKeyReused('k')), [
      422,
      'idempotency-key-reused',
      false,
    ]);
  });

  it('when a fault is injected, then its own status', () => {
    assert.deepEqual(statusAndCode(new InjectedFailure(500, 'fail-next')), [
      500,
      'injected-failure',
      false,
    ]);
    assert.deepEqual(statusAndCode(new InjectedFailure(503, 'error-rate')), [
      503,
      'injected-failure',
      false,
    ]);
  });

  it('when validation, routing or the body parser fail, then 400, 404, 413', () => {
    const invalid = toProblem(
      new RequestValidationError('body', [{ path: 'amount', message: 'bad' }]),
    );
    assert.deepEqual(invalid.problem.errors, [{ path: 'amount', message: 'bad' }]);
    assert.deepEqual(statusAndCode(new BadRequestException('Unexpected token')), [
      400,
      'malformed-request',
      false,
    ]);
    assert.deepEqual(statusAndCode(new NotFoundException()), [404, 'not-found', false]);
    const tooLarge = Object.assign(new Error('request entity too large'), {
      status: 413,
      expose: true,
    });
    assert.deepEqual(statusAndCode(tooLarge), [413, 'payload-too-large', false]);
  });

  it('when anything else is thrown, then a 500 without internals, marked unexpected', () => {
    const { problem, unexpected } = toProblem(new TypeError('secret internals at /srv/app.js'));
    assert.equal(problem.status, 500);
    assert.equal(unexpected, true);
    assert.doesNotMatch(problem.detail, /secret/);
    // A 5xx-looking error from a library is not trusted either.
    assert.equal(
      toProblem(Object.assign(new Error('x'), { status: 502, expose: false })).problem.status,
      500,
    );
  });
});
