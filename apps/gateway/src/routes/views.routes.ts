import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { withFastPath } from '../plugins/zod-compilers.ts';
import {
  errorResponse,
  viewResult,
  viewResultJson,
  viewsBatchResponse,
  viewsBody,
} from '../schemas.ts';
import type { PostOutcome } from '../plugins/metrics.ts';
import { postBatch, type BatchEntry } from '../services/post-batch.ts';
import { postViews } from '../services/post-views.ts';

function outcomeOf(entry: BatchEntry): PostOutcome {
  if (entry.status !== 'error') return entry.status;
  return entry.error.code === 'CONTENT_NOT_FOUND' ? 'not_found' : 'invalid';
}

/** What the examples of the request body (`viewsBody`) are answered, after the walk-through's post. */
const ANSWER_EXAMPLES = {
  one: {
    summary: 'One report',
    value: {
      cid: 7,
      count: 1964,
      status: 'update',
      level: 'bronze',
      target: 'silver',
      filename: 'g.mp4',
      jobId: '1',
    },
  },
  batch: {
    summary: 'A batch (cid 99 does not exist)',
    value: {
      items: [
        {
          cid: 7,
          count: 1964,
          status: 'update',
          level: 'bronze',
          target: 'silver',
          filename: 'g.mp4',
          jobId: '1',
        },
        {
          cid: 99,
          count: 5,
          status: 'error',
          error: {
            statusCode: 404,
            code: 'CONTENT_NOT_FOUND',
            error: 'Not Found',
            message: 'no content has cid 99',
          },
        },
      ],
    },
  },
};

/**
 * `POST /v1/views`: one `{cid, count}` answered like the legacy call (404 for an unknown cid), or
 * an array `[{cid, count}, …]` (at most VIEWS_BATCH_MAX items) answered with `{items: [...]}`,
 * one entry per item in order, where an unknown cid is reported in its entry instead of failing
 * the batch.
 */
export const viewsRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const max = app.gateway.config.viewsBatchMax;
  app.post(
    '/v1/views',
    {
      config: { countsPosts: true, access: 'player' },
      schema: {
        summary: 'Report view counts',
        description: `Send one \`{"cid": 7, "count": 1964}\` or a batch \`[{"cid": 7, "count": 1964}, …]\` of at most ${max} items. A single report answers its result (404 for an unknown cid); a batch answers \`{"items": [...]}\` with one entry per item, in order, where an item that failed has \`status: "error"\` and an \`error\` object. Counts are total views, so posting again is always safe.`,
        tags: ['views'],
        body: viewsBody(max),
        response: {
          // A single report's answer takes the fast path; a batch's is zod's.
          200: withFastPath(
            z.union([viewResult, viewsBatchResponse]).meta({ 'x-examples': ANSWER_EXAMPLES }),
            { serialize: viewResultJson },
          ),
          400: errorResponse,
          404: errorResponse,
          413: errorResponse,
          415: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const body = request.body;
      const options = { requestId: request.id, onDecided: app.viewReports.decided };
      if (Array.isArray(body)) {
        const items = await postBatch(app.gateway, body, options);
        for (const item of items) app.metrics.posts.inc({ outcome: outcomeOf(item) });
        return { items };
      }
      const outcome = await postViews(app.gateway, body, options);
      app.metrics.posts.inc({ outcome: outcome.status });
      return outcome;
    },
  );
  done();
};
