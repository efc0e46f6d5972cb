import { describe, expect, it } from 'vitest';
import { chooseTier, targetLevel } from './choose-tier.ts';
import type { ChooseTierInput, TierDecision } from './choose-tier.ts';
import type { Level } from './level.ts';

const BRONZE: Level = { name: 'bronze', minCount: 0, maxCount: 999, path: '/data/bronze' };
const SILVER: Level = { name: 'silver', minCount: 1000, maxCount: 1999, path: '/data/silver' };
const GOLD: Level = { name: 'gold', minCount: 2000, maxCount: null, path: '/data/gold' };
const SEED_LEVELS: readonly Level[] = [BRONZE, SILVER, GOLD];
const BOUNDED_GOLD_LEVELS: readonly Level[] = [BRONZE, SILVER, { ...GOLD, maxCount: 3001 }];

function decide(
  count: number,
  current: string | null,
  extra: Partial<ChooseTierInput> = {},
): TierDecision {
  return chooseTier({ count, current, levels: SEED_LEVELS, ...extra });
}

describe('targetLevel', () => {
  it.each([
    [0, 'bronze'],
    [1, 'bronze'],
    [356, 'bronze'],
    [998, 'bronze'],
    [999, 'bronze'],
    [1000, 'silver'],
    [1001, 'silver'],
    [1548, 'silver'],
    [1999, 'silver'],
    [2000, 'gold'],
    [2342, 'gold'],
    [10_000_000, 'gold'],
    [Number.MAX_SAFE_INTEGER, 'gold'],
  ])('puts count %i on %s with the seed table', (count, expected) => {
    expect(targetLevel(count, SEED_LEVELS).name).toBe(expected);
  });

  it('gives the same answer whatever the order of the table', () => {
    const reversed = [...SEED_LEVELS].reverse();
    for (const count of [0, 999, 1000, 1999, 2000, 123_456]) {
      expect(targetLevel(count, reversed)).toBe(targetLevel(count, SEED_LEVELS));
    }
  });

  it.each([
    [2000, 'gold'],
    [3001, 'gold'],
    [3002, 'gold'],
    [5000, 'gold'],
    [Number.MAX_SAFE_INTEGER, 'gold'],
  ])('sends count %i to the top tier when the top tier is bounded at 3001', (count, expected) => {
    expect(targetLevel(count, BOUNDED_GOLD_LEVELS).name).toBe(expected);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'throws a RangeError for count %s',
    (count) => {
      expect(() => targetLevel(count, SEED_LEVELS)).toThrow(RangeError);
    },
  );

  it('throws a RangeError for an empty table', () => {
    expect(() => targetLevel(0, [])).toThrow(RangeError);
  });

  it('throws a RangeError when the count falls in a gap of a broken table', () => {
    expect(() => targetLevel(1500, [BRONZE, GOLD])).toThrow(/no level contains count 1500/);
  });
});

describe('chooseTier with the seed behaviour (no options)', () => {
  it.each<[string, number, TierDecision]>([
    ['gold', 2342, { kind: 'stay', level: 'gold', reason: 'on-target' }],
    ['silver', 1548, { kind: 'stay', level: 'silver', reason: 'on-target' }],
    ['bronze', 356, { kind: 'stay', level: 'bronze', reason: 'on-target' }],
    ['bronze', 1964, { kind: 'move', from: 'bronze', to: 'silver', reason: 'promote' }],
    ['bronze', 0, { kind: 'stay', level: 'bronze', reason: 'on-target' }],
    ['bronze', 999, { kind: 'stay', level: 'bronze', reason: 'on-target' }],
    ['bronze', 1000, { kind: 'move', from: 'bronze', to: 'silver', reason: 'promote' }],
    ['silver', 999, { kind: 'move', from: 'silver', to: 'bronze', reason: 'demote' }],
    ['silver', 1000, { kind: 'stay', level: 'silver', reason: 'on-target' }],
    ['silver', 1999, { kind: 'stay', level: 'silver', reason: 'on-target' }],
    ['silver', 2000, { kind: 'move', from: 'silver', to: 'gold', reason: 'promote' }],
    ['gold', 1999, { kind: 'move', from: 'gold', to: 'silver', reason: 'demote' }],
    ['gold', 2000, { kind: 'stay', level: 'gold', reason: 'on-target' }],
    ['gold', 0, { kind: 'move', from: 'gold', to: 'bronze', reason: 'demote' }],
    ['bronze', 5_000_000, { kind: 'move', from: 'bronze', to: 'gold', reason: 'promote' }],
    ['gold', Number.MAX_SAFE_INTEGER, { kind: 'stay', level: 'gold', reason: 'on-target' }],
  ])('content on %s with count %i', (current, count, expected) => {
    expect(decide(count, current)).toEqual(expected);
  });

  it('keeps a content on a bounded top tier when its count is above the top max', () => {
    expect(decide(5000, 'gold', { levels: BOUNDED_GOLD_LEVELS })).toEqual({
      kind: 'stay',
      level: 'gold',
      reason: 'on-target',
    });
  });

  it('promotes to a bounded top tier when the count is above the top max', () => {
    expect(decide(5000, 'silver', { levels: BOUNDED_GOLD_LEVELS })).toEqual({
      kind: 'move',
      from: 'silver',
      to: 'gold',
      reason: 'promote',
    });
  });
});

describe('chooseTier with an unknown current level', () => {
  it('moves a content with no current level to its target', () => {
    expect(decide(1964, null)).toEqual({
      kind: 'move',
      from: null,
      to: 'silver',
      reason: 'unknown-current',
    });
  });

  it('moves a content whose current level is not in the table to its target', () => {
    expect(decide(0, 'platinum')).toEqual({
      kind: 'move',
      from: 'platinum',
      to: 'bronze',
      reason: 'unknown-current',
    });
  });

  it('does not delay the repair of an unknown current level by the minimum residence', () => {
    const decision = decide(2342, 'platinum', {
      options: { minResidenceMs: 60_000 },
      lastMovedAt: 1_000,
      now: 2_000,
    });
    expect(decision).toMatchObject({ kind: 'move', to: 'gold', reason: 'unknown-current' });
  });
});

describe('chooseTier with hysteresis', () => {
  const options = { hysteresis: 50 };

  it.each<[string, number, TierDecision]>([
    ['silver', 1500, { kind: 'stay', level: 'silver', reason: 'on-target' }],
    ['silver', 2000, { kind: 'stay', level: 'silver', reason: 'within-hysteresis' }],
    ['silver', 2049, { kind: 'stay', level: 'silver', reason: 'within-hysteresis' }],
    ['silver', 2050, { kind: 'move', from: 'silver', to: 'gold', reason: 'promote' }],
    ['silver', 2051, { kind: 'move', from: 'silver', to: 'gold', reason: 'promote' }],
    ['silver', 999, { kind: 'stay', level: 'silver', reason: 'within-hysteresis' }],
    ['silver', 950, { kind: 'stay', level: 'silver', reason: 'within-hysteresis' }],
    ['silver', 949, { kind: 'move', from: 'silver', to: 'bronze', reason: 'demote' }],
    ['bronze', 1049, { kind: 'stay', level: 'bronze', reason: 'within-hysteresis' }],
    ['bronze', 1050, { kind: 'move', from: 'bronze', to: 'silver', reason: 'promote' }],
    ['gold', 1950, { kind: 'stay', level: 'gold', reason: 'within-hysteresis' }],
    ['gold', 1949, { kind: 'move', from: 'gold', to: 'silver', reason: 'demote' }],
    ['gold', 9_999_999, { kind: 'stay', level: 'gold', reason: 'on-target' }],
  ])('h=50: content on %s with count %i', (current, count, expected) => {
    expect(decide(count, current, { options })).toEqual(expected);
  });

  it('moves straight to the plain target when leaving a band wider than the next tier', () => {
    const wide = { hysteresis: 1500 };
    expect(decide(2499, 'bronze', { options: wide })).toMatchObject({
      kind: 'stay',
      reason: 'within-hysteresis',
    });
    expect(decide(2500, 'bronze', { options: wide })).toEqual({
      kind: 'move',
      from: 'bronze',
      to: 'gold',
      reason: 'promote',
    });
  });

  it('keeps a content on a bounded top tier far above its max', () => {
    expect(decide(10_000, 'gold', { levels: BOUNDED_GOLD_LEVELS, options })).toEqual({
      kind: 'stay',
      level: 'gold',
      reason: 'on-target',
    });
  });
});

describe('chooseTier with a minimum residence', () => {
  const options = { minResidenceMs: 60_000 };
  const lastMovedAt = 1_700_000_000_000;
  const allowedAt = lastMovedAt + 60_000;

  it.each([lastMovedAt, lastMovedAt + 30_000, allowedAt - 1])(
    'waits until lastMovedAt + minResidenceMs when now is %i',
    (now) => {
      expect(decide(2342, 'silver', { options, lastMovedAt, now })).toEqual({
        kind: 'wait',
        from: 'silver',
        to: 'gold',
        allowedAt,
        rule: 'residence',
      });
    },
  );

  it.each([allowedAt, allowedAt + 1, allowedAt + 86_400_000])(
    'moves once the residence has elapsed (now %i)',
    (now) => {
      expect(decide(2342, 'silver', { options, lastMovedAt, now })).toEqual({
        kind: 'move',
        from: 'silver',
        to: 'gold',
        reason: 'promote',
      });
    },
  );

  it('waits before a demotion too', () => {
    expect(decide(10, 'silver', { options, lastMovedAt, now: lastMovedAt })).toEqual({
      kind: 'wait',
      from: 'silver',
      to: 'bronze',
      allowedAt,
      rule: 'residence',
    });
  });

  it('stays (does not wait) when the content is already on its target', () => {
    expect(decide(1500, 'silver', { options, lastMovedAt, now: lastMovedAt })).toEqual({
      kind: 'stay',
      level: 'silver',
      reason: 'on-target',
    });
  });

  it('stays within the hysteresis band rather than waiting', () => {
    const both = { ...options, hysteresis: 50 };
    expect(decide(2049, 'silver', { options: both, lastMovedAt, now: lastMovedAt })).toEqual({
      kind: 'stay',
      level: 'silver',
      reason: 'within-hysteresis',
    });
    expect(decide(2050, 'silver', { options: both, lastMovedAt, now: lastMovedAt })).toEqual({
      kind: 'wait',
      from: 'silver',
      to: 'gold',
      allowedAt,
      rule: 'residence',
    });
  });

  it('moves at once when the content has never moved or no clock is given', () => {
    const move = { kind: 'move', from: 'silver', to: 'gold', reason: 'promote' };
    expect(decide(2342, 'silver', { options, lastMovedAt: null, now: lastMovedAt })).toEqual(move);
    expect(decide(2342, 'silver', { options, now: lastMovedAt })).toEqual(move);
    expect(decide(2342, 'silver', { options, lastMovedAt })).toEqual(move);
  });

  it('ignores lastMovedAt and now when minResidenceMs is 0 (the default)', () => {
    expect(decide(2342, 'silver', { lastMovedAt, now: lastMovedAt })).toMatchObject({
      kind: 'move',
    });
  });
});

describe('chooseTier programmer errors', () => {
  it.each<[string, Partial<ChooseTierInput> & { count?: number }]>([
    ['a negative count', { count: -1 }],
    ['a fractional count', { count: 1.5 }],
    ['a NaN count', { count: Number.NaN }],
    ['an empty table', { levels: [] }],
    ['a negative hysteresis', { options: { hysteresis: -1 } }],
    ['a NaN minimum residence', { options: { minResidenceMs: Number.NaN } }],
    ['a non-finite now', { options: { minResidenceMs: 1 }, now: Number.POSITIVE_INFINITY }],
    ['a NaN lastMovedAt', { options: { minResidenceMs: 1 }, lastMovedAt: Number.NaN }],
  ])('throws a RangeError for %s', (_title, extra) => {
    expect(() => decide(extra.count ?? 100, 'bronze', extra)).toThrow(RangeError);
  });
});
