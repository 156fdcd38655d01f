import 'reflect-metadata';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import {
  AdminGuard,
  AdminOnly,
  authSettingsFromEnv,
  matchAdminToken,
  parseAdminTokens,
  resolveActor,
  type AuthSettings,
} from './actor';
import { AuditLog, MemoryAuditSink } from './audit';
import { createServiceLogger } from './logging';
import { ProblemError } from './problem-details';

/** A real (unsent) request with these headers, as Express hands it to guards. */
function aRequest(headers: Record<string, string> = {}, user?: unknown): IncomingMessage {
  const request = new IncomingMessage(new Socket());
  request.method = 'PUT';
  request.url = '/admin/stock/SKU-1';
  for (const [name, value] of Object.entries(headers)) request.headers[name.toLowerCase()] = value;
  Object.assign(request, { route: { path: '/admin/stock/:sku' }, baseUrl: '' });
  if (user !== undefined) Object.assign(request, { user });
  return request;
}

class StockAdmin {
  @AdminOnly('stock.changed')
  set(): void {
    // the guarded handler
  }
}

function guardFor(settings: AuthSettings) {
  const sink = new MemoryAuditSink();
  const audit = new AuditLog();
  audit.configure({
    service: 'guard-test',
    logger: createServiceLogger('guard-test', { logLevel: 'silent' }),
    sinks: [sink],
  });
  const guard = new AdminGuard(settings, audit, new Reflector());
  const run = async (request: IncomingMessage) => {
    const response = new ServerResponse(request);
    const context = new ExecutionContextHost(
      [request, response],
      StockAdmin,
      // eslint-disable-next-line @typescript-eslint/unbound-method -- only its metadata is read
      StockAdmin.prototype.set,
    );
    try {
      return { allowed: await guard.canActivate(context), response };
    } catch (error) {
      return { allowed: false, error, response };
    }
  };
  return { run, sink };
}

const TOKENS = parseAdminTokens('alice:s3cret-alice-token,ops-bot:bot-token-123');

describe('admin tokens', () => {
  it('when ADMIN_TOKENS is parsed, then names are kept and tokens only as digests', () => {
    assert.deepEqual(
      TOKENS.map((t) => t.name),
      ['alice', 'ops-bot'],
    );
    assert.doesNotMatch(JSON.stringify(TOKENS), /s3cret/);
  });

  it('when an entry is malformed, then the error names its position but not its secret', () => {
    assert.throws(
      () => parseAdminTokens('alice:ok,no-colon-s3cret'),
      (error: Error) => {
        assert.match(error.message, /entry 2/);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      },
    );
    assert.throws(() => parseAdminTokens('alice:a,alice:b'), /unique/);
    assert.throws(() => parseAdminTokens('bad name:t'), /entry 1/);
  });

  it('when a bearer token is compared, then only an exact configured token matches, by name', () => {
    assert.equal(matchAdminToken('Bearer bot-token-123', TOKENS), 'ops-bot');
    assert.equal(matchAdminToken('bearer s3cret-alice-token', TOKENS), 'alice');
    assert.equal(matchAdminToken('Bearer bot-token-12', TOKENS), undefined);
    assert.equal(matchAdminToken('Bearer bot-token-1234', TOKENS), undefined);
    assert.equal(matchAdminToken('Basic bot-token-123', TOKENS), undefined);
    assert.equal(matchAdminToken(undefined, TOKENS), undefined);
  });

  it('when the environment is empty, then no header is trusted and admin routes are open', () => {
    assert.deepEqual(authSettingsFromEnv({}), { adminTokens: [] });
    assert.equal(
      authSettingsFromEnv({ AUTH_TRUSTED_ACTOR_HEADER: 'X-Authenticated-User' }).trustedActorHeader,
      'x-authenticated-user',
    );
    assert.throws(() => authSettingsFromEnv({ AUTH_TRUSTED_ACTOR_HEADER: 'bad header' }));
  });
});

describe('resolveActor', () => {
  const trusting: AuthSettings = { trustedActorHeader: 'x-user', adminTokens: [] };

  it('when an auth guard set a principal, then it wins over the trusted header', () => {
    assert.deepEqual(resolveActor(aRequest({ 'x-user': 'mallory' }, { id: 'u-42' }), trusting), {
      id: 'u-42',
      via: 'principal',
    });
  });

  it('when a trusted header is configured and sent, then its value is the actor', () => {
    assert.deepEqual(resolveActor(aRequest({ 'x-user': 'alice@example.com' }), trusting), {
      id: 'alice@example.com',
      via: 'trusted-header',
    });
  });

  it('when no header is configured, then a client-sent identity header is ignored', () => {
    assert.deepEqual(resolveActor(aRequest({ 'x-user': 'mallory' }), { adminTokens: [] }), {
      id: 'anonymous',
      via: 'anonymous',
    });
  });

  it('when the trusted header holds something that is not a name, then it is ignored', () => {
    assert.equal(resolveActor(aRequest({ 'x-user': 'a b\n{"x":1}' }), trusting).via, 'anonymous');
  });
});

describe('AdminGuard', () => {
  it('when ADMIN_TOKENS is unset, then admin routes are open and the actor is anonymous', async () => {
    const { run, sink } = guardFor({ adminTokens: [] });
    const request = aRequest();
    assert.equal((await run(request)).allowed, true);
    assert.deepEqual(resolveActor(request, { adminTokens: [] }), {
      id: 'anonymous',
      via: 'anonymous',
    });
    assert.equal(sink.records.length, 0);
  });

  it("when the token is right, then the request passes and the actor is the token's name", async () => {
    const settings = { adminTokens: TOKENS };
    const { run, sink } = guardFor(settings);
    const request = aRequest({ authorization: 'Bearer s3cret-alice-token' });
    assert.equal((await run(request)).allowed, true);
    assert.deepEqual(resolveActor(request, settings), { id: 'alice', via: 'admin-token' });
    assert.equal(sink.records.length, 0);
  });

  for (const [what, headers, reason] of [
    ['missing', {}, 'no bearer token'],
    ['wrong', { authorization: 'Bearer guessed-token' }, 'unknown bearer token'],
  ] as const) {
    it(`when the token is ${what}, then 401 with a challenge and a denied audit record of the action`, async () => {
      const { run, sink } = guardFor({ adminTokens: TOKENS });
      const { allowed, error, response } = await run(aRequest(headers));
      assert.equal(allowed, false);
      assert.ok(error instanceof ProblemError);
      assert.equal(error.status, 401);
      assert.equal(response.getHeader('www-authenticate'), 'Bearer realm="admin"');
      assert.equal(sink.records.length, 1);
      const [record] = sink.records;
      assert.deepEqual(
        {
          action: record?.action,
          outcome: record?.outcome,
          actor: record?.actor,
          subject: record?.subject,
          details: record?.details,
        },
        {
          action: 'stock.changed',
          outcome: 'denied',
          actor: { id: 'anonymous', via: 'anonymous' },
          subject: { type: 'route', id: 'PUT /admin/stock/:sku' },
          details: { reason },
        },
      );
      assert.doesNotMatch(JSON.stringify(sink.records), /guessed-token/);
    });
  }
});
