import { BenchContext } from '../lib/context.ts';
import { JSON_TYPE, SEED, rotate, type Bench } from '../lib/bench.ts';
import { ViewMix } from '../lib/dataset.ts';
import { LOAD_SETTINGS, runLoad, type LoadResult } from '../lib/load.ts';
import { figure, type BenchResult } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

const SIZES = [100, 1000] as const;

interface Target {
  key: string;
  server: 'gateway' | 'bare';
  path: string;
  size: number;
}

const TARGETS: readonly Target[] = SIZES.flatMap((size) => [
  { key: `gateway-${size}`, server: 'gateway' as const, path: '/v1/views', size },
  { key: `bare-pipeline-${size}`, server: 'bare' as const, path: '/bare/pipeline', size },
]);

/**
 * Benchmark 2: `POST /v1/views` with JSON arrays of 100 and 1,000 counts (the 90/10 mix) against
 * a bare Fastify route that writes the same array with one Redis pipeline of HSETs. Counts/s =
 * 2xx responses/s × batch size.
 */
export const batchedBench: Bench = {
  name: 'batched',
  title: 'Ingest, batched',
  async run(ctx) {
    const plan = ctx.plan;
    await ctx.ensureIngestContents();
    const urls = {
      gateway: BenchContext.urlOf(await ctx.gateway()),
      bare: BenchContext.urlOf(await ctx.bare()),
    };
    const measure = async (t: Target, seconds: number): Promise<LoadResult> => {
      if (t.server === 'gateway') await ctx.resetQueue();
      const mix = new ViewMix(SEED + t.size);
      const result = await runLoad(
        {
          url: urls[t.server],
          path: t.path,
          contentType: JSON_TYPE,
          body: () => JSON.stringify(mix.batch(t.size)),
        },
        seconds,
      );
      if (result.non2xx > 0 || result.errors > 0) {
        ctx.note(
          `batched ${t.key}: ${result.non2xx} non-2xx responses and ${result.errors} errors of ${result.total}`,
        );
      }
      return result;
    };

    ctx.log(`batched: warm-up, ${plan.batchWarmupSec} s per target`);
    for (const t of TARGETS) await measure(t, plan.batchWarmupSec);
    const counts = new Map<string, number[]>(TARGETS.map((t) => [t.key, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const t of rotate(TARGETS, round)) {
        const result = await measure(t, plan.batchSec);
        const perSec = result.reqPerSec * t.size;
        counts.get(t.key)?.push(perSec);
        ctx.log(
          `batched round ${round + 1}/${plan.rounds} ${t.key}: ${Math.round(perSec)} counts/s (${result.reqPerSec.toFixed(1)} req/s, p99 ${result.p99} ms)`,
        );
      }
    }
    await ctx.resetQueue();

    const results: BenchResult[] = [];
    for (const size of SIZES) {
      results.push(
        figure({
          name: `batched.v1-views.${size}`,
          value: median(counts.get(`gateway-${size}`) ?? []),
          samples: {
            value: counts.get(`gateway-${size}`) ?? [],
            baseline: counts.get(`bare-pipeline-${size}`) ?? [],
          },
          unit: 'counts/s',
          baseline: `bare route: one Redis pipeline of ${size} HSETs per request`,
          baselineValue: median(counts.get(`bare-pipeline-${size}`) ?? []),
          better: 'higher',
          note: `batches of ${size}, 90/10 mix; autocannon ${LOAD_SETTINGS.connections} connections, ${plan.batchSec} s × ${plan.rounds}`,
        }),
      );
    }
    return results;
  },
};
