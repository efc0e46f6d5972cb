import {
  RELOCATE_JOB,
  RELOCATION_JOB_OPTIONS,
  dedupId,
  type RelocationJobData,
} from '@relocation/queue';
import { sql } from 'kysely';
import type { BenchContext } from '../lib/context.ts';
import { rotate, type Bench } from '../lib/bench.ts';
import type { ChildHandle } from '../lib/children.ts';
import { CommandMonitor, questions, questionsOverhead, type SeenCommand } from '../lib/counters.ts';
import { cpuPer, cpuSnapshot, type CpuSnapshot } from '../lib/cpu.ts';
import {
  RELOCATOR_CID_BASE,
  SMALL_FILE_BYTES,
  cidRange,
  filenameOf,
  insertContents,
  restingCount,
  writeSmallFiles,
  type LevelName,
} from '../lib/dataset.ts';
import { figure, type BenchResult } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

const CONCURRENCIES = [1, 8, 32] as const;
const KINDS = ['noop', 'rename-tx', 'relocator'] as const;
type Kind = (typeof KINDS)[number];
/** What runs on a Redis Cluster (`--cluster`): the real processor at c8 and c32. */
const CLUSTER_CONCURRENCIES: readonly number[] = [8, 32];
const CLUSTER_KINDS: readonly Kind[] = ['relocator'];

/** What the worker child answers for one drain. */
interface DrainResult {
  elapsedMs: number;
  completed: number;
  failed: number;
  firstError: string | null;
  /** Moves per MySQL transaction of the group commit (the real processor; null otherwise). */
  movesPerCommit?: number | null;
}

/** A set of contents one kind of worker moves back and forth between bronze and silver. */
interface ContentSet {
  kind: Kind;
  cids: number[];
  /** Where each content is now (MySQL and its file). */
  level: Map<number, LevelName>;
}

function other(level: LevelName): LevelName {
  return level === 'bronze' ? 'silver' : 'bronze';
}

/**
 * Benchmark 4: end-to-end relocations of small files on one file system (job → link/rename →
 * MySQL commit), moves/s at concurrency 1, 8 and 32, for the real processor and two baselines
 * run by the same worker child with the same Worker options on the same Redis and MySQL:
 * a no-op worker, and a worker doing one rename plus one transaction (UPDATE + INSERT).
 * Jobs are pre-loaded with addBulk in the shape and with the options the gateway uses, then the
 * drain is timed inside the child from worker.run() to the last `completed` event.
 * On a Redis Cluster (`--cluster`) only the real processor runs, at c8 and c32, with no command
 * counts (MONITOR sees one node); its rounds go to `ctx.rounds` for the `cluster.*` figures.
 */
export const relocatorBench: Bench = {
  name: 'relocator',
  title: 'Relocator throughput',
  async run(ctx) {
    const plan = ctx.plan;
    const onCluster = ctx.clusterNodes !== null;
    const kinds = onCluster ? CLUSTER_KINDS : KINDS;
    const concurrencies = onCluster ? CLUSTER_CONCURRENCIES : CONCURRENCIES;
    const sizes: Record<Kind, number> = {
      noop: plan.relocatorJobs.noop,
      'rename-tx': plan.relocatorJobs.work,
      relocator: plan.relocatorJobs.work,
    };
    const sets = new Map<Kind, ContentSet>();
    for (const kind of kinds) {
      const cids = cidRange(RELOCATOR_CID_BASE[kind], sizes[kind]);
      sets.set(kind, { kind, cids, level: new Map(cids.map((cid) => [cid, 'bronze'])) });
      if (kind === 'noop') continue;
      await insertContents(
        ctx.db,
        cids.map((cid) => ({ cid, level: 'bronze', viewCount: restingCount('bronze') })),
      );
      await writeSmallFiles(ctx.levelDir('bronze'), cids);
    }
    // The relocator's contents are known to the cache, as the gateway would have left them.
    const relocatorSet = sets.get('relocator');
    if (relocatorSet) {
      const pipeline = ctx.redis.pipeline();
      const keys = await ctx.cache.keys();
      for (const cid of relocatorSet.cids) {
        pipeline.hset(keys.cid(cid), 'level', 'bronze', 'file', filenameOf(cid));
      }
      await pipeline.exec();
    }
    await ctx.resetQueue();
    const worker = await ctx.startChild('worker', 'worker.ts');
    try {
      const drain = (set: ContentSet, concurrency: number) =>
        drainOnce(ctx, worker, set, concurrency);
      ctx.log('relocator: warm-up');
      for (const kind of kinds) {
        const set = sets.get(kind);
        if (set) await drain(set, 8);
      }
      const rates = new Map<string, number[]>();
      const cpu = new Map<Kind, CpuSnapshot[]>();
      for (let round = 0; round < plan.rounds; round++) {
        for (const concurrency of concurrencies) {
          for (const kind of rotate(kinds, round)) {
            const set = sets.get(kind);
            if (!set) continue;
            const { rate, perJob, movesPerCommit } = await drain(set, concurrency);
            const key = `${kind}-${concurrency}`;
            rates.set(key, [...(rates.get(key) ?? []), rate]);
            cpu.set(kind, [...(cpu.get(kind) ?? []), perJob]);
            ctx.log(
              `relocator round ${round + 1}/${plan.rounds} ${kind} c=${concurrency}: ${Math.round(rate)} jobs/s; CPU µs/job worker ${perJob.child.toFixed(0)}, Redis ${perJob.redis.toFixed(0)}, MySQL ${perJob.mysql?.toFixed(0) ?? '?'}${movesPerCommit ? `; ${movesPerCommit.toFixed(1)} moves per commit` : ''}`,
            );
          }
        }
      }
      const rateRounds = (kind: Kind, c: number) => rates.get(`${kind}-${c}`) ?? [];
      const rate = (kind: Kind, c: number) => median(rateRounds(kind, c));
      for (const c of CLUSTER_CONCURRENCIES) {
        ctx.rounds.set(`relocator.c${c}.moves`, rateRounds('relocator', c));
      }
      if (onCluster) return [];
      const results: BenchResult[] = [];
      for (const c of CONCURRENCIES) {
        results.push(
          figure({
            name: `relocator.c${c}.moves`,
            value: rate('relocator', c),
            samples: { value: rateRounds('relocator', c), baseline: rateRounds('rename-tx', c) },
            unit: 'moves/s',
            baseline: `BullMQ worker doing one rename + one MySQL transaction (UPDATE + INSERT), concurrency ${c}`,
            baselineValue: rate('rename-tx', c),
            better: 'higher',
            target: 0.8,
            note: `${sizes.relocator} jobs of ${SMALL_FILE_BYTES / 1024} KiB files per drain, tiers on one disk file system; median of ${plan.rounds}`,
          }),
          figure({
            name: `relocator.c${c}.moves-vs-noop`,
            value: rate('relocator', c),
            samples: { value: rateRounds('relocator', c), baseline: rateRounds('noop', c) },
            unit: 'moves/s',
            baseline: `no-op BullMQ worker, concurrency ${c}`,
            baselineValue: rate('noop', c),
            better: 'higher',
          }),
        );
      }
      // One more drain per kind, not timed, with every Redis command and MySQL statement
      // counted (MONITOR slows Redis down).
      const calls = new Map<Kind, { redis: number; mysql: number }>();
      const overhead = await questionsOverhead(ctx);
      const monitor = await CommandMonitor.open(ctx);
      try {
        for (const kind of KINDS) {
          const set = sets.get(kind);
          if (!set) continue;
          let mysql = 0;
          let commands: SeenCommand[] = [];
          await drainOnce(ctx, worker, set, 8, async (run) => {
            commands = await monitor.window(async () => {
              const before = await questions(ctx);
              await run();
              mysql = (await questions(ctx)) - before - overhead;
            });
          });
          const jobs = set.cids.length;
          const counted = monitor.count(commands);
          calls.set(kind, { redis: counted.roundTrips / jobs, mysql: mysql / jobs });
          const names = [...counted.byName.entries()]
            .sort((a, b) => b[1] - a[1])
            .map(([name, n]) => `${name} ${(n / jobs).toFixed(2)}`)
            .join(', ');
          ctx.log(
            `relocator ${kind}: ${(calls.get(kind)?.redis ?? 0).toFixed(1)} Redis commands (${names}) and ${(calls.get(kind)?.mysql ?? 0).toFixed(1)} MySQL statements per job`,
          );
        }
      } finally {
        monitor.close();
      }
      for (const [part, unit, pick] of [
        ['redis', 'commands/job', (c: { redis: number }) => c.redis],
        ['mysql', 'statements/job', (c: { mysql: number }) => c.mysql],
      ] as const) {
        results.push(
          figure({
            name: `relocator.calls.${part}`,
            value: pick(calls.get('relocator') ?? { redis: Number.NaN, mysql: Number.NaN }),
            unit,
            baseline: 'the rename + transaction worker',
            baselineValue: pick(calls.get('rename-tx') ?? { redis: Number.NaN, mysql: Number.NaN }),
            better: 'lower',
            note:
              part === 'redis'
                ? 'MONITOR over one untimed drain at concurrency 8: commands the worker connections sent (BullMQ finish/fetch included, script-internal calls excluded, each command of a MULTI block counted)'
                : 'MariaDB Questions over one drain at concurrency 8, minus the status query (server-wide)',
          }),
        );
      }
      const cpuRounds = (kind: Kind, pick: (c: CpuSnapshot) => number | null) =>
        (cpu.get(kind) ?? []).map((c) => pick(c) ?? Number.NaN);
      const cpuOf = (kind: Kind, pick: (c: CpuSnapshot) => number | null) =>
        median(cpuRounds(kind, pick));
      for (const [part, pick, note] of [
        ['worker', (c: CpuSnapshot) => c.child, 'process.cpuUsage() of the worker child'],
        ['redis', (c: CpuSnapshot) => c.redis, 'Redis INFO cpu; server-wide'],
        ['mysql', (c: CpuSnapshot) => c.mysql, 'mariadbd /proc/<pid>/stat; server-wide'],
      ] as const) {
        results.push(
          figure({
            name: `relocator.cpu.${part}`,
            value: cpuOf('relocator', pick),
            samples: {
              value: cpuRounds('relocator', pick),
              baseline: cpuRounds('rename-tx', pick),
            },
            unit: 'µs/job',
            baseline: `${part} CPU per job of the rename + transaction worker`,
            baselineValue: cpuOf('rename-tx', pick),
            better: 'lower',
            note: `${note}; median over every drain (all concurrencies)`,
          }),
        );
      }
      return results;
    } finally {
      await ctx.stopChild(worker);
      await ctx.resetQueue();
    }
  },
};

/**
 * Pre-loads one job per content of `set` (each moving it to the other tier) and has the worker
 * child drain them; `around` wraps only the drain (not the preparation), e.g. to count commands.
 */
async function drainOnce(
  ctx: BenchContext,
  worker: ChildHandle,
  set: ContentSet,
  concurrency: number,
  around: (drain: () => Promise<void>) => Promise<void> = (drain) => drain(),
): Promise<{ rate: number; perJob: CpuSnapshot; movesPerCommit: number | null }> {
  const now = Date.now();
  const moves = set.cids.map((cid) => {
    const from = set.level.get(cid) ?? 'bronze';
    return { cid, from, to: other(from) };
  });
  if (set.kind === 'relocator') {
    // The latest count the gateway recorded calls for the other tier.
    const pipeline = ctx.redis.pipeline();
    const keys = await ctx.cache.keys();
    for (const m of moves) {
      pipeline.hset(keys.cid(m.cid), 'count', String(restingCount(m.to)), 'countAt', String(now));
    }
    await pipeline.exec();
  }
  await ctx.resetQueue();
  for (let i = 0; i < moves.length; i += 1000) {
    await ctx.queue.addBulk(
      moves.slice(i, i + 1000).map((m) => ({
        name: RELOCATE_JOB,
        data: {
          cid: m.cid,
          count: restingCount(m.to),
          target: m.to,
          from: m.from,
          requestedAt: now,
        } satisfies RelocationJobData,
        opts: {
          ...RELOCATION_JOB_OPTIONS,
          deduplication: { id: dedupId(m.cid), keepLastIfActive: true },
        },
      })),
    );
  }
  const before = await cpuSnapshot(ctx, worker);
  let drained: DrainResult | null = null;
  await around(async () => {
    drained = await worker.call<DrainResult>('drain', {
      kind: set.kind,
      concurrency,
      expected: moves.length,
    });
  });
  const perJob = cpuPer(before, await cpuSnapshot(ctx, worker), moves.length);
  const result: DrainResult = drained ?? {
    elapsedMs: Number.NaN,
    completed: 0,
    failed: 0,
    firstError: 'the drain did not run',
  };
  if (result.failed > 0 || result.completed !== moves.length) {
    throw new Error(
      `${set.kind} c=${concurrency}: ${result.completed} completed, ${result.failed} failed: ${result.firstError ?? ''}\n${worker.tail()}`,
    );
  }
  if (set.kind !== 'noop') {
    // Every content really moved: MySQL says so (the files were checked by the move itself).
    const first = set.cids[0] ?? 0;
    const last = set.cids[set.cids.length - 1] ?? 0;
    const to = moves[0]?.to ?? 'bronze';
    const { rows } = await sql<{ n: number | string }>`
      select count(*) as n from contents where cid between ${first} and ${last} and content_level = ${to}`.execute(
      ctx.db,
    );
    if (Number(rows[0]?.n) !== moves.length) {
      throw new Error(
        `${set.kind}: ${String(rows[0]?.n)} of ${moves.length} contents are on ${to}`,
      );
    }
  }
  for (const m of moves) set.level.set(m.cid, m.to);
  return {
    rate: moves.length / (result.elapsedMs / 1000),
    perJob,
    movesPerCommit: result.movesPerCommit ?? null,
  };
}
