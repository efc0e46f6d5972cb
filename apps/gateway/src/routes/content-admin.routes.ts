import {
  ContentAdminError,
  clearPendingMove,
  requeueContent,
  setContentLevel,
  type ContentAdminDeps,
} from '@relocation/queue';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { contentAdminError } from '../errors.ts';
import { adminAuthPlugin } from '../plugins/admin-auth.ts';
import {
  cidParams,
  clearPendingResponse,
  errorResponse,
  requeueResponse,
  setLevelBody,
  setLevelResponse,
} from '../schemas.ts';
import { actorOf } from '../services/actor.ts';
import { fromQueue } from '../services/backends.ts';

/**
 * Runs an admin command of `@relocation/queue` (MySQL, Redis, the queue and the tier
 * directories): its refusals become their HTTP codes; a Redis that is not connected answers 503
 * at once, and other backend failures are mapped by the error handler.
 */
async function run<T>(app: FastifyInstance, command: () => Promise<T>): Promise<T> {
  return fromQueue(app.gateway.redis, async () => {
    try {
      return await command();
    } catch (error) {
      if (error instanceof ContentAdminError) throw contentAdminError(error);
      throw error;
    }
  });
}

const security = [{ adminBasicAuth: [] }];

/**
 * The operator's commands on one content, so that no repair needs SQL (admin credentials
 * required; an encapsulated plugin, so the auth hook guards these routes alone):
 * `PUT /v1/contents/:cid/level` (record a manual file move), `POST /v1/contents/:cid/requeue`
 * (queue its relocation again) and `DELETE /v1/contents/:cid/pending-move` (clear a stuck
 * pending move after checking the files). `npm run content` runs the same functions.
 */
export const contentAdminRoutes: FastifyPluginAsyncZod = async (app) => {
  await app.register(adminAuthPlugin, { admin: app.gateway.config.admin });
  const { db, queue, cache, journal, tiering } = app.gateway;
  const deps: ContentAdminDeps = { db, queue, cache, journal, tiering };

  app.put(
    '/v1/contents/:cid/level',
    {
      schema: {
        summary: "Set a content's level after a manual file move (admin)",
        description:
          "Records that the content's file is on `level`, after an operator moved it by hand (instead of `UPDATE contents`). Checked first: the level exists (400 UNKNOWN_LEVEL); no relocation job of the content is active (409 RELOCATION_ACTIVE) and no move is pending (409 MOVE_PENDING); the level's directory is its tier (409 TIER_UNAVAILABLE); the file is a regular file in it (409 FILE_NOT_ON_TIER, naming what each tier holds). Then one MySQL transaction changes the level and writes an `update_history` row (job id `admin:<user>`), and the gateways' cache is updated. Repeating it changes nothing.",
        tags: ['admin'],
        security,
        params: cidParams,
        body: setLevelBody,
        response: {
          200: setLevelResponse,
          400: errorResponse,
          401: errorResponse,
          404: errorResponse,
          409: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const { cid } = request.params;
      const result = await run(app, () =>
        setContentLevel(deps, cid, request.body.level, { actor: actorOf(request) }),
      );
      request.log.info(
        { cid, level: result.level, previousLevel: result.previousLevel, changed: result.changed },
        'content level set by an operator',
      );
      return result;
    },
  );

  app.post(
    '/v1/contents/:cid/requeue',
    {
      schema: {
        summary: "Queue a content's relocation again (admin)",
        description:
          "Queues the content's relocation from its latest count (posted, else MySQL's), even if its last job failed: 202 with the job when the count calls for another tier or a move is pending (a job already waiting for the content is reused), 200 `on-target` when nothing calls for a move.",
        tags: ['admin'],
        security,
        params: cidParams,
        response: {
          200: requeueResponse,
          202: requeueResponse,
          400: errorResponse,
          401: errorResponse,
          404: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { cid } = request.params;
      const result = await run(app, () => requeueContent(deps, cid, { actor: actorOf(request) }));
      if (result.kind === 'on-target') {
        return reply.code(200).send({
          cid,
          status: 'on-target' as const,
          level: result.level,
          target: result.level,
          count: result.count,
          jobId: null,
          reason: null,
        });
      }
      request.log.info(
        { cid, jobId: result.jobId, target: result.target },
        'relocation requeued by an operator',
      );
      return reply.code(202).send({
        cid,
        status: 'queued' as const,
        level: result.from,
        target: result.target,
        count: result.count,
        jobId: result.jobId,
        reason: result.reason,
      });
    },
  );

  app.delete(
    '/v1/contents/:cid/pending-move',
    {
      schema: {
        summary: "Clear a content's stuck pending move after checking the files (admin)",
        description:
          "Clears the move a relocator recorded for the content, only when the file is a regular file on exactly one of the move's two tiers (the move never happened, or it finished), and says where it is and, when that is not MySQL's level, the set-level command to run next. Refused while a job of the content is active (409 RELOCATION_ACTIVE), when a tier of the move cannot be checked (409 TIER_UNAVAILABLE), and when the file is on both tiers or neither (409 PENDING_MOVE_CONFLICT, with what was found). 404 NO_PENDING_MOVE when none is recorded.",
        tags: ['admin'],
        security,
        params: cidParams,
        response: {
          200: clearPendingResponse,
          400: errorResponse,
          401: errorResponse,
          404: errorResponse,
          409: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const { cid } = request.params;
      const result = await run(app, () => clearPendingMove(deps, cid, { actor: actorOf(request) }));
      request.log.info(
        { cid, move: result.move, level: result.level, mysqlLevel: result.mysqlLevel },
        'pending move cleared by an operator',
      );
      return {
        cid,
        cleared: true as const,
        move: {
          from: result.move.from,
          to: result.move.to,
          filename: result.move.filename,
          jobId: result.move.jobId,
          startedAt: new Date(result.move.startedAt).toISOString(),
        },
        level: result.level,
        path: result.path,
        mysqlLevel: result.mysqlLevel,
        next: result.next,
      };
    },
  );
};
