// `npm run bench` — runs the benchmarks, prints a table and writes bench/results.json.
// See bench/README.md. Flags: --long, --only <name,...>, --cpu-prof, --cluster.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { format, resolveConfig } from 'prettier';
import path from 'node:path';
import { batchedBench } from './benches/batched.ts';
import { crossFsBench } from './benches/cross-fs.ts';
import { hotPathBench } from './benches/hot-path.ts';
import { ingestBench } from './benches/ingest.ts';
import { latencyBench } from './benches/latency.ts';
import { planBench } from './benches/plan.ts';
import { relocatorBench } from './benches/relocator.ts';
import { replayBench } from './benches/replay.ts';
import { scaleBench } from './benches/scale.ts';
import { ArgsError, parseArgs, type BenchArgs } from './lib/args.ts';
import type { Bench } from './lib/bench.ts';
import { BENCH_DIR, REPO_ROOT } from './lib/children.ts';
import { CLUSTER_BENCHES, CLUSTER_MASTERS, clusterFigures } from './lib/cluster.ts';
import { BenchContext } from './lib/context.ts';
import { LONG_PLAN, QUICK_PLAN } from './lib/plan.ts';
import type { BenchResult, CodeInfo, ResultsFile } from './lib/results.ts';
import { renderTable } from './lib/table.ts';
import { startRedisCluster } from '../test/support/redis-cluster.ts';

function diffHash(diff: string): string | null {
  return diff === '' ? null : createHash('sha1').update(diff).digest('hex');
}

/** The commit measured, and which source files differed from it. */
function codeInfo(): CodeInfo {
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD').trim(),
      uncommitted: git('status', '--porcelain', '--', 'apps', 'packages')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => line.slice(3)),
      diffSha1: diffHash(git('diff', 'HEAD', '--', 'apps', 'packages')),
    };
  } catch {
    return { commit: null, uncommitted: [], diffSha1: null };
  }
}

const BENCHES: readonly Bench[] = [
  ingestBench,
  batchedBench,
  hotPathBench,
  relocatorBench,
  crossFsBench,
  latencyBench,
  scaleBench,
  planBench,
  replayBench,
];

let args: BenchArgs;
try {
  args = parseArgs(process.argv.slice(2));
} catch (error) {
  if (error instanceof ArgsError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const plan = args.long ? LONG_PLAN : QUICK_PLAN;
const codeAtStart = codeInfo();
process.stderr.write(
  `bench: ${args.long ? 'long' : 'quick'} run${args.only ? ` of ${[...args.only].join(', ')}` : ''}, ${os.cpus().length} cores, Node ${process.version}\n`,
);

let ctx: BenchContext;
try {
  ctx = await BenchContext.create(args, plan);
} catch (error) {
  process.stderr.write(
    `bench: cannot set up (is Redis at REDIS_URL and MySQL at DATABASE_URL running?): ${(error as Error).message}\n`,
  );
  process.exit(1);
}
const context = ctx;

// Ctrl-C or a kill: remove what this run created, then exit. Ctrl-C reaches this process twice
// (from the terminal and relayed by tsx), so only a signal more than 2 s after the first one
// skips the cleanup and exits at once.
let interruptedAt = 0;
const onSignal = (signal: NodeJS.Signals) => {
  if (interruptedAt > 0) {
    if (Date.now() - interruptedAt > 2000) process.exit(130);
    return;
  }
  interruptedAt = Date.now();
  process.stderr.write(`\nbench: ${signal}, cleaning up…\n`);
  void context.cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// A bug that escapes every await still removes what the run created.
const onCrash = (error: unknown) => {
  process.stderr.write(
    `bench: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  void context.cleanup().finally(() => process.exit(1));
};
process.on('uncaughtException', onCrash);
process.on('unhandledRejection', onCrash);

const results: BenchResult[] = [];
let failures = 0;

/**
 * `--cluster`: starts a local Redis Cluster, runs the selected benchmarks of
 * {@link CLUSTER_BENCHES} again on it (with a context of their own: database, hash-tagged
 * prefix, children) and returns the `cluster.*` figures against the single-server rounds of this
 * run. The run's clean-up stops that context and the cluster, also after a failure or Ctrl-C.
 */
async function runOnCluster(): Promise<BenchResult[]> {
  const benches = BENCHES.filter(
    (b) => CLUSTER_BENCHES.includes(b.name) && (!args.only || args.only.has(b.name)),
  );
  if (benches.length === 0) {
    context.note(`--cluster: none of ${CLUSTER_BENCHES.join(', ')} selected, no cluster figures`);
    return [];
  }
  context.log(`── cluster: starting a local ${CLUSTER_MASTERS}-master Redis Cluster`);
  const cluster = await startRedisCluster({ masters: CLUSTER_MASTERS, replicas: 0 });
  context.atCleanup('stopping the Redis Cluster', () => cluster.stop());
  const nodes = cluster.nodes.map(({ port }) => `127.0.0.1:${port}`).join(',');
  const onCluster = await BenchContext.create(args, plan, process.env, nodes);
  context.atCleanup('cleaning up the cluster run', () => onCluster.cleanup());
  onCluster.log(
    `cluster ${nodes}, database ${new URL(onCluster.databaseUrl).pathname.slice(1)}, Redis prefix ${onCluster.prefix}`,
  );
  try {
    for (const bench of benches) {
      if (interruptedAt > 0) break;
      onCluster.log(`── cluster ${bench.name}: ${bench.title}`);
      try {
        await bench.run(onCluster);
      } catch (error) {
        if (interruptedAt > 0) break;
        failures++;
        onCluster.note(`${bench.name} failed: ${(error as Error).stack ?? String(error)}`);
      }
    }
  } finally {
    context.notes.push(...onCluster.notes.map((n) => `cluster: ${n}`));
  }
  return clusterFigures(context.rounds, onCluster.rounds);
}

try {
  context.log(
    `database ${new URL(context.databaseUrl).pathname.slice(1)}, Redis prefix ${context.prefix}, scratch ${context.scratch}`,
  );
  for (const bench of BENCHES) {
    if (args.only && !args.only.has(bench.name)) continue;
    if (interruptedAt > 0) break;
    context.log(`── ${bench.name}: ${bench.title}`);
    try {
      results.push(...(await bench.run(context)));
    } catch (error) {
      if (interruptedAt > 0) break;
      failures++;
      context.note(`${bench.name} failed: ${(error as Error).stack ?? String(error)}`);
    }
  }
  if (args.cluster && interruptedAt === 0) {
    try {
      results.push(...(await runOnCluster()));
    } catch (error) {
      if (interruptedAt === 0) {
        failures++;
        context.note(`cluster failed: ${(error as Error).stack ?? String(error)}`);
      }
    }
  }
} finally {
  await context.cleanup();
}

if (JSON.stringify(codeInfo()) !== JSON.stringify(codeAtStart)) {
  context.notes.push('apps/ or packages/ changed while the benchmarks ran: figures may mix code');
}
const file: ResultsFile = {
  code: codeAtStart,
  machine: {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
  },
  date: new Date().toISOString(),
  quick: !args.long,
  only: args.only ? [...args.only] : null,
  durationSec: Math.round(context.elapsedSec()),
  results,
  notes: context.notes,
};
// A partial run (--only) does not replace the full results.
const target = path.join(BENCH_DIR, args.only ? 'results.tmp-only.json' : 'results.json');
const temp = path.join(BENCH_DIR, `results.tmp-${process.pid}.json`);
// Formatted as Prettier would, so `npm run lint` stays clean after a run.
const json = await format(JSON.stringify(file), {
  ...(await resolveConfig(target)),
  filepath: target,
});
await writeFile(temp, json);
await rename(temp, target);

process.stdout.write(`\n${renderTable(results)}\n`);
if (context.notes.length > 0) {
  process.stdout.write(
    `\nNotes:\n${context.notes.map((n) => `- ${n.split('\n')[0] ?? ''}`).join('\n')}\n`,
  );
}
process.stdout.write(
  `\n${results.length} figures in ${file.durationSec} s (${file.quick ? 'quick' : 'long'}); written to ${path.relative(process.cwd(), target)}\n`,
);
process.exit(failures > 0 ? 1 : 0);
