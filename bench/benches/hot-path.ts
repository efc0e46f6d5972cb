import { BenchContext } from '../lib/context.ts';
import { FORM_TYPE, JSON_TYPE, SEED, type Bench } from '../lib/bench.ts';
import { CommandMonitor, questions, questionsOverhead } from '../lib/counters.ts';
import { ViewMix, type View } from '../lib/dataset.ts';
import { HttpClient } from '../lib/http.ts';
import { figure, type BenchResult } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

interface Target {
  key: string;
  server: 'gateway' | 'bare';
  path: string;
  encoding: 'json' | 'form';
}

const TARGETS: readonly Target[] = [
  { key: 'v1-views', server: 'gateway', path: '/v1/views', encoding: 'json' },
  { key: 'post-sentence', server: 'gateway', path: '/post_sentence', encoding: 'form' },
  { key: 'bare-hset', server: 'bare', path: '/bare/hset', encoding: 'json' },
];

/** What one count found, per post. */
interface Count {
  redisRoundTrips: number;
  luaCalls: number;
  mysqlQueries: number;
}

/**
 * Benchmark 3: what a post that changes nothing costs in backend calls, counted exactly.
 *
 * Redis: a MONITOR connection records every command during the posts. Commands a script runs
 * show `lua` as their source and are not round trips; the server's connections are the sources
 * that sent commands naming this run's key prefix. Round trips per post = commands from those
 * connections / posts (a pipeline or MULTI would count each of its commands: an upper bound).
 *
 * MySQL: `SHOW GLOBAL STATUS LIKE 'Questions'` before and after, minus what the status query
 * itself adds (calibrated with back-to-back reads). The counter is server-wide, so other clients
 * can only add to it: the minimum over the rounds is reported.
 */
export const hotPathBench: Bench = {
  name: 'hot-path',
  title: 'Hot-path cost',
  async run(ctx) {
    const n = ctx.plan.hotPathPosts;
    await ctx.ensureIngestContents();
    const urls = {
      gateway: BenchContext.urlOf(await ctx.gateway()),
      bare: BenchContext.urlOf(await ctx.bare()),
    };
    await ctx.resetQueue();
    const overhead = await questionsOverhead(ctx);
    const monitor = await CommandMonitor.open(ctx);

    const countOnce = async (t: Target, views: readonly View[]): Promise<Count> => {
      const client = new HttpClient(urls[t.server], { maxSockets: 1 });
      try {
        // One post first so the connection, the script cache and the levels are warm.
        await post(client, t, views[0] ?? { cid: 1, count: 1 });
        let mysql = 0;
        const commands = await monitor.window(async () => {
          const before = await questions(ctx);
          for (const view of views) await post(client, t, view);
          mysql = (await questions(ctx)) - before - overhead;
        });
        const redis = monitor.count(commands);
        return {
          redisRoundTrips: redis.roundTrips / views.length,
          luaCalls: redis.luaCalls / views.length,
          mysqlQueries: Math.max(0, mysql) / views.length,
        };
      } finally {
        client.close();
      }
    };

    const counts = new Map<string, Count[]>(TARGETS.map((t) => [t.key, []]));
    try {
      for (let round = 0; round < ctx.plan.rounds; round++) {
        for (const t of TARGETS) {
          const views = new ViewMix(SEED + round, 0).batch(n);
          const count = await countOnce(t, views);
          counts.get(t.key)?.push(count);
          ctx.log(
            `hot-path round ${round + 1}/${ctx.plan.rounds} ${t.key}: ${count.redisRoundTrips.toFixed(2)} Redis round trips, ${count.luaCalls.toFixed(2)} Lua calls, ${count.mysqlQueries.toFixed(3)} MySQL queries per post`,
          );
        }
      }
    } finally {
      monitor.close();
    }

    const base = counts.get('bare-hset') ?? [];
    const baseRedis = median(base.map((c) => c.redisRoundTrips));
    const baseMysql = Math.min(...base.map((c) => c.mysqlQueries));
    const results: BenchResult[] = [];
    for (const key of ['v1-views', 'post-sentence']) {
      const list = counts.get(key) ?? [];
      const redis = median(list.map((c) => c.redisRoundTrips));
      const lua = median(list.map((c) => c.luaCalls));
      const mysql = Math.min(...list.map((c) => c.mysqlQueries));
      results.push(
        figure({
          name: `hot-path.${key}.redis`,
          value: redis,
          samples: {
            value: list.map((c) => c.redisRoundTrips),
            baseline: base.map((c) => c.redisRoundTrips),
          },
          unit: 'round trips/post',
          baseline: 'bare route doing one HSET',
          baselineValue: baseRedis,
          better: 'lower',
          target: 2,
          goal: { text: '≤ 2 Redis round trips per post', check: (v) => v <= 2, limit: 2 },
          note: `${n} posts of cached contents that change nothing, counted with MONITOR; the script's own ${lua.toFixed(1)} Redis calls per post run inside Redis and are not round trips`,
        }),
        figure({
          name: `hot-path.${key}.mysql`,
          value: mysql,
          samples: {
            value: list.map((c) => c.mysqlQueries),
            baseline: base.map((c) => c.mysqlQueries),
          },
          unit: 'queries/post',
          baseline: 'bare route doing one HSET',
          baselineValue: baseMysql,
          better: 'lower',
          // No `limit`: the figure is the minimum of the rounds, not their median (other clients
          // of the server can only add statements), so the spread says nothing against it.
          goal: { text: '0 MySQL queries per post', check: (v) => v === 0 },
          note: `MariaDB Questions before/after minus ${overhead} for the status query; minimum of ${ctx.plan.rounds} rounds`,
        }),
      );
    }
    return results;
  },
};

async function post(client: HttpClient, t: Target, view: View): Promise<void> {
  const body = t.encoding === 'json' ? JSON.stringify(view) : `cid=${view.cid}&count=${view.count}`;
  const res = await client.post(t.path, body, t.encoding === 'json' ? JSON_TYPE : FORM_TYPE);
  if (res.status !== 200) throw new Error(`${t.key}: ${res.status} ${res.body}`);
  if (t.server === 'gateway' && !res.body.includes('"done"')) {
    throw new Error(`${t.key}: expected a post that changes nothing, got ${res.body}`);
  }
}
