import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  applyDecorators,
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { ANONYMOUS, AuditLog, type Actor } from './audit';
import { SettingError } from './config';
import { routeTemplate } from './metrics';
import { ProblemError } from './problem-details';

/** One admin token: its name (the actor) and the SHA-256 of its secret, never the secret. */
export interface AdminToken {
  readonly name: string;
  readonly digest: Buffer;
}

export interface AuthSettings {
  /**
   * Lower-case name of the header an authenticating gateway sets to the caller's identity.
   * Undefined (the default): no header is trusted.
   */
  readonly trustedActorHeader?: string;
  /** Empty (the default): admin routes are open and their actor is `anonymous`. */
  readonly adminTokens: readonly AdminToken[];
}

export const AUTH_SETTINGS = Symbol('AuthSettings');

const ACTOR_NAME = /^[A-Za-z0-9._@:+-]{1,128}$/;
const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * `ADMIN_TOKENS="name:token,other:token2"` → tokens kept as digests. Errors name the entry's
 * position, never its content (it holds a secret).
 */
export function parseAdminTokens(raw: string | undefined): AdminToken[] {
  if (raw === undefined || raw.trim() === '') return [];
  const tokens: AdminToken[] = [];
  raw.split(',').forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, Math.max(colon, 0)).trim();
    const token = entry.slice(colon + 1).trim();
    if (colon <= 0 || token === '' || !ACTOR_NAME.test(name)) {
      throw new SettingError(
        `ADMIN_TOKENS entry ${index + 1} must be name:token (name: letters, digits, ._@:+-)`,
      );
    }
    if (tokens.some((t) => t.name === name))
      throw new SettingError(`ADMIN_TOKENS names must be unique; "${name}" repeats`);
    tokens.push({ name, digest: sha256(token) });
  });
  return tokens;
}

/** Reads `AUTH_TRUSTED_ACTOR_HEADER` and `ADMIN_TOKENS`; both off when unset. */
export function authSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AuthSettings {
  const header = env.AUTH_TRUSTED_ACTOR_HEADER?.trim();
  if (header !== undefined && header !== '' && !HEADER_NAME.test(header))
    throw new SettingError('AUTH_TRUSTED_ACTOR_HEADER must be a header name');
  return {
    ...(header !== undefined && header !== '' && { trustedActorHeader: header.toLowerCase() }),
    adminTokens: parseAdminTokens(env.ADMIN_TOKENS),
  };
}

/**
 * The name of the admin token in an `Authorization: Bearer <token>` header, if it is one of
 * `tokens`. Compares SHA-256 digests in constant time and checks every token, so neither the
 * length of a guess nor which entry matched shows in the timing.
 */
export function matchAdminToken(
  authorization: string | undefined,
  tokens: readonly AdminToken[],
): string | undefined {
  const bearer = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1];
  if (bearer === undefined) return undefined;
  const given = sha256(bearer);
  let matched: string | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(given, token.digest) && matched === undefined) matched = token.name;
  }
  return matched;
}

/** Names of admin tokens the guard accepted, per request (not on `request.user`, which is the app's). */
const adminPrincipals = new WeakMap<IncomingMessage, string>();

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const raw = request.headers[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

function principalId(request: IncomingMessage): string | undefined {
  const user: unknown = (request as { user?: unknown }).user;
  if (typeof user !== 'object' || user === null || !('id' in user)) return undefined;
  const id = user.id;
  return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : undefined;
}

/**
 * Who is making this request, decided in one place:
 * 1. a principal an auth guard set (`request.user.id`);
 * 2. the name of the admin token `AdminGuard` accepted;
 * 3. the trusted identity header, when the service is configured with one
 *    (`AUTH_TRUSTED_ACTOR_HEADER`; only safe behind a gateway that authenticates callers and
 *    strips the header from what clients send), if its value is a sane name;
 * 4. otherwise `anonymous`.
 */
export function resolveActor(request: IncomingMessage, settings: AuthSettings): Actor {
  const principal = principalId(request);
  if (principal !== undefined) return { id: principal, via: 'principal' };
  const admin = adminPrincipals.get(request);
  if (admin !== undefined) return { id: admin, via: 'admin-token' };
  if (settings.trustedActorHeader !== undefined) {
    const claimed = headerValue(request, settings.trustedActorHeader)?.trim();
    if (claimed !== undefined && ACTOR_NAME.test(claimed))
      return { id: claimed, via: 'trusted-header' };
  }
  return ANONYMOUS;
}

/** `resolveActor` with the service's settings; inject it in controllers. */
@Injectable()
export class Actors {
  constructor(@Inject(AUTH_SETTINGS) readonly settings: AuthSettings) {}

  resolve(request: IncomingMessage): Actor {
    return resolveActor(request, this.settings);
  }
}

const ADMIN_ACTION = 'platform:admin-action';

/**
 * Optional bearer-token protection for admin routes. With `ADMIN_TOKENS` set, a request needs
 * `Authorization: Bearer <token>` of one of them (its name becomes the actor); otherwise 401
 * problem+json, and a `denied` audit record of the action it attempted. With `ADMIN_TOKENS` unset
 * the routes stay open (local development). Use it through `@AdminOnly(action)`.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    @Inject(AUTH_SETTINGS) private readonly settings: AuthSettings,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || this.settings.adminTokens.length === 0) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const authorization = request.headers.authorization;
    const name = matchAdminToken(authorization, this.settings.adminTokens);
    if (name !== undefined) {
      adminPrincipals.set(request, name);
      return true;
    }
    const route = `${request.method} ${routeTemplate(request)}`;
    await this.audit.record({
      action:
        this.reflector.getAllAndOverride<string | undefined>(ADMIN_ACTION, [
          context.getHandler(),
          context.getClass(),
        ]) ?? route,
      actor: resolveActor(request, this.settings),
      subject: { type: 'route', id: route },
      outcome: 'denied',
      details: {
        reason: authorization === undefined ? 'no bearer token' : 'unknown bearer token',
      },
    });
    http.getResponse<ServerResponse>().setHeader('WWW-Authenticate', 'Bearer realm="admin"');
    throw new ProblemError(
      401,
      'Unauthorized',
      'this admin route needs Authorization: Bearer <admin token>',
    );
  }
}

/**
 * Marks an admin route: guarded by `AdminGuard`, and `action` names what a refused request tried
 * to do in its `denied` audit record (e.g. `stock.changed`).
 */
export function AdminOnly(action: string): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(ADMIN_ACTION, action),
    UseGuards(AdminGuard),
    ApiBearerAuth(),
    ApiResponse({
      status: 401,
      description: 'ADMIN_TOKENS is set and no valid Authorization: Bearer <token> was sent',
    }),
  );
}
