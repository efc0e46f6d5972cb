import { pauseRelocations, relocationsStatus, resumeRelocations } from '@relocation/queue';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { adminAuthPlugin } from '../plugins/admin-auth.ts';
import { errorResponse } from '../schemas.ts';
import { actorOf } from '../services/actor.ts';
import { fromQueue } from '../services/backends.ts';

/** Longest a drain may wait, in seconds. */
export const MAX_DRAIN_WAIT_SECONDS = 3600;

const replica = z.object({
  name: z.string().meta({ description: 'The relocator replica, `<host>:<pid>`' }),
  addr: z.string(),
  ageSeconds: z.int(),
  idleSeconds: z.int(),
});

const relocationsStatusResponse = z
  .object({
    paused: z.boolean().meta({
      description: 'No relocator starts a new move (BullMQ pause; Bull Board shows it too)',
    }),
    active: z.int(),
    waiting: z.int(),
    delayed: z.int(),
    failed: z.int(),
    replicas: z.array(replica),
  })
  .meta({ id: 'RelocationsStatus' });

const pauseResponse = relocationsStatusResponse
  .extend({
    drained: z.boolean().meta({ description: 'No move is active any more' }),
  })
  .meta({ id: 'RelocationsPaused' });

const pauseQuery = z.object({
  wait: z
    .string()
    .regex(/^\d+$/, { error: `must be a whole number of seconds (0-${MAX_DRAIN_WAIT_SECONDS})` })
    .transform(Number)
    .pipe(
      z.int().max(MAX_DRAIN_WAIT_SECONDS, { error: `must be at most ${MAX_DRAIN_WAIT_SECONDS}` }),
    )
    .optional()
    .meta({
      description:
        'Drain: after pausing, wait up to this many seconds until no move is active (for maintenance of a tier disk)',
    }),
});

/**
 * Operator controls of the relocators, all replicas at once (admin credentials): `GET
 * /v1/relocations` (paused or not, job counts, replicas), `POST /v1/relocations/pause` (no new
 * moves start; `?wait=SECONDS` drains: waits until no move is active) and `POST
 * /v1/relocations/resume`. Posts are accepted, counted and queued while paused.
 */
export const relocationsRoutes: FastifyPluginAsyncZod = async (app) => {
  await app.register(adminAuthPlugin, { admin: app.gateway.config.admin });
  const { queue, redis } = app.gateway;

  app.get(
    '/v1/relocations',
    {
      schema: {
        summary: 'Where relocations stand (admin)',
        description:
          'Paused or not, active, waiting, delayed and failed jobs, and the relocator replicas connected to the queue.',
        tags: ['admin'],
        security: [{ adminBasicAuth: [] }],
        response: { 200: relocationsStatusResponse, 401: errorResponse, 503: errorResponse },
      },
    },
    async () => fromQueue(redis, () => relocationsStatus(queue)),
  );

  app.post(
    '/v1/relocations/pause',
    {
      schema: {
        summary: 'Pause relocations on every relocator (admin)',
        description:
          'No relocator starts a new move; active moves finish. Posts are still accepted, counted and queued; on resume the latest counts decide. With `?wait=SECONDS` it answers once no move is active (`drained: true`) or the time is up (`drained: false`): a drain, for maintenance of a tier disk.',
        tags: ['admin'],
        security: [{ adminBasicAuth: [] }],
        querystring: pauseQuery,
        response: {
          200: pauseResponse,
          400: errorResponse,
          401: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const waitMs = (request.query.wait ?? 0) * 1000;
      const audit = { db: app.gateway.db, actor: actorOf(request) };
      const status = await fromQueue(redis, () => pauseRelocations(queue, { waitMs, audit }));
      request.log.info(
        { active: status.active, drained: status.drained, waitMs },
        'relocations paused',
      );
      return status;
    },
  );

  app.post(
    '/v1/relocations/resume',
    {
      schema: {
        summary: 'Resume relocations (admin)',
        description: 'Relocators start moves again; the latest counts decide what moves.',
        tags: ['admin'],
        security: [{ adminBasicAuth: [] }],
        response: { 200: relocationsStatusResponse, 401: errorResponse, 503: errorResponse },
      },
    },
    async (request) => {
      const audit = { db: app.gateway.db, actor: actorOf(request) };
      const status = await fromQueue(redis, () => resumeRelocations(queue, { audit }));
      request.log.info({ waiting: status.waiting }, 'relocations resumed');
      return status;
    },
  );
};
