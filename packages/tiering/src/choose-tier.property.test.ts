import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseTier, targetLevel } from './choose-tier.ts';
import type { Level } from './level.ts';
import { validateLevels } from './validate-levels.ts';

const PARAMS = { seed: 42, numRuns: 500 };

/** Valid tables of 1..8 levels, sorted by minCount, with random widths and a bounded or unbounded top. */
const levelTable: fc.Arbitrary<Level[]> = fc
  .record({
    widths: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }),
    unboundedTop: fc.boolean(),
  })
  .map(({ widths, unboundedTop }) => {
    let minCount = 0;
    return widths.map((width, index) => {
      const last = index === widths.length - 1;
      const maxCount = minCount + width - 1;
      const level: Level = {
        name: `tier-${index}`,
        minCount,
        maxCount: last && unboundedTop ? null : maxCount,
        path: `/data/tier-${index}`,
      };
      minCount = maxCount + 1;
      return level;
    });
  });

/** Counts biased towards both sides of every boundary, plus anything up to MAX_SAFE_INTEGER. */
function countFor(levels: readonly Level[]): fc.Arbitrary<number> {
  const boundaries = levels.flatMap((level) =>
    level.maxCount === null
      ? [level.minCount - 1, level.minCount]
      : [level.minCount - 1, level.minCount, level.maxCount, level.maxCount + 1],
  );
  const top = levels.at(-1);
  const span = top === undefined ? 0 : (top.maxCount ?? top.minCount) + 1000;
  return fc.oneof(
    fc.constantFrom(...boundaries.filter((count) => count >= 0)),
    fc.integer({ min: 0, max: span }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  );
}

/** A table, a count, a current level (or null / unknown), and the same table shuffled. */
const scenario = levelTable.chain((levels) =>
  fc.record({
    levels: fc.constant(levels),
    shuffled: fc.shuffledSubarray(levels, { minLength: levels.length, maxLength: levels.length }),
    count: countFor(levels),
    current: fc.oneof(
      fc.constantFrom(...levels.map((level) => level.name)),
      fc.constant(null),
      fc.constant('unknown-tier'),
    ),
  }),
);

function contains(level: Level, count: number): boolean {
  return level.minCount <= count && (level.maxCount === null || count <= level.maxCount);
}

describe('tiering properties over random valid level tables', () => {
  it('validateLevels accepts every generated table, shuffled or not, and sorts it back', () => {
    fc.assert(
      fc.property(scenario, ({ levels, shuffled }) => {
        const result = validateLevels(shuffled);
        expect(result).toEqual({ ok: true, levels });
      }),
      PARAMS,
    );
  });

  it('chooses the level containing the count, or the top tier when the count is above its max', () => {
    fc.assert(
      fc.property(scenario, ({ levels, count }) => {
        const chosen = targetLevel(count, levels);
        const top = levels.at(-1);
        const aboveTop = top?.maxCount !== null && top !== undefined && count > top.maxCount;
        if (aboveTop) expect(chosen).toBe(top);
        else expect(contains(chosen, count)).toBe(true);
      }),
      PARAMS,
    );
  });

  it('with options off, decides exactly targetLevel: stay when on it, move to it otherwise', () => {
    fc.assert(
      fc.property(scenario, ({ levels, count, current }) => {
        const target = targetLevel(count, levels).name;
        const decision = chooseTier({ count, levels, current });
        if (current === target) {
          expect(decision).toEqual({ kind: 'stay', level: target, reason: 'on-target' });
        } else {
          expect(decision).toMatchObject({ kind: 'move', from: current, to: target });
        }
      }),
      PARAMS,
    );
  });

  it('does not depend on the order of the table', () => {
    fc.assert(
      fc.property(
        scenario,
        fc.integer({ min: 0, max: 3000 }),
        ({ levels, shuffled, count, current }, hysteresis) => {
          expect(targetLevel(count, shuffled)).toEqual(targetLevel(count, levels));
          const options = { hysteresis, minResidenceMs: 1000 };
          const input = { count, current, options, now: 1500, lastMovedAt: 1000 };
          expect(chooseTier({ ...input, levels: shuffled })).toEqual(
            chooseTier({ ...input, levels }),
          );
        },
      ),
      PARAMS,
    );
  });

  it('with hysteresis, stays inside the band and otherwise moves to the plain target', () => {
    fc.assert(
      fc.property(
        scenario,
        fc.integer({ min: 1, max: 3000 }),
        ({ levels, count, current }, hysteresis) => {
          const decision = chooseTier({ count, levels, current, options: { hysteresis } });
          const from = levels.find((level) => level.name === current);
          const inBand =
            from !== undefined &&
            count >= from.minCount - hysteresis &&
            (from.maxCount === null || count <= from.maxCount + hysteresis);
          if (inBand) expect(decision.kind).toBe('stay');
          else if (decision.kind === 'move')
            expect(decision.to).toBe(targetLevel(count, levels).name);
          else expect(decision).toMatchObject({ kind: 'stay', reason: 'on-target' });
        },
      ),
      PARAMS,
    );
  });

  it('rejects a table once one boundary is shifted', () => {
    const broken = levelTable
      .filter((levels) => levels.length >= 2)
      .chain((levels) =>
        fc.record({
          levels: fc.constant(levels),
          index: fc.integer({ min: 1, max: levels.length - 1 }),
          shift: fc.integer({ min: -500, max: 500 }).filter((shift) => shift !== 0),
        }),
      );
    fc.assert(
      fc.property(broken, ({ levels, index, shift }) => {
        const mutated = levels.map((level, i) =>
          i === index ? { ...level, minCount: Math.max(0, level.minCount + shift) } : level,
        );
        const result = validateLevels(mutated);
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.errors.map((error) => error.rule)).toEqual(
            expect.arrayContaining([expect.stringMatching(/^(gap|overlap|min-above-max)$/)]),
          );
        }
      }),
      PARAMS,
    );
  });
});
