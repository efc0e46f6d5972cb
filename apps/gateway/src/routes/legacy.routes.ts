import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponse, legacyPostBody, legacyPostResponse, legacyStatusBody } from '../schemas.ts';
import { readContentState } from '../services/content-state.ts';
import { postViews } from '../services/post-views.ts';

/** What `/update_sentence` answers while a content still has a relocation pending. */
export const CHECK_AGAIN = 'check your status again';

const errors = {
  400: errorResponse,
  404: errorResponse,
  413: errorResponse,
  415: errorResponse,
  503: errorResponse,
};

/**
 * The 2018 endpoints, wire-compatible with old players: form-urlencoded or JSON bodies,
 * `POST /post_sentence` answering the seed's object with string values, and
 * `POST /update_sentence` answering the cid as text once the content is settled.
 */
export const legacyRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.post(
    '/post_sentence',
    {
      config: { countsPosts: true, access: 'legacy' },
      schema: {
        summary: 'Report a view count (legacy)',
        description:
          'Records the latest total views of a content and queues its relocation when the count calls for another tier. Accepts a form (`cid=7&count=1964`) or JSON.',
        tags: ['legacy'],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: legacyPostBody,
        response: { 200: legacyPostResponse, ...errors },
      },
    },
    async (request) => {
      const outcome = await postViews(app.gateway, request.body, {
        requestId: request.id,
        onDecided: app.viewReports.decided,
      });
      app.metrics.posts.inc({ outcome: outcome.status });
      return {
        cid: String(outcome.cid),
        count: String(outcome.count),
        target: outcome.target,
        db_level: outcome.level,
        filename: outcome.filename,
        worker_id: null,
        status: outcome.status,
      };
    },
  );

  app.post(
    '/update_sentence',
    {
      // A status read sent as a POST: old players poll it, so the write limits do not apply.
      config: { rateLimit: false, access: 'legacy' },
      schema: {
        summary: 'Check whether a content has settled (legacy)',
        description: `Answers the cid as text when no relocation is queued, running or failed for the content and MySQL holds the level its latest count calls for; else \`${CHECK_AGAIN}\`.`,
        tags: ['legacy'],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: legacyStatusBody,
        response: {
          200: z.string().meta({
            description: `The cid, or "${CHECK_AGAIN}" (text/plain)`,
            'x-examples': {
              settled: { summary: 'Settled: MySQL holds its level', value: '7' },
              pending: { summary: 'A relocation is pending', value: CHECK_AGAIN },
            },
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const state = await readContentState(app.gateway, request.body.cid);
      return reply
        .type('text/plain; charset=utf-8')
        .send(state.settled ? String(request.body.cid) : CHECK_AGAIN);
    },
  );
  done();
};
