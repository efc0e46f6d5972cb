import {
  DEFAULT_FLAP_BUDGET,
  replayViews,
  syntheticViews,
  targetLevel,
  validateLevels,
  type ReplayResult,
  type ViewEvent,
} from '@relocation/tiering';
import { rotate, type Bench } from '../lib/bench.ts';
import { figure } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

/** Posts the replay goes through (the "1 million posts in seconds"). */
const POSTS = 1_000_000;

const KINDS = ['replay', 'rate', 'bare'] as const;

/** The view-rate policy of the `rate` kind (`TIERING_POLICY=rate` with the README's example). */
const RATE_POLICY = {
  halfLifeMs: 6 * 3_600_000,
  thresholds: { silver: { promote: 20, demote: 10 }, gold: { promote: 100, demote: 50 } },
};
type Kind = (typeof KINDS)[number];

/**
 * The baseline: one pass over the same log that keeps each content's latest count in a Map and
 * looks up the tier it calls for: the least a replay has to do.
 */
function barePass(events: readonly ViewEvent[], levels: Parameters<typeof targetLevel>[1]): number {
  const latest = new Map<number, string>();
  let changes = 0;
  for (const event of events) {
    const tier = targetLevel(event.count, levels).name;
    if (latest.get(event.cid) !== tier) changes++;
    latest.set(event.cid, tier);
  }
  return changes;
}

/**
 * Benchmark 9: `npm run replay`'s simulation (`replayViews`, the placement policy with the default
 * flap budget; and again under the view-rate policy) over a synthetic log of 1,000,000 posts (10,000 contents in an hour, 1,000 of them
 * hovering at a boundary), against a bare pass over the same log. Timed in this process.
 */
export const replayBench: Bench = {
  name: 'replay',
  title: 'What-if replay of 1M posts',
  run(ctx) {
    const checked = validateLevels(ctx.levels);
    if (!checked.ok) throw new Error('the bench level table is invalid');
    const levels = checked.levels;
    const events = syntheticViews({
      contents: 10_000,
      posts: POSTS,
      durationMs: 3_600_000,
      hovering: 1000,
      around: 1000,
      spread: 10,
      startAt: 1_700_000_000_000,
      seed: 9,
    });
    let last: ReplayResult | null = null;
    let lastRate: ReplayResult | null = null;
    const measure = (kind: Kind): number => {
      const started = performance.now();
      if (kind === 'replay') {
        last = replayViews(
          events,
          { levels, options: { flapBudget: DEFAULT_FLAP_BUDGET } },
          () => 1,
        );
      } else if (kind === 'rate') {
        lastRate = replayViews(
          events,
          { levels, options: { flapBudget: DEFAULT_FLAP_BUDGET, viewRate: RATE_POLICY } },
          () => 1,
        );
      } else {
        barePass(events, levels);
      }
      return performance.now() - started;
    };
    for (const kind of KINDS) measure(kind);
    const runs = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
    for (let round = 0; round < ctx.plan.rounds; round++) {
      for (const kind of rotate(KINDS, round)) {
        const ms = measure(kind);
        runs.get(kind)?.push(ms);
        ctx.log(`replay round ${round + 1}/${ctx.plan.rounds} ${kind}: ${ms.toFixed(0)} ms`);
      }
    }
    const result = last as ReplayResult | null;
    if (result === null || result.posts !== POSTS) throw new Error('the replay did not run');
    const byRate = lastRate as ReplayResult | null;
    if (byRate === null || byRate.posts !== POSTS) throw new Error('the rate replay did not run');
    const rounds = (kind: Kind): readonly number[] => runs.get(kind) ?? [];
    const ms = (kind: Kind) => median(rounds(kind));
    return Promise.resolve([
      figure({
        name: 'replay.1m',
        value: ms('replay'),
        samples: { value: rounds('replay'), baseline: rounds('bare') },
        unit: 'ms',
        baseline:
          "a bare pass over the same log (each post's tier looked up, latest kept in a Map)",
        baselineValue: ms('bare'),
        better: 'lower',
        goal: { text: '1 million posts in seconds (< 5 s)', check: (v) => v < 5000, limit: 5000 },
        note: `${POSTS} posts of 10,000 contents (1,000 hovering at 1000 ± 10), default flap budget: ${result.moves} moves, ${result.prevented['flap-budget']} held by the budget`,
      }),
      figure({
        name: 'replay.1m.rate',
        value: ms('rate'),
        samples: { value: rounds('rate'), baseline: rounds('bare') },
        unit: 'ms',
        baseline:
          "a bare pass over the same log (each post's tier looked up, latest kept in a Map)",
        baselineValue: ms('bare'),
        better: 'lower',
        goal: { text: '1 million posts in seconds (< 5 s)', check: (v) => v < 5000, limit: 5000 },
        note: `the same log under TIERING_POLICY=rate (half-life 6h, silver=20/10,gold=100/50, a rate sweep every minute): ${byRate.moves} moves`,
      }),
    ]);
  },
};
