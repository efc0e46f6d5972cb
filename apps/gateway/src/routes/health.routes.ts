import type { RedisCondition } from '@relocation/queue';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { AppError } from '../errors.ts';
import { errorResponse, healthResponse, readyResponse } from '../schemas.ts';
import { probeMysql, probeRedis, type Probed } from '../services/backends.ts';

/** Why Redis cannot take posts, or `null` when it answers and accepts writes. */
function redisProblem(probed: Probed<RedisCondition>): string | null {
  if ('down' in probed) return `redis is down (${probed.down})`;
  const condition = probed.answer;
  switch (condition.kind) {
    case 'ok':
      return null;
    case 'full':
      return `redis is full (used ${condition.usedMemoryBytes} of maxmemory ${condition.maxmemoryBytes} bytes)`;
    case 'readonly':
      return 'redis is read-only (a replica)';
  }
}

/**
 * `GET /healthz` (the process is alive) and `GET /readyz` (Redis answers and accepts writes, MySQL
 * answers).
 */
export const healthRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/healthz',
    {
      // Load balancers probe without credentials.
      config: { access: 'public' },
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        response: { 200: healthResponse },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Readiness: Redis INFO and MySQL `select 1`',
        description:
          '503 NOT_READY names each problem: `redis is down (…)`, `redis is full (used X of maxmemory Y bytes)` (maxmemory reached under noeviction), `redis is read-only (a replica)`, `mysql is down (…)`.',
        tags: ['operations'],
        response: { 200: readyResponse, 503: errorResponse },
      },
    },
    async () => {
      const { redis, db } = app.gateway;
      // One INFO round trip both proves Redis answers and says whether it takes writes.
      const [redisState, databaseState] = await Promise.all([probeRedis(redis), probeMysql(db)]);
      const problems = [
        redisProblem(redisState),
        'down' in databaseState ? `mysql is down (${databaseState.down})` : null,
      ].filter((line) => line !== null);
      if (problems.length > 0) {
        throw new AppError('NOT_READY', `not ready: ${problems.join('; ')}`);
      }
      return {
        status: 'ready' as const,
        checks: { redis: 'ok' as const, database: 'ok' as const },
      };
    },
  );
  done();
};
