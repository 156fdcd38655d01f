import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { silentLogger } from '@platform/messaging';
import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
import {
  classifyFailure,
  couldHaveReachedProvider,
  ProviderClient,
  ProviderHttpError,
  ProviderProtocolError,
  type ProviderPolicyOptions,
} from './provider-client';

const networkError = (code: string) =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(`socket ${code}`), { code }) });

describe('provider failure classification', () => {
  it('when the provider fails in a way that may pass, then it is transient', () => {
    for (const error of [
      new ProviderHttpError(500, 'injected-failure', 'x'),
      new ProviderHttpError(503, 'injected-failure', 'x'),
      new ProviderHttpError(408, 'http-408', 'x'),
      new ProviderHttpError(429, 'http-429', 'x'),
      new TaskCancelledError('Operation timed out after 2000ms'),
      networkError('ECONNRESET'),
      networkError('UND_ERR_SOCKET'),
      networkError('ECONNREFUSED'),
      new ProviderProtocolError('unexpected answer'),
    ]) {
      assert.equal(classifyFailure(error), 'transient', String(error));
    }
  });

  it('when the provider refuses (4xx), then it is rejected and never retried', () => {
    for (const status of [400, 404, 409, 422]) {
      assert.equal(classifyFailure(new ProviderHttpError(status, 'c', 'd')), 'rejected');
    }
  });

  it('when the breaker is open or the bulkhead full, then they are told apart', () => {
    assert.equal(classifyFailure(new BrokenCircuitError()), 'circuit-open');
    assert.equal(classifyFailure(new BulkheadRejectedError(0, 0)), 'bulkhead-full');
    assert.equal(classifyFailure(new Error('a bug')), 'unexpected');
  });

  it('when a failure proves the request never left, then it could not have reached the provider', () => {
    assert.equal(couldHaveReachedProvider(new BrokenCircuitError()), false);
    assert.equal(couldHaveReachedProvider(new BulkheadRejectedError(0, 0)), false);
    assert.equal(couldHaveReachedProvider(networkError('ECONNREFUSED')), false);
  });

  it('when a failure may come after the provider acted, then it could have reached it', () => {
    assert.equal(couldHaveReachedProvider(new TaskCancelledError()), true);
    assert.equal(couldHaveReachedProvider(networkError('ECONNRESET')), true);
    assert.equal(couldHaveReachedProvider(new ProviderHttpError(503, 'x', 'y')), true);
  });
});

// A scripted transport: each call takes the next answer; records what was sent.
type Answer = { status: number; body: unknown } | { error: Error } | 'hang';

function scriptedFetch(answers: Answer[], fallback?: Answer) {
  const calls: { url: string; method: string; key: string | null; body: string | null }[] = [];
  const fetchFn: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    calls.push({
      url: typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url,
      method: init?.method ?? 'GET',
      key: headers.get('idempotency-key'),
      body: typeof init?.body === 'string' ? init.body : null,
    });
    const answer = answers.shift() ?? fallback;
    if (answer === undefined) return Promise.reject(new Error('script exhausted'));
    if (answer === 'hang') {
      return new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => {
          reject(new DOMException('This operation was aborted', 'AbortError'));
        });
      });
    }
    if ('error' in answer) return Promise.reject(answer.error);
    return Promise.resolve(
      new Response(JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return { fetchFn, calls };
}

const policy: ProviderPolicyOptions = {
  timeoutMs: 100,
  attempts: 3,
  backoff: { initialDelayMs: 1, maxDelayMs: 5 },
  breaker: { consecutiveFailures: 3, halfOpenAfterMs: 150 },
  bulkhead: { limit: 1, queue: 0 },
};

function client(fetchFn: typeof fetch, overrides: Partial<ProviderPolicyOptions> = {}) {
  return new ProviderClient({
    baseUrl: 'http://provider.test',
    policy: { ...policy, ...overrides },
    fetch: fetchFn,
    logger: silentLogger,
  });
}

const authorization = {
  id: 'auth_1',
  status: 'authorized',
  amount: 100,
  currency: 'EUR',
  reference: 'o-1',
};
const request = { amount: 100, currency: 'EUR', customerId: 'c-1', reference: 'o-1' };
const unavailable = { status: 503, body: { code: 'injected-failure', detail: 'nothing was done' } };

describe('ProviderClient policies', () => {
  it('when the provider fails twice with 503, then the third attempt succeeds with the same key', async () => {
    const { fetchFn, calls } = scriptedFetch([
      unavailable,
      unavailable,
      { status: 201, body: authorization },
    ]);
    const outcome = await client(fetchFn).authorize(request, 'o-1:authorize');
    assert.deepEqual(outcome, { kind: 'ok', value: { id: 'auth_1', status: 'authorized' } });
    assert.equal(calls.length, 3);
    assert.deepEqual(new Set(calls.map((call) => call.key)), new Set(['o-1:authorize']));
    assert.equal(calls[0]?.url, 'http://provider.test/v1/authorizations');
    assert.deepEqual(JSON.parse(calls[0].body ?? ''), request);
  });

  it('when the provider declines, then the decline is an answer, not a failure: no retry', async () => {
    const { fetchFn, calls } = scriptedFetch([
      {
        status: 201,
        body: { ...authorization, status: 'declined', declineReason: 'card-declined' },
      },
    ]);
    const outcome = await client(fetchFn).authorize(request, 'k');
    assert.deepEqual(outcome, {
      kind: 'ok',
      value: { id: 'auth_1', status: 'declined', declineReason: 'card-declined' },
    });
    assert.equal(calls.length, 1);
  });

  it('when the provider refuses with 409, then there is no retry and the refusal is reported', async () => {
    const { fetchFn, calls } = scriptedFetch([
      { status: 409, body: { code: 'invalid-authorization-state', detail: 'it is voided' } },
    ]);
    const outcome = await client(fetchFn).capture('auth_1', 100, 'o-1:capture');
    assert.deepEqual(outcome, {
      kind: 'rejected',
      status: 409,
      code: 'invalid-authorization-state',
      detail: 'it is voided',
    });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.url, 'http://provider.test/v1/authorizations/auth_1/capture');
  });

  it('when every attempt times out, then the outcome is unknown after all attempts', async () => {
    const { fetchFn, calls } = scriptedFetch([], 'hang');
    const started = performance.now();
    const outcome = await client(fetchFn, {
      breaker: { consecutiveFailures: 10, halfOpenAfterMs: 150 },
    }).authorize(request, 'k');
    const elapsed = performance.now() - started;
    assert.equal(outcome.kind, 'unknown');
    assert.match(outcome.reason, /timed out after 3 attempt/);
    assert.equal(calls.length, 3);
    assert.ok(elapsed >= 3 * policy.timeoutMs, `took ${elapsed} ms`);
  });

  it('when the reply is lost (reset) and the retry answers, then the retry result is used', async () => {
    const { fetchFn, calls } = scriptedFetch([
      { error: networkError('ECONNRESET') },
      { status: 201, body: authorization },
    ]);
    const outcome = await client(fetchFn).authorize(request, 'o-1:authorize');
    assert.equal(outcome.kind, 'ok');
    assert.deepEqual(
      calls.map((call) => call.key),
      ['o-1:authorize', 'o-1:authorize'],
    );
  });

  it('when the connection is refused every time, then the outcome is unavailable (nothing sent)', async () => {
    const { fetchFn } = scriptedFetch([], { error: networkError('ECONNREFUSED') });
    const outcome = await client(fetchFn, {
      breaker: { consecutiveFailures: 10, halfOpenAfterMs: 150 },
    }).authorize(request, 'k');
    assert.equal(outcome.kind, 'unavailable');
  });

  it('when failures repeat, then the breaker opens, later calls fail fast without a request, and a trial closes it', async () => {
    const { fetchFn, calls } = scriptedFetch([unavailable, unavailable, unavailable], {
      status: 201,
      body: authorization,
    });
    const provider = client(fetchFn);
    const states: string[] = [];
    provider.onBreakerStateChange((state) => states.push(state));

    const first = await provider.authorize(request, 'k1');
    assert.equal(first.kind, 'unknown');
    assert.equal(provider.breakerState, 'open');
    assert.equal(calls.length, 3);

    const started = performance.now();
    const second = await provider.authorize(request, 'k2');
    const elapsed = performance.now() - started;
    assert.equal(second.kind, 'unavailable');
    assert.match(second.reason, /circuit breaker open/);
    assert.equal(calls.length, 3, 'an open breaker sends nothing');
    assert.ok(elapsed < 500, `failing fast took ${elapsed} ms`);

    await sleep(policy.breaker.halfOpenAfterMs + 20);
    const third = await provider.authorize(request, 'k3');
    assert.equal(third.kind, 'ok');
    assert.equal(provider.breakerState, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
  });

  it('when the provider refuses (4xx) repeatedly, then the breaker stays closed', async () => {
    const refusal = {
      status: 422,
      body: { code: 'amount-exceeds-authorized', detail: 'too much' },
    };
    const { fetchFn, calls } = scriptedFetch([], refusal);
    const provider = client(fetchFn);
    for (let i = 0; i < 5; i++) {
      const outcome = await provider.capture('auth_1', 999, 'k');
      assert.equal(outcome.kind, 'rejected');
    }
    assert.equal(provider.breakerState, 'closed');
    assert.equal(calls.length, 5);
  });

  it('when the bulkhead is full, then the extra call is refused without a request', async () => {
    const { fetchFn, calls } = scriptedFetch(['hang', { status: 201, body: authorization }]);
    const provider = client(fetchFn, {
      attempts: 1,
      breaker: { consecutiveFailures: 10, halfOpenAfterMs: 150 },
    });
    const slow = provider.authorize(request, 'k1');
    const refused = await provider.authorize(request, 'k2');
    assert.equal(refused.kind, 'unavailable');
    assert.match(refused.reason, /too many provider calls/);
    assert.equal(calls.length, 1);
    assert.equal((await slow).kind, 'unknown');
  });

  it('when a 2xx body is not what the API promises, then it is retried and ends unknown', async () => {
    const { fetchFn, calls } = scriptedFetch([], { status: 201, body: { surprise: true } });
    const outcome = await client(fetchFn, {
      breaker: { consecutiveFailures: 10, halfOpenAfterMs: 150 },
    }).void('auth_1', 'k');
    assert.equal(outcome.kind, 'unknown');
    assert.equal(calls.length, 3);
  });

  it('when authorizations are listed, then the items are read and no idempotency key is sent', async () => {
    const view = {
      id: 'auth_1',
      status: 'authorized',
      reference: 'o-1',
      amount: 100,
      amounts: { authorized: 100, captured: 0, voided: 0, refunded: 0 },
    };
    const { fetchFn, calls } = scriptedFetch([{ status: 200, body: { items: [view] } }]);
    const listed = await client(fetchFn).listAuthorizations('o-1');
    assert.deepEqual(listed, { kind: 'ok', value: [view] });
    assert.equal(calls[0]?.url, 'http://provider.test/v1/authorizations?reference=o-1');
    assert.equal(calls[0].key, null, 'reads carry no idempotency key');
  });
});
