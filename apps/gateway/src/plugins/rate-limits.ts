import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { rateLimitNamespace, rateLimitSubject, type RateLimitClient } from '@relocation/queue';
import type {
  FastifyContextConfig,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
} from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import type { RateLimits } from '../config.ts';
import { AppError } from '../errors.ts';
import { errorResponse } from '../schemas.ts';
import { sendError } from './error-handler.ts';
import { leasedRedisStore } from './rate-limit-store.ts';

/** The window every limit counts in: the settings are requests per minute. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** Methods that change something; only routes with one of them are limited. */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The counter a limited route counts in, and its limit. */
export interface RateLimitGroup {
  /**
   * `posts` for the view-report routes (one counter per client across them), else
   * `writes:<METHOD>:<url pattern>` (one counter per client and route).
   */
  readonly name: string;
  /** Requests per minute and client. */
  readonly perMinute: number;
}

/** What {@link rateLimitGroupOf} looks at: a route's options, or `request.routeOptions`. */
export interface LimitedRouteOptions {
  readonly method: string | readonly string[];
  readonly url?: string | undefined;
  readonly config?: FastifyContextConfig | undefined;
}

/**
 * The limit a route falls under, or `null` when it is not limited: routes that only read (GET,
 * HEAD, OPTIONS), routes that opt out with `config: { rateLimit: false }` (`POST
 * /update_sentence`, a status read sent as a POST), and every route while its limit is `0`.
 * View-report routes (`config.countsPosts`) share the posts limit; every other write has its own
 * counter under the writes limit, so new admin routes are limited without a list to keep.
 */
export function rateLimitGroupOf(
  route: LimitedRouteOptions,
  limits: RateLimits,
): RateLimitGroup | null {
  if (route.config?.rateLimit === false) return null;
  const methods: readonly string[] =
    typeof route.method === 'string' ? [route.method] : route.method;
  const writes = methods
    .map((method) => method.toUpperCase())
    .filter((method) => WRITE_METHODS.has(method));
  if (writes.length === 0) return null;
  if (route.config?.countsPosts === true) {
    return limits.postsPerMinute === 0 ? null : { name: 'posts', perMinute: limits.postsPerMinute };
  }
  if (limits.writesPerMinute === 0) return null;
  return {
    name: `writes:${writes.join(',')}:${route.url ?? ''}`,
    perMinute: limits.writesPerMinute,
  };
}

/**
 * Who a request counts for: the API key or admin login it authenticated with
 * (`request.principal`, set by the access plugin's hooks), else its client address (`request.ip`,
 * which honours `trustProxy`; an IPv6 address counts for its /64, as one host usually owns it).
 */
export function rateLimitClientOf(request: FastifyRequest): RateLimitClient {
  // Read defensively: the principal decorator belongs to the access plugin. Anonymous callers
  // (no credentials checked) all share one principal, so they count by address.
  const principal = (request as { principal?: { name?: unknown; via?: unknown } | null }).principal;
  const name = principal?.name;
  if (principal?.via !== 'anonymous' && typeof name === 'string' && name !== '') {
    return { key: name };
  }
  return { address: normalizeIP(request.ip) };
}

function whoIs(client: RateLimitClient): string {
  return 'key' in client ? `"${client.key}"` : `address ${client.address}`;
}

async function rateLimits(app: FastifyInstance): Promise<void> {
  const { config, redis } = app.gateway;
  const limits = config.rateLimits;
  const groupOf = (request: FastifyRequest) => rateLimitGroupOf(request.routeOptions, limits);
  const subjectOf = (request: FastifyRequest) =>
    rateLimitSubject(groupOf(request)?.name ?? 'unlimited', rateLimitClientOf(request));
  // (Reserving a share of the limit per round trip: see leasedRedisStore.)
  const store = leasedRedisStore(redis, rateLimitNamespace(config.queuePrefix));

  await app.register(rateLimit, {
    // Nothing is limited unless a route gets the hook below.
    global: false,
    // The gateway's own producer connection: counters are shared by every gateway on the prefix.
    store: store.Store,
    // Fail open: while Redis cannot count (down, full, read-only) requests pass unlimited, so
    // the limiter never turns a post into a 500; the post itself answers 503 if it needs Redis.
    skipOnError: true,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    max: (request) => groupOf(request)?.perMinute ?? 0,
    keyGenerator: subjectOf,
  });
  // Without options: the plugin's own store and settings, counters keyed by namespace + subject.
  const limiter = app.createRateLimit();

  const limited = new Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests refused with 429 RATE_LIMITED, by route pattern',
    labelNames: ['route'] as const,
    registers: [app.metrics.registry],
  });

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    max: number,
    ttlInSeconds: number,
  ): void => {
    const client = rateLimitClientOf(request);
    const retryAfter = Math.max(1, ttlInSeconds);
    limited.inc({ route: request.routeOptions.url ?? 'unmatched' });
    reply.header('retry-after', String(retryAfter));
    reply.header('x-ratelimit-limit', String(max));
    reply.header('x-ratelimit-remaining', '0');
    reply.header('x-ratelimit-reset', String(retryAfter));
    sendError(
      request,
      reply,
      new AppError(
        'RATE_LIMITED',
        `rate limit exceeded: ${whoIs(client)} sent more than ${max} requests in a minute; retry in ${retryAfter} s`,
      ),
    );
  };

  // Callback style: a count this gateway holds reserved lets the request on without a promise.
  const enforce: onRequestHookHandler = (request, reply, done) => {
    const group = groupOf(request);
    const count = group === null ? undefined : store.take(subjectOf(request), group.perMinute);
    if (group !== null && count !== undefined && count <= group.perMinute) {
      done();
      return;
    }
    limiter(request).then(
      (result) => {
        if (result.isAllowed || !result.isExceeded) done();
        else refuse(request, reply, result.max, result.ttlInSeconds);
      },
      (error: unknown) => done(error as Error),
    );
  };

  // Limits attach to routes as they are declared: this plugin is registered before the routes.
  app.addHook('onRoute', (route) => {
    if (rateLimitGroupOf(route, limits) === null) return;
    limited.inc({ route: route.url }, 0);
    // Documented in OpenAPI (and serialized) like the route's other errors.
    const responses = (route.schema as { response?: Record<string, unknown> } | undefined)
      ?.response;
    if (responses !== undefined && !('429' in responses)) responses['429'] = errorResponse;
    const existing = route.onRequest;
    // Route-level hooks run after the context's hooks, so authentication has set the principal.
    route.onRequest = [...(existing === undefined ? [] : [existing].flat()), enforce];
  });
}

/**
 * Abuse limits on the write routes (`@fastify/rate-limit`, counters in the gateway's Redis so
 * they hold across gateways): view reports at RATE_LIMIT_POSTS_PER_MINUTE per client, other
 * writes at RATE_LIMIT_WRITES_PER_MINUTE per client and route (`0` = off). A `POST /v1/views`
 * batch counts as one request. Over the limit the gateway answers 429 `RATE_LIMITED` with
 * `Retry-After` (seconds left in the window) and counts `gateway_rate_limited_total{route}`. While
 * Redis cannot count, requests pass (fail open). Register it before the routes it guards.
 */
export const rateLimitsPlugin = fp(rateLimits, {
  name: 'gateway-rate-limits',
  dependencies: ['gateway-infrastructure', 'gateway-metrics', 'gateway-error-handler'],
});
