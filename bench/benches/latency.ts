import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchContext, latencyContents } from '../lib/context.ts';
import { JSON_TYPE, SEED, type Bench } from '../lib/bench.ts';
import { COUNT_RANGE, ViewMix, type View } from '../lib/dataset.ts';
import { HttpClient } from '../lib/http.ts';
import { Prng } from '../lib/prng.ts';
import { figure, type BenchResult } from '../lib/results.ts';
import { median, percentile } from '../lib/stats.ts';

/** Posts per second of the paced client. */
export const LATENCY_RATE = 1000;

/** Share of the paced posts that cross a threshold. */
const CROSS_SHARE = 0.1;

/** Connections of the paced client. */
const CONNECTIONS = 50;

/** Relocator concurrency used here: the RELOCATOR_CONCURRENCY default. */
const RELOCATOR_CONCURRENCY = 4;

/** What one paced round observed. */
interface PacedRound {
  /** Round trip of every post, ms. */
  rtts: number[];
  /** Send time (epoch ms) of each crossing post, by cid. */
  crossings: Map<number, number>;
  /** Achieved posts per second. */
  rate: number;
}

/**
 * Sends `rate` posts per second for `seconds`, evenly spaced (the schedule is fixed in advance
 * and caught up every timer tick), over {@link CONNECTIONS} keep-alive connections. A crossing
 * post takes the next unused content (on bronze) and a count in silver's range, so each one is
 * exactly one job and one history row.
 */
async function pacedRound(
  client: HttpClient,
  seconds: number,
  mix: ViewMix,
  prng: Prng,
  nextCrossingCid: () => number,
): Promise<PacedRound> {
  const total = Math.round(LATENCY_RATE * seconds);
  const interval = 1000 / LATENCY_RATE;
  const rtts: number[] = [];
  const crossings = new Map<number, number>();
  const inflight: Promise<void>[] = [];
  const errors: string[] = [];
  const send = (view: View, crossing: boolean) => {
    const sentAt = Date.now();
    const started = performance.now();
    if (crossing) crossings.set(view.cid, sentAt);
    inflight.push(
      client.post('/v1/views', JSON.stringify(view), JSON_TYPE).then(
        (res) => {
          rtts.push(performance.now() - started);
          const expected = crossing ? '"update"' : '"done"';
          if (res.status !== 200 || !res.body.includes(expected)) {
            errors.push(`${res.status} ${res.body.slice(0, 200)}`);
          }
        },
        (error: unknown) => {
          errors.push(String(error));
        },
      ),
    );
  };
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
    for (; sent < due; sent++) {
      if (prng.next() < CROSS_SHARE) {
        send({ cid: nextCrossingCid(), count: prng.int(...COUNT_RANGE.silver) }, true);
      } else {
        send(mix.next(), false);
      }
    }
    await sleep(1);
  }
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  if (errors.length > 0) {
    throw new Error(`${errors.length} paced posts failed, e.g. ${errors[0] ?? ''}`);
  }
  return { rtts, crossings, rate: total / elapsed };
}

/**
 * Benchmark 6: posts at a fixed 1,000/s with a real relocator running (startRelocator, default
 * concurrency); for each post that crosses a threshold, the time from the client's send
 * (Date.now()) to `update_history.new_updated_date` of its move (written by the relocator from
 * its own clock: same machine, ms precision). Baseline: the round trip of the posts themselves.
 */
export const latencyBench: Bench = {
  name: 'latency',
  title: 'Decision latency',
  async run(ctx) {
    const plan = ctx.plan;
    await ctx.ensureIngestContents();
    const cids = await ctx.ensureLatencyContents(latencyContents(plan, LATENCY_RATE));
    let nextIndex = 0;
    const nextCrossingCid = () => {
      const cid = cids[nextIndex++];
      if (cid === undefined) throw new Error('ran out of decision-latency contents');
      return cid;
    };
    const gatewayUrl = BenchContext.urlOf(await ctx.gateway());
    await ctx.resetQueue();
    const relocator = await ctx.startChild('relocator', 'relocator.ts', {
      LOG_LEVEL: 'info',
      RELOCATOR_CONCURRENCY: String(RELOCATOR_CONCURRENCY),
    });
    const client = new HttpClient(gatewayUrl, { maxSockets: CONNECTIONS });
    const mix = new ViewMix(SEED, 0);
    const prng = new Prng(SEED);
    const decided = async (round: PacedRound): Promise<number[]> => {
      const wanted = [...round.crossings.keys()];
      const deadline = performance.now() + 60_000;
      for (;;) {
        const rows = await ctx.db
          .selectFrom('update_history')
          .select(['cid', 'new_updated_date'])
          .where('cid', 'in', wanted)
          .execute();
        if (rows.length >= wanted.length) {
          return rows.map(
            (r) => r.new_updated_date.getTime() - (round.crossings.get(Number(r.cid)) ?? 0),
          );
        }
        if (performance.now() > deadline) {
          throw new Error(
            `only ${rows.length} of ${wanted.length} moves committed within 60 s\n${relocator.tail()}`,
          );
        }
        await sleep(100);
      }
    };
    try {
      ctx.log(`latency: warm-up, ${plan.latencyWarmupSec} s at ${LATENCY_RATE}/s`);
      await decided(await pacedRound(client, plan.latencyWarmupSec, mix, prng, nextCrossingCid));
      const figures: {
        p50: number;
        p99: number;
        rttP50: number;
        rttP99: number;
        rate: number;
        n: number;
      }[] = [];
      for (let round = 0; round < plan.rounds; round++) {
        const paced = await pacedRound(client, plan.latencySec, mix, prng, nextCrossingCid);
        const latencies = await decided(paced);
        const f = {
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          rttP50: percentile(paced.rtts, 50),
          rttP99: percentile(paced.rtts, 99),
          rate: paced.rate,
          n: latencies.length,
        };
        figures.push(f);
        ctx.log(
          `latency round ${round + 1}/${plan.rounds}: ${Math.round(f.rate)} posts/s, ${f.n} moves, decision p50 ${f.p50} ms p99 ${f.p99} ms; post round trip p50 ${f.rttP50.toFixed(2)} ms p99 ${f.rttP99.toFixed(2)} ms`,
        );
      }
      const m = (pick: (f: (typeof figures)[number]) => number) => median(figures.map(pick));
      const rounds = (pick: (f: (typeof figures)[number]) => number) => figures.map(pick);
      const note = `${Math.round(m((f) => f.rate))} posts/s achieved (10 % cross a threshold), ${m((f) => f.n)} moves per round, relocator concurrency ${RELOCATOR_CONCURRENCY}, 4 KiB files on one file system; median of ${plan.rounds} rounds of ${plan.latencySec} s`;
      const results: BenchResult[] = [
        figure({
          name: 'latency.decision.p50',
          value: m((f) => f.p50),
          samples: { value: rounds((f) => f.p50), baseline: rounds((f) => f.rttP50) },
          unit: 'ms',
          baseline: 'round trip of the post itself, p50',
          baselineValue: m((f) => f.rttP50),
          better: 'lower',
          note,
        }),
        figure({
          name: 'latency.decision.p99',
          value: m((f) => f.p99),
          samples: { value: rounds((f) => f.p99), baseline: rounds((f) => f.rttP99) },
          unit: 'ms',
          baseline: 'round trip of the post itself, p99',
          baselineValue: m((f) => f.rttP99),
          better: 'lower',
          goal: { text: 'p99 < 50 ms at 1,000 posts/s', check: (v) => v < 50, limit: 50 },
        }),
      ];
      return results;
    } finally {
      client.close();
      await ctx.stopChild(relocator);
      await ctx.resetQueue();
    }
  },
};
