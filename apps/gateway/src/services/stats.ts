import { countMovesPerMinute, readLevelUsage, type LevelUsage } from '@relocation/db';
import {
  planPolicy,
  relocationsStatus,
  type PlanPolicy,
  type RelocationJobData,
} from '@relocation/queue';
import { moveDirection as levelMoveDirection, type Level } from '@relocation/tiering';
import { fromDatabase } from '../errors.ts';
import type { GatewayContext } from '../plugins/infrastructure.ts';
import { fromQueue } from './backends.ts';
import { readStillStuck } from './content-state.ts';

/** Minutes of moves the overview counts (the last hour, the current minute included). */
export const MOVES_WINDOW_MINUTES = 60;

/** Most failed contents and stuck contents the overview lists (the newest / oldest first). */
export const OVERVIEW_LIST_LIMIT = 20;

const MINUTE_MS = 60_000;

/** The way a level change went: to a level of higher `minCount` or lower; `other` when unknown. */
export type MoveDirection = 'promote' | 'demote' | 'other';

/** One level of the table in force with its usage, from MySQL's counters (no directory walk). */
export interface TierStats extends LevelUsage {
  name: string;
  minCount: number;
  maxCount: number | null;
}

/** Moves of one minute, per direction. */
export interface MinuteStats {
  /** Start of the minute (epoch ms). */
  at: number;
  promote: number;
  demote: number;
  /** Moves between levels of which one is no longer in the table. */
  other: number;
}

/** Relocation jobs by state (BullMQ's counts) and whether relocators may start moves. */
export interface QueueStats {
  paused: boolean;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Completed jobs BullMQ still keeps (an hour, at most 5,000: `RELOCATION_KEEP_JOBS`). */
  completed: number;
  /** Relocator replicas connected to the queue. */
  replicas: number;
}

/** A content whose last relocation job failed. */
export interface FailedContent {
  cid: number;
  jobId: string;
  target: string | null;
  error: string;
  /** When the job failed (epoch ms), null when BullMQ did not record it. */
  failedAt: number | null;
}

/** A content the cache sweep found stuck, checked again now. */
export interface StuckContent {
  cid: number;
  level: string;
  target: string;
  viewCount: number;
  /** When the sweep first found it stuck (epoch ms). */
  since: number;
}

/** Everything the overview (`GET /v1/stats`, `GET /admin`) shows, read at `at`. */
export interface OverviewStats {
  /** When it was read (epoch ms). */
  at: number;
  /** Version of the level table in force. */
  version: number | null;
  tiers: TierStats[];
  moves: {
    /** Start of the first minute (epoch ms); the last minute is the current one. */
    since: number;
    minutes: MinuteStats[];
    totals: Record<MoveDirection, number>;
  };
  queue: QueueStats;
  /** `total`: failed jobs BullMQ keeps; `items`: the newest ({@link OVERVIEW_LIST_LIMIT}), one per cid. */
  failed: { total: number; items: FailedContent[] };
  /** `total`: cids the last sweep published; `items`: the oldest of them still stuck now. */
  stuck: { total: number; items: StuckContent[] };
  policy: PlanPolicy;
}

/** What {@link readOverviewStats} reads: the gateway's connections and settings. */
export type StatsDeps = GatewayContext;

/** Direction of a move from `from` to `to` by the levels' `minCount` (as plans and decisions). */
export function moveDirection(levels: readonly Level[], from: string, to: string): MoveDirection {
  const a = levels.find((l) => l.name === from);
  const b = levels.find((l) => l.name === to);
  if (a === undefined || b === undefined) return 'other';
  return levelMoveDirection(a, b);
}

/**
 * Moves per minute and direction over the {@link MOVES_WINDOW_MINUTES} minutes ending with the
 * current one: one grouped read of `update_history` by its time index.
 */
async function readMoves(
  deps: StatsDeps,
  levels: readonly Level[],
  now: number,
): Promise<OverviewStats['moves']> {
  const until = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const since = until - MOVES_WINDOW_MINUTES * MINUTE_MS;
  const rows = await fromDatabase(() =>
    countMovesPerMinute(deps.db, { since: new Date(since), until: new Date(until) }),
  );
  const minutes: MinuteStats[] = Array.from({ length: MOVES_WINDOW_MINUTES }, (_, i) => ({
    at: since + i * MINUTE_MS,
    promote: 0,
    demote: 0,
    other: 0,
  }));
  const totals: Record<MoveDirection, number> = { promote: 0, demote: 0, other: 0 };
  for (const row of rows) {
    const minute = minutes[row.minute];
    if (minute === undefined) continue;
    const direction = moveDirection(levels, row.from, row.to);
    minute[direction] += row.moves;
    totals[direction] += row.moves;
  }
  return { since, minutes, totals };
}

async function readQueue(deps: StatsDeps): Promise<QueueStats> {
  const [status, counts] = await fromQueue(deps.redis, () =>
    Promise.all([relocationsStatus(deps.queue), deps.queue.getJobCounts('completed')]),
  );
  return {
    paused: status.paused,
    waiting: status.waiting,
    active: status.active,
    delayed: status.delayed,
    failed: status.failed,
    completed: counts.completed ?? 0,
    replicas: status.replicas.length,
  };
}

/** The newest failed jobs, one per cid (BullMQ keeps failed jobs a week). */
async function readFailed(deps: StatsDeps, total: number): Promise<OverviewStats['failed']> {
  const jobs = await fromQueue(deps.redis, () =>
    deps.queue.getJobs(['failed'], 0, OVERVIEW_LIST_LIMIT * 2 - 1, false),
  );
  const seen = new Set<number>();
  const items: FailedContent[] = [];
  for (const job of jobs) {
    // `getJobs` may answer undefined for a job removed meanwhile.
    const data = job?.data as Partial<RelocationJobData> | undefined;
    if (!job || typeof data?.cid !== 'number' || seen.has(data.cid)) continue;
    seen.add(data.cid);
    items.push({
      cid: data.cid,
      jobId: job.id ?? '',
      target: data.target ?? null,
      error: job.failedReason || 'failed',
      failedAt: job.finishedOn ?? null,
    });
    if (items.length === OVERVIEW_LIST_LIMIT) break;
  }
  return { total, items };
}

/**
 * The stuck list as the relocators' cache sweep published it, each content checked again as
 * `GET /v1/contents?state=stuck` does: one settled or queued since the sweep is left out.
 */
async function readStuck(deps: StatsDeps): Promise<OverviewStats['stuck']> {
  const page = await readStillStuck(deps, 0, OVERVIEW_LIST_LIMIT);
  const items: StuckContent[] = page.items.map(({ cid, since, state }) => ({
    cid,
    level: state.content.content_level,
    target: state.target,
    viewCount: state.viewCount,
    since,
  }));
  return { total: page.total, items };
}

/**
 * Reads the overview from the counters the service keeps, never from the tier directories:
 * contents and bytes per tier (`tier_usage`), moves per minute and direction over the last hour
 * (`update_history` by its time index), BullMQ's job counts and pause flag, the newest failed
 * jobs, the stuck list the cache sweep published, and the placement policy in force.
 */
export async function readOverviewStats(
  deps: StatsDeps,
  now: number = Date.now(),
): Promise<OverviewStats> {
  const { levels, version } = await deps.levels.latest();
  const [usage, moves, queue, stuck] = await Promise.all([
    fromDatabase(() => readLevelUsage(deps.db, levels)),
    readMoves(deps, levels, now),
    readQueue(deps),
    readStuck(deps),
  ]);
  const failed = await readFailed(deps, queue.failed);
  return {
    at: now,
    version,
    tiers: levels.map((level) => ({
      name: level.name,
      minCount: level.minCount,
      maxCount: level.maxCount,
      ...(usage[level.name] as LevelUsage),
    })),
    moves,
    queue,
    failed,
    stuck,
    policy: planPolicy(deps.tiering),
  };
}
