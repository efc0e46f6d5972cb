import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAP_BUDGET } from './choose-tier.ts';
import type { Level } from './level.ts';
import { DEFAULT_REPLAY_SWEEP_EVERY_MS, replayViews, type ViewEvent } from './replay.ts';
import { syntheticViews } from './synthetic-views.ts';
import type { ViewRatePolicy } from './view-rate.ts';

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

  it('gives the count policy the same results as before the rate policy existed, sweep or not', () => {
    const trace = hoveringTrace();
    const options = { flapBudget: DEFAULT_FLAP_BUDGET, hysteresis: 5, minResidenceMs: 2000 };
    const expected = {
      posts: 30_000,
      contents: 400,
      moves: 168,
      bytesMoved: 168_000,
      promotions: 99,
      demotions: 69,
      prevented: { hysteresis: 751, residence: 98, 'flap-budget': 487 },
      offTargetShare: 0.04394774699937453,
      maxMovesPerContent: 4,
    };
    // Pinned from the replay before the rate policy: no `sweep` key, the same numbers.
    expect(replayViews(trace, { levels: LEVELS, options }, () => 1000)).toStrictEqual(expected);
    expect(
      replayViews(trace, { levels: LEVELS, options, sweepEveryMs: 1000 }, () => 1000),
    ).toStrictEqual(expected);
  });
});

const HOUR = 3_600_000;
const MINUTE = 60_000;
const RATE: ViewRatePolicy = {
  halfLifeMs: HOUR,
  thresholds: { silver: { promote: 20, demote: 10 }, gold: { promote: 100, demote: 50 } },
};

/** `views` more views every `everyMs` from `from` (count `start` then) up to `until`, inclusive. */
function steady(
  cid: number,
  start: number,
  views: number,
  everyMs: number,
  from: number,
  until: number,
): ViewEvent[] {
  const events: ViewEvent[] = [];
  for (let at = from, count = start; at <= until; at += everyMs, count += views) {
    events.push({ cid, count, at });
  }
  return events;
}

const byTime = (...logs: ViewEvent[][]) => logs.flat().sort((a, b) => a.at - b.at || a.cid - b.cid);

describe('replayViews with the rate policy', () => {
  /**
   * cid 1 starts on silver (count 1500) at 20 views an hour, its silver promote threshold, until
   * 2 h, then nobody watches it: its rate halves to silver's demote threshold (10) one half-life
   * (1 h) later. cid 2, on gold at 300 views an hour, keeps the log going until `end`.
   */
  const quitter = (end: number) =>
    byTime(steady(1, 1500, 1, 3 * MINUTE, 0, 2 * HOUR), steady(2, 5000, 5, MINUTE, 0, end));

  it('demotes a content nobody watches any more by the sweep, one half-life after its last post', () => {
    const policy = { levels: LEVELS, options: { viewRate: RATE } };
    // 3 minutes short of the half-life: still on silver.
    expect(replayViews(quitter(2 * HOUR + 57 * MINUTE), policy, () => 7)).toMatchObject({
      moves: 0,
      sweep: { everyMs: DEFAULT_REPLAY_SWEEP_EVERY_MS, moves: 0 },
    });
    // 3 minutes past it: demoted to bronze by a sweep tick, without a post.
    const after = replayViews(quitter(3 * HOUR + 3 * MINUTE), policy, () => 7);
    expect(after).toMatchObject({
      moves: 1,
      demotions: 1,
      bytesMoved: 7,
      maxMovesPerContent: 1,
      sweep: { moves: 1 },
    });
    // From its last post its rate is below silver's promote threshold: off target until then.
    expect(after.offTargetShare).toBeGreaterThan(0);
    // Without the sweep nothing moves it; by its count it belongs on silver anyway.
    expect(
      replayViews(quitter(4 * HOUR), { ...policy, sweepEveryMs: null }, () => 7),
    ).toMatchObject({ moves: 0, sweep: { everyMs: null, moves: 0 } });
    expect(replayViews(quitter(4 * HOUR), { levels: LEVELS, options: {} }, () => 7).moves).toBe(0);
  });

  it('demotes at the first sweep tick past the crossing, whatever the period', () => {
    const log = quitter(3 * HOUR + 10 * MINUTE);
    const sweep = (everyMs: number) =>
      replayViews(
        log,
        { levels: LEVELS, options: { viewRate: RATE }, sweepEveryMs: everyMs },
        () => 1,
      );
    // The crossing is at 3 h. Every 7 minutes: ticks at 2 h 55 and 3 h 2 min, demoted at the
    // second. Every 25 minutes: ticks at 2 h 55 and 3 h 20 min, after the end of the log.
    expect(sweep(7 * MINUTE)).toMatchObject({ moves: 1, sweep: { moves: 1 } });
    expect(sweep(25 * MINUTE)).toMatchObject({ moves: 0, sweep: { moves: 0 } });
  });

  it('never moves a content whose rate is steady and fits its tier', () => {
    const log = byTime(
      steady(1, 500, 1, 12 * MINUTE, 0, 24 * HOUR), // 5 an hour: bronze
      steady(2, 1500, 5, 6 * MINUTE, 0, 24 * HOUR), // 50 an hour: silver
      steady(3, 5000, 30, 6 * MINUTE, 0, 24 * HOUR), // 300 an hour: gold
    );
    const result = replayViews(
      log,
      {
        levels: LEVELS,
        options: { viewRate: { ...RATE, halfLifeMs: 6 * HOUR }, flapBudget: DEFAULT_FLAP_BUDGET },
      },
      () => 1,
    );
    expect(result).toMatchObject({
      contents: 3,
      moves: 0,
      prevented: { hysteresis: 0, residence: 0, 'flap-budget': 0 },
      offTargetShare: 0,
      sweep: { moves: 0 },
    });
  });

  it('keeps a content where its count put it while its rate warms up (an eighth of the half-life)', () => {
    // On gold by its count, at 12 views an hour: bronze by its rate once it is known (7.5 min).
    const log = byTime(
      steady(1, 2500, 1, 5 * MINUTE, 0, 5 * MINUTE),
      steady(2, 10, 1, MINUTE, 0, 7 * MINUTE),
    );
    const policy = { levels: LEVELS, options: { viewRate: RATE } };
    expect(replayViews(log, policy, () => 1)).toMatchObject({ moves: 0, offTargetShare: 0 });
    const known = byTime(steady(1, 2500, 1, 5 * MINUTE, 0, 10 * MINUTE));
    expect(replayViews(known, policy, () => 1)).toMatchObject({ moves: 1, demotions: 1 });
  });

  it('holds a demotion the sweep finds before the minimum residence, and makes it at its allowedAt', () => {
    // 15 views in 8 minutes (112.5 an hour, past the 7.5-minute warm-up) promote cid 1 to gold at
    // 8 min; then nobody watches it and its rate falls below gold's demote threshold (50) after
    // about 1 h 10 min, but the 2 h residence holds the demotion until 2 h 8 min. cid 2 (10 an
    // hour, on bronze) keeps the log going until `end`.
    const log = (end: number) =>
      byTime(
        [
          { cid: 1, count: 1500, at: 0 },
          { cid: 1, count: 1515, at: 8 * MINUTE },
        ],
        steady(2, 10, 1, 6 * MINUTE, 0, end),
      );
    const policy = { levels: LEVELS, options: { viewRate: RATE, minResidenceMs: 2 * HOUR } };
    expect(replayViews(log(2 * HOUR + 6 * MINUTE), policy, () => 1)).toMatchObject({
      moves: 1,
      promotions: 1,
    });
    // At 2 h 8 min its rate is 28 an hour: down to silver (its demote threshold is 10), as the
    // relocator's delayed job does it, not the sweep tick that found it.
    expect(replayViews(log(2 * HOUR + 12 * MINUTE), policy, () => 1)).toMatchObject({
      moves: 2,
      promotions: 1,
      demotions: 1,
      sweep: { moves: 0 },
    });
    // Without the sweep no decision finds the decayed rate: it stays on gold.
    expect(
      replayViews(log(2 * HOUR + 12 * MINUTE), { ...policy, sweepEveryMs: null }, () => 1),
    ).toMatchObject({ moves: 1, promotions: 1 });
  });

  it('is deterministic and folds each post into the rate (same log, same policy, same answer)', () => {
    const trace = syntheticViews({
      contents: 300,
      posts: 20_000,
      durationMs: 6 * HOUR,
      hovering: 30,
      around: 1000,
      spread: 10,
      startAt: 1_700_000_000_000,
      seed: 7,
    });
    // A third of the contents go quiet after an hour: their rates decay and the sweep acts.
    const log = trace.filter((e) => e.cid % 3 !== 0 || e.at < 1_700_000_000_000 + HOUR);
    const policy = {
      levels: LEVELS,
      options: {
        viewRate: {
          halfLifeMs: HOUR,
          thresholds: { silver: { promote: 5, demote: 2 }, gold: { promote: 40, demote: 20 } },
        },
        flapBudget: DEFAULT_FLAP_BUDGET,
      },
    };
    const first = replayViews(log, policy, (cid) => cid);
    expect(first.sweep?.moves).toBeGreaterThan(0);
    expect(replayViews(log, policy, (cid) => cid)).toStrictEqual(first);
    // An iterable that is not an array gives the same.
    expect(replayViews(log.values(), policy, (cid) => cid)).toStrictEqual(first);
  });

  it('refuses a sweep period that is not a finite number > 0', () => {
    for (const sweepEveryMs of [0, -1, Number.NaN, Infinity]) {
      expect(() =>
        replayViews([], { levels: LEVELS, options: { viewRate: RATE }, sweepEveryMs }, () => 1),
      ).toThrow(/sweepEveryMs must be a finite number > 0/);
    }
  });
});
