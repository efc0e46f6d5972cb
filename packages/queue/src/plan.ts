import { tierFileSize } from '@relocation/contract';
import {
  chooseTier,
  moveDirection,
  rateOf,
  type ChooseTierOptions,
  type FlapBudget,
  type Level,
  type RateThresholds,
} from '@relocation/tiering';
import { parseRateState, RATE_STATE_FIELDS, type ContentCache } from './content-cache.ts';

/** Cache keys asked for per SCAN call (a hint to Redis, which may return more or fewer). */
export const PLAN_SCAN_COUNT = 1000;

/** Largest page of a plan. */
export const MAX_PLAN_LIMIT = 1000;

/** Files stat'ed at once when a plan sizes its contents. */
const STAT_CONCURRENCY = 16;

/** Which way a planned move goes (`chooseTier`'s reason). */
export type PlanDirection = 'promote' | 'demote' | 'unknown-current';

/** Every {@link PlanDirection}, in the order totals list them. */
export const PLAN_DIRECTIONS: readonly PlanDirection[] = ['promote', 'demote', 'unknown-current'];

/**
 * The edge of its current level a content's count went past: above `maxCount` (a promotion) or
 * below `minCount` (a demotion). With hysteresis `h` the move is due only beyond `count ± h`.
 */
export interface PlanBoundary {
  level: string;
  edge: 'min' | 'max';
  /** The level's `minCount` or `maxCount` (total views). */
  count: number;
}

/** One content whose latest count calls for another tier. */
export interface PlannedMove {
  cid: number;
  filename: string;
  /** The level the cache says it is on. */
  from: string;
  /** The level its latest count calls for. */
  to: string;
  direction: PlanDirection;
  /** Its latest posted count (total views). */
  count: number;
  /**
   * `null` when `from` is no level of the table decided with (`unknown-current`), when the
   * move is to the level the content is pinned to (`pinned`: the pin, not the count, decides),
   * or with the view-rate policy (its `rate` decides).
   */
  boundary: PlanBoundary | null;
  /**
   * With the view-rate policy (`TIERING_POLICY=rate`): its view rate in views per hour as of the
   * plan (decayed since its last post), which decides; else `null`.
   */
  rate: number | null;
  /** The move goes to the level an operator pinned the content to. */
  pinned: boolean;
  /**
   * Size of its file in `from`'s directory (`lstat`, never following a link), `null` when not
   * sized (outside the listed page unless every content is sized) or not a regular file there.
   */
  bytes: number | null;
  /** Its waiting, delayed or active job (BullMQ's deduplication key), if any. */
  jobId: string | null;
}

/** The contents and bytes of one direction. */
export interface PlanTotals {
  contents: number;
  /** Sum of `bytes` over the contents that were sized (`sized` of `contents`). */
  bytes: number;
  /** Contents of this direction whose file was found and sized. */
  sized: number;
  /** Contents of this direction that already have a job queued or running. */
  queued: number;
}

/**
 * The placement policy a plan was decided with (the apps' `tiering`), as plain data for its
 * JSON and HTTP answers. Only the hysteresis (and pins) decide a plan; the minimum residence and
 * the flap budget are the relocator's to apply when it runs a job, and are reported so an
 * operator sees what may still hold a planned move.
 */
export interface PlanPolicy {
  /** The band in views when given in views (`TIERING_HYSTERESIS=50`); 0 otherwise. */
  hysteresis: number;
  /** The band as a percent of the boundary crossed (`TIERING_HYSTERESIS=2.5%`); else `null`. */
  hysteresisPercent: number | null;
  minResidenceMs: number;
  /** Minimum residence in milliseconds of the levels named (`TIERING_MIN_RESIDENCE_BY_LEVEL`). */
  minResidenceByLevel: Record<string, number>;
  /** `TIERING_FLAP_BUDGET`; `null` when off. */
  flapBudget: FlapBudget | null;
  /** `TIERING_POLICY`: what places contents, their total `count` or their view `rate`. */
  policy: 'count' | 'rate';
  /**
   * With `TIERING_POLICY=rate`: the half-life (`TIERING_RATE_HALF_LIFE`) and the thresholds per
   * level in views per hour (`TIERING_RATE_THRESHOLDS`); else `null`.
   */
  viewRate: { halfLifeMs: number; thresholds: Record<string, RateThresholds> } | null;
}

/** {@link PlanPolicy} of `tiering`. */
export function planPolicy(tiering: ChooseTierOptions): PlanPolicy {
  const percent = tiering.hysteresisPercent ?? 0;
  const budget = tiering.flapBudget ?? null;
  return {
    hysteresis: percent > 0 ? 0 : (tiering.hysteresis ?? 0),
    hysteresisPercent: percent > 0 ? percent : null,
    minResidenceMs: tiering.minResidenceMs ?? 0,
    minResidenceByLevel: { ...tiering.minResidenceByLevel },
    flapBudget: budget === null ? null : { moves: budget.moves, windowMs: budget.windowMs },
    policy: tiering.viewRate ? 'rate' : 'count',
    viewRate: tiering.viewRate
      ? { halfLifeMs: tiering.viewRate.halfLifeMs, thresholds: { ...tiering.viewRate.thresholds } }
      : null,
  };
}

/** What {@link planRelocations} found. */
export interface RelocationPlan {
  /** Cache entries read (contents that have had a post since the cache was filled). */
  scanned: number;
  /** Entries skipped because no count was posted for them yet. */
  withoutCount: number;
  /** Contents whose latest count calls for another tier, in every page. */
  moves: number;
  totals: Record<PlanDirection, PlanTotals>;
  /** The page, ordered by cid. */
  items: PlannedMove[];
  /** The `after` of the next page, `null` on the last page. */
  nextAfter: number | null;
  /**
   * Views a count must be outside its level's range before it moves (as decided with), when the
   * band is given in views; 0 when it is none or a percentage of the boundary.
   */
  hysteresis: number;
  /** The placement policy in force (see {@link PlanPolicy}). */
  tiering: PlanPolicy;
  durationMs: number;
}

/** What {@link planRelocations} decides with. */
export interface PlanOptions {
  /** The level table to decide with, already accepted by `validateLevels` (current or candidate). */
  levels: readonly Level[];
  /**
   * The table in force, where the files are (to size them); defaults to `levels`. A candidate
   * table may rename or move a level's directory, but the files are still where the current
   * table says.
   */
  locate?: readonly Level[];
  /**
   * The placement policy the apps decide with (`tieringOptions` of `@relocation/runtime`); its
   * hysteresis applies, its minimum residence and flap budget do not (see {@link planRelocations}).
   */
  tiering?: ChooseTierOptions;
  /** Page size (1 … {@link MAX_PLAN_LIMIT}). */
  limit: number;
  /** The page starts after this cid (`nextAfter` of the previous page); `null` for the first. */
  after?: number | null;
  /** `page` (default): stat only the listed page's files; `all`: every planned content's. */
  sizes?: 'page' | 'all';
  /** Epoch ms the view rates are decayed to (the rate policy); defaults to `Date.now()`. */
  now?: number;
}

function emptyTotals(): Record<PlanDirection, PlanTotals> {
  const totals = {} as Record<PlanDirection, PlanTotals>;
  for (const direction of PLAN_DIRECTIONS) {
    totals[direction] = { contents: 0, bytes: 0, sized: 0, queued: 0 };
  }
  return totals;
}

function replyValue<T>(reply: [Error | null, unknown] | undefined): T {
  if (reply === undefined) throw new Error('Redis answered fewer replies than the pipeline sent');
  const [error, value] = reply;
  if (error) throw error;
  return value as T;
}

/** Which way a move from `from` to `to` goes (by `minCount`, as `chooseTier` tells them apart). */
function directionOf(from: Level | undefined, to: Level | undefined): PlanDirection {
  if (from === undefined) return 'unknown-current';
  return to === undefined ? 'demote' : moveDirection(from, to);
}

/** Size of `filename` in `level`'s directory when it is a regular file there, else `null`. */
async function fileBytes(level: Level | undefined, filename: string): Promise<number | null> {
  return level === undefined ? null : tierFileSize(level.path, filename);
}

async function sizeMoves(moves: readonly PlannedMove[], locate: readonly Level[]): Promise<void> {
  const byName = new Map(locate.map((level) => [level.name, level]));
  let next = 0;
  const worker = async () => {
    while (next < moves.length) {
      const move = moves[next++];
      if (move !== undefined) move.bytes = await fileBytes(byName.get(move.from), move.filename);
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, moves.length) }, worker));
}

/**
 * The dry-run plan: the contents whose latest posted count calls for another tier under
 * `options.levels`, read from the content cache in one pass — a SCAN of the deployment's cid
 * entries, one pipelined HMGET (level, file, count, pin) per SCAN batch, and one MGET of the
 * deduplication keys of that batch's planned moves — so 100k contents cost about 200 round
 * trips, not 100k. Nothing is written and no file moves.
 *
 * Decided with `chooseTier` as the gateway decides a post (hysteresis and the cached pin; no
 * minimum residence or flap budget: when a content last moved lives in MySQL, and the relocator
 * applies both when it runs the job). Only cached contents with a posted count are planned: a content that has had no post
 * since the cache was filled has no latest count, and MySQL is not read. Pages are ordered by
 * cid (`limit`, `after`); totals cover every page. Files are sized with `lstat` in the current
 * table's directories, for the listed page only unless `sizes: 'all'`; a totals line's `sized`
 * says how many of its contents its `bytes` covers.
 */
export async function planRelocations(
  cache: ContentCache,
  options: PlanOptions,
): Promise<RelocationPlan> {
  const started = performance.now();
  const { levels } = options;
  const tiering = options.tiering ?? {};
  const now = options.now ?? Date.now();
  const byName = new Map(levels.map((level) => [level.name, level]));
  const keys = await cache.keys();
  const redis = cache.redis;
  const seen = new Set<number>();
  const moves: PlannedMove[] = [];
  let withoutCount = 0;

  const scan = (cursor: string) => {
    const reply = redis.scan(cursor, 'MATCH', keys.cidPattern, 'COUNT', PLAN_SCAN_COUNT);
    // Awaited below; a pass that fails meanwhile must not leave it as an unhandled rejection.
    reply.catch(() => undefined);
    return reply;
  };
  let pending = scan('0');
  for (;;) {
    const [cursor, batch] = await pending;
    // The next SCAN goes out with this batch's reads: one round trip hides the other.
    if (cursor !== '0') pending = scan(cursor);
    const cids: number[] = [];
    for (const key of batch) {
      const cid = keys.cidOf(key);
      // SCAN may return a key twice (a rehash during the pass); each content counts once.
      if (cid === null || seen.has(cid)) continue;
      seen.add(cid);
      cids.push(cid);
    }
    if (cids.length > 0) {
      const reads = redis.pipeline();
      // `pin`: the level an operator pinned the cid to, cached by ContentCache with the entry.
      // With the rate policy, its rate state (kept by the gateways' post script).
      for (const cid of cids) {
        reads.hmget(keys.cid(cid), 'level', 'file', 'count', 'pin', ...RATE_STATE_FIELDS);
      }
      const replies = (await reads.exec()) ?? [];
      const planned: PlannedMove[] = [];
      for (const [i, cid] of cids.entries()) {
        const [level, file, countText, pin, rate, rateCount, rateAt] = replyValue<
          (string | null)[]
        >(replies[i]);
        // Gone since SCAN saw it, or an entry being filled: nothing to plan.
        if (level === null || level === undefined) continue;
        const count = countText === null || countText === undefined ? NaN : Number(countText);
        if (!Number.isSafeInteger(count) || count < 0) {
          withoutCount++;
          continue;
        }
        const input = {
          count,
          levels,
          current: level,
          options: tiering,
          pin: pin ?? null,
          rateState: parseRateState(rate, rateCount, rateAt),
          now,
        };
        const decision = chooseTier(input);
        if (decision.kind !== 'move') continue;
        const from = byName.get(level);
        const direction = directionOf(from, byName.get(decision.to));
        const pinned = decision.reason === 'pinned';
        planned.push({
          cid,
          filename: file ?? '',
          from: level,
          to: decision.to,
          direction,
          count,
          rate: rateOf(input),
          boundary:
            from === undefined || pinned || tiering.viewRate
              ? null
              : direction === 'promote'
                ? { level: from.name, edge: 'max', count: from.maxCount ?? from.minCount }
                : { level: from.name, edge: 'min', count: from.minCount },
          pinned,
          bytes: null,
          jobId: null,
        });
      }
      if (planned.length > 0) {
        const jobs = await redis.mget(...planned.map((move) => keys.dedup(move.cid)));
        planned.forEach((move, i) => {
          move.jobId = jobs[i] ?? null;
        });
        moves.push(...planned);
      }
    }
    if (cursor === '0') break;
  }

  moves.sort((a, b) => a.cid - b.cid);
  const limit = Math.max(1, Math.min(MAX_PLAN_LIMIT, Math.trunc(options.limit)));
  const after = options.after ?? null;
  const start = after === null ? 0 : moves.findIndex((move) => move.cid > after);
  const from = start < 0 ? moves.length : start;
  const items = moves.slice(from, from + limit);
  const locate = options.locate ?? levels;
  await sizeMoves(options.sizes === 'all' ? moves : items, locate);

  const totals = emptyTotals();
  for (const move of moves) {
    const line = totals[move.direction];
    line.contents++;
    if (move.jobId !== null) line.queued++;
    if (move.bytes !== null) {
      line.sized++;
      line.bytes += move.bytes;
    }
  }
  const last = items[items.length - 1];
  const policy = planPolicy(tiering);
  return {
    scanned: seen.size,
    withoutCount,
    moves: moves.length,
    totals,
    items,
    nextAfter: last !== undefined && from + items.length < moves.length ? last.cid : null,
    hysteresis: policy.hysteresis,
    tiering: policy,
    durationMs: performance.now() - started,
  };
}
