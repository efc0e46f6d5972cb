import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { sql } from 'kysely';
import { AppError } from '../errors.ts';
import { errorResponse, healthResponse, readyResponse } from '../schemas.ts';
import { withTimeout } from '../services/backends.ts';

/** How long `/readyz` waits for each dependency, in milliseconds. */
export const READY_TIMEOUT_MS = 2000;

async function check(probe: () => Promise<unknown>): Promise<string | null> {
  try {
    await withTimeout(
      probe(),
      READY_TIMEOUT_MS,
      () => new Error(`no answer within ${READY_TIMEOUT_MS} ms`),
    );
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** `GET /healthz` (the process is alive) and `GET /readyz` (Redis and MySQL answer). */
export const healthRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/healthz',
    {
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
      schema: {
        summary: 'Readiness: Redis PING and MySQL `select 1`',
        description: '503 NOT_READY names the dependency that is down.',
        tags: ['operations'],
        response: { 200: readyResponse, 503: errorResponse },
      },
    },
    async () => {
      const { redis, db } = app.gateway;
      const [redisProblem, databaseProblem] = await Promise.all([
        check(() => redis.ping()),
        check(() => sql`select 1`.execute(db)),
      ]);
      if (redisProblem !== null || databaseProblem !== null) {
        const down = [
          redisProblem === null ? null : `redis is down (${redisProblem})`,
          databaseProblem === null ? null : `mysql is down (${databaseProblem})`,
        ].filter((line) => line !== null);
        throw new AppError('NOT_READY', `not ready: ${down.join('; ')}`);
      }
      return {
        status: 'ready' as const,
        checks: { redis: 'ok' as const, database: 'ok' as const },
      };
    },
  );
  done();
};
