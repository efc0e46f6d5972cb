import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAP_BUDGET } from './choose-tier.ts';
import type { Level } from './level.ts';
import { replayViews, type ViewEvent } from './replay.ts';
import { syntheticViews } from './synthetic-views.ts';

const LEVELS: readonly Level[] = [
  { name: 'bronze', minCount: 0, maxCount: 999, path: '/d/bronze' },
  { name: 'silver', minCount: 1000, maxCount: 1999, path: '/d/silver' },
  { name: 'gold', minCount: 2000, maxCount: null, path: '/d/gold' },
];

/** The trace: 400 contents, 30,000 posts in 60 s, 40 of them hovering at 1000 ± 10. */
function hoveringTrace(): ViewEvent[] {
  return syntheticViews({
    contents: 400,
    posts: 30_000,
    durationMs: 60_000,
    hovering: 40,
    around: 1000,
    spread: 10,
    startAt: 1_700_000_000_000,
    seed: 42,
  });
}

describe('replayViews', () => {
  it('replays the hovering trace: without a budget the hovering contents flap, with the default budget each moves at most 4 times', () => {
    const trace = hoveringTrace();
    const bare = replayViews(trace, { levels: LEVELS, options: {} }, () => 1000);
    const budgeted = replayViews(
      trace,
      { levels: LEVELS, options: { flapBudget: DEFAULT_FLAP_BUDGET } },
      () => 1000,
    );
    expect(bare.posts).toBe(30_000);
    expect(bare.maxMovesPerContent).toBeGreaterThan(20);
    expect(budgeted.maxMovesPerContent).toBeLessThanOrEqual(DEFAULT_FLAP_BUDGET.moves);
    expect(budgeted.moves).toBeLessThan(bare.moves / 5);
    expect(budgeted.prevented['flap-budget']).toBeGreaterThan(0);
    expect(budgeted.bytesMoved).toBe(budgeted.moves * 1000);
    // The same log and policy give the same answer.
    expect(
      replayViews(
        trace,
        { levels: LEVELS, options: { flapBudget: DEFAULT_FLAP_BUDGET } },
        () => 1000,
      ),
    ).toEqual(budgeted);
  });

  it('counts the time a content spends off the tier its latest count calls for', () => {
    const events: ViewEvent[] = [
      { cid: 1, count: 10, at: 0 },
      { cid: 1, count: 1005, at: 100 },
      { cid: 1, count: 1006, at: 400 },
    ];
    // Hysteresis 50 keeps it on bronze from 100 to the end (400): 300 of 400 ms off target.
    const held = replayViews(events, { levels: LEVELS, options: { hysteresis: 50 } }, () => 7);
    expect(held).toMatchObject({ moves: 0, prevented: { hysteresis: 2 }, offTargetShare: 0.75 });
    const bare = replayViews(events, { levels: LEVELS, options: {} }, () => 7);
    expect(bare).toMatchObject({ moves: 1, promotions: 1, bytesMoved: 7, offTargetShare: 0 });
  });

  it('tries a held move again when it is allowed, with the latest count', () => {
    const events: ViewEvent[] = [
      { cid: 1, count: 10, at: 0 },
      { cid: 1, count: 1500, at: 1000 },
      { cid: 1, count: 10, at: 1500 },
      { cid: 1, count: 10, at: 5000 },
    ];
    const result = replayViews(
      events,
      { levels: LEVELS, options: { minResidenceMs: 2000 } },
      () => 1,
    );
    // Up at 1000; the demotion at 1500 is held until 3000 and happens then.
    expect(result).toMatchObject({
      moves: 2,
      promotions: 1,
      demotions: 1,
      prevented: { residence: 1 },
    });
  });

  it('refuses a log out of time order', () => {
    expect(() =>
      replayViews(
        [
          { cid: 1, count: 1, at: 10 },
          { cid: 2, count: 1, at: 5 },
        ],
        { levels: LEVELS, options: {} },
        () => 1,
      ),
    ).toThrow(/out of time order: cid 2 at 5/);
  });
});
