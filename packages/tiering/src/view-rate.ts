import type { Level } from './level.ts';

/** Milliseconds in an hour: rates are in views per hour. */
export const RATE_UNIT_MS = 3_600_000;

/**
 * The two rate thresholds of a level's lower boundary, in views per hour: a content is promoted
 * into the level when its rate is at or above `promote`, and demoted out of it when its rate
 * falls below `demote` (`0 <= demote <= promote`). The band between them keeps a content whose
 * rate hovers at the boundary where it is.
 */
export interface RateThresholds {
  readonly promote: number;
  readonly demote: number;
}

/**
 * The view-rate policy (`TIERING_POLICY=rate`): contents are placed by their view rate, derived
 * from successive total counts and decayed with `halfLifeMs`, instead of by their total count.
 *
 * `thresholds` names the levels above the bottom one (the level with the lowest `minCount`,
 * which needs none). A level without an entry takes no part: no content is promoted into it by
 * its rate and none on it is demoted by its rate (it stays until its rate calls for a level
 * above; a pin can still move it).
 */
export interface ViewRatePolicy {
  readonly halfLifeMs: number;
  readonly thresholds: Readonly<Record<string, RateThresholds>>;
}

/**
 * What the service keeps of a content's views to derive its rate (in its cache entry).
 *
 * `rate` is the decayed rate in views per hour as of `at`, or `null` while it is warming up: the
 * rate is first measured over at least {@link warmUpMs} (an eighth of the half-life) from the
 * content's first post, whose count and time `count` and `at` then hold; after that, `count` and
 * `at` are those of the latest post.
 */
export interface ViewRateState {
  readonly count: number;
  readonly at: number;
  readonly rate: number | null;
}

/** The shortest span over which a content's first rate is measured: an eighth of the half-life. */
export function warmUpMs(halfLifeMs: number): number {
  return halfLifeMs / 8;
}

/**
 * Folds a post (total `count` at `at`, epoch ms) into a content's rate state (`null`: no post
 * seen yet). The first post anchors the state; the first post at least {@link warmUpMs} later
 * sets the rate to the average over that span; every later post blends the rate since the
 * previous post into it with weight `1 - 2^(-Δt / halfLife)` (an exponentially weighted moving
 * average in time, so a steady rate is measured exactly and a content nobody watches halves its
 * rate every half-life). A total lower than one already seen adds no views (totals only grow; a
 * late or repeated post changes nothing); a time earlier than the state's is taken as the state's.
 *
 * The gateway's post script (`record-count-3.lua` of `@relocation/queue`) applies this same
 * arithmetic in Redis; a test holds them to agree.
 */
export function observeViews(
  state: ViewRateState | null,
  count: number,
  at: number,
  halfLifeMs: number,
): ViewRateState {
  assertHalfLife(halfLifeMs);
  if (state === null) return { count, at, rate: null };
  const views = Math.max(0, count - state.count);
  const latest = Math.max(state.count, count);
  const elapsed = Math.max(0, at - state.at);
  const now = state.at + elapsed;
  if (state.rate === null) {
    if (elapsed < warmUpMs(halfLifeMs)) return state;
    return { count: latest, at: now, rate: (views * RATE_UNIT_MS) / elapsed };
  }
  return { count: latest, at: now, rate: blend(state.rate, views, elapsed, halfLifeMs) };
}

/**
 * The rate of `state` as of `now`: its rate decayed over the time since its last post (as if a
 * post at `now` had brought no new views). `null` while it is warming up or for no state.
 */
export function rateAt(
  state: ViewRateState | null,
  now: number,
  halfLifeMs: number,
): number | null {
  assertHalfLife(halfLifeMs);
  if (state === null || state.rate === null) return null;
  return blend(state.rate, 0, Math.max(0, now - state.at), halfLifeMs);
}

function blend(rate: number, views: number, elapsed: number, halfLifeMs: number): number {
  const keep = 2 ** (-elapsed / halfLifeMs);
  // The new views' rate weighted by (1 - keep); for posts in the same millisecond the limit,
  // ln 2 / half-life per view.
  const added =
    elapsed > 0
      ? ((1 - keep) * views * RATE_UNIT_MS) / elapsed
      : (Math.LN2 * views * RATE_UNIT_MS) / halfLifeMs;
  return rate * keep + added;
}

function assertHalfLife(halfLifeMs: number): void {
  if (!Number.isFinite(halfLifeMs) || halfLifeMs <= 0) {
    throw new RangeError(`halfLifeMs must be a finite number > 0, got ${String(halfLifeMs)}`);
  }
}

/** The rate decision for a content on a known level. */
export interface RateTarget {
  /** The level the rate calls for, given where the content is. */
  readonly level: Level;
  /**
   * The level a content with this rate would be placed on if it were new (the highest whose
   * `promote` it reaches): differs from `level` when the band keeps it where it is.
   */
  readonly fresh: Level;
}

/**
 * Where a content on `current` goes by its `rate` (views per hour): up to the highest level
 * above it whose `promote` threshold the rate reaches; else, when the rate is below `current`'s
 * `demote` threshold, down past every level whose `demote` it misses (at most to the bottom);
 * else it stays. `levels` is a table accepted by `validateLevels`, in any order.
 */
export function rateTarget(
  rate: number,
  levels: readonly Level[],
  current: Level,
  policy: ViewRatePolicy,
): RateTarget {
  const ordered = byMinCount(levels);
  const at = ordered.findIndex((level) => level.name === current.name);
  const fresh = freshLevel(rate, ordered, policy);
  for (let i = ordered.length - 1; i > at; i -= 1) {
    const level = ordered[i];
    const t = level === undefined ? undefined : thresholdsOf(level, policy);
    if (level !== undefined && t !== undefined && rate >= t.promote) return { level, fresh };
  }
  let landing = at;
  for (let i = at; i > 0; i -= 1) {
    const level = ordered[i];
    const t = level === undefined ? undefined : thresholdsOf(level, policy);
    // A level without thresholds is never left by the rate.
    if (t === undefined || rate >= t.demote) break;
    landing = i - 1;
  }
  return { level: ordered[landing] ?? current, fresh };
}

/** The level a new content with `rate` goes to: the highest whose `promote` it reaches. */
export function freshLevel(rate: number, levels: readonly Level[], policy: ViewRatePolicy): Level {
  const ordered = byMinCount(levels);
  const [bottom] = ordered;
  if (bottom === undefined) throw new RangeError('levels must not be empty');
  for (let i = ordered.length - 1; i > 0; i -= 1) {
    const level = ordered[i];
    const t = level === undefined ? undefined : thresholdsOf(level, policy);
    if (level !== undefined && t !== undefined && rate >= t.promote) return level;
  }
  return bottom;
}

// Level tables are read once and decided with many times (every post, every sweep tick): each
// table's order is computed once. Callers never mutate a table they passed.
const ORDERED = new WeakMap<readonly Level[], readonly Level[]>();

/** `levels` by ascending `minCount` (memoized per table). */
function byMinCount(levels: readonly Level[]): readonly Level[] {
  let ordered = ORDERED.get(levels);
  if (ordered === undefined) {
    ordered = [...levels].sort((a, b) => a.minCount - b.minCount);
    ORDERED.set(levels, ordered);
  }
  return ordered;
}

/** The thresholds of `level` (own entries only), or `undefined` when it has none. */
export function thresholdsOf(level: Level, policy: ViewRatePolicy): RateThresholds | undefined {
  return Object.hasOwn(policy.thresholds, level.name) ? policy.thresholds[level.name] : undefined;
}
