import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { AdminCredentials } from '../config.ts';
import { AppError } from '../errors.ts';
import { errorResponse } from '../schemas.ts';
import { ApiKeyRing, ROLES, sameSecret, type ApiKey, type Role } from '../services/api-keys.ts';
import { LoginThrottle, type LoginFailures } from '../services/login-throttle.ts';
import { networkMatcher } from '../services/networks.ts';
import { sendError } from './error-handler.ts';
import type { AuthFailureReason } from './metrics.ts';

/**
 * Who may call a route (`config: { access }`):
 * - `public`: anyone, always (`/healthz`, `/readyz`, `/docs`);
 * - `legacy`: the 2018 endpoints: anyone by default; LEGACY_ALLOW restricts them to listed
 *   networks, LEGACY_REQUIRE_KEY to the player role;
 * - `player`, `catalog`, `viewer`: that role or `operator`, once any API key is configured
 *   (anyone while none is);
 * - `operator`: an operator API key or the admin login (HTTP basic), always. A route that
 *   declares nothing gets `operator` (Bull Board, and any route added without thought).
 */
export const ACCESS_LEVELS = [
  'public',
  'legacy',
  'player',
  'catalog',
  'viewer',
  'operator',
] as const;

/** One level of {@link ACCESS_LEVELS}. */
export type Access = (typeof ACCESS_LEVELS)[number];

/** Who is calling: an API key, the admin login, or nobody known. */
export interface Principal {
  /** The key's name, the admin user, or `anonymous`. */
  readonly name: string;
  /** `null` for an anonymous caller. */
  readonly role: Role | null;
  readonly via: 'key' | 'basic' | 'anonymous';
}

/** The principal of a request that presented no credentials that were checked. */
export const ANONYMOUS: Principal = Object.freeze({
  name: 'anonymous',
  role: null,
  via: 'anonymous',
});

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; see {@link ACCESS_LEVELS}. Undeclared: `operator`. */
    access?: Access;
  }
  interface FastifyRequest {
    /**
     * Who is calling, set before any handler runs: the API key or admin login that was checked
     * (on open routes, a valid API key is still recognised), else {@link ANONYMOUS}.
     */
    principal: Principal;
  }
}

/** The OpenAPI security schemes the routes' `security` refers to. */
export const SECURITY_SCHEMES = {
  apiKeyBearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`Authorization: Bearer <key>`) of the role the route needs',
  },
  adminBasicAuth: {
    type: 'http',
    scheme: 'basic',
    description: 'The admin login (ADMIN_USER / ADMIN_PASSWORD): the operator role',
  },
} as const;

type SecurityRequirement = Readonly<Record<string, readonly string[]>>;

const SECURED: readonly SecurityRequirement[] = [{ apiKeyBearer: [] }, { adminBasicAuth: [] }];
// `{}`: callers without credentials are accepted too.
const OPTIONAL_KEY: readonly SecurityRequirement[] = [{}, { apiKeyBearer: [] }];

const ACCESS_NOTES: Readonly<Record<Access, string | null>> = {
  public: null,
  legacy:
    'Access: open by default (the 2018 players send no credentials); LEGACY_ALLOW restricts it to listed networks (403 ADDRESS_NOT_ALLOWED), LEGACY_REQUIRE_KEY to the player role.',
  player:
    'Access: the player role (or operator) once API keys are configured; open while none are.',
  catalog:
    'Access: the catalog role (or operator) once API keys are configured; open while none are.',
  viewer:
    'Access: the viewer role (or operator) once API keys are configured; open while none are.',
  operator: 'Access: the operator role: an operator API key, or the admin login (HTTP basic).',
};

/** Options of {@link accessPlugin}. */
export interface AccessOptions {
  /** Routes under these paths that declare no access are `public` (e.g. the OpenAPI UI). */
  publicPaths?: readonly string[];
}

/** May `role` call a route that needs `needed`? An operator may do everything. */
export function roleMay(role: Role, needed: Role): boolean {
  return role === 'operator' || role === needed;
}

type Credentials =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; user: string; password: string };

const NONE: Credentials = { kind: 'none' };

/** The credentials of an `Authorization` header; anything malformed counts as none. */
function credentialsOf(header: string | undefined): Credentials {
  if (header === undefined) return NONE;
  const match = /^(\S+) +(\S+) *$/.exec(header);
  if (!match?.[1] || !match[2]) return NONE;
  const scheme = match[1].toLowerCase();
  if (scheme === 'bearer') return { kind: 'bearer', token: match[2] };
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+=*$/.test(match[2])) return NONE;
  const decoded = Buffer.from(match[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return NONE;
  return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Whose failed logins a request counts as: its client address, an IPv6 one as its /64 (one host
 * usually owns the whole /64), an IPv4-mapped one as the IPv4 address; as the rate limits count.
 */
function loginAddress(request: FastifyRequest): string {
  return normalizeIP(request.ip);
}

function keyPrincipal(key: ApiKey): Principal {
  return { name: key.name, role: key.role, via: 'key' };
}

/** What the guard decided: go on, or answer with `error` (and the headers it needs). */
type Verdict =
  | { allow: true }
  | { allow: false; error: AppError; challenge?: boolean; retryAfterSeconds?: number };

const ALLOW: Verdict = { allow: true };

/** Decides, per request, whether the caller may call the route (see {@link ACCESS_LEVELS}). */
class AccessGuard {
  readonly keys: ApiKeyRing;
  readonly #admin: AdminCredentials | null;
  readonly #legacyAllowed: ((address: string) => boolean) | null;
  readonly #legacyRequireKey: boolean;
  readonly #throttle: LoginThrottle;
  readonly #countFailure: (reason: AuthFailureReason) => void;

  constructor(app: FastifyInstance) {
    const { config, redis } = app.gateway;
    this.keys = new ApiKeyRing(config.access.apiKeys);
    this.#admin = config.admin;
    const allow = config.access.legacyAllow;
    this.#legacyAllowed = allow === null ? null : networkMatcher(allow);
    this.#legacyRequireKey = config.access.legacyRequireKey;
    this.#throttle = new LoginThrottle(redis, config.queuePrefix);
    this.#countFailure = (reason) => app.metrics.authFailures.inc({ reason });
  }

  /** `WWW-Authenticate` challenges: every scheme a protected route accepts. */
  get challenges(): string[] {
    const challenges: string[] = [];
    if (this.#admin !== null) challenges.push('Basic realm="relocation admin"');
    if (this.keys.size > 0) challenges.push('Bearer realm="relocation"');
    return challenges;
  }

  /** The role a route needs from this caller, or `null` when it is open to anyone. */
  #needed(access: Exclude<Access, 'public'>): Role | null {
    switch (access) {
      case 'legacy':
        return this.#legacyRequireKey ? 'player' : null;
      case 'operator':
        return 'operator';
      case 'player':
      case 'catalog':
      case 'viewer':
        return this.keys.size > 0 ? access : null;
    }
  }

  check(request: FastifyRequest, access: Access): Verdict | Promise<Verdict> {
    if (access === 'public') return ALLOW;
    if (access === 'legacy' && this.#legacyAllowed !== null && !this.#legacyAllowed(request.ip)) {
      return {
        allow: false,
        error: new AppError(
          'ADDRESS_NOT_ALLOWED',
          `the legacy endpoints answer only the networks in LEGACY_ALLOW; ${request.ip} is not in them`,
        ),
      };
    }
    const needed = this.#needed(access);
    const credentials = credentialsOf(request.headers.authorization);
    if (needed === null) {
      // Open route: credentials are never refused here, but a valid key still names the caller.
      if (credentials.kind === 'bearer' && this.keys.size > 0) {
        const key = this.keys.find(credentials.token);
        if (key !== null) request.principal = keyPrincipal(key);
      }
      return ALLOW;
    }
    if (needed === 'operator' && this.keys.size === 0 && this.#admin === null) {
      // No built-in default password: without configured credentials nothing is accepted.
      return {
        allow: false,
        error: new AppError(
          'ADMIN_DISABLED',
          'admin routes are disabled: set ADMIN_USER and ADMIN_PASSWORD (or API keys with the operator role) to enable them',
        ),
      };
    }
    switch (credentials.kind) {
      case 'none':
        return this.#unauthorized(this.#missingMessage(needed));
      case 'bearer': {
        const key = this.keys.find(credentials.token);
        if (key === null) return this.#failed(request, 'unknown_key');
        request.principal = keyPrincipal(key);
        if (roleMay(key.role, needed)) return ALLOW;
        return {
          allow: false,
          error: new AppError(
            'FORBIDDEN',
            `this needs the ${needed} role${needed === 'operator' ? '' : ' (or operator)'}; API key "${key.name}" has the ${key.role} role`,
          ),
        };
      }
      case 'basic':
        return this.#basic(request, credentials);
    }
  }

  #missingMessage(needed: Role): string {
    if (needed === 'operator' && this.keys.size === 0) {
      return 'admin credentials required (HTTP basic auth)';
    }
    const basic = this.#admin === null ? '' : ' or the admin login (HTTP basic)';
    return `credentials required: this needs the ${needed} role; send "Authorization: Bearer <API key>"${basic}`;
  }

  #unauthorized(message: string): Verdict {
    return { allow: false, error: new AppError('UNAUTHORIZED', message), challenge: true };
  }

  #throttled(failures: LoginFailures): Verdict {
    const seconds = Math.max(1, Math.ceil(failures.resetInMs / 1000));
    return {
      allow: false,
      error: new AppError(
        'TOO_MANY_FAILED_LOGINS',
        `too many failed logins from this address: try again in ${seconds} s`,
      ),
      retryAfterSeconds: seconds,
    };
  }

  /**
   * The admin login. A password can be guessed, so a throttled address is refused before the
   * password is even compared: a right guess then looks like a wrong one.
   */
  async #basic(
    request: FastifyRequest,
    credentials: { user: string; password: string },
  ): Promise<Verdict> {
    const address = loginAddress(request);
    const before = await this.#throttle.failures(address).catch((error: unknown) => {
      // An outage must not lock the operators out; the count resumes once Redis is back.
      request.log.warn({ err: error }, 'cannot read the failed-login count; not throttling');
      return null;
    });
    if (before?.throttled) {
      this.#countFailure('throttled');
      request.log.warn(
        { reason: 'throttled', address, failures: before.count },
        'login refused: too many failed logins from this address',
      );
      return this.#throttled(before);
    }
    const admin = this.#admin;
    // Both comparisons always run, so the time taken does not tell which one failed.
    const userOk = sameSecret(credentials.user, admin?.user ?? '');
    const passwordOk = sameSecret(credentials.password, admin?.password ?? '');
    if (admin === null || !(userOk && passwordOk)) return this.#failed(request, 'wrong_password');
    request.principal = { name: admin.user, role: 'operator', via: 'basic' };
    return ALLOW;
  }

  /**
   * A failed login: counted per address in Redis; the attempt after the limit is answered 429.
   * An API key that matches is never refused for its address's failures (a 256-bit key cannot be
   * guessed, and refusing it would let anyone behind the same NAT lock the players out).
   */
  async #failed(request: FastifyRequest, reason: AuthFailureReason): Promise<Verdict> {
    this.#countFailure(reason);
    const address = loginAddress(request);
    const failures = await this.#throttle.recordFailure(address).catch((error: unknown) => {
      request.log.warn({ err: error }, 'cannot count the failed login');
      return null;
    });
    request.log.warn(
      { reason, address, failures: failures?.count ?? null },
      reason === 'unknown_key'
        ? 'login failed: unknown API key'
        : 'login failed: wrong admin login',
    );
    // The failures before this one reached the limit: this attempt is one too many.
    if (failures !== null && failures.count > this.#throttle.limit)
      return this.#throttled(failures);
    return this.#unauthorized(
      reason === 'unknown_key' ? 'unknown API key' : 'invalid admin credentials',
    );
  }
}

function accessOfRoute(route: RouteOptions, publicPaths: readonly string[]): Access {
  const declared = route.config?.access;
  if (declared !== undefined) return declared;
  const underPublic = publicPaths.some((p) => route.url === p || route.url.startsWith(`${p}/`));
  return underPublic ? 'public' : 'operator';
}

/** Writes a route's access into its OpenAPI entry: security schemes, auth answers, a note. */
function document(route: RouteOptions, access: Access): void {
  const schema = route.schema;
  // A HEAD route shares its GET route's schema (and is not documented).
  if (schema === undefined || schema.hide === true || route.method === 'HEAD') return;
  const note = ACCESS_NOTES[access];
  if (note === null || schema.description?.endsWith(note) === true) return;
  schema.description = schema.description ? `${schema.description}\n\n${note}` : note;
  schema.security = access === 'legacy' ? OPTIONAL_KEY : SECURED;
  if (typeof schema.response === 'object' && schema.response !== null) {
    schema.response = {
      401: errorResponse,
      403: errorResponse,
      429: errorResponse,
      ...(schema.response as Record<string, unknown>),
    };
  }
}

function answer(
  request: FastifyRequest,
  reply: FastifyReply,
  verdict: Verdict,
  guard: AccessGuard,
) {
  if (verdict.allow) return;
  if (verdict.challenge === true) {
    const challenges = guard.challenges;
    reply.header('www-authenticate', challenges.length === 1 ? challenges[0] : challenges);
  }
  if (verdict.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(verdict.retryAfterSeconds));
  }
  sendError(request, reply, verdict.error);
}

function access(app: FastifyInstance, options: AccessOptions, done: () => void): void {
  const guard = new AccessGuard(app);
  const publicPaths = options.publicPaths ?? [];
  const { config } = app.gateway;

  app.decorateRequest('principal', null as unknown as Principal);

  // Runs before any route of the app is added (this plugin is registered first), so every route,
  // Bull Board's included, carries its access level from the start.
  app.addHook('onRoute', (route) => {
    const level = accessOfRoute(route, publicPaths);
    route.config = { ...route.config, access: level };
    document(route, level);
  });

  // One hook for every route; callback style, so open routes cost no promise per request.
  app.addHook('onRequest', (request, reply, next) => {
    request.principal = ANONYMOUS;
    // An unknown URL is answered 404 by the not-found handler whoever asks.
    const level = request.is404 ? 'public' : (request.routeOptions.config.access ?? 'operator');
    const verdict = guard.check(request, level);
    if (verdict instanceof Promise) {
      verdict.then(
        (decided) => {
          if (decided.allow) next();
          else answer(request, reply, decided, guard);
        },
        (error: unknown) => next(error as Error),
      );
    } else if (verdict.allow) {
      next();
    } else {
      answer(request, reply, verdict, guard);
    }
  });

  app.addHook('onReady', (ready) => {
    const keys = config.access.apiKeys;
    if (keys.length === 0) {
      app.log.warn(
        { admin: config.admin !== null },
        'the API is open: no API keys are configured (API_KEYS, API_KEYS_FILE), so view posts, registrations, status reads and /metrics need no credentials; admin routes need ADMIN_USER / ADMIN_PASSWORD',
      );
    } else {
      const roles = Object.fromEntries(
        ROLES.map((role) => [role, keys.filter((k) => k.role === role).length]),
      );
      app.log.info(
        {
          roles,
          legacyAllow: config.access.legacyAllow?.map((b) => `${b.address}/${b.prefix}`) ?? null,
          legacyRequireKey: config.access.legacyRequireKey,
        },
        `API keys configured: ${keys.length}`,
      );
    }
    ready();
  });
  done();
}

/**
 * Who may do what: reads each route's `config.access` (see {@link ACCESS_LEVELS}) in one
 * `onRequest` hook, checks the caller's API key (`Authorization: Bearer`, hashed and compared in
 * constant time) or admin login (HTTP basic), sets `request.principal`, and answers 401
 * `UNAUTHORIZED` (with `WWW-Authenticate`), 403 `FORBIDDEN` / `ADDRESS_NOT_ALLOWED`, 503
 * `ADMIN_DISABLED` or 429 `TOO_MANY_FAILED_LOGINS` (after 10 failed logins from an address in a
 * minute, counted in Redis across gateways and in `gateway_auth_failures_total`). Register it
 * before any route.
 */
export const accessPlugin = fp(access, {
  name: 'gateway-access',
  dependencies: ['gateway-infrastructure'],
});
