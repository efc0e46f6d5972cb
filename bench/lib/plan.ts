/** How long and how often each benchmark measures; quick by default, `--long` for more. */
export interface Plan {
  /** Measured rounds per figure (the median is reported); a warm-up precedes them. */
  rounds: number;
  /** Seconds of one autocannon run of the single-post ingest, and of its warm-up. */
  ingestSec: number;
  ingestWarmupSec: number;
  /** Seconds of one autocannon run of the batched ingest, and of its warm-up. */
  batchSec: number;
  batchWarmupSec: number;
  /** Posts per hot-path count. */
  hotPathPosts: number;
  /** Jobs per drain of the relocator benchmark, by worker kind. */
  relocatorJobs: { noop: number; work: number };
  /** Size of the file of the cross-filesystem move, bytes. */
  crossFsBytes: number;
  /** Seconds of one paced round of the decision-latency benchmark, and of its warm-up. */
  latencySec: number;
  latencyWarmupSec: number;
  /** Rounds of the memory measurement at 100k contents (10k always uses `rounds`). */
  scaleLargeRounds: number;
}

const GIB = 1024 ** 3;

/** The default plan: the whole run in under 5 minutes on 2 cores. */
export const QUICK_PLAN: Plan = Object.freeze({
  rounds: 3,
  ingestSec: 3,
  ingestWarmupSec: 1,
  batchSec: 3,
  batchWarmupSec: 1,
  hotPathPosts: 300,
  relocatorJobs: { noop: 3000, work: 600 },
  crossFsBytes: GIB,
  latencySec: 5,
  latencyWarmupSec: 2,
  scaleLargeRounds: 1,
});

/** `--long`: longer and more rounds (about 15 minutes). */
export const LONG_PLAN: Plan = Object.freeze({
  rounds: 5,
  ingestSec: 10,
  ingestWarmupSec: 3,
  batchSec: 8,
  batchWarmupSec: 2,
  hotPathPosts: 2000,
  relocatorJobs: { noop: 10_000, work: 2000 },
  crossFsBytes: GIB,
  latencySec: 20,
  latencyWarmupSec: 3,
  scaleLargeRounds: 3,
});
