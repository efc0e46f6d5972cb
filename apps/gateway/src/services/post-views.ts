import { getContent, getContentPin, type Database } from '@relocation/db';
import {
  enqueueRelocation,
  relocationJobDataSchema,
  type ContentCache,
  type RecordCountResult,
  type RelocationQueue,
  type RedisConnection,
} from '@relocation/queue';
import { chooseTier, type ChooseTierOptions } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { AppError, contentNotFound, fromDatabase, fromRedis } from '../errors.ts';
import { fromQueue } from './backends.ts';
import type { LevelsStore } from './levels-store.ts';

/** What {@link postViews} needs. */
export interface PostViewsDeps {
  db: Kysely<Database>;
  redis: RedisConnection;
  queue: RelocationQueue;
  cache: ContentCache;
  levels: LevelsStore;
  /** The placement policy both apps decide with (`TIERING_*`, `tieringOptions` of `@relocation/runtime`). */
  tiering: ChooseTierOptions;
  /** Clock in epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
}

/** One view report: the content and its total views so far. */
export interface ViewReport {
  cid: number;
  count: number;
}

/** What a view report led to. */
export interface ViewOutcome {
  cid: number;
  count: number;
  /** Tier the content is on now (as the shared cache knows it). */
  level: string;
  /** Tier `count` calls for. */
  target: string;
  filename: string;
  /** `update`: the content must move and a relocation is queued; `done`: it is on its target. */
  status: 'update' | 'done';
  /** The relocation job that will act on this count, if one is queued or running. */
  jobId: string | null;
}

/** What one post passes on besides its reports. */
export interface PostViewsOptions {
  /**
   * The post's request id (Fastify's `request.id`: the client's `x-request-id`, else generated).
   * A job this post queues carries it, cut to the length the job allows, and the relocator writes
   * it into the history row of the move.
   */
  readonly requestId?: string;
  /**
   * Told of every report decided: a known cid with a valid count, whose job, when one was
   * needed, is queued. Called synchronously on the request's path, so it must be quick and must
   * not throw (the gateway counts hysteresis holds and appends to the view log here).
   */
  readonly onDecided?: (view: DecidedView) => void;
}

/** A view report the gateway acted on, as {@link PostViewsOptions.onDecided} hears of it. */
export interface DecidedView {
  readonly cid: number;
  /** Total views posted. */
  readonly count: number;
  /** When the gateway recorded the count: epoch milliseconds (the clock the decision used). */
  readonly at: number;
  /**
   * `hysteresis` when the count calls for another level but is inside the hysteresis band of the
   * one the content is on, so it stays (no move queued for this count); else `null`.
   */
  readonly heldBy: 'hysteresis' | null;
}

/**
 * The half-life the cache folds posts into a rate state with: the view-rate policy's, or 0 (no
 * rate state kept) with the count policy.
 */
export function rateHalfLifeMs(tiering: ChooseTierOptions): number {
  return tiering.viewRate?.halfLifeMs ?? 0;
}

/** What {@link ContentCache.recordCount} answers for a cached cid. */
export type CacheHit = Extract<RecordCountResult, { kind: 'hit' }>;

// The job payload's own limit (and the width of update_history.request_id): a longer
// x-request-id is cut rather than making the job invalid.
const MAX_REQUEST_ID_LENGTH = relocationJobDataSchema.shape.requestId.unwrap().maxLength ?? 128;

/** The request id a job may carry: cut to the payload's limit; an empty one is left out. */
export function jobRequestId(requestId: string | undefined): string | undefined {
  if (requestId === undefined || requestId === '') return undefined;
  return requestId.slice(0, MAX_REQUEST_ID_LENGTH);
}

// A cid's entry can only disappear between the fill and the retry if someone forgets it on
// purpose; a few retries cover that without looping forever.
const MAX_FILL_ATTEMPTS = 3;

/**
 * Records a content's latest count and queues its relocation when the count calls for another
 * tier (the decision shared by `POST /post_sentence` and `POST /v1/views`).
 *
 * For a cached cid that changes nothing this is exactly one Redis round trip and no MySQL query:
 * the count, the tier, the pending job and the levels version come back together. An unknown cid
 * is read from MySQL once and cached. Throws `CONTENT_NOT_FOUND` for a cid no content has, and
 * `REDIS_UNAVAILABLE` / `DATABASE_UNAVAILABLE` when a backend it needs is down.
 */
export async function postViews(
  deps: PostViewsDeps,
  report: ViewReport,
  options: PostViewsOptions = {},
): Promise<ViewOutcome> {
  const now = (deps.now ?? Date.now)();
  const hit = await recordLatest(deps, report.cid, report.count, now);
  return decide(deps, report, hit, now, options);
}

/**
 * The second half of {@link postViews}, once the count is recorded: chooses the target from the
 * cached tier and pin (a pin overrides the count) and queues the relocation when needed. Batches record their counts in one pipeline
 * and then decide item by item. A job it queues carries `options.requestId`; once decided (and
 * queued), the report is passed to `options.onDecided`.
 */
export async function decide(
  deps: PostViewsDeps,
  report: ViewReport,
  hit: CacheHit,
  now: number,
  options: PostViewsOptions = {},
): Promise<ViewOutcome> {
  const { cid, count } = report;
  const { levels } = await deps.levels.forVersion(hit.levelsVersion);
  const decision = chooseTier({
    count,
    levels,
    current: hit.level,
    options: deps.tiering,
    // The pin as cached (MySQL's, written with every pin change and corrected by the sweep).
    pin: hit.pin,
    // With TIERING_POLICY=rate: the rate state this post was just folded into.
    rateState: hit.rateState,
    now,
  });
  // Without a minimum residence chooseTier never answers `wait`; if it did, the relocator
  // (which applies the residence rule) would decide when to move.
  const target = decision.kind === 'stay' ? hit.level : decision.to;
  const needsMove = target !== hit.level;

  let jobId = hit.pendingJobId;
  // With a job pending the count is passed on even when the content looks settled: the job may
  // be moving it right now, and BullMQ keeps this add (keepLastIfActive) as the one follow-up
  // that re-evaluates the content after the move. A waiting job that is no longer needed is
  // not removed here: removing it would race with another gateway's add and lose that update;
  // the processor reads the latest count when it starts and finds nothing to do.
  if (needsMove || hit.pendingJobId !== null) {
    const { deployment } = await deps.cache.keys();
    const job = await fromQueue(deps.redis, () =>
      enqueueRelocation(deps.queue, {
        cid,
        count,
        target,
        from: hit.level,
        requestedAt: now,
        deployment,
        requestId: jobRequestId(options.requestId),
      }),
    );
    jobId = job.id ?? jobId;
  }
  options.onDecided?.({
    cid,
    count,
    at: now,
    heldBy:
      decision.kind === 'stay' && decision.reason === 'within-hysteresis' ? 'hysteresis' : null,
  });
  return {
    cid,
    count,
    level: hit.level,
    target,
    filename: hit.filename,
    status: needsMove ? 'update' : 'done',
    jobId,
  };
}

/**
 * Records `count` as the cid's latest count, reading the content from MySQL and filling the
 * cache first when it is not cached; throws `CONTENT_NOT_FOUND` for an unknown cid.
 */
export async function recordLatest(
  deps: PostViewsDeps,
  cid: number,
  count: number,
  now: number,
): Promise<CacheHit> {
  const halfLife = rateHalfLifeMs(deps.tiering);
  let result = await fromRedis(() => deps.cache.recordCount(cid, count, now, halfLife));
  for (let attempt = 0; result.kind === 'miss' && attempt < MAX_FILL_ATTEMPTS; attempt += 1) {
    const row = await fromDatabase(() => getContent(deps.db, cid));
    if (row === undefined) throw contentNotFound(cid);
    const pin = await fromDatabase(() => getContentPin(deps.db, cid));
    // fill never overwrites: a relocator that committed a move meanwhile keeps its newer tier.
    await fromRedis(() =>
      deps.cache.fill(cid, {
        level: row.content_level,
        filename: row.filename,
        pin: pin?.level ?? null,
      }),
    );
    result = await fromRedis(() => deps.cache.recordCount(cid, count, now, halfLife));
  }
  if (result.kind === 'miss') {
    throw new AppError('INTERNAL_ERROR', `content ${cid} could not be cached`);
  }
  return result;
}
