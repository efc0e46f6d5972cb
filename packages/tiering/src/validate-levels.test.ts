import { describe, expect, it } from 'vitest';
import { InvalidLevelsError } from './invalid-levels-error.ts';
import type { Level } from './level.ts';
import { LEVEL_RULES } from './level-rule.ts';
import type { LevelRule } from './level-rule.ts';
import { assertValidLevels, validateLevels } from './validate-levels.ts';
import { DEFAULT_HIGH_WATERMARK, DEFAULT_LOW_WATERMARK, tierCapacity } from './level.ts';

const BRONZE: Level = { name: 'bronze', minCount: 0, maxCount: 999, path: '/data/bronze' };
const SILVER: Level = { name: 'silver', minCount: 1000, maxCount: 1999, path: '/data/silver' };
const GOLD: Level = { name: 'gold', minCount: 2000, maxCount: null, path: '/data/gold' };
const SEED_LEVELS: readonly Level[] = [BRONZE, SILVER, GOLD];

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [
      item,
      ...rest,
    ]),
  );
}

interface RuleCase {
  rule: LevelRule;
  title: string;
  levels: Level[];
  level: string | null;
  message: RegExp;
}

const RULE_CASES: RuleCase[] = [
  {
    rule: 'empty',
    title: 'refuses an empty table',
    levels: [],
    level: null,
    message: /level table is empty/,
  },
  {
    rule: 'starts-at-zero',
    title: 'refuses a table whose lowest level does not start at 0',
    levels: [{ ...BRONZE, minCount: 1 }, SILVER, GOLD],
    level: 'bronze',
    message: /^level "bronze": min_counts 1 must be 0/,
  },
  {
    rule: 'gap',
    title: 'refuses a gap between two levels',
    levels: [BRONZE, { ...SILVER, minCount: 1001 }, GOLD],
    level: 'silver',
    message:
      /^level "silver": min_counts 1001 leaves a gap after "bronze" \(max_counts 999\); the next level must start at 1000$/,
  },
  {
    rule: 'overlap',
    title: 'refuses two levels that overlap',
    levels: [BRONZE, { ...SILVER, minCount: 900 }, GOLD],
    level: 'silver',
    message: /^level "silver": min_counts 900 overlaps "bronze" \(max_counts 999\)/,
  },
  {
    rule: 'unbounded-not-last',
    title: 'refuses an unbounded level that is not the last',
    levels: [BRONZE, { ...SILVER, maxCount: null }, GOLD],
    level: 'silver',
    message: /^level "silver": max_counts is NULL \(unbounded\) but level "gold"/,
  },
  {
    rule: 'invalid-capacity',
    title: 'refuses a low watermark at or above the high one',
    levels: [BRONZE, SILVER, { ...GOLD, capacityBytes: 1000, highWatermark: 70, lowWatermark: 70 }],
    level: 'gold',
    message: /^level "gold": lowWatermark 70 must be below the high watermark 70/,
  },
  {
    rule: 'duplicate-name',
    title: 'refuses two levels with the same name',
    levels: [BRONZE, SILVER, { ...GOLD, name: 'silver' }],
    level: 'silver',
    message: /^level "silver": the name is used by 2 levels/,
  },
  {
    rule: 'duplicate-path',
    title: 'refuses two levels sharing a directory',
    levels: [BRONZE, SILVER, { ...GOLD, path: '/data/silver/' }],
    level: 'gold',
    message: /^level "gold": path "\/data\/silver\/" is also the directory of "silver"/,
  },
  {
    rule: 'invalid-name',
    title: 'refuses a name outside [A-Za-z0-9_-]',
    levels: [BRONZE, SILVER, { ...GOLD, name: 'gold tier' }],
    level: 'gold tier',
    message: /^level "gold tier": the name must be 1-64 characters/,
  },
  {
    rule: 'invalid-path',
    title: 'refuses a relative path',
    levels: [BRONZE, SILVER, { ...GOLD, path: 'data/gold' }],
    level: 'gold',
    message: /^level "gold": path "data\/gold" must be an absolute path/,
  },
  {
    rule: 'invalid-count',
    title: 'refuses a count that is not a non-negative safe integer',
    levels: [BRONZE, { ...SILVER, maxCount: 1999.5 }, GOLD],
    level: 'silver',
    message: /^level "silver": max_counts 1999.5 must be a non-negative safe integer/,
  },
  {
    rule: 'min-above-max',
    title: 'refuses a level whose min is above its max',
    levels: [BRONZE, { ...SILVER, maxCount: 900 }, GOLD],
    level: 'silver',
    message: /^level "silver": min_counts 1000 is above max_counts 900$/,
  },
];

describe('validateLevels', () => {
  it('accepts the seed table and returns it sorted by minCount and frozen', () => {
    const result = validateLevels([GOLD, BRONZE, SILVER]);
    expect(result).toEqual({ ok: true, levels: SEED_LEVELS });
    if (!result.ok) return;
    expect(Object.isFrozen(result.levels)).toBe(true);
    expect(result.levels.every((level) => Object.isFrozen(level))).toBe(true);
  });

  it('accepts the 2018 table as stored (bounded gold, trailing slashes, unsorted rows)', () => {
    const stored: Level[] = [
      { name: 'bronze', minCount: 0, maxCount: 999, path: '/etc/inisoft/redis_project/bronze/' },
      { name: 'gold', minCount: 2000, maxCount: 10_000_000, path: '/srv/redis_project/gold/' },
      { name: 'silver', minCount: 1000, maxCount: 1999, path: '/var/www/redis_project/silver/' },
    ];
    const result = validateLevels(stored);
    expect(result.ok && result.levels.map((level) => level.name)).toEqual([
      'bronze',
      'silver',
      'gold',
    ]);
  });

  it('accepts a single unbounded level and a single bounded level', () => {
    expect(validateLevels([{ ...BRONZE, maxCount: null }]).ok).toBe(true);
    expect(validateLevels([BRONZE]).ok).toBe(true);
  });

  it('does not freeze or reorder the caller’s array', () => {
    const input = [GOLD, BRONZE, SILVER];
    validateLevels(input);
    expect(input).toEqual([GOLD, BRONZE, SILVER]);
    expect(Object.isFrozen(input)).toBe(false);
    expect(Object.isFrozen(GOLD)).toBe(false);
  });

  it('gives the same answer for every order of the same table', () => {
    for (const order of permutations(SEED_LEVELS)) {
      expect(validateLevels(order)).toEqual({ ok: true, levels: SEED_LEVELS });
    }
    const broken = [
      BRONZE,
      { ...SILVER, minCount: 1001, name: 'silver!' },
      { ...GOLD, maxCount: 5 },
    ];
    const expected = validateLevels(broken);
    expect(expected.ok).toBe(false);
    for (const order of permutations(broken)) {
      expect(validateLevels(order)).toEqual(expected);
    }
  });

  it.each([
    ['/data/./gold', /must not contain '\.' or '\.\.' segments/],
    ['/data/../gold', /must not contain '\.' or '\.\.' segments/],
    ['/data//gold', /must not contain '\/\/'/],
    ['/', /must not be the root directory/],
  ])('refuses the path %s, which the relocator could not use', (bad, message) => {
    const result = validateLevels([BRONZE, SILVER, { ...GOLD, path: bad }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.rule)).toEqual(['invalid-path']);
    expect(result.errors[0]?.message).toMatch(message);
  });

  it('has one case below for every rule', () => {
    expect(RULE_CASES.map((c) => c.rule).sort()).toEqual([...LEVEL_RULES].sort());
  });

  it.each(RULE_CASES)('$rule: $title, naming the offending level', (c) => {
    const result = validateLevels(c.levels);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors;
    expect(error).toMatchObject({ rule: c.rule, level: c.level });
    expect(error?.message).toMatch(c.message);
  });

  it.each([
    ['an empty name', ''],
    ['a 65-character name', 'a'.repeat(65)],
    ['a name with a slash', 'gold/x'],
    ['a name with a control character', 'gold\n'],
  ])('refuses %s', (_title, name) => {
    const result = validateLevels([BRONZE, SILVER, { ...GOLD, name }]);
    expect(!result.ok && result.errors.map((e) => e.rule)).toEqual(['invalid-name']);
  });

  it('accepts a 64-character name of letters, digits, _ and -', () => {
    const name = `${'a'.repeat(30)}_B-9${'z'.repeat(30)}`;
    expect(validateLevels([BRONZE, SILVER, { ...GOLD, name }]).ok).toBe(true);
  });

  it.each([
    ['an empty path', ''],
    ['a path with a .. segment', '/data/../etc'],
    ['a path ending in ..', '/data/..'],
    ['a path with NUL', '/data/go\0ld'],
  ])('refuses %s', (_title, path) => {
    const result = validateLevels([BRONZE, SILVER, { ...GOLD, path }]);
    expect(!result.ok && result.errors.map((e) => e.rule)).toEqual(['invalid-path']);
  });

  it('accepts paths that only contain dots inside names', () => {
    expect(validateLevels([BRONZE, SILVER, { ...GOLD, path: '/data/..gold/v1.2' }]).ok).toBe(true);
  });

  it.each([
    ['a negative min', { minCount: -1 }],
    ['a NaN min', { minCount: Number.NaN }],
    ['an unsafe max', { maxCount: Number.MAX_SAFE_INTEGER + 1 }],
    ['an infinite max', { maxCount: Number.POSITIVE_INFINITY }],
  ])('refuses %s as invalid-count', (_title, patch) => {
    const result = validateLevels([BRONZE, { ...SILVER, ...patch }, GOLD]);
    expect(!result.ok && result.errors.map((e) => [e.level, e.rule])).toEqual([
      ['silver', 'invalid-count'],
    ]);
  });

  it('reports an overlap with a wider level further back, not only the predecessor', () => {
    const result = validateLevels([
      { ...BRONZE, maxCount: 100 },
      { ...SILVER, minCount: 10, maxCount: 20 },
      { ...GOLD, minCount: 21 },
    ]);
    expect(!result.ok && result.errors.map((e) => [e.level, e.rule])).toEqual([
      ['silver', 'overlap'],
      ['gold', 'overlap'],
    ]);
  });

  it('reports two levels starting at the same count as an overlap', () => {
    const result = validateLevels([BRONZE, SILVER, { ...GOLD, minCount: 1000 }]);
    expect(!result.ok && result.errors.map((e) => [e.level, e.rule])).toEqual([
      ['gold', 'overlap'],
    ]);
  });

  it('reports every problem at once', () => {
    const result = validateLevels([
      { ...BRONZE, name: 'bronze ' },
      { ...SILVER, path: 'silver' },
      { ...GOLD, minCount: 2500 },
    ]);
    expect(!result.ok && result.errors.map((e) => [e.level, e.rule])).toEqual([
      ['bronze ', 'invalid-name'],
      ['silver', 'invalid-path'],
      ['gold', 'gap'],
    ]);
  });
});

describe('assertValidLevels', () => {
  it('returns the table sorted by minCount', () => {
    expect(assertValidLevels([SILVER, GOLD, BRONZE])).toEqual(SEED_LEVELS);
  });

  it('throws an InvalidLevelsError with code INVALID_LEVELS and every violation', () => {
    const broken = [BRONZE, { ...SILVER, minCount: 1001 }, { ...GOLD, name: '' }];
    let caught: unknown;
    try {
      assertValidLevels(broken);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidLevelsError);
    expect(caught).toBeInstanceOf(Error);
    if (!(caught instanceof InvalidLevelsError)) return;
    expect(caught.code).toBe('INVALID_LEVELS');
    expect(caught.name).toBe('InvalidLevelsError');
    expect(caught.violations.map((v) => v.rule)).toEqual(['invalid-name', 'gap']);
    for (const violation of caught.violations) expect(caught.message).toContain(violation.message);
  });
});

describe('validateLevels: tier capacity', () => {
  it('fills in the default watermarks of a tier given only a capacity', () => {
    const result = validateLevels([BRONZE, SILVER, { ...GOLD, capacityBytes: 1_000_000 }]);
    expect(result.ok && result.levels[2]).toEqual({
      ...GOLD,
      capacityBytes: 1_000_000,
      highWatermark: DEFAULT_HIGH_WATERMARK,
      lowWatermark: DEFAULT_LOW_WATERMARK,
    });
  });

  it('puts the default low watermark 10 points under a high one below 90', () => {
    const result = validateLevels([
      BRONZE,
      SILVER,
      { ...GOLD, capacityBytes: 10, highWatermark: 50 },
    ]);
    expect(result.ok && result.levels[2]?.lowWatermark).toBe(40);
    const tiny = validateLevels([BRONZE, SILVER, { ...GOLD, capacityBytes: 10, highWatermark: 5 }]);
    expect(tiny.ok && tiny.levels[2]?.lowWatermark).toBe(0);
  });

  it('leaves a level without capacity without capacity fields (null counts as absent)', () => {
    const result = validateLevels([
      { ...BRONZE, capacityBytes: null, highWatermark: null, lowWatermark: null },
      SILVER,
      GOLD,
    ]);
    expect(result).toEqual({ ok: true, levels: SEED_LEVELS });
  });

  it.each([
    [{ capacityBytes: 0 }, /capacityBytes 0 must be a positive whole number of bytes/],
    [{ capacityBytes: 1.5 }, /capacityBytes 1.5 must be a positive whole number/],
    [
      { capacityBytes: 100, highWatermark: 0 },
      /highWatermark 0 must be a whole percent from 1 to 100/,
    ],
    [{ capacityBytes: 100, highWatermark: 101 }, /highWatermark 101 must be/],
    [
      { capacityBytes: 100, lowWatermark: -1 },
      /lowWatermark -1 must be a whole percent from 0 to 99/,
    ],
    [
      { capacityBytes: 100, lowWatermark: 95 },
      /lowWatermark 95 must be below the high watermark 90/,
    ],
    [{ highWatermark: 80 }, /watermarks need a capacity/],
    [{ lowWatermark: 10 }, /watermarks need a capacity/],
  ])('refuses %o on a level', (capacity, message) => {
    const result = validateLevels([BRONZE, SILVER, { ...GOLD, ...capacity }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.rule)).toEqual(['invalid-capacity']);
    expect(result.errors[0]?.message).toMatch(message);
  });
});

describe('tierCapacity', () => {
  it('turns watermarks into byte limits, rounded down', () => {
    expect(
      tierCapacity({ ...GOLD, capacityBytes: 1001, highWatermark: 90, lowWatermark: 50 }),
    ).toEqual({
      capacityBytes: 1001,
      highWatermark: 90,
      lowWatermark: 50,
      highBytes: 900,
      lowBytes: 500,
    });
  });

  it('is null for a level without capacity', () => {
    expect(tierCapacity(GOLD)).toBeNull();
  });
});
