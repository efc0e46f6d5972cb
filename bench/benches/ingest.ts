import { BenchContext } from '../lib/context.ts';
import { FORM_TYPE, JSON_TYPE, SEED, rotate, type Bench } from '../lib/bench.ts';
import { ViewMix } from '../lib/dataset.ts';
import { redisCpuUs } from '../lib/cpu.ts';
import { LOAD_SETTINGS, runLoad, type LoadResult, type LoadTarget } from '../lib/load.ts';
import { figure, type BenchResult } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

interface Target {
  key: string;
  server: 'gateway' | 'bare';
  path: string;
  encoding: 'json' | 'form';
}

const TARGETS: readonly Target[] = [
  { key: 'bare-200-json', server: 'bare', path: '/bare/ok', encoding: 'json' },
  { key: 'bare-hset-json', server: 'bare', path: '/bare/hset', encoding: 'json' },
  { key: 'gateway-v1-views', server: 'gateway', path: '/v1/views', encoding: 'json' },
  { key: 'bare-200-form', server: 'bare', path: '/bare/ok', encoding: 'form' },
  { key: 'bare-hset-form', server: 'bare', path: '/bare/hset', encoding: 'form' },
  { key: 'gateway-post-sentence', server: 'gateway', path: '/post_sentence', encoding: 'form' },
];

/** The one target measured on a Redis Cluster (`--cluster`): the bare routes use a plain client. */
const CLUSTER_TARGET = 'gateway-v1-views';

/** One run: the load figures plus CPU microseconds per request of each process involved. */
interface Run extends LoadResult {
  serverCpuUs: number;
  redisCpuUs: number;
  clientCpuUs: number;
}

/** Summary of one target over the rounds: the median of each figure. */
type Summary = Omit<Run, 'non2xx' | 'errors' | 'total'>;

function summarize(runs: readonly Run[]): Summary {
  const m = (pick: (r: Run) => number) => median(runs.map(pick));
  return {
    reqPerSec: m((r) => r.reqPerSec),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    serverCpuUs: m((r) => r.serverCpuUs),
    redisCpuUs: m((r) => r.redisCpuUs),
    clientCpuUs: m((r) => r.clientCpuUs),
  };
}

/**
 * Benchmark 1: single posts under autocannon against the gateway (`POST /v1/views` with JSON,
 * legacy `POST /post_sentence` with forms) and two bare Fastify baselines per encoding, with the
 * 90/10 mix over 10,000 cached contents. Every run replays the same seeded request sequence;
 * the queue is emptied before every gateway run so the 10 % crossing posts always start from
 * no pending job. On a Redis Cluster (`--cluster`) only the gateway's `POST /v1/views` runs,
 * and its rounds go to `ctx.rounds` for the `cluster.*` figures instead of figures of its own.
 */
export const ingestBench: Bench = {
  name: 'ingest',
  title: 'Ingest, single posts',
  async run(ctx) {
    const plan = ctx.plan;
    await ctx.ensureIngestContents();
    const onCluster = ctx.clusterNodes !== null;
    const targets = onCluster ? TARGETS.filter((t) => t.key === CLUSTER_TARGET) : TARGETS;
    const gateway = await ctx.gateway();
    // The bare baselines talk to one plain Redis server: not started on a cluster.
    const bare = onCluster ? gateway : await ctx.bare();
    const children = { gateway, bare };
    const urls = { gateway: BenchContext.urlOf(gateway), bare: BenchContext.urlOf(bare) };
    const loadTarget = (t: Target): LoadTarget => {
      const mix = new ViewMix(SEED);
      return {
        url: urls[t.server],
        path: t.path,
        contentType: t.encoding === 'json' ? JSON_TYPE : FORM_TYPE,
        body:
          t.encoding === 'json'
            ? () => JSON.stringify(mix.next())
            : () => {
                const v = mix.next();
                return `cid=${v.cid}&count=${v.count}`;
              },
      };
    };
    const measure = async (t: Target, seconds: number): Promise<Run> => {
      if (t.server === 'gateway') await ctx.resetQueue();
      const server = children[t.server];
      const [server0, redis0, client0] = [
        await server.call<number>('cpu'),
        await redisCpuUs(ctx),
        process.cpuUsage(),
      ];
      const load = await runLoad(loadTarget(t), seconds);
      const [server1, redis1, client1] = [
        await server.call<number>('cpu'),
        await redisCpuUs(ctx),
        process.cpuUsage(client0),
      ];
      const n = Math.max(1, load.total);
      const result: Run = {
        ...load,
        serverCpuUs: (server1 - server0) / n,
        redisCpuUs: (redis1 - redis0) / n,
        clientCpuUs: (client1.user + client1.system) / n,
      };
      if (result.non2xx > 0 || result.errors > 0) {
        ctx.note(
          `ingest ${t.key}: ${result.non2xx} non-2xx responses and ${result.errors} errors of ${result.total}`,
        );
      }
      return result;
    };

    ctx.log(`ingest: warm-up, ${plan.ingestWarmupSec} s per target`);
    for (const t of targets) await measure(t, plan.ingestWarmupSec);
    const runs = new Map<string, Run[]>(targets.map((t) => [t.key, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const t of rotate(targets, round)) {
        const result = await measure(t, plan.ingestSec);
        runs.get(t.key)?.push(result);
        ctx.log(
          `ingest round ${round + 1}/${plan.rounds} ${t.key}: ${Math.round(result.reqPerSec)} req/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms; CPU µs/req server ${result.serverCpuUs.toFixed(0)}, Redis ${result.redisCpuUs.toFixed(0)}, client ${result.clientCpuUs.toFixed(0)}`,
        );
      }
    }
    await ctx.resetQueue();
    const compared = runs.get(CLUSTER_TARGET) ?? [];
    ctx.rounds.set(
      'ingest.v1-views.throughput',
      compared.map((r) => r.reqPerSec),
    );
    ctx.rounds.set(
      'ingest.v1-views.server-cpu',
      compared.map((r) => r.serverCpuUs),
    );
    ctx.rounds.set(
      'ingest.v1-views.redis-cpu',
      compared.map((r) => r.redisCpuUs),
    );
    if (onCluster) return [];

    const s = (key: string): Summary => summarize(runs.get(key) ?? []);
    /** The rounds of one figure of `key` against the same figure of `baseKey`. */
    const samples = (key: string, baseKey: string, pick: (r: Run) => number) => ({
      value: (runs.get(key) ?? []).map(pick),
      baseline: (runs.get(baseKey) ?? []).map(pick),
    });
    const client = `autocannon ${LOAD_SETTINGS.connections} connections, pipelining ${LOAD_SETTINGS.pipelining}, ${plan.ingestSec} s × ${plan.rounds}`;
    const results: BenchResult[] = [];
    for (const [name, gatewayKey, encoding] of [
      ['v1-views', 'gateway-v1-views', 'json'],
      ['post-sentence', 'gateway-post-sentence', 'form'],
    ] as const) {
      const g = s(gatewayKey);
      const hset = s(`bare-hset-${encoding}`);
      const ok = s(`bare-200-${encoding}`);
      const body = encoding === 'json' ? 'JSON' : 'form';
      results.push(
        figure({
          name: `ingest.${name}.throughput`,
          value: g.reqPerSec,
          samples: samples(gatewayKey, `bare-hset-${encoding}`, (r) => r.reqPerSec),
          unit: 'req/s',
          baseline: `bare Fastify route doing one HSET (${body})`,
          baselineValue: hset.reqPerSec,
          better: 'higher',
          target: 0.7,
          note: `90 % no-change / 10 % threshold-crossing posts over 10,000 cached contents; ${client}`,
        }),
        figure({
          name: `ingest.${name}.throughput-vs-200`,
          value: g.reqPerSec,
          samples: samples(gatewayKey, `bare-200-${encoding}`, (r) => r.reqPerSec),
          unit: 'req/s',
          baseline: `bare Fastify route answering 200 (${body})`,
          baselineValue: ok.reqPerSec,
          better: 'higher',
        }),
        figure({
          name: `ingest.${name}.p50`,
          value: g.p50,
          samples: samples(gatewayKey, `bare-hset-${encoding}`, (r) => r.p50),
          unit: 'ms',
          baseline: `p50 of the bare HSET route (${body})`,
          baselineValue: hset.p50,
          better: 'lower',
        }),
        figure({
          name: `ingest.${name}.p99`,
          value: g.p99,
          samples: samples(gatewayKey, `bare-hset-${encoding}`, (r) => r.p99),
          unit: 'ms',
          baseline: `p99 of the bare HSET route (${body})`,
          baselineValue: hset.p99,
          better: 'lower',
        }),
        figure({
          name: `ingest.${name}.server-cpu`,
          value: g.serverCpuUs,
          samples: samples(gatewayKey, `bare-hset-${encoding}`, (r) => r.serverCpuUs),
          unit: 'µs/req',
          baseline: `CPU of the bare HSET server per request (${body})`,
          baselineValue: hset.serverCpuUs,
          better: 'lower',
          note: 'process.cpuUsage() of the server child over the run / requests',
        }),
        figure({
          name: `ingest.${name}.redis-cpu`,
          value: g.redisCpuUs,
          samples: samples(gatewayKey, `bare-hset-${encoding}`, (r) => r.redisCpuUs),
          unit: 'µs/req',
          baseline: `Redis CPU per request of the bare HSET route (${body})`,
          baselineValue: hset.redisCpuUs,
          better: 'lower',
          note: 'INFO cpu (used_cpu_user + used_cpu_sys) over the run / requests; server-wide, so other clients add noise',
        }),
      );
    }
    results.push(
      figure({
        name: 'ingest.bare-hset.throughput',
        value: s('bare-hset-json').reqPerSec,
        samples: samples('bare-hset-json', 'bare-200-json', (r) => r.reqPerSec),
        unit: 'req/s',
        baseline: 'bare Fastify route answering 200 (JSON)',
        baselineValue: s('bare-200-json').reqPerSec,
        better: 'higher',
        note: 'calibration: what one Redis command per request costs on this machine',
      }),
    );
    return results;
  },
};
