import { setTimeout as sleep } from 'node:timers/promises';
import {
  ContentCache,
  RelocationKeys,
  RELOCATE_JOB,
  RELOCATION_JOB_OPTIONS,
  RELOCATION_QUEUE,
  dedupId,
  type RelocationJobData,
  type RelocationQueue,
} from '@relocation/queue';
import { Queue, type JobsOptions } from 'bullmq';
import type { BenchContext } from '../lib/context.ts';
import { rotate, type Bench } from '../lib/bench.ts';
import { filenameOf, ingestLevel, restingCount } from '../lib/dataset.ts';
import { figure, type BenchResult } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

const SIZES = [10_000, 100_000] as const;
const KINDS = ['job-real', 'job-plain', 'cid-real', 'cid-bare'] as const;
type Kind = (typeof KINDS)[number];

/** Sub-prefixes of equal length, so key names cost the same in every variant. */
const SUFFIX: Record<Kind, string> = {
  'job-real': '-s-jr',
  'job-plain': '-s-jp',
  'cid-real': '-s-cr',
  'cid-bare': '-s-cb',
};

/** One measurement: bytes per item by INFO used_memory, and by summing MEMORY USAGE of keys. */
interface Measured {
  perItem: number;
  keysPerItem: number;
}

async function info(ctx: BenchContext, field: string): Promise<number> {
  const text = await ctx.redis.info('memory');
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(text);
  return Number(match?.[1] ?? Number.NaN);
}

/** Waits until Redis has freed what earlier deletions handed to its background thread. */
async function settle(ctx: BenchContext): Promise<void> {
  for (let i = 0; i < 100 && (await info(ctx, 'lazyfree_pending_objects')) > 0; i++) {
    await sleep(50);
  }
}

async function keysBytes(ctx: BenchContext, prefix: string): Promise<number> {
  let cursor = '0';
  let total = 0;
  do {
    const [next, keys] = await ctx.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) {
      const pipeline = ctx.redis.pipeline();
      for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0');
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (!error) total += Number(value ?? 0);
      }
    }
  } while (cursor !== '0');
  return total;
}

function jobData(cid: number, now: number): RelocationJobData {
  return { cid, count: restingCount('silver'), target: 'silver', from: 'bronze', requestedAt: now };
}

async function fill(ctx: BenchContext, kind: Kind, prefix: string, n: number): Promise<void> {
  const now = Date.now();
  if (kind === 'job-real' || kind === 'job-plain') {
    const queue: RelocationQueue = new Queue(RELOCATION_QUEUE, { connection: ctx.redis, prefix });
    try {
      for (let i = 0; i < n; i += 1000) {
        const jobs: Parameters<RelocationQueue['addBulk']>[0] = [];
        for (let cid = i + 1; cid <= Math.min(n, i + 1000); cid++) {
          // The options enqueueRelocation adds with, or none at all (the baseline).
          const opts: JobsOptions | undefined =
            kind === 'job-real'
              ? {
                  ...RELOCATION_JOB_OPTIONS,
                  deduplication: { id: dedupId(cid), keepLastIfActive: true },
                }
              : undefined;
          jobs.push({ name: RELOCATE_JOB, data: jobData(cid, now), ...(opts ? { opts } : {}) });
        }
        await queue.addBulk(jobs);
      }
    } finally {
      await queue.close();
    }
    return;
  }
  if (kind === 'cid-real') {
    // What the gateway leaves for a known cid: filled from MySQL, then its latest count.
    const cache = new ContentCache(ctx.redis, new RelocationKeys({ prefix, deployment: 'bench' }));
    for (let i = 0; i < n; i += 1000) {
      const cids = Array.from({ length: Math.min(1000, n - i) }, (_, k) => i + k + 1);
      await Promise.all(
        cids.map((cid) => cache.fill(cid, { level: ingestLevel(cid), filename: filenameOf(cid) })),
      );
      await Promise.all(
        cids.map((cid) => cache.recordCount(cid, restingCount(ingestLevel(cid)), now)),
      );
    }
    return;
  }
  for (let i = 0; i < n; i += 1000) {
    const pipeline = ctx.redis.pipeline();
    for (let cid = i + 1; cid <= Math.min(n, i + 1000); cid++) {
      pipeline.hset(`${prefix}:relocation-cache:cid:${cid}`, {
        level: ingestLevel(cid),
        file: filenameOf(cid),
        count: String(restingCount(ingestLevel(cid))),
        countAt: String(now),
      });
    }
    await pipeline.exec();
  }
}

async function measure(ctx: BenchContext, kind: Kind, n: number): Promise<Measured> {
  const prefix = ctx.prefix + SUFFIX[kind];
  await ctx.deleteKeys(prefix);
  await settle(ctx);
  const before = await info(ctx, 'used_memory');
  await fill(ctx, kind, prefix, n);
  const after = await info(ctx, 'used_memory');
  const keys = await keysBytes(ctx, prefix);
  await ctx.deleteKeys(prefix);
  return { perItem: (after - before) / n, keysPerItem: keys / n };
}

/**
 * Benchmark 7: Redis memory per queued job (addBulk with the real enqueue options, against the
 * same jobs with no options) and per known cid in the content cache (fill + latest count,
 * against a bare hash of the same fields), at 10,000 and 100,000 contents. INFO used_memory
 * before/after; the sum of MEMORY USAGE over the keys is given in the note as a cross-check
 * (used_memory is server-wide, so other clients of a shared Redis add noise to it).
 */
export const scaleBench: Bench = {
  name: 'scale',
  title: 'Redis memory at scale',
  async run(ctx) {
    const results: BenchResult[] = [];
    for (const n of SIZES) {
      const rounds = n >= 100_000 ? ctx.plan.scaleLargeRounds : ctx.plan.rounds;
      const runs = new Map<Kind, Measured[]>(KINDS.map((k) => [k, []]));
      for (let round = 0; round < rounds; round++) {
        for (const kind of rotate(KINDS, round)) {
          const m = await measure(ctx, kind, n);
          runs.get(kind)?.push(m);
          ctx.log(
            `scale ${n} round ${round + 1}/${rounds} ${kind}: ${Math.round(m.perItem)} B/item (keys ${Math.round(m.keysPerItem)} B)`,
          );
        }
      }
      const perRounds = (kind: Kind) => (runs.get(kind) ?? []).map((m) => m.perItem);
      const per = (kind: Kind) => median(perRounds(kind));
      const keys = (kind: Kind) => median((runs.get(kind) ?? []).map((m) => m.keysPerItem));
      const label = n >= 100_000 ? '100k' : '10k';
      results.push(
        figure({
          name: `scale.job.${label}`,
          value: per('job-real'),
          samples: { value: perRounds('job-real'), baseline: perRounds('job-plain') },
          unit: 'B/job',
          baseline: 'the same job added with no options',
          baselineValue: per('job-plain'),
          better: 'lower',
          goal: { text: '< 1 KB per queued job', check: (v) => v < 1024, limit: 1024 },
          note: `${n} waiting jobs (one per cid, deduplication key included; the events stream is capped by BullMQ); MEMORY USAGE of the keys: ${Math.round(keys('job-real'))} vs ${Math.round(keys('job-plain'))} B`,
        }),
        figure({
          name: `scale.cid.${label}`,
          value: per('cid-real'),
          samples: { value: perRounds('cid-real'), baseline: perRounds('cid-bare') },
          unit: 'B/cid',
          baseline: 'a bare Redis hash with the same fields (level, file, count, countAt)',
          baselineValue: per('cid-bare'),
          better: 'lower',
          note: `${n} cids cached via ContentCache.fill + recordCount; MEMORY USAGE of the keys: ${Math.round(keys('cid-real'))} vs ${Math.round(keys('cid-bare'))} B`,
        }),
      );
    }
    return results;
  },
};
