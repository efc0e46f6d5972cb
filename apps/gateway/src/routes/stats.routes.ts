import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { errorResponse, statsResponse } from '../schemas.ts';
import { readOverviewStats, type OverviewStats } from '../services/stats.ts';

/** Where a content's status is read (the links of the failed and stuck lists). */
export function contentStatusPath(cid: number): string {
  return `/v1/contents/${cid}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The JSON of {@link OverviewStats}: times as ISO strings, each listed content with its link. */
export function statsBody(stats: OverviewStats) {
  return {
    at: iso(stats.at),
    version: stats.version,
    tiers: stats.tiers,
    moves: {
      since: iso(stats.moves.since),
      minutes: stats.moves.minutes.map((m) => ({ ...m, at: iso(m.at) })),
      totals: stats.moves.totals,
    },
    queue: stats.queue,
    failed: {
      total: stats.failed.total,
      items: stats.failed.items.map((f) => ({
        ...f,
        failedAt: f.failedAt === null ? null : iso(f.failedAt),
        status: contentStatusPath(f.cid),
      })),
    },
    stuck: {
      total: stats.stuck.total,
      items: stats.stuck.items.map(({ since, ...s }) => ({
        ...s,
        stuckSince: iso(since),
        status: contentStatusPath(s.cid),
      })),
    },
    policy: stats.policy,
  };
}

/**
 * `GET /v1/stats` (viewer role, as `GET /v1/plan`): the overview in one answer, read from the
 * counters the service keeps (never a scan of the tier directories); `GET /admin` draws it.
 */
export const statsRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/v1/stats',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Overview: tiers, moves, queue, failed and stuck contents',
        description:
          "One answer from the counters the service keeps, never a walk of the tier directories: contents and bytes per tier (MySQL's `tier_usage` counters), moves per minute and direction over the last hour (`update_history` by its time index; promote = to a level of higher minCount), the relocation jobs by state and whether relocations are paused (BullMQ), the newest failed contents and the stuck contents the relocators' cache sweep published (each with the link to its status), and the placement policy in force. `GET /admin` shows the same as a page.",
        tags: ['admin'],
        response: { 200: statsResponse, 503: errorResponse },
      },
    },
    async () => statsBody(await readOverviewStats(app.gateway)),
  );
  done();
};
