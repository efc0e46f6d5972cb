import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseTier,
  explainMove,
  rateOf,
  type ChooseTierOptions,
  type RecentMove,
} from './choose-tier.ts';
import type { Level } from './level.ts';
import {
  freshLevel,
  observeViews,
  rateAt,
  rateTarget,
  warmUpMs,
  type ViewRatePolicy,
  type ViewRateState,
} from './view-rate.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const PARAMS = { seed: 11, numRuns: 200 };

const LEVELS: readonly Level[] = [
  { name: 'bronze', minCount: 0, maxCount: 1000, path: '/d/bronze' },
  { name: 'silver', minCount: 1001, maxCount: 9999, path: '/d/silver' },
  { name: 'gold', minCount: 10000, maxCount: null, path: '/d/gold' },
];

const POLICY: ViewRatePolicy = {
  halfLifeMs: 6 * HOUR,
  thresholds: {
    silver: { promote: 20, demote: 10 },
    gold: { promote: 100, demote: 50 },
  },
};

const level = (name: string): Level => {
  const found = LEVELS.find((l) => l.name === name);
  if (found === undefined) throw new Error(name);
  return found;
};

/**
 * A content's life under the view-rate policy as the service runs it: each post folds into its
 * rate state and decides (the gateway); every `sweepMs` without a post the relocator's sweep
 * decides with the rate decayed to then. Moves happen at once, under the default flap budget.
 */
function live(
  posts: readonly { at: number; count: number }[],
  start: string,
  until: number,
  sweepMs = MINUTE,
  options: ChooseTierOptions = { viewRate: POLICY, flapBudget: { moves: 4, windowMs: HOUR } },
): { level: string; moves: RecentMove[]; state: ViewRateState | null } {
  let current = start;
  let state: ViewRateState | null = null;
  const moves: RecentMove[] = [];
  const halfLife = options.viewRate?.halfLifeMs ?? POLICY.halfLifeMs;
  const decide = (now: number, count: number): void => {
    const decision = chooseTier({
      count,
      levels: LEVELS,
      current,
      options,
      now,
      recentMoves: moves,
      rate: rateAt(state, now, halfLife),
    });
    if (decision.kind === 'move') {
      moves.push({ at: now, from: current, to: decision.to });
      current = decision.to;
    }
  };
  let next = 0;
  let lastCount = 0;
  const first = posts[0]?.at ?? 0;
  for (let now = first; now <= until; now += sweepMs) {
    while (next < posts.length && (posts[next]?.at ?? Infinity) <= now) {
      const post = posts[next];
      if (post === undefined) break;
      state = observeViews(state, post.count, post.at, halfLife);
      lastCount = post.count;
      decide(post.at, post.count);
      next += 1;
    }
    decide(now, lastCount);
  }
  return { level: current, moves, state };
}

/** Totals growing at `perHour` views an hour, posted every `everyMs` from `start` to `end`. */
function steady(perHour: number, start: number, end: number, everyMs: number, from = 0) {
  const posts: { at: number; count: number }[] = [];
  for (let at = start; at <= end; at += everyMs) {
    posts.push({ at, count: from + Math.floor((perHour * (at - start)) / HOUR) });
  }
  return posts;
}

describe('observeViews and rateAt', () => {
  it('warms up over an eighth of the half-life, then measures a steady rate exactly', () => {
    let state = observeViews(null, 500, 0, POLICY.halfLifeMs);
    expect(state).toEqual({ count: 500, at: 0, rate: null });
    state = observeViews(state, 510, warmUpMs(POLICY.halfLifeMs) - 1, POLICY.halfLifeMs);
    expect(state.rate).toBeNull();
    expect(state.count).toBe(500);
    // 45 minutes at 120 views an hour: 90 views.
    state = observeViews(state, 590, 45 * MINUTE, POLICY.halfLifeMs);
    expect(state.rate).toBeCloseTo(120, 9);
    for (let m = 46; m < 600; m += 1) {
      state = observeViews(state, 500 + 2 * m, m * MINUTE, POLICY.halfLifeMs);
    }
    expect(state.rate).toBeCloseTo(120, 6);
  });

  it('halves the rate of a content nobody watches every half-life', () => {
    const state: ViewRateState = { count: 1000, at: 0, rate: 80 };
    expect(rateAt(state, POLICY.halfLifeMs, POLICY.halfLifeMs)).toBeCloseTo(40, 9);
    expect(rateAt(state, 2 * POLICY.halfLifeMs, POLICY.halfLifeMs)).toBeCloseTo(20, 9);
    // A post bringing no views is the same as reading the rate then.
    const posted = observeViews(state, 1000, POLICY.halfLifeMs, POLICY.halfLifeMs);
    expect(posted.rate).toBeCloseTo(40, 9);
  });

  it('adds no views for a lower or repeated total and never goes back in time', () => {
    const state: ViewRateState = { count: 1000, at: HOUR, rate: 50 };
    const lower = observeViews(state, 900, HOUR, POLICY.halfLifeMs);
    expect(lower).toEqual({ count: 1000, at: HOUR, rate: 50 });
    const earlier = observeViews(state, 1000, 0, POLICY.halfLifeMs);
    expect(earlier.at).toBe(HOUR);
    expect(earlier.rate).toBe(50);
    // Posts in the same millisecond add ln 2 / half-life per view.
    const burst = observeViews(state, 1006, HOUR, POLICY.halfLifeMs);
    expect(burst.rate).toBeCloseTo(50 + (Math.LN2 * 6 * HOUR) / POLICY.halfLifeMs, 9);
  });

  it('splitting the same views over more posts gives nearly the same rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), (parts) => {
        let one: ViewRateState = { count: 0, at: 0, rate: 30 };
        let many = one;
        one = observeViews(one, 60, HOUR, POLICY.halfLifeMs);
        for (let i = 1; i <= parts; i += 1) {
          many = observeViews(
            many,
            Math.round((60 * i) / parts),
            (HOUR * i) / parts,
            POLICY.halfLifeMs,
          );
        }
        expect(Math.abs((many.rate ?? 0) - (one.rate ?? 0))).toBeLessThan(3);
      }),
      PARAMS,
    );
  });
});

describe('rateTarget', () => {
  it('promotes at or above the upper threshold and demotes below the lower one', () => {
    expect(rateTarget(20, LEVELS, level('bronze'), POLICY).level.name).toBe('silver');
    expect(rateTarget(19.9, LEVELS, level('bronze'), POLICY).level.name).toBe('bronze');
    expect(rateTarget(100, LEVELS, level('bronze'), POLICY).level.name).toBe('gold');
    expect(rateTarget(50, LEVELS, level('gold'), POLICY).level.name).toBe('gold');
    expect(rateTarget(49.9, LEVELS, level('gold'), POLICY).level.name).toBe('silver');
    expect(rateTarget(9.9, LEVELS, level('gold'), POLICY).level.name).toBe('bronze');
    expect(rateTarget(10, LEVELS, level('silver'), POLICY).level.name).toBe('silver');
    expect(rateTarget(60, LEVELS, level('silver'), POLICY)).toMatchObject({
      level: { name: 'silver' },
      fresh: { name: 'silver' },
    });
    expect(freshLevel(60, LEVELS, POLICY).name).toBe('silver');
    expect(rateTarget(15, LEVELS, level('bronze'), POLICY).fresh.name).toBe('bronze');
  });

  it('a level without thresholds is neither entered nor left by the rate', () => {
    const noSilver: ViewRatePolicy = {
      ...POLICY,
      thresholds: { gold: { promote: 100, demote: 50 } },
    };
    expect(rateTarget(60, LEVELS, level('bronze'), noSilver).level.name).toBe('bronze');
    expect(rateTarget(0, LEVELS, level('silver'), noSilver).level.name).toBe('silver');
    expect(rateTarget(0, LEVELS, level('gold'), noSilver).level.name).toBe('silver');
    expect(rateTarget(120, LEVELS, level('silver'), noSilver).level.name).toBe('gold');
  });
});

describe('chooseTier with the view-rate policy', () => {
  const options: ChooseTierOptions = { viewRate: POLICY };

  it('stays while the rate is unknown; an unknown level goes where the count calls for', () => {
    expect(chooseTier({ count: 50_000, levels: LEVELS, current: 'bronze', options })).toEqual({
      kind: 'stay',
      level: 'bronze',
      reason: 'rate-unknown',
    });
    expect(chooseTier({ count: 50_000, levels: LEVELS, current: null, options })).toMatchObject({
      kind: 'move',
      to: 'gold',
      reason: 'unknown-current',
    });
    expect(
      chooseTier({ count: 50_000, levels: LEVELS, current: null, options, rate: 0 }),
    ).toMatchObject({ kind: 'move', to: 'bronze' });
  });

  it('decides by the rate, not the count, and calls a stay inside a band within-hysteresis', () => {
    // A huge count with no recent views belongs on bronze by rate.
    expect(
      chooseTier({ count: 50_000, levels: LEVELS, current: 'gold', options, rate: 5 }),
    ).toEqual({ kind: 'move', from: 'gold', to: 'bronze', reason: 'demote' });
    expect(
      chooseTier({ count: 10, levels: LEVELS, current: 'bronze', options, rate: 150 }),
    ).toEqual({
      kind: 'move',
      from: 'bronze',
      to: 'gold',
      reason: 'promote',
    });
    expect(chooseTier({ count: 10, levels: LEVELS, current: 'gold', options, rate: 70 })).toEqual({
      kind: 'stay',
      level: 'gold',
      reason: 'within-hysteresis',
    });
    expect(chooseTier({ count: 10, levels: LEVELS, current: 'gold', options, rate: 170 })).toEqual({
      kind: 'stay',
      level: 'gold',
      reason: 'on-target',
    });
  });

  it('a pin overrides the rate; residence and the flap budget hold a rate move', () => {
    expect(
      chooseTier({ count: 0, levels: LEVELS, current: 'gold', options, rate: 0, pin: 'gold' }),
    ).toEqual({ kind: 'stay', level: 'gold', reason: 'pinned' });
    expect(
      chooseTier({
        count: 0,
        levels: LEVELS,
        current: 'gold',
        options: { ...options, minResidenceMs: HOUR },
        rate: 0,
        now: 10 * MINUTE,
        lastMovedAt: 0,
      }),
    ).toMatchObject({ kind: 'wait', rule: 'residence', allowedAt: HOUR });
    const recentMoves: RecentMove[] = [1, 2, 3].map((i) => ({
      at: i * MINUTE,
      from: i % 2 === 0 ? 'gold' : 'silver',
      to: i % 2 === 0 ? 'silver' : 'gold',
    }));
    expect(
      chooseTier({
        count: 0,
        levels: LEVELS,
        current: 'gold',
        options: { ...options, flapBudget: { moves: 4, windowMs: HOUR } },
        rate: 0,
        now: 5 * MINUTE,
        recentMoves,
      }),
    ).toMatchObject({ kind: 'wait', rule: 'flap-budget' });
  });

  it('derives the rate from a rate state as of now, and needs now to do so', () => {
    // 120 views/h measured at 0, no post since: 60/h one half-life later, 30/h after two.
    const rateState = { count: 1000, at: 0, rate: 120 };
    const at = (now: number) =>
      chooseTier({ count: 1000, levels: LEVELS, current: 'gold', options, rateState, now });
    expect(at(0)).toMatchObject({ kind: 'stay', reason: 'on-target' });
    expect(at(6 * HOUR)).toMatchObject({ kind: 'stay', reason: 'within-hysteresis' });
    expect(at(12 * HOUR)).toMatchObject({ kind: 'move', to: 'silver', reason: 'demote' });
    expect(
      rateOf({ count: 0, levels: LEVELS, current: 'gold', options, rateState, now: 12 * HOUR }),
    ).toBeCloseTo(30, 9);
    // A rate given outright wins; a state still warming up is unknown.
    expect(rateOf({ count: 0, levels: LEVELS, current: 'gold', options, rateState, rate: 7 })).toBe(
      7,
    );
    expect(
      chooseTier({
        count: 0,
        levels: LEVELS,
        current: 'gold',
        options,
        rateState: { count: 5, at: 0, rate: null },
        now: HOUR,
      }),
    ).toMatchObject({ kind: 'stay', reason: 'rate-unknown' });
    expect(rateOf({ count: 0, levels: LEVELS, current: 'gold', rateState, now: 0 })).toBeNull();
    expect(() =>
      chooseTier({ count: 0, levels: LEVELS, current: 'gold', options, rateState }),
    ).toThrow(RangeError);
  });

  it('explains a rate move by the threshold it crossed', () => {
    const input = { count: 10, levels: LEVELS, current: 'bronze', options, rate: 150 };
    expect(explainMove(input, 'gold')).toMatchObject({
      count: 10,
      boundary: null,
      rate: { rate: 150, kind: 'promote', level: 'gold', threshold: 100, halfLifeMs: 6 * HOUR },
    });
    expect(explainMove({ ...input, current: 'gold', rate: 4 }, 'bronze').rate).toMatchObject({
      kind: 'demote',
      level: 'gold',
      threshold: 50,
    });
    expect(explainMove({ ...input, options: {} }, 'gold')).not.toHaveProperty('rate');
  });
});

describe('the view-rate policy over time', () => {
  it('demotes a content that stops being watched after about one half-life', () => {
    // 80 views an hour for two days on gold (between gold's 50 and 100: it stays), then none.
    const stop = 48 * HOUR;
    const posts = steady(80, 0, stop, 5 * MINUTE, 20_000);
    const before = live(posts, 'gold', stop);
    expect(before.moves).toEqual([]);
    const after = live(posts, 'gold', stop + 3 * POLICY.halfLifeMs);
    const [first] = after.moves;
    expect(first).toMatchObject({ from: 'gold', to: 'silver' });
    // 80 → below 50 takes log2(80/50) = 0.68 half-lives from the last post.
    const halfLives = ((first?.at ?? 0) - stop) / POLICY.halfLifeMs;
    expect(halfLives).toBeGreaterThan(0.6);
    expect(halfLives).toBeLessThan(1.1);
    // And on down to bronze once below silver's 10 (log2(80/10) = 3 half-lives).
    expect(live(posts, 'gold', stop + 4 * POLICY.halfLifeMs).level).toBe('bronze');
  });

  it('a steady content never moves, whatever its posting rhythm', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 25, max: 2000, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 50, maxLength: 50 }),
        (perHour, gaps) => {
          const start = perHour >= 100 ? 'gold' : 'silver';
          const posts: { at: number; count: number }[] = [];
          let at = 0;
          for (let i = 0; at < 24 * HOUR; i += 1) {
            posts.push({ at, count: 5000 + Math.floor((perHour * at) / HOUR) });
            at += (gaps[i % gaps.length] ?? 1) * MINUTE;
          }
          // The test holds 25 ≤ rate: silver never demotes below 10, gold's steady ≥ 100 never
          // falls below 50 between posts at most 30 minutes apart.
          const run = live(posts, start, at - MINUTE, 5 * MINUTE);
          expect(run.moves).toEqual([]);
        },
      ),
      { ...PARAMS, numRuns: 60 },
    );
  });

  it('a content that becomes popular is promoted once its rate is measured', () => {
    const quiet = steady(5, 0, 6 * HOUR, 10 * MINUTE, 100);
    const busy = steady(400, 6 * HOUR + 10 * MINUTE, 12 * HOUR, 2 * MINUTE, 130);
    const run = live([...quiet, ...busy], 'bronze', 12 * HOUR);
    expect(run.level).toBe('gold');
    expect(run.moves.length).toBeLessThanOrEqual(2);
  });
});
