import { tierPathKey, tierPathProblem } from '@relocation/contract';
import { InvalidLevelsError } from './invalid-levels-error.ts';
import { defaultLowWatermark, DEFAULT_HIGH_WATERMARK, type Level } from './level.ts';
import type { LevelRule, LevelRuleViolation } from './level-rule.ts';

/**
 * The outcome of `validateLevels`: the table sorted by `minCount`, or every rule it breaks.
 *
 * On success `levels` is a frozen copy (array and each level) sorted by ascending `minCount`.
 */
export type ValidationResult =
  | { readonly ok: true; readonly levels: readonly Level[] }
  | { readonly ok: false; readonly errors: readonly LevelRuleViolation[] };

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks that a level table partitions the view counts (invariant I1) and that each level is well formed.
 *
 * Sorted by `minCount`, the levels must start at 0 and follow each other with no gap and no
 * overlap; only the last may be unbounded (a bounded top tier is fine: counts above it go to
 * the top tier). Names are unique, 1–64 characters of `[A-Za-z0-9_-]`; paths are distinct
 * tier paths (`tierPathProblem` of `@relocation/contract`: absolute, in normal form); counts are non-negative safe integers
 * with `minCount <= maxCount`. Every problem is reported, in an order that does not depend on
 * the input order. Gap, overlap and start checks run only once every level's counts are valid.
 */
export function validateLevels(levels: readonly Level[]): ValidationResult {
  if (levels.length === 0) {
    return {
      ok: false,
      errors: [
        violation(
          null,
          'empty',
          'the level table is empty; at least one level starting at min_counts 0 is required',
        ),
      ],
    };
  }

  const sorted = [...levels].sort(compareLevels);
  const errors = [
    ...sorted.flatMap(checkLevel),
    ...checkUniqueNames(sorted),
    ...checkUniquePaths(sorted),
  ];
  // Gaps and overlaps computed from malformed counts would only repeat the same problem louder.
  if (sorted.every(hasValidCounts)) errors.push(...checkPartition(sorted));

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, levels: Object.freeze(sorted.map(copyFrozen)) };
}

/**
 * Returns the level table sorted by `minCount` (frozen), or throws when it breaks a rule.
 *
 * For start-up and for operator changes: throws `InvalidLevelsError` listing every violation.
 */
export function assertValidLevels(levels: readonly Level[]): readonly Level[] {
  const result = validateLevels(levels);
  if (!result.ok) throw new InvalidLevelsError(result.errors);
  return result.levels;
}

function checkLevel(level: Level): LevelRuleViolation[] {
  const errors: LevelRuleViolation[] = [];
  const at = label(level);
  if (!isValidName(level.name)) {
    errors.push(
      violation(
        level,
        'invalid-name',
        `${at}: the name must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'`,
      ),
    );
  }
  const pathProblem = tierPathProblem(level.path);
  if (pathProblem !== null) {
    errors.push(violation(level, 'invalid-path', `${at}: path ${show(level.path)} ${pathProblem}`));
  }
  const minValid = isCount(level.minCount);
  const maxValid = level.maxCount === null || isCount(level.maxCount);
  if (!minValid) {
    errors.push(
      violation(
        level,
        'invalid-count',
        `${at}: min_counts ${show(level.minCount)} must be a non-negative safe integer`,
      ),
    );
  }
  if (!maxValid) {
    errors.push(
      violation(
        level,
        'invalid-count',
        `${at}: max_counts ${show(level.maxCount)} must be a non-negative safe integer or NULL (unbounded)`,
      ),
    );
  }
  if (minValid && maxValid && level.maxCount !== null && level.minCount > level.maxCount) {
    errors.push(
      violation(
        level,
        'min-above-max',
        `${at}: min_counts ${level.minCount} is above max_counts ${level.maxCount}`,
      ),
    );
  }
  errors.push(...checkCapacity(level));
  return errors;
}

/**
 * A capacity is a positive safe integer of bytes; watermarks are whole percents, the high one
 * 1–100, the low one below it, and neither without a capacity.
 */
function checkCapacity(level: Level): LevelRuleViolation[] {
  const at = label(level);
  const capacity = level.capacityBytes ?? null;
  const high = level.highWatermark ?? null;
  const low = level.lowWatermark ?? null;
  const problems: string[] = [];
  if (capacity === null) {
    if (high !== null || low !== null) {
      problems.push('watermarks need a capacity: give capacityBytes or remove the watermarks');
    }
  } else {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) {
      problems.push(`capacityBytes ${show(capacity)} must be a positive whole number of bytes`);
    }
    const highOk = high === null || (Number.isInteger(high) && high >= 1 && high <= 100);
    if (!highOk) {
      problems.push(`highWatermark ${show(high)} must be a whole percent from 1 to 100`);
    }
    const effectiveHigh = highOk ? (high ?? DEFAULT_HIGH_WATERMARK) : null;
    if (low !== null && (!Number.isInteger(low) || low < 0 || low > 99)) {
      problems.push(`lowWatermark ${show(low)} must be a whole percent from 0 to 99`);
    } else if (low !== null && effectiveHigh !== null && low >= effectiveHigh) {
      problems.push(
        `lowWatermark ${low} must be below the high watermark ${effectiveHigh}: demotions empty a tier above its high watermark down to its low one`,
      );
    }
  }
  return problems.map((problem) => violation(level, 'invalid-capacity', `${at}: ${problem}`));
}

function checkUniqueNames(sorted: readonly Level[]): LevelRuleViolation[] {
  const counts = new Map<string, { level: Level; uses: number }>();
  for (const level of sorted) {
    const seen = counts.get(level.name);
    if (seen === undefined) counts.set(level.name, { level, uses: 1 });
    else seen.uses += 1;
  }
  return [...counts.values()]
    .filter(({ uses }) => uses > 1)
    .map(({ level, uses }) =>
      violation(
        level,
        'duplicate-name',
        `${label(level)}: the name is used by ${uses} levels; level names must be unique`,
      ),
    );
}

function checkUniquePaths(sorted: readonly Level[]): LevelRuleViolation[] {
  const owners = new Map<string, Level>();
  const errors: LevelRuleViolation[] = [];
  for (const level of sorted) {
    if (tierPathProblem(level.path) !== null) continue;
    // Valid tier paths are in normal form: only the optional trailing '/' tells two spellings apart.
    const key = tierPathKey(level.path);
    const owner = owners.get(key);
    if (owner === undefined) {
      owners.set(key, level);
    } else {
      errors.push(
        violation(
          level,
          'duplicate-path',
          `${label(level)}: path ${show(level.path)} is also the directory of ${show(owner.name)}; each level needs its own directory`,
        ),
      );
    }
  }
  return errors;
}

/** Assumes every level has valid counts with min <= max, sorted by `compareLevels`. */
function checkPartition(sorted: readonly Level[]): LevelRuleViolation[] {
  const errors: LevelRuleViolation[] = [];
  const [first, ...rest] = sorted;
  if (first === undefined) return errors;

  if (first.minCount !== 0) {
    errors.push(
      violation(
        first,
        'starts-at-zero',
        `${label(first)}: min_counts ${first.minCount} must be 0; the lowest level must start at 0 so every count has a level`,
      ),
    );
  }

  // `reach` is the level with the highest max so far; comparing against it (not only the
  // predecessor) catches a level that overlaps a wider one further back.
  let reach = first;
  for (const [index, next] of rest.entries()) {
    const before = sorted[index] ?? reach;
    if (before.maxCount === null) {
      errors.push(
        violation(
          before,
          'unbounded-not-last',
          `${label(before)}: max_counts is NULL (unbounded) but level ${show(next.name)} starts at min_counts ${next.minCount} after it; only the last level may be unbounded`,
        ),
      );
    }
    if (reach.maxCount !== null) {
      const expected = reach.maxCount + 1;
      if (next.minCount > expected) {
        errors.push(
          violation(
            next,
            'gap',
            `${label(next)}: min_counts ${next.minCount} leaves a gap after ${show(reach.name)} (max_counts ${reach.maxCount}); the next level must start at ${expected}`,
          ),
        );
      } else if (next.minCount < expected) {
        errors.push(
          violation(
            next,
            'overlap',
            `${label(next)}: min_counts ${next.minCount} overlaps ${show(reach.name)} (max_counts ${reach.maxCount}); the next level must start at ${expected}`,
          ),
        );
      }
      if (next.maxCount === null || next.maxCount > reach.maxCount) reach = next;
    }
  }
  return errors;
}

/** Orders by minCount, then maxCount (unbounded last), then name and path: a total order. */
function compareLevels(a: Level, b: Level): number {
  return (
    compareNumbers(sortKey(a.minCount), sortKey(b.minCount)) ||
    compareNumbers(sortKey(a.maxCount ?? Infinity), sortKey(b.maxCount ?? Infinity)) ||
    compareStrings(String(a.name), String(b.name)) ||
    compareStrings(String(a.path), String(b.path))
  );
}

function sortKey(value: unknown): number {
  // Malformed counts sort last so the comparator stays consistent (NaN would break sort).
  return typeof value === 'number' && !Number.isNaN(value) ? value : Infinity;
}

function compareNumbers(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function compareStrings(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function hasValidCounts(level: Level): boolean {
  return (
    isCount(level.minCount) &&
    (level.maxCount === null || (isCount(level.maxCount) && level.minCount <= level.maxCount))
  );
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isValidName(name: unknown): boolean {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

function label(level: Level): string {
  return `level ${show(level.name)}`;
}

/** Renders a value for a message; JSON quoting keeps control characters out of logs. */
function show(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}

function violation(level: Level | null, rule: LevelRule, message: string): LevelRuleViolation {
  const name = level === null || typeof level.name !== 'string' ? null : level.name;
  return { level: name, rule, message };
}

/**
 * A frozen copy with the capacity normalised: a level with a capacity carries all three fields
 * (default watermarks filled in), a level without one carries none of them.
 */
function copyFrozen(level: Level): Level {
  const base = {
    name: level.name,
    minCount: level.minCount,
    maxCount: level.maxCount,
    path: level.path,
  };
  const capacityBytes = level.capacityBytes ?? null;
  if (capacityBytes === null) return Object.freeze(base);
  const highWatermark = level.highWatermark ?? DEFAULT_HIGH_WATERMARK;
  return Object.freeze({
    ...base,
    capacityBytes,
    highWatermark,
    lowWatermark: level.lowWatermark ?? defaultLowWatermark(highWatermark),
  });
}
