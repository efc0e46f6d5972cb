import { getContent, getContentHistory, insertContent, type Content } from '@relocation/db';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { contentNotFound, fromDatabase, fromRedis } from '../errors.ts';
import {
  cidParams,
  contentResponse,
  contentStateResponse,
  contentsQuery,
  stuckContentsResponse,
  errorResponse,
  historyQuery,
  historyResponse,
  newContentBody,
} from '../schemas.ts';
import { readContentState, readStillStuck } from '../services/content-state.ts';
import { registeredFileSize } from '../services/file-size.ts';
import { pinBodyOf } from '../services/pin-body.ts';

function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** A history row's `decision` JSON as an object (`null` when absent or unreadable). */
function parseDecision(json: string | null): Record<string, unknown> | null {
  if (json === null) return null;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function contentBody(content: Content, viewCount: number) {
  return {
    cid: Number(content.cid),
    level: content.content_level,
    filename: content.filename,
    viewCount,
    generateTime: toIso(content.generate_time),
    updateTime: toIso(content.update_time),
  };
}

/**
 * `POST /v1/contents` (register a content on the default tier), `GET /v1/contents/:cid` (where it
 * is and where its relocation stands) and `GET /v1/contents/:cid/history` (its level changes).
 */
export const contentsRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.post(
    '/v1/contents',
    {
      config: { access: 'catalog' },
      schema: {
        summary: 'Register a content',
        description:
          "Registers a content on the default tier (the level starting at 0 views), as the seed's `insert_contents` did. The file name must be a plain base name. When the gateway sees the file in the default tier's directory (a regular file, never followed through a link), its size is recorded and counted in the tier's usage (`GET /v1/levels`); otherwise the content is registered with an unknown size (counted as 0 bytes until reconcile or the capacity sweep sizes it).",
        tags: ['contents'],
        body: newContentBody,
        response: {
          201: contentResponse,
          400: errorResponse,
          409: errorResponse,
          413: errorResponse,
          415: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const { db, cache, levels } = app.gateway;
      const sizeBytes = await registeredFileSize(
        levels.current?.levels ?? [],
        request.body.filename,
      );
      const content = await fromDatabase(() => insertContent(db, { ...request.body, sizeBytes }));
      try {
        await fromRedis(() =>
          cache.fill(content.cid, { level: content.content_level, filename: content.filename }),
        );
      } catch (error) {
        // The content is registered; the first post for it fills the cache from MySQL instead.
        request.log.warn({ err: error, cid: content.cid }, 'could not cache the new content');
      }
      return reply.code(201).send(contentBody(content, Number(content.view_count)));
    },
  );

  app.get(
    '/v1/contents/:cid',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Read a content and its relocation state',
        description:
          "Level and file name as MySQL holds them, the latest count posted (else MySQL's), the operator's pin (null when none), and the relocation state: `idle`, `queued`, `active` or `failed` (with the target and the last error).",
        tags: ['contents'],
        params: cidParams,
        response: {
          200: contentStateResponse,
          400: errorResponse,
          404: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const state = await readContentState(app.gateway, request.params.cid);
      const { relocation } = state;
      return {
        ...contentBody(state.content, state.viewCount),
        target: state.target,
        pin: state.pin === null ? null : pinBodyOf(state.pin),
        settled: state.settled,
        reason: state.reason,
        viewRate: state.viewRate,
        heldBy:
          state.heldBy === null
            ? null
            : {
                rule: state.heldBy.rule,
                message: state.heldBy.message,
                until: state.heldBy.until === null ? null : toIso(new Date(state.heldBy.until)),
              },
        relocation: {
          state: relocation.state,
          jobId: relocation.jobId,
          target: relocation.state === 'idle' ? null : relocation.target,
          error: relocation.state === 'failed' ? relocation.error : null,
          hold:
            relocation.state === 'waiting' ||
            relocation.state === 'waiting-for-space' ||
            relocation.state === 'held'
              ? {
                  code: relocation.hold.code,
                  message: relocation.hold.message,
                  level: relocation.hold.level,
                  since: toIso(new Date(relocation.hold.since)),
                  retryAt: toIso(new Date(relocation.hold.retryAt)),
                }
              : null,
        },
      };
    },
  );

  app.get(
    '/v1/contents',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'List stuck contents',
        description:
          "Contents whose latest count calls for another tier while nothing is queued, running or delayed for them: nothing will move them unless someone acts (`POST /v1/contents/:cid/requeue`, `npm run content -- requeue <cid>`, or `npm run reconcile -- --fix`). The relocators' cache sweep finds them every CACHE_SYNC_EVERY; each is checked again here.",
        tags: ['contents'],
        querystring: contentsQuery,
        response: { 200: stuckContentsResponse, 400: errorResponse, 503: errorResponse },
      },
    },
    async (request) => {
      const { limit = 100, offset = 0 } = request.query;
      const page = await readStillStuck(app.gateway, offset, limit);
      return {
        total: page.total,
        items: page.items.map(({ cid, since, state }) => ({
          cid,
          filename: state.content.filename,
          level: state.content.content_level,
          target: state.target,
          viewCount: state.viewCount,
          stuckSince: toIso(new Date(since)),
        })),
      };
    },
  );

  app.get(
    '/v1/contents/:cid/history',
    {
      config: { access: 'viewer' },
      schema: {
        summary: "Read a content's level changes",
        description:
          'Its `update_history` rows, newest first, each with what triggered it (`reason`), the inputs of the decision (`decision`: count, boundary crossed, policy in force), the level table version and the request id of the post behind it; page with `limit` and `before`.',
        tags: ['contents'],
        params: cidParams,
        querystring: historyQuery,
        response: {
          200: historyResponse,
          400: errorResponse,
          404: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const { db } = app.gateway;
      const { cid } = request.params;
      const { limit, before } = request.query;
      const content = await fromDatabase(() => getContent(db, cid));
      if (content === undefined) throw contentNotFound(cid);
      const rows = await fromDatabase(() =>
        getContentHistory(db, cid, { limit: limit ?? 100, beforeId: before }),
      );
      return {
        cid,
        items: rows.map((row) => ({
          id: Number(row.id),
          oldLevel: row.old_content_level,
          newLevel: row.new_content_level,
          oldUpdatedAt: toIso(row.old_updated_date),
          newUpdatedAt: toIso(row.new_updated_date),
          viewCount: Number(row.view_count),
          jobId: row.job_id,
          bytes: row.bytes === null ? null : Number(row.bytes),
          durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
          reason: row.reason,
          decision: parseDecision(row.decision),
          levelsVersion: row.levels_version === null ? null : Number(row.levels_version),
          requestId: row.request_id,
        })),
      };
    },
  );
  done();
};
