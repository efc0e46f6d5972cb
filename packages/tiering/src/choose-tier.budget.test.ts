import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  budgetAllows,
  chooseTier,
  DEFAULT_FLAP_BUDGET,
  explainMove,
  targetLevel,
  type ChooseTierOptions,
  type FlapBudget,
  type RecentMove,
} from './choose-tier.ts';
import type { Level } from './level.ts';

const PARAMS = { seed: 7, numRuns: 300 };
const HOUR = 3_600_000;

const LEVELS: readonly Level[] = [
  { name: 'bronze', minCount: 0, maxCount: 999, path: '/d/bronze' },
  { name: 'silver', minCount: 1000, maxCount: 1999, path: '/d/silver' },
  { name: 'gold', minCount: 2000, maxCount: null, path: '/d/gold' },
];

/** Posts one count after another through chooseTier, moving at once on `move`, like the relocator. */
function simulate(
  posts: readonly { at: number; count: number }[],
  start: string,
  options: ChooseTierOptions,
  pin: string | null = null,
): { level: string; moves: RecentMove[] } {
  let level = start;
  const moves: RecentMove[] = [];
  for (const post of posts) {
    const decision = chooseTier({
      count: post.count,
      levels: LEVELS,
      current: level,
      options,
      now: post.at,
      lastMovedAt: moves.at(-1)?.at ?? null,
      pin,
      recentMoves: moves,
    });
    if (decision.kind === 'move') {
      moves.push({ at: post.at, from: level, to: decision.to });
      level = decision.to;
    }
  }
  return { level, moves };
}

/**
 * {@link simulate}, then what a held job does after the last post: it tries again at
 * `allowedAt` with the latest count, until the policy lets it move or it stays.
 */
function simulateAndSettle(
  posts: readonly { at: number; count: number }[],
  start: string,
  options: ChooseTierOptions,
): { level: string; moves: RecentMove[] } {
  const result = simulate(posts, start, options);
  const last = posts.at(-1);
  if (!last) return result;
  let { level } = result;
  const moves = [...result.moves];
  let now = last.at;
  for (let i = 0; i < 10; i += 1) {
    const decision = chooseTier({
      count: last.count,
      levels: LEVELS,
      current: level,
      options,
      now,
      lastMovedAt: moves.at(-1)?.at ?? null,
      recentMoves: moves,
    });
    if (decision.kind === 'stay') break;
    if (decision.kind === 'wait') {
      now = decision.allowedAt;
      continue;
    }
    moves.push({ at: now, from: level, to: decision.to });
    level = decision.to;
  }
  return { level, moves };
}

/** Posts at increasing times (1 ms – 10 min apart) over `counts`. */
function timed(counts: fc.Arbitrary<number[]>): fc.Arbitrary<{ at: number; count: number }[]> {
  return counts.chain((cs) =>
    fc
      .array(fc.integer({ min: 1, max: 600_000 }), { minLength: cs.length, maxLength: cs.length })
      .map((gaps) => {
        let at = 1_700_000_000_000;
        return cs.map((count, i) => {
          at += gaps[i] ?? 1;
          return { at, count };
        });
      }),
  );
}

const budgetArb: fc.Arbitrary<FlapBudget> = fc.record({
  moves: fc.integer({ min: 1, max: 6 }),
  windowMs: fc.integer({ min: 1000, max: 2 * HOUR }),
});

describe('the flap budget', () => {
  it('never lets a flapping count move a content more often than the budget allows in any window', () => {
    fc.assert(
      fc.property(
        timed(fc.array(fc.integer({ min: 980, max: 1020 }), { minLength: 1, maxLength: 200 })),
        budgetArb,
        (posts, budget) => {
          const { moves } = simulate(posts, 'bronze', { flapBudget: budget });
          for (const move of moves) {
            const inWindow = moves.filter(
              (m) => m.at > move.at - budget.windowMs && m.at <= move.at,
            );
            expect(inWindow.length).toBeLessThanOrEqual(budget.moves);
          }
        },
      ),
      PARAMS,
    );
  });

  it('leaves a content that spent its budget on the higher of the two tiers (budget of 2 or more)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 20, max: 200 }), (moves, n) => {
        // Alternating counts a minute apart: far more flips than the budget in one hour.
        const posts = Array.from({ length: n }, (_, i) => ({
          at: 1_700_000_000_000 + i * 60_000,
          count: i % 2 === 0 ? 1005 : 995,
        }));
        const budget = { moves, windowMs: 10 * HOUR };
        const result = simulate(posts, 'bronze', { flapBudget: budget });
        expect(result.moves.length).toBeLessThanOrEqual(moves);
        expect(result.level).toBe('silver');
      }),
      PARAMS,
    );
  });

  it('always moves a content whose count climbs or falls monotonically far past a boundary (at once, or when its held job tries again)', () => {
    fc.assert(
      fc.property(
        timed(
          fc
            .array(fc.integer({ min: 0, max: 5000 }), { minLength: 2, maxLength: 100 })
            .map((cs) => [...cs].sort((a, b) => a - b)),
        ),
        fc.boolean(),
        budgetArb,
        fc.integer({ min: 0, max: 50 }),
        (rising, down, budget, hysteresis) => {
          const posts = down
            ? [...rising].reverse().map((p, i) => ({ ...p, at: rising[i]?.at ?? p.at }))
            : rising;
          const first = posts[0];
          const last = posts.at(-1);
          if (!first || !last) return;
          const start = targetLevel(first.count, LEVELS).name;
          const result = simulateAndSettle(posts, start, { flapBudget: budget, hysteresis });
          const wanted = targetLevel(last.count, LEVELS);
          const far =
            last.count >= wanted.minCount + hysteresis + 1 &&
            (wanted.maxCount === null || last.count <= wanted.maxCount - hysteresis - 1);
          if (far) expect(result.level).toBe(wanted.name);
        },
      ),
      PARAMS,
    );
  });

  it('lets a pin move the content whatever the budget (pins override the policy)', () => {
    const moves: RecentMove[] = Array.from({ length: 4 }, (_, i) => ({
      at: 1000 + i,
      from: i % 2 === 0 ? 'bronze' : 'silver',
      to: i % 2 === 0 ? 'silver' : 'bronze',
    }));
    const decision = chooseTier({
      count: 5,
      levels: LEVELS,
      current: 'bronze',
      options: { flapBudget: DEFAULT_FLAP_BUDGET },
      now: 2000,
      pin: 'gold',
      recentMoves: moves,
    });
    expect(decision).toEqual({ kind: 'move', from: 'bronze', to: 'gold', reason: 'pinned' });
  });

  it('holds a demotion until enough moves leave the window, saying when', () => {
    const budget = { moves: 4, windowMs: HOUR };
    const at = [0, 10, 20].map((m) => 1_700_000_000_000 + m * 60_000);
    const recent = at.map((t, i) => ({ at: t, from: 'x', to: String(i) }));
    const now = at[2]! + 60_000;
    // Three moves in the hour: a promotion may still go (the 4th), a demotion may not.
    expect(budgetAllows(budget, recent, now, true)).toBeNull();
    expect(budgetAllows(budget, recent, now, false)).toBe(at[0]! + HOUR);
    expect(
      chooseTier({
        count: 10,
        levels: LEVELS,
        current: 'silver',
        options: { flapBudget: budget },
        now,
        recentMoves: recent,
      }),
    ).toEqual({
      kind: 'wait',
      from: 'silver',
      to: 'bronze',
      allowedAt: at[0]! + HOUR,
      rule: 'flap-budget',
    });
    // Without the history (the gateway's hot path) the budget is not applied.
    expect(
      chooseTier({
        count: 10,
        levels: LEVELS,
        current: 'silver',
        options: { flapBudget: budget },
        now,
      }),
    ).toMatchObject({ kind: 'move', to: 'bronze' });
  });

  it('keeps the seed walk-through: first move at once, the demotion at 356 too', () => {
    const options = { flapBudget: DEFAULT_FLAP_BUDGET };
    const result = simulate(
      [
        { at: 1_000, count: 1964 },
        { at: 2_000, count: 356 },
      ],
      'bronze',
      options,
    );
    expect(result.moves.map((m) => m.to)).toEqual(['silver', 'bronze']);
  });
});

describe('hysteresis as a percent of the boundary, residence per level', () => {
  it('puts the band at a percent of the boundary crossed, rounded up', () => {
    const options = { hysteresisPercent: 2 };
    // Leaving bronze upwards: boundary 1000, band 20.
    expect(chooseTier({ count: 1019, levels: LEVELS, current: 'bronze', options })).toMatchObject({
      kind: 'stay',
      reason: 'within-hysteresis',
    });
    expect(chooseTier({ count: 1020, levels: LEVELS, current: 'bronze', options })).toMatchObject({
      kind: 'move',
      to: 'silver',
    });
    // Leaving gold downwards: boundary 2000, band 40.
    expect(chooseTier({ count: 1960, levels: LEVELS, current: 'gold', options })).toMatchObject({
      kind: 'stay',
    });
    expect(chooseTier({ count: 1959, levels: LEVELS, current: 'gold', options })).toMatchObject({
      kind: 'move',
      to: 'silver',
    });
    expect(
      explainMove({ count: 1959, levels: LEVELS, current: 'gold', options }, 'silver'),
    ).toEqual({
      count: 1959,
      boundary: { level: 'gold', edge: 'min', count: 2000, band: 40, threshold: 1959 },
      policy: { hysteresis: 0, hysteresisPercent: 2, minResidenceMs: 0, flapBudget: null },
    });
  });

  it("keeps a content on a level for that level's own minimum residence", () => {
    const options = { minResidenceMs: 1000, minResidenceByLevel: { gold: HOUR } };
    const base = { levels: LEVELS, options, lastMovedAt: 0, now: 10_000 };
    expect(chooseTier({ ...base, count: 10, current: 'gold' })).toEqual({
      kind: 'wait',
      from: 'gold',
      to: 'bronze',
      allowedAt: HOUR,
      rule: 'residence',
    });
    // silver has the default residence (1 s), long past.
    expect(chooseTier({ ...base, count: 10, current: 'silver' })).toMatchObject({ kind: 'move' });
  });

  it('finds no residence inherited from Object for a level named like one of its properties', () => {
    const levels = LEVELS.map((l) => (l.name === 'gold' ? { ...l, name: 'constructor' } : l));
    const decision = chooseTier({
      count: 10,
      levels,
      current: 'constructor',
      options: { minResidenceByLevel: { silver: HOUR } },
      lastMovedAt: 0,
      now: 1,
    });
    expect(decision).toMatchObject({ kind: 'move', to: 'bronze' });
  });
});
