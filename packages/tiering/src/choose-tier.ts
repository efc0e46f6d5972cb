import type { Level } from './level.ts';

/**
 * Optional damping of tier changes; both default to 0, which gives the 2018 seed's behaviour exactly.
 *
 * `hysteresis` is in views: a content leaves its level only when the count is more than
 * `hysteresis` views outside that level's range. `minResidenceMs` is the minimum time in
 * milliseconds a content stays on a level after its last move.
 */
export interface ChooseTierOptions {
  readonly hysteresis?: number;
  readonly minResidenceMs?: number;
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
}

/**
 * The content stays where it is: already on its target, inside the hysteresis band, or on the
 * level it is pinned to.
 */
export interface StayDecision {
  readonly kind: 'stay';
  readonly level: string;
  readonly reason: 'on-target' | 'within-hysteresis' | 'pinned';
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

/** The content should move but its minimum residence has not elapsed; retry at `allowedAt` (epoch ms). */
export interface WaitDecision {
  readonly kind: 'wait';
  readonly from: string;
  readonly to: string;
  readonly allowedAt: number;
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
  return applyPin(decideByCount(input), input.pin ?? null, input.current, input.levels);
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

function decideByCount(input: ChooseTierInput): TierDecision {
  const { count, levels, current, now, lastMovedAt } = input;
  const hysteresis = input.options?.hysteresis ?? 0;
  const minResidenceMs = input.options?.minResidenceMs ?? 0;
  assertNonNegative('options.hysteresis', hysteresis);
  assertNonNegative('options.minResidenceMs', minResidenceMs);
  if (now !== undefined) assertFinite('now', now);
  const movedAt = lastMovedAt ?? null;
  if (movedAt !== null) assertFinite('lastMovedAt', movedAt);

  const target = targetLevel(count, levels);
  const from = current === null ? undefined : levels.find((level) => level.name === current);
  if (from === undefined) {
    return { kind: 'move', from: current, to: target.name, reason: 'unknown-current' };
  }
  if (from.name === target.name) return { kind: 'stay', level: from.name, reason: 'on-target' };
  if (withinBand(from, count, hysteresis)) {
    return { kind: 'stay', level: from.name, reason: 'within-hysteresis' };
  }

  if (minResidenceMs > 0 && movedAt !== null && now !== undefined) {
    const allowedAt = movedAt + minResidenceMs;
    if (now < allowedAt) return { kind: 'wait', from: from.name, to: target.name, allowedAt };
  }
  const reason = target.minCount > from.minCount ? 'promote' : 'demote';
  return { kind: 'move', from: from.name, to: target.name, reason };
}

function withinBand(level: Level, count: number, hysteresis: number): boolean {
  return (
    count >= level.minCount - hysteresis &&
    (level.maxCount === null || count <= level.maxCount + hysteresis)
  );
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
