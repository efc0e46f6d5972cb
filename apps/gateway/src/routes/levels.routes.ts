import { listLevels, readLevelUsage } from '@relocation/db';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { refuseRemovingLevelsOfPendingMoves, type TierStatus } from '@relocation/queue';
import {
  assertValidLevels,
  DEFAULT_HIGH_WATERMARK,
  DEFAULT_LOW_WATERMARK,
} from '@relocation/tiering';
import { fromDatabase, fromRedis } from '../errors.ts';
import { adminAuthPlugin } from '../plugins/admin-auth.ts';
import { errorResponse, levelsBody, levelsQuery, levelsResponse } from '../schemas.ts';
import { actorOf } from '../services/actor.ts';
import { prepareTierDirs } from '../services/tier-dirs.ts';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A tier's published state as `GET /v1/levels` shows it (ISO times). */
function tierBody(status: TierStatus) {
  return {
    ok: status.ok,
    code: status.code,
    message: status.message,
    checkedAt: iso(status.checkedAt),
    lastFault: status.lastFault
      ? {
          code: status.lastFault.code,
          message: status.lastFault.message,
          at: iso(status.lastFault.at),
        }
      : null,
  };
}

const PUT_LEVELS_DESCRIPTION = `Atomically replaces the whole table. It must partition the counts: start at 0, no gap, no overlap, only the last level unbounded, unique names and absolute paths in normal form. A level may have a capacity (\`capacityBytes\`, a positive whole number of bytes) with a \`highWatermark\` (whole percent 1-100, default ${DEFAULT_HIGH_WATERMARK}) and a \`lowWatermark\` (whole percent below the high one, default ${DEFAULT_LOW_WATERMARK}, or 10 under a lower high watermark); no watermark without a capacity. A table breaking a rule is refused with 400 INVALID_LEVELS naming each level and rule (e.g. \`invalid-capacity\`). The answer lists the capacity fields only for the levels that have a capacity, with both watermarks filled in. Each level's directory must be its tier: existing and holding the marker of its level and this database; a missing or unmarked directory is refused (409 TIER_UNAVAILABLE) unless \`?create=true\`, which creates it and writes its marker. A level that contents still sit on, or that a pending move goes from or to, cannot be removed (409 LEVEL_IN_USE, naming the levels and the cids of the pending moves). Every gateway uses the new table from its next post.`;

/**
 * `GET /v1/levels` (the tier table; viewer role) and `PUT /v1/levels` (replace it atomically; admin
 * credentials required, registered in an encapsulated child so the auth hook guards it alone).
 */
export const levelsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/levels',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Read the tier table',
        description:
          "The levels (with `capacityBytes`, `highWatermark` and `lowWatermark` for a level that has a capacity), under `tiers` each tier directory as the relocators last checked it (missing, unmarked, or the last storage fault a move met there), and under `usage` each level's files and bytes from MySQL's counters (kept on every write of `contents`; no directory is walked), the bytes moves under way have reserved in it, its capacity and watermarks in bytes, the percent of its capacity in use and whether it is above its high watermark (moves into it wait as `waiting-for-space` and its coldest contents are demoted).",
        tags: ['levels'],
        response: { 200: levelsResponse, 503: errorResponse },
      },
    },
    async () => {
      const levels = await fromDatabase(() => listLevels(app.gateway.db));
      const published = await fromRedis(() => app.gateway.cache.readTierStatus());
      const tiers = Object.fromEntries(
        levels.flatMap((l) => {
          const status = published[l.name];
          return status ? [[l.name, tierBody(status)]] : [];
        }),
      );
      const usage = await fromDatabase(() => readLevelUsage(app.gateway.db, levels));
      return { levels, version: app.gateway.levels.current?.version ?? null, tiers, usage };
    },
  );

  const adminRoutes: FastifyPluginAsyncZod = async (admin) => {
    await admin.register(adminAuthPlugin, { admin: app.gateway.config.admin });
    admin.put(
      '/v1/levels',
      {
        schema: {
          summary: 'Replace the tier table (admin)',
          description: PUT_LEVELS_DESCRIPTION,
          tags: ['levels'],
          security: [{ adminBasicAuth: [] }],
          querystring: levelsQuery,
          body: levelsBody,
          response: {
            200: levelsResponse,
            400: errorResponse,
            401: errorResponse,
            409: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (request) => {
        // Rules first (400), then the directories (409), then MySQL: a refused table changes
        // nothing, on disk or in the database.
        const valid = assertValidLevels(request.body.levels);
        // A level a pending move goes from or to stays: that move could never be finished
        // (LEVEL_IN_USE; the error handler maps the refusal and any backend failure).
        await refuseRemovingLevelsOfPendingMoves(app.gateway, valid);
        const plans = await prepareTierDirs(app.gateway.db, valid, {
          create: request.query.create,
        });
        for (const plan of plans) {
          if (plan.action !== 'ready') {
            request.log.info(
              { level: plan.level, path: plan.path, action: plan.action },
              'tier directory prepared',
            );
          }
        }
        // The audit entry is written in the table's transaction; it also says which tier
        // directories this request created or marked (done above, outside the transaction).
        const prepared = plans
          .filter((p) => p.action !== 'ready')
          .map((p) => `${p.action} ${p.level} at ${p.path}`);
        const snapshot = await app.gateway.levels.replace(request.body.levels, {
          actor: actorOf(request),
          detail: prepared.length > 0 ? `tier directories: ${prepared.join('; ')}` : null,
        });
        request.log.info(
          { levels: snapshot.levels.map((l) => l.name), version: snapshot.version },
          'level table replaced',
        );
        return { levels: [...snapshot.levels], version: snapshot.version };
      },
    );
  };
  await app.register(adminRoutes);
};
