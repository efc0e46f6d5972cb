import type { Level } from './level.ts';
import {
  freshLevel,
  rateAt,
  rateTarget,
  thresholdsOf,
  type ViewRatePolicy,
  type ViewRateState,
} from './view-rate.ts';

/**
 * A flap budget: a content changes tier at most `moves` times in any `windowMs`; past it, it
 * stays on the higher of the tiers it has been moving between (its last allowed move in a
 * window is a promotion) until the window lets it move again.
 */
export interface FlapBudget {
  readonly moves: number;
  readonly windowMs: number;
}

/**
 * The flap budget in force unless configured otherwise (`TIERING_FLAP_BUDGET=4/1h`): a content
 * that becomes popular moves up once and, cooling down, once back; 4 moves an hour leave room
 * for a real up-down-up, while a count hovering at a boundary copies its file at most 4 times an
 * hour instead of on every post.
 */
export const DEFAULT_FLAP_BUDGET: FlapBudget = Object.freeze({ moves: 4, windowMs: 3_600_000 });

/**
 * Damping of tier changes. Hysteresis and residence default to 0 (the 2018 seed's behaviour);
 * the flap budget applies only where the caller passes it with the content's recent moves.
 *
 * `hysteresis` is in views: a content leaves its level only when the count is more than
 * `hysteresis` views outside that level's range; `hysteresisPercent` gives it instead as a
 * percentage of the boundary being crossed (the level's `maxCount + 1` going up, its `minCount`
 * going down; rounded up to whole views). `minResidenceMs` is the minimum time in milliseconds
 * a content stays on a level after its last move; `minResidenceByLevel` overrides it for the
 * levels it names (the level being left).
 */
export interface ChooseTierOptions {
  readonly hysteresis?: number;
  readonly hysteresisPercent?: number;
  readonly minResidenceMs?: number;
  readonly minResidenceByLevel?: Readonly<Record<string, number>>;
  readonly flapBudget?: FlapBudget | null;
  /**
   * The view-rate policy: with it, contents are placed by their view rate (`ChooseTierInput.rate`)
   * and its per-level thresholds instead of by their count, and the hysteresis settings do not
   * apply (each boundary's two thresholds are its band). Residence, the flap budget and pins
   * apply as with the count. Absent or `null`: the count decides (the default).
   */
  readonly viewRate?: ViewRatePolicy | null;
}

/** A level change of the content (from its history), for the flap budget. */
export interface RecentMove {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly from: string;
  readonly to: string;
}

/**
 * Everything `chooseTier` needs; the caller supplies the clock and the current tier.
 *
 * `count` is the total view count (integer >= 0); `levels` is a table already accepted by
 * `validateLevels`, in any order; `current` is the content's level name (`null` if unknown);
 * `now` and `lastMovedAt` are epoch milliseconds and matter only with `minResidenceMs > 0`.
 */
export interface ChooseTierInput {
  readonly count: number;
  readonly levels: readonly Level[];
  readonly current: string | null;
  readonly options?: ChooseTierOptions;
  readonly now?: number;
  readonly lastMovedAt?: number | null;
  /**
   * The level an operator pinned the content to (`null` or absent: not pinned). A pin overrides
   * the count, the hysteresis and the minimum residence; a pin naming no level of the table is
   * ignored (the count decides).
   */
  readonly pin?: string | null;
  /**
   * The content's level changes, at least those within the flap budget's window (older ones are
   * ignored). Absent or `null`: not known here, and the flap budget is not applied (the gateway's
   * hot path; the relocator, which commits moves, applies it from MySQL's history).
   */
  readonly recentMoves?: readonly RecentMove[] | null;
  /**
   * With `options.viewRate`: the content's view rate in views per hour as of `now` (`rateAt` of
   * its rate state); `null` or absent while it is not known yet (warming up), and the content
   * then stays where it is (a content on no known level goes where its count calls for).
   */
  readonly rate?: number | null;
  /**
   * With `options.viewRate` and no `rate`: the content's rate state as the cache keeps it, from
   * which the rate as of `now` is derived (`rateAt`; `now` is then required). `null` or absent:
   * no posts seen yet, the rate is unknown.
   */
  readonly rateState?: ViewRateState | null;
}

/**
 * The view rate `chooseTier` decides `input` with: `input.rate` when given, else `rateAt` of
 * `input.rateState` as of `input.now`; `null` without the view-rate policy or while unknown.
 * Throws `RangeError` for a rate state without `now`.
 */
export function rateOf(input: ChooseTierInput): number | null {
  const viewRate = input.options?.viewRate ?? null;
  if (viewRate === null) return null;
  if (input.rate !== undefined && input.rate !== null) return input.rate;
  const state = input.rateState ?? null;
  if (state === null) return null;
  if (input.now === undefined) {
    throw new RangeError('now is required to decide by a rate state (rateState without now)');
  }
  return rateAt(state, input.now, viewRate.halfLifeMs);
}

/**
 * The content stays where it is: already on its target, inside the hysteresis band (with the
 * view-rate policy: between a boundary's two thresholds), on the level it is pinned to, or (with
 * the view-rate policy) because its rate is not known yet.
 */
export interface StayDecision {
  readonly kind: 'stay';
  readonly level: string;
  readonly reason: 'on-target' | 'within-hysteresis' | 'pinned' | 'rate-unknown';
}

/**
 * The content must move to `to`.
 *
 * `reason` is `'promote'` (to a level with a higher `minCount`), `'demote'`,
 * `'unknown-current'` when `from` is `null` or names no level of the table, or `'pinned'` when
 * `to` is the level the content is pinned to.
 */
export interface MoveDecision {
  readonly kind: 'move';
  readonly from: string | null;
  readonly to: string;
  readonly reason: 'promote' | 'demote' | 'unknown-current' | 'pinned';
}

/**
 * The content should move but the policy holds it until `allowedAt` (epoch ms): its minimum
 * residence has not elapsed (`residence`), or its flap budget is spent (`flap-budget`).
 */
export interface WaitDecision {
  readonly kind: 'wait';
  readonly from: string;
  readonly to: string;
  readonly allowedAt: number;
  readonly rule: 'residence' | 'flap-budget';
}

/** What to do with a content given its view count: stay, move, or wait before moving. */
export type TierDecision = StayDecision | MoveDecision | WaitDecision;

/**
 * Returns the level whose `[minCount, maxCount]` range contains `count`, or the top level when
 * `count` is above the top level's `maxCount` (the seed's `check_max_count`).
 *
 * `levels` must satisfy I1 (any order). Throws `RangeError` for a count that is not a
 * non-negative safe integer, an empty table, or a count that no level covers (a broken table).
 */
export function targetLevel(count: number, levels: readonly Level[]): Level {
  assertCount(count);
  const [first] = levels;
  if (first === undefined) throw new RangeError('levels must not be empty');

  let top = first;
  for (const level of levels) {
    if (level.minCount <= count && (level.maxCount === null || count <= level.maxCount)) {
      return level;
    }
    if (level.minCount > top.minCount) top = level;
  }
  if (top.maxCount !== null && count > top.maxCount) return top;
  throw new RangeError(
    `no level contains count ${count}; the level table breaks I1 (check it with validateLevels)`,
  );
}

/**
 * Decides whether a content with `count` views should stay on `current`, move, or wait.
 *
 * The target is always `targetLevel(count, levels)`. With hysteresis `h`, a content on level L
 * stays while `L.minCount - h <= count <= L.maxCount + h`. With `minResidenceMs > 0` and both
 * `lastMovedAt` and `now` given, a promote/demote before `lastMovedAt + minResidenceMs` becomes
 * a `wait`. An unknown `current` always moves at once: its file is on no tier of the table.
 * A `pin` naming a level of the table overrides all of this (see {@link applyPin}).
 * Throws `RangeError` only for programmer errors (bad count, empty table, negative or
 * non-finite options or times).
 */
export function chooseTier(input: ChooseTierInput): TierDecision {
  return applyPin(decideByPopularity(input), input.pin ?? null, input.current, input.levels);
}

/**
 * The rule "a pin overrides the count", which both apps apply through {@link chooseTier}: with
 * `pin` naming a level of `levels`, a content on it stays (`pinned`) and any other moves there at
 * once (`pinned`), whatever `decision` (the count's answer) said, hysteresis and minimum
 * residence included. Without a pin, or with one naming no level of the table (removed
 * meanwhile), `decision` is returned unchanged.
 */
export function applyPin(
  decision: TierDecision,
  pin: string | null,
  current: string | null,
  levels: readonly Level[],
): TierDecision {
  if (pin === null || !levels.some((level) => level.name === pin)) return decision;
  if (current === pin) return { kind: 'stay', level: pin, reason: 'pinned' };
  return { kind: 'move', from: current, to: pin, reason: 'pinned' };
}

function decideByPopularity(input: ChooseTierInput): TierDecision {
  const { count, levels, current, now, lastMovedAt } = input;
  const options = input.options ?? {};
  const minResidenceMs = options.minResidenceMs ?? 0;
  assertNonNegative('options.hysteresis', options.hysteresis ?? 0);
  assertNonNegative('options.hysteresisPercent', options.hysteresisPercent ?? 0);
  assertNonNegative('options.minResidenceMs', minResidenceMs);
  if (now !== undefined) assertFinite('now', now);
  const movedAt = lastMovedAt ?? null;
  if (movedAt !== null) assertFinite('lastMovedAt', movedAt);

  const from = current === null ? undefined : levels.find((level) => level.name === current);
  const viewRate = options.viewRate ?? null;
  const rate = rateOf(input);
  if (from === undefined) {
    const target =
      viewRate !== null && rate !== null
        ? freshLevel(rate, levels, viewRate)
        : targetLevel(count, levels);
    return { kind: 'move', from: current, to: target.name, reason: 'unknown-current' };
  }
  let target: Level;
  if (viewRate === null) {
    target = targetLevel(count, levels);
    if (from.name === target.name) return { kind: 'stay', level: from.name, reason: 'on-target' };
    if (withinBand(from, count, options)) {
      return { kind: 'stay', level: from.name, reason: 'within-hysteresis' };
    }
  } else {
    assertCount(count);
    if (rate === null) return { kind: 'stay', level: from.name, reason: 'rate-unknown' };
    assertNonNegative('rate', rate);
    const byRate = rateTarget(rate, levels, from, viewRate);
    target = byRate.level;
    if (from.name === target.name) {
      const reason = byRate.fresh.name === from.name ? 'on-target' : 'within-hysteresis';
      return { kind: 'stay', level: from.name, reason };
    }
  }
  const up = target.minCount > from.minCount;

  const residenceMs = residenceOf(from, options);
  assertNonNegative(`options.minResidenceByLevel.${from.name}`, residenceMs);
  if (residenceMs > 0 && movedAt !== null && now !== undefined) {
    const allowedAt = movedAt + residenceMs;
    if (now < allowedAt) {
      return { kind: 'wait', from: from.name, to: target.name, allowedAt, rule: 'residence' };
    }
  }
  const budget = options.flapBudget ?? null;
  if (budget !== null && input.recentMoves && now !== undefined) {
    const allowedAt = budgetAllows(budget, input.recentMoves, now, up);
    if (allowedAt !== null) {
      return { kind: 'wait', from: from.name, to: target.name, allowedAt, rule: 'flap-budget' };
    }
  }
  return { kind: 'move', from: from.name, to: target.name, reason: up ? 'promote' : 'demote' };
}

/**
 * `null` when the flap budget lets a move in direction `up` happen at `now`, else the epoch ms
 * at which the window will let it. A content that has not moved within the window may always
 * move; otherwise a promotion needs fewer than `moves` moves in the window and a demotion fewer
 * than `moves - 1`, so that the last move a window allows is a promotion: a content flapping
 * between two tiers comes to rest on the higher one.
 */
export function budgetAllows(
  budget: FlapBudget,
  recentMoves: readonly RecentMove[],
  now: number,
  up: boolean,
): number | null {
  assertBudget(budget);
  const since = now - budget.windowMs;
  const times = recentMoves
    .map((m) => m.at)
    .filter((at) => at > since && at <= now)
    .sort((a, b) => a - b);
  const used = times.length;
  const mostAllowed = up ? budget.moves - 1 : Math.max(0, budget.moves - 2);
  if (used === 0 || used <= mostAllowed) return null;
  // The move is allowed once only `mostAllowed` moves remain in the window.
  const leaving = times[used - mostAllowed - 1] ?? now;
  return leaving + budget.windowMs;
}

/** Moves of `recentMoves` within the budget's window ending at `now`. */
export function movesInWindow(
  budget: FlapBudget,
  recentMoves: readonly RecentMove[],
  now: number,
): number {
  const since = now - budget.windowMs;
  return recentMoves.filter((m) => m.at > since && m.at <= now).length;
}

/**
 * The hysteresis band of `level` at one edge, in views: `hysteresis`, or `hysteresisPercent` of
 * the boundary at that edge (`maxCount + 1` above, `minCount` below), rounded up.
 */
export function hysteresisBand(
  level: Level,
  edge: 'min' | 'max',
  options: ChooseTierOptions,
): number {
  const percent = options.hysteresisPercent ?? 0;
  if (percent > 0) {
    const boundary = edge === 'max' ? (level.maxCount ?? level.minCount) + 1 : level.minCount;
    return Math.ceil((boundary * percent) / 100);
  }
  return options.hysteresis ?? 0;
}

function withinBand(level: Level, count: number, options: ChooseTierOptions): boolean {
  return (
    count >= level.minCount - hysteresisBand(level, 'min', options) &&
    (level.maxCount === null || count <= level.maxCount + hysteresisBand(level, 'max', options))
  );
}

function assertBudget(budget: FlapBudget): void {
  if (!Number.isSafeInteger(budget.moves) || budget.moves < 1) {
    throw new RangeError(
      `flapBudget.moves must be a whole number >= 1, got ${String(budget.moves)}`,
    );
  }
  if (!Number.isFinite(budget.windowMs) || budget.windowMs <= 0) {
    throw new RangeError(`flapBudget.windowMs must be > 0, got ${String(budget.windowMs)}`);
  }
}

function assertCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative safe integer, got ${String(count)}`);
  }
}

function assertNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

function assertFinite(name: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite epoch-milliseconds value, got ${String(value)}`);
  }
}

/** The edge of the level a content left that its count crossed, with the band in force. */
export interface CrossedBoundary {
  /** The level left. */
  readonly level: string;
  /** `max` going up, `min` going down. */
  readonly edge: 'min' | 'max';
  /** The level's `maxCount` or `minCount`. */
  readonly count: number;
  /** The hysteresis band at that edge, in views. */
  readonly band: number;
  /** The first count that moves the content across it (`count ± band ± 1`). */
  readonly threshold: number;
}

/** The rate threshold a content's view rate crossed (the view-rate policy). */
export interface CrossedRateThreshold {
  /** The rate that decided, views per hour. */
  readonly rate: number;
  /** `promote` (the threshold of the level moved to) or `demote` (that of the level left). */
  readonly kind: 'promote' | 'demote';
  /** The level whose threshold it is. */
  readonly level: string;
  /** The threshold, views per hour. */
  readonly threshold: number;
  readonly halfLifeMs: number;
}

/** Why a content moves, as its history row records it. */
export interface MoveExplanation {
  /** The count that decided (with the view-rate policy, the latest count). */
  readonly count: number;
  /**
   * The count policy's edge crossed; `null` when none was: a pin decided, the current level is
   * unknown, or the view-rate policy decided (see `rate`).
   */
  readonly boundary: CrossedBoundary | null;
  /** With the view-rate policy, the rate threshold crossed (`null`: a pin or unknown level). */
  readonly rate?: CrossedRateThreshold | null;
  /** The policy in force: hysteresis, the residence of the level left, the flap budget's state. */
  readonly policy: {
    readonly hysteresis: number;
    readonly hysteresisPercent: number;
    readonly minResidenceMs: number;
    readonly flapBudget: {
      readonly moves: number;
      readonly windowMs: number;
      /** Moves already made in the window when this one was decided. */
      readonly used: number | null;
    } | null;
  };
}

/**
 * The inputs of the decision to move a content from `input.current` to `to`, for its history
 * row (and the plan): the count, the boundary crossed with its band, and the policy in force.
 */
export function explainMove(input: ChooseTierInput, to: string): MoveExplanation {
  const options = input.options ?? {};
  const from = input.levels.find((level) => level.name === input.current);
  const target = input.levels.find((level) => level.name === to);
  const pinned = input.pin !== null && input.pin !== undefined && input.pin === to;
  let boundary: CrossedBoundary | null = null;
  let rate: CrossedRateThreshold | null = null;
  const viewRate = options.viewRate ?? null;
  const moving = from !== undefined && target !== undefined && !pinned && from.name !== target.name;
  if (moving && viewRate !== null) {
    const up = target.minCount > from.minCount;
    const level = up ? target : from;
    rate = {
      rate: rateOf(input) ?? 0,
      kind: up ? 'promote' : 'demote',
      level: level.name,
      threshold: thresholdsOf(level, viewRate)?.[up ? 'promote' : 'demote'] ?? 0,
      halfLifeMs: viewRate.halfLifeMs,
    };
  } else if (moving) {
    const up = target.minCount > from.minCount;
    const edge = up ? 'max' : 'min';
    const count = up ? (from.maxCount ?? from.minCount) : from.minCount;
    const band = hysteresisBand(from, edge, options);
    boundary = {
      level: from.name,
      edge,
      count,
      band,
      threshold: up ? count + band + 1 : count - band - 1,
    };
  }
  const budget = options.flapBudget ?? null;
  return {
    count: input.count,
    boundary,
    ...(viewRate === null ? {} : { rate }),
    policy: {
      hysteresis: options.hysteresis ?? 0,
      hysteresisPercent: options.hysteresisPercent ?? 0,
      minResidenceMs: from ? residenceOf(from, options) : (options.minResidenceMs ?? 0),
      flapBudget:
        budget === null
          ? null
          : {
              moves: budget.moves,
              windowMs: budget.windowMs,
              used:
                input.recentMoves && input.now !== undefined
                  ? movesInWindow(budget, input.recentMoves, input.now)
                  : null,
            },
    },
  };
}

/**
 * The minimum residence on `level`: its own entry of `minResidenceByLevel` (own properties only,
 * so a level named `constructor` finds nothing inherited), else `minResidenceMs`.
 */
function residenceOf(level: Level, options: ChooseTierOptions): number {
  const byLevel = options.minResidenceByLevel;
  if (byLevel !== undefined && Object.hasOwn(byLevel, level.name)) {
    return byLevel[level.name] ?? 0;
  }
  return options.minResidenceMs ?? 0;
}
