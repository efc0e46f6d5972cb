import type { BenchName } from './args.ts';
import { figure, type BenchResult } from './results.ts';
import { median } from './stats.ts';

/** The benchmarks `--cluster` runs again on a local Redis Cluster. */
export const CLUSTER_BENCHES: readonly BenchName[] = ['ingest', 'relocator'];

/** Masters of the local Redis Cluster of `--cluster` (no replicas). */
export const CLUSTER_MASTERS = 3;

/** The figures `--cluster` compares, each under `cluster.<name>`. */
const COMPARED = [
  { name: 'ingest.v1-views.throughput', unit: 'req/s', better: 'higher' },
  { name: 'ingest.v1-views.server-cpu', unit: 'µs/req', better: 'lower' },
  { name: 'ingest.v1-views.redis-cpu', unit: 'µs/req', better: 'lower' },
  { name: 'relocator.c8.moves', unit: 'moves/s', better: 'higher' },
  { name: 'relocator.c32.moves', unit: 'moves/s', better: 'higher' },
] as const;

const NOTE = `on a local ${CLUSTER_MASTERS}-master Redis Cluster (no replicas) through the cluster client, QUEUE_PREFIX a hash tag (while every key shares it, one master holds them all); on this machine's cores, shared by every master, the gateway or worker and the load, this measures what the cluster client costs, not what more masters gain`;

/**
 * The `cluster.*` figures: each compared figure's rounds on the cluster against its rounds on the
 * single Redis server in the same run (paired by round), no target. A figure missing on either
 * side (its benchmark did not run or failed) is left out.
 */
export function clusterFigures(
  single: ReadonlyMap<string, readonly number[]>,
  cluster: ReadonlyMap<string, readonly number[]>,
): BenchResult[] {
  const results: BenchResult[] = [];
  for (const { name, unit, better } of COMPARED) {
    const value = cluster.get(name) ?? [];
    const baseline = single.get(name) ?? [];
    if (value.length === 0 || baseline.length === 0) continue;
    results.push(
      figure({
        name: `cluster.${name}`,
        value: median(value),
        samples: { value, baseline },
        unit,
        baseline: `${name} on the single Redis server, same run`,
        baselineValue: median(baseline),
        better,
        note: NOTE,
      }),
    );
  }
  return results;
}
