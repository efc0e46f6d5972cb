import {
  ContentCache,
  PLAN_SCAN_COUNT,
  RelocationKeys,
  planRelocations,
  type RelocationPlan,
} from '@relocation/queue';
import { validateLevels } from '@relocation/tiering';
import type { BenchContext } from '../lib/context.ts';
import { rotate, type Bench } from '../lib/bench.ts';
import { LEVELS, filenameOf, ingestLevel, isMover, restingCount } from '../lib/dataset.ts';
import { figure } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

/** Cached contents the plan reads. */
const CONTENTS = 100_000;

/** A sub-prefix of the run's prefix (deleted with it), so the pass reads only these entries. */
const SUFFIX = '-plan';

const KINDS = ['plan', 'scan-hmget', 'scan'] as const;
type Kind = (typeof KINDS)[number];

/**
 * Fills `CONTENTS` cache entries as the gateway leaves them (level, file, latest count, countAt):
 * every tenth content's count calls for the next tier (a mover), and half of the movers have a
 * job queued (their deduplication key set).
 */
async function fill(ctx: BenchContext, keys: RelocationKeys): Promise<number> {
  const now = Date.now();
  let movers = 0;
  for (let i = 0; i < CONTENTS; i += 1000) {
    const pipeline = ctx.redis.pipeline();
    for (let cid = i + 1; cid <= Math.min(CONTENTS, i + 1000); cid++) {
      const level = ingestLevel(cid);
      const next = LEVELS[(LEVELS.indexOf(level) + 1) % LEVELS.length] ?? 'bronze';
      const mover = isMover(cid);
      if (mover) movers++;
      pipeline.hset(keys.cid(cid), {
        level,
        file: filenameOf(cid),
        count: String(restingCount(mover ? next : level)),
        countAt: String(now),
      });
      if (mover && cid % 20 === 0) pipeline.set(keys.dedup(cid), String(cid));
    }
    await pipeline.exec();
  }
  return movers;
}

/** The baseline: one pass of SCAN with a pipelined HMGET of the same fields per batch. */
async function scanHmget(ctx: BenchContext, keys: RelocationKeys, hmget: boolean): Promise<number> {
  let cursor = '0';
  let entries = 0;
  do {
    const [next, batch] = await ctx.redis.scan(
      cursor,
      'MATCH',
      keys.cidPattern,
      'COUNT',
      PLAN_SCAN_COUNT,
    );
    cursor = next;
    if (hmget && batch.length > 0) {
      const pipeline = ctx.redis.pipeline();
      for (const key of batch) pipeline.hmget(key, 'level', 'file', 'count', 'pin');
      entries += ((await pipeline.exec()) ?? []).length;
    } else {
      entries += batch.length;
    }
  } while (cursor !== '0');
  return entries;
}

/**
 * Benchmark 8: the dry-run plan (`GET /v1/plan`'s `planRelocations`, first page of 100, files
 * stat'ed for that page) over 100,000 cached contents, 10,000 of which would move, against a bare
 * pass over the same keys: SCAN + pipelined HMGET of the same four fields, and SCAN alone.
 * Timed in this process (the gateway adds only JSON encoding of one page).
 */
export const planBench: Bench = {
  name: 'plan',
  title: 'Dry-run plan over 100k cached contents',
  async run(ctx) {
    const prefix = ctx.prefix + SUFFIX;
    await ctx.deleteKeys(prefix);
    const keys = new RelocationKeys({ prefix, deployment: 'bench' });
    const cache = new ContentCache(ctx.redis, keys);
    const checked = validateLevels(ctx.levels);
    if (!checked.ok) throw new Error('the bench level table is invalid');
    const levels = checked.levels;
    const movers = await fill(ctx, keys);

    let last: RelocationPlan | null = null;
    const measure = async (kind: Kind): Promise<number> => {
      const started = performance.now();
      switch (kind) {
        case 'plan':
          last = await planRelocations(cache, { levels, limit: 100 });
          break;
        case 'scan-hmget':
          if ((await scanHmget(ctx, keys, true)) < CONTENTS) throw new Error('short pass');
          break;
        case 'scan':
          if ((await scanHmget(ctx, keys, false)) < CONTENTS) throw new Error('short pass');
          break;
      }
      return performance.now() - started;
    };
    try {
      // Warm-up: one pass of each.
      for (const kind of KINDS) await measure(kind);
      const runs = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
      for (let round = 0; round < ctx.plan.rounds; round++) {
        for (const kind of rotate(KINDS, round)) {
          const ms = await measure(kind);
          runs.get(kind)?.push(ms);
          ctx.log(`plan round ${round + 1}/${ctx.plan.rounds} ${kind}: ${ms.toFixed(0)} ms`);
        }
      }
      const plan = last as RelocationPlan | null;
      if (plan === null || plan.moves !== movers || plan.scanned !== CONTENTS) {
        throw new Error(
          `the plan found ${plan?.moves ?? 0} moves in ${plan?.scanned ?? 0} entries; expected ${movers} in ${CONTENTS}`,
        );
      }
      const rounds = (kind: Kind): readonly number[] => runs.get(kind) ?? [];
      const ms = (kind: Kind) => median(rounds(kind));
      return [
        figure({
          name: 'plan.100k',
          value: ms('plan'),
          samples: { value: rounds('plan'), baseline: rounds('scan-hmget') },
          unit: 'ms',
          baseline: 'a bare pass over the same keys: SCAN + one pipelined HMGET per batch',
          baselineValue: ms('scan-hmget'),
          better: 'lower',
          target: 1.5,
          goal: { text: '< 2 s for 100k contents', check: (v) => v < 2000, limit: 2000 },
          note: `${CONTENTS} cached contents, ${movers} would move (half with a job queued); first page of 100, stat'ed; one plan pass reads the deduplication keys of the movers too`,
        }),
        figure({
          name: 'plan.100k-vs-scan',
          value: ms('plan'),
          samples: { value: rounds('plan'), baseline: rounds('scan') },
          unit: 'ms',
          baseline: 'SCAN alone over the same keys (no reads)',
          baselineValue: ms('scan'),
          better: 'lower',
          note: 'what reading and deciding adds to walking the keys',
        }),
      ];
    } finally {
      await ctx.deleteKeys(prefix);
    }
  },
};
