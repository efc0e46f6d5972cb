import {
  ContentAdminError,
  pinContent,
  unpinContent,
  type ContentAdminDeps,
} from '@relocation/queue';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { contentAdminError } from '../errors.ts';
import {
  cidParams,
  errorResponse,
  pinBody,
  pinResponse,
  unpinQuery,
  unpinResponse,
} from '../schemas.ts';
import { actorOf } from '../services/actor.ts';
import { fromQueue } from '../services/backends.ts';
import { pinBodyOf } from '../services/pin-body.ts';

/**
 * `PUT /v1/contents/:cid/pin` (keep a content on a level whatever its counts say) and
 * `DELETE /v1/contents/:cid/pin` (release it), for operators; `npm run content -- pin|unpin`
 * runs the same functions. An expired pin is released by the relocators (`PIN_EXPIRY_EVERY`).
 */
export const pinsRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const { db, queue, cache, journal, tiering } = app.gateway;
  const deps: ContentAdminDeps = { db, queue, cache, journal, tiering };
  const run = <T>(command: () => Promise<T>): Promise<T> =>
    fromQueue(app.gateway.redis, async () => {
      try {
        return await command();
      } catch (error) {
        if (error instanceof ContentAdminError) throw contentAdminError(error);
        throw error;
      }
    });

  app.put(
    '/v1/contents/:cid/pin',
    {
      config: { access: 'operator' },
      schema: {
        summary: 'Pin a content to a level',
        description:
          'Keeps the content on `level` whatever its counts say, until `until` (then the relocators release it) or `DELETE /v1/contents/:cid/pin`. When it is not on the level, its relocation is queued and it moves there once (`jobId`). Replaces a pin the content had. One MySQL transaction writes the pin and its audit entry (`content.pin`, with the reason and the operator). 400 UNKNOWN_LEVEL for a level not in the table, 400 INVALID_PIN for an `until` that is not in the future, 404 CONTENT_NOT_FOUND for an unknown cid.',
        tags: ['admin'],
        params: cidParams,
        body: pinBody,
        response: {
          200: pinResponse,
          400: errorResponse,
          404: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const { cid } = request.params;
      const { level, until, reason } = request.body;
      const result = await run(() =>
        pinContent(
          deps,
          cid,
          { level, until: until == null ? null : new Date(until), reason },
          { actor: actorOf(request) },
        ),
      );
      request.log.info(
        { cid, level, until: until ?? null, jobId: result.jobId },
        'content pinned by an operator',
      );
      return {
        cid,
        pin: pinBodyOf(result.pin),
        previous: result.previous === null ? null : pinBodyOf(result.previous),
        level: result.level,
        jobId: result.jobId,
      };
    },
  );

  app.delete(
    '/v1/contents/:cid/pin',
    {
      config: { access: 'operator' },
      schema: {
        summary: "Release a content's pin",
        description:
          "Releases the pin (audit entry `content.unpin`, with `reason` if given); when the content's latest count calls for another tier, its relocation is queued so that the count decides again. `released: false` when it was not pinned (nothing written). 404 CONTENT_NOT_FOUND for an unknown cid.",
        tags: ['admin'],
        params: cidParams,
        querystring: unpinQuery,
        response: {
          200: unpinResponse,
          400: errorResponse,
          404: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const { cid } = request.params;
      const result = await run(() =>
        unpinContent(deps, cid, {
          actor: actorOf(request),
          detail: request.query.reason ?? null,
        }),
      );
      if (result.kind === 'not-pinned') {
        return { cid, released: false, pin: null, level: null, target: null, jobId: null };
      }
      request.log.info({ cid, target: result.target, jobId: result.jobId }, 'content unpinned');
      return {
        cid,
        released: true,
        pin: pinBodyOf(result.pin),
        level: result.level,
        target: result.target,
        jobId: result.jobId,
      };
    },
  );
  done();
};
