import { countContentPins } from '@relocation/db';
import { readRedisCondition } from '@relocation/queue';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { probeMysql, probeRedis } from '../services/backends.ts';

/** Outcomes counted by `gateway_posts_total` (`limited`: refused by the rate limit, 429). */
export const POST_OUTCOMES = [
  'update',
  'done',
  'not_found',
  'invalid',
  'limited',
  'error',
] as const;

/** One outcome of a view post. */
export type PostOutcome = (typeof POST_OUTCOMES)[number];

/** BullMQ job states reported by `gateway_relocation_jobs`. */
export const JOB_STATES = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'completed',
  'failed',
  'waiting-children',
] as const;

/**
 * Reasons counted by `gateway_auth_failures_total`: an API key no entry matches, a wrong admin
 * password (or a basic login while none is configured), and a login refused unchecked because its
 * address made too many failed logins.
 */
export const AUTH_FAILURE_REASONS = ['unknown_key', 'wrong_password', 'throttled'] as const;

/** One reason of {@link AUTH_FAILURE_REASONS}. */
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/**
 * Rules counted by `gateway_policy_holds_total`: the gateway decides without a content's
 * history, so of the placement policy's holds it sees only the hysteresis band (the relocator
 * counts residence and flap-budget holds in `relocator_policy_holds_total`).
 */
export const GATEWAY_HOLD_RULES = ['hysteresis'] as const;

/** One rule of {@link GATEWAY_HOLD_RULES}. */
export type GatewayHoldRule = (typeof GATEWAY_HOLD_RULES)[number];

/** Conditions reported by `gateway_redis_condition` (Redis answers but refuses writes). */
export const REDIS_CONDITIONS = ['full', 'readonly'] as const;

// States of jobs that wait to run: the queue depth.
const DEPTH_STATES = ['waiting', 'prioritized', 'delayed'] as const;

/** The gateway's Prometheus metrics, in a registry of this app instance (not the global one). */
export interface GatewayMetrics {
  registry: Registry;
  /** View posts (legacy and v1, one per batch item) by outcome. */
  posts: Counter<'outcome'>;
  /** Error responses by stable code. */
  errors: Counter<'code'>;
  /** Failed logins (API keys and the admin login) by reason. */
  authFailures: Counter<'reason'>;
  /** View reports whose move the placement policy held, by rule (one per batch item). */
  policyHolds: Counter<'rule'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus metrics of this app instance. */
    metrics: GatewayMetrics;
  }
}

// Job counts are read once per scrape for both gauges.
const COUNTS_TTL_MS = 500;

function metrics(app: FastifyInstance, _options: unknown, done: () => void): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });

  let counts: { at: number; promise: Promise<Record<string, number> | null> } | null = null;
  const jobCounts = (): Promise<Record<string, number> | null> => {
    const now = Date.now();
    if (counts === null || now - counts.at > COUNTS_TTL_MS) {
      const { redis, queue } = app.gateway;
      const promise =
        redis.status === 'ready'
          ? queue.getJobCounts(...JOB_STATES).catch((error: unknown) => {
              app.log.warn({ err: error }, 'reading job counts for /metrics failed');
              return null;
            })
          : Promise.resolve(null);
      counts = { at: now, promise };
    }
    return counts.promise;
  };

  const posts = new Counter({
    name: 'gateway_posts_total',
    help: 'View posts (legacy and v1; one per batch item) by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of POST_OUTCOMES) posts.inc({ outcome }, 0);

  const errors = new Counter({
    name: 'gateway_errors_total',
    help: 'Error responses by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });

  const authFailures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Failed logins by reason: unknown_key, wrong_password, throttled (refused unchecked after too many failures from the address)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of AUTH_FAILURE_REASONS) authFailures.inc({ reason }, 0);

  const policyHolds = new Counter({
    name: 'gateway_policy_holds_total',
    help: 'View reports whose count is past its level boundary but inside the hysteresis band (TIERING_HYSTERESIS), or whose view rate is between the two thresholds of its level (TIERING_POLICY=rate), so no move was queued, by rule',
    labelNames: ['rule'] as const,
    registers: [registry],
  });
  for (const rule of GATEWAY_HOLD_RULES) policyHolds.inc({ rule }, 0);

  new Gauge({
    name: 'gateway_relocation_jobs',
    help: 'Relocation jobs by BullMQ state (read from Redis on each scrape)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const current = await jobCounts();
      this.reset();
      if (current === null) return;
      for (const state of JOB_STATES) this.set({ state }, current[state] ?? 0);
    },
  });

  new Gauge({
    name: 'gateway_relocation_queue_depth',
    help: 'Relocation jobs waiting to run (waiting, prioritized, delayed)',
    registers: [registry],
    async collect() {
      const current = await jobCounts();
      this.reset();
      if (current === null) return;
      this.set(DEPTH_STATES.reduce((sum, state) => sum + (current[state] ?? 0), 0));
    },
  });

  new Gauge({
    name: 'gateway_relocations_paused',
    help: 'Relocations paused by an operator (1) or running (0), for every relocator (read from BullMQ on each scrape)',
    registers: [registry],
    async collect() {
      const { queue, redis } = app.gateway;
      this.reset();
      if (redis.status !== 'ready') return;
      const paused = await queue.isPaused().catch(() => null);
      if (paused !== null) this.set(paused ? 1 : 0);
    },
  });

  new Gauge({
    name: 'gateway_pinned_contents',
    help: 'Contents an operator pinned to a level (COUNT of content_pin in MySQL on each scrape; no sample while MySQL does not answer)',
    registers: [registry],
    async collect() {
      const pinned = await countContentPins(app.gateway.db).catch((error: unknown) => {
        app.log.warn({ err: error }, 'counting pinned contents for /metrics failed');
        return null;
      });
      this.reset();
      if (pinned !== null) this.set(pinned);
    },
  });

  new Gauge({
    name: 'gateway_redis_condition',
    help: 'Redis refuses writes: 1 for the condition it is in (full: maxmemory reached under noeviction; readonly: a replica), else 0 (read with INFO on each scrape; no samples while Redis is down)',
    labelNames: ['condition'] as const,
    registers: [registry],
    async collect() {
      const { redis } = app.gateway;
      const current =
        redis.status === 'ready'
          ? await readRedisCondition(redis).catch((error: unknown) => {
              app.log.warn({ err: error }, 'reading the Redis condition for /metrics failed');
              return null;
            })
          : null;
      this.reset();
      if (current === null) return;
      for (const condition of REDIS_CONDITIONS) {
        this.set({ condition }, current.kind === condition ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: 'gateway_backend_up',
    help: 'Whether the gateway reaches each backend: 1 when it answered within 2 s at this scrape (Redis INFO, MySQL select 1, as GET /readyz probes them), else 0',
    labelNames: ['backend'] as const,
    registers: [registry],
    async collect() {
      const { redis, db } = app.gateway;
      const [redisState, mysqlState] = await Promise.all([probeRedis(redis), probeMysql(db)]);
      this.set({ backend: 'redis' }, 'answer' in redisState ? 1 : 0);
      this.set({ backend: 'mysql' }, 'answer' in mysqlState ? 1 : 0);
    },
  });

  const duration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP request duration in seconds by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  app.decorate('metrics', { registry, posts, errors, authFailures, policyHolds });

  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL, keeps the label set small.
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.withTypeProvider<ZodTypeProvider>().get(
    '/metrics',
    {
      // Counts and tiers of every content: readers only, once API keys are configured.
      config: { access: 'viewer' },
      schema: {
        summary: 'Prometheus metrics',
        tags: ['operations'],
        response: { 200: z.string().meta({ description: 'Prometheus text exposition format' }) },
      },
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
  done();
}

/**
 * Prometheus metrics at `GET /metrics`, in a registry of this app instance: posts by outcome,
 * posts held by the hysteresis band, relocation jobs by state and the queue depth (read from BullMQ on scrape), whether Redis is
 * full or read-only (read with INFO on scrape), errors by code,
 * HTTP request durations, and Node's default process metrics, all prefixed `gateway_`.
 */
export const metricsPlugin = fp(metrics, {
  name: 'gateway-metrics',
  dependencies: ['gateway-infrastructure'],
});
