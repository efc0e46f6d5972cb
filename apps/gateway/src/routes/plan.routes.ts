import {
  MAX_PLAN_LIMIT,
  planRelocations,
  type PlanDirection,
  type RelocationPlan,
} from '@relocation/queue';
import { assertValidLevels, type Level } from '@relocation/tiering';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { fromRedis } from '../errors.ts';
import { errorResponse, levelsBody, placementPolicySchema } from '../schemas.ts';

/** Page size of a plan when the query names none. */
export const DEFAULT_PLAN_LIMIT = 100;

const planQuery = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, { error: `must be a whole number between 1 and ${MAX_PLAN_LIMIT}` })
    .transform(Number)
    .pipe(
      z
        .int()
        .min(1, { error: 'must be at least 1' })
        .max(MAX_PLAN_LIMIT, { error: `must be at most ${MAX_PLAN_LIMIT}` }),
    )
    .optional()
    .meta({ description: `Most contents to list (1-${MAX_PLAN_LIMIT}, default 100)` }),
  after: z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number (a cid)' })
    .transform(Number)
    .pipe(z.int({ error: 'must be a safe integer' }))
    .optional()
    .meta({ description: 'List the contents after this cid (`nextAfter` of the previous page)' }),
  sizes: z.enum(['page', 'all'], { error: 'must be "page" or "all"' }).default('page').meta({
    description:
      '`page` (default): stat the files of the listed contents only; `all`: of every planned content, so the totals carry every byte (one `lstat` per planned content)',
  }),
});

const direction = z.enum(['promote', 'demote', 'unknown-current']);

const planTotals = z
  .object({
    contents: z.int(),
    bytes: z.int().meta({ description: 'Sum of the sized files (see `sized`)' }),
    sized: z.int().meta({
      description:
        'How many of `contents` were sized (the listed page, or all with `?sizes=all`, whose file is a regular file on its tier)',
    }),
    queued: z.int().meta({ description: 'How many already have a job queued or running' }),
  })
  .meta({ id: 'PlanTotals' });

const plannedMove = z
  .object({
    cid: z.int(),
    filename: z.string(),
    from: z.string().meta({ description: 'The level it is on (as the shared cache knows it)' }),
    to: z.string().meta({ description: 'The level its latest count calls for' }),
    direction,
    count: z.int().meta({ description: 'Its latest posted count (total views)' }),
    boundary: z
      .object({
        level: z.string(),
        edge: z.enum(['min', 'max']),
        count: z.int().meta({ description: "The level's minCount or maxCount" }),
      })
      .nullable()
      .meta({
        description:
          'The edge of `from` the count went past (`max`: above it, a promotion; `min`: below it); null when `from` is no level of the table (`unknown-current`), the move is to a pinned level, or with TIERING_POLICY=rate (`rate` decides)',
      }),
    rate: z.number().nullable().meta({
      description:
        'With TIERING_POLICY=rate: its view rate in views per hour as of the plan (decayed since its last post), which decides; else null',
    }),
    pinned: z.boolean().meta({
      description: 'The move goes to the level an operator pinned the content to (not its count)',
    }),
    bytes: z.int().nullable().meta({
      description: "Size of its file on `from`'s tier (lstat); null when it is not a file there",
    }),
    queued: z.boolean().meta({ description: 'A relocation job is already waiting or running' }),
    jobId: z.string().nullable(),
  })
  .meta({ id: 'PlannedMove' });

const planResponse = z
  .object({
    candidate: z.boolean().meta({
      description: 'Decided with a candidate table (POST), not the table in force (GET)',
    }),
    version: z.int().nullable().meta({
      description: 'Version of the level table in force (files are sized on its tiers)',
    }),
    hysteresis: z.int().meta({
      description:
        'TIERING_HYSTERESIS the plan decided with, in views; 0 when none or given as a percent (see `tiering`)',
    }),
    tiering: placementPolicySchema,
    scanned: z.int().meta({ description: 'Cache entries read (contents posted to)' }),
    withoutCount: z.int().meta({ description: 'Cache entries with no posted count (not planned)' }),
    moves: z.int().meta({ description: 'Planned contents, every page' }),
    totals: z.object({ promote: planTotals, demote: planTotals, 'unknown-current': planTotals }),
    items: z.array(plannedMove),
    nextAfter: z.int().nullable().meta({ description: '`after` of the next page; null when last' }),
    durationMs: z.int(),
  })
  .meta({ id: 'RelocationPlan' });

const PLAN_DESCRIPTION =
  'The contents whose latest posted count calls for another tier right now, read from the shared cache in one pass (SCAN with pipelined reads); nothing is written and no file moves. Decided as a post is (TIERING_HYSTERESIS and pins, or with TIERING_POLICY=rate the view rate decayed to now; the minimum residence and the flap budget are left to the relocator; `tiering` reports the policy in force). Contents with no post since the cache was filled are not in it: they have no latest count. `boundary` is the edge of the current level the count went past; `queued` says whether a job already waits. Ordered by cid and paged with `limit` and `after`; `totals` cover every page, per direction. Files are sized (lstat on their tier) for the listed page, or for every planned content with `?sizes=all`: `sized` says how many contents `bytes` covers.';

function planBody(plan: RelocationPlan, candidate: boolean, version: number | null) {
  return {
    candidate,
    version,
    hysteresis: plan.hysteresis,
    tiering: plan.tiering,
    scanned: plan.scanned,
    withoutCount: plan.withoutCount,
    moves: plan.moves,
    totals: plan.totals satisfies Record<PlanDirection, unknown>,
    items: plan.items.map((move) => ({ ...move, queued: move.jobId !== null })),
    nextAfter: plan.nextAfter,
    durationMs: Math.round(plan.durationMs),
  };
}

/**
 * The dry-run plan (viewer role: it reads counts and tiers, as `GET /v1/levels` and `/metrics`
 * do, and changes nothing): `GET /v1/plan` for the table in force, `POST /v1/plan` for a
 * candidate table, checked like `PUT /v1/levels` (400 `INVALID_LEVELS`) but never stored.
 */
export const planRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const plan = async (
    query: z.infer<typeof planQuery>,
    candidate: readonly Level[] | null,
  ): Promise<ReturnType<typeof planBody>> => {
    const current = await app.gateway.levels.latest();
    const result = await fromRedis(() =>
      planRelocations(app.gateway.cache, {
        levels: candidate ?? current.levels,
        locate: current.levels,
        tiering: app.gateway.tiering,
        limit: query.limit ?? DEFAULT_PLAN_LIMIT,
        after: query.after ?? null,
        sizes: query.sizes,
      }),
    );
    return planBody(result, candidate !== null, current.version);
  };

  app.get(
    '/v1/plan',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Dry-run plan: what would move now',
        description: PLAN_DESCRIPTION,
        tags: ['admin'],
        querystring: planQuery,
        response: { 200: planResponse, 400: errorResponse, 503: errorResponse },
      },
    },
    async (request) => plan(request.query, null),
  );

  app.post(
    '/v1/plan',
    {
      // Changes nothing (the table is checked, never stored): whoever may read the plan may try
      // thresholds; replacing the table (`PUT /v1/levels`) stays operator-only.
      config: { access: 'viewer' },
      schema: {
        summary: 'Dry-run plan of a candidate level table',
        description: `What would move if this level table (the body of \`PUT /v1/levels\`) were applied: the same rules are checked (400 INVALID_LEVELS names each level and rule) but nothing is stored; the files are sized where the table in force keeps them. A content on a level the candidate drops is listed as \`unknown-current\`. ${PLAN_DESCRIPTION}`,
        tags: ['admin'],
        querystring: planQuery,
        body: levelsBody,
        response: { 200: planResponse, 400: errorResponse, 503: errorResponse },
      },
    },
    async (request) => plan(request.query, assertValidLevels(request.body.levels)),
  );
  done();
};
