import { tierFileSize } from '@relocation/contract';
import {
  getContent,
  getDeploymentId,
  listDemotionCandidates,
  listLevels,
  listTierReservations,
  readLevelUsage,
  recordContentSize,
  reserveTierSpace,
  type Database,
} from '@relocation/db';
import {
  CAPACITY_HOLD_CODE,
  dedupId,
  enqueueRelocation,
  type ContentCache,
  type RelocationQueue,
} from '@relocation/queue';
import { tierCapacity, validateLevels, type Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RelocatorMetrics } from './metrics.ts';

/** Cids whose cache entries one round trip reads while the sweep ranks a tier's contents. */
const PEEK_BATCH = 1000;

/** What the sweep did for one tier with a capacity. */
export interface CapacitySweepLevel {
  level: string;
  /** Bytes on the tier when the sweep looked (the usage counters). */
  usedBytes: number;
  highBytes: number;
  lowBytes: number;
  /** `over`: above its high watermark; `ok`: at or below it. */
  state: 'ok' | 'over';
  /** Moves waiting for space in the tier (looked for only when it is not `over`). */
  waiting: number;
  /** Demotions queued by this sweep, and the bytes they will free. */
  demoted: number;
  demotedBytes: number;
  /** Bytes that demotions queued by earlier sweeps (not committed yet) will free. */
  inFlightBytes: number;
  /** Why fewer contents were demoted than needed, when so. */
  shortfall: string | null;
}

/** What {@link sweepCapacity} needs. */
export interface CapacitySweepDeps {
  db: Kysely<Database>;
  cache: ContentCache;
  queue: RelocationQueue;
  logger: Logger;
  metrics?: RelocatorMetrics;
  now?: () => number;
}

/**
 * Makes room in the tiers with a capacity, by queueing `capacity` jobs that move contents one
 * tier down (ordinary moves: crash-safe, one history row each with reason `capacity`):
 * - a tier above its high watermark: its unpinned contents ranked by latest count (the cache's,
 *   else MySQL's; lowest first, then cid) are demoted, coldest first, until the bytes they free
 *   bring it down to its low watermark;
 * - a tier at or below it with moves waiting for space (hottest first; a content pinned to the
 *   tier before any count): for each waiting move that does not fit, residents colder than it
 *   are demoted, coldest first, when together they free enough for it (never a partial
 *   displacement, never a swap of equal counts).
 * Contents that already have a job are skipped; demotions queued by earlier sweeps and still
 * under way count as freeing their bytes, so a sweep never demotes twice for the same need. The
 * lowest tier has nowhere to demote to and is reported. Sizes MySQL does not know yet are read
 * from the tier (`lstat`) and recorded. Reads counters and rows, never walks a directory.
 */
export async function sweepCapacity(deps: CapacitySweepDeps): Promise<CapacitySweepLevel[]> {
  const checked = validateLevels(await listLevels(deps.db));
  if (!checked.ok) return [];
  const levels = checked.levels;
  const usage = await readLevelUsage(deps.db, levels);
  // The delayed jobs are read once per sweep, and only when a tier needs them.
  let delayed: Promise<RelocateJobLike[]> | null = null;
  const delayedJobs = () => (delayed ??= deps.queue.getDelayed(0, WAITING_SCAN - 1));
  const deployment = await getDeploymentId(deps.db);
  const report: CapacitySweepLevel[] = [];
  for (const [index, level] of levels.entries()) {
    const capacity = tierCapacity(level);
    if (!capacity) continue;
    const used = usage[level.name];
    const usedBytes = used?.bytes ?? 0;
    const entry: CapacitySweepLevel = {
      level: level.name,
      usedBytes,
      highBytes: capacity.highBytes,
      lowBytes: capacity.lowBytes,
      state: used?.aboveHighWatermark ? 'over' : 'ok',
      waiting: 0,
      demoted: 0,
      demotedBytes: 0,
      inFlightBytes: 0,
      shortfall: null,
    };
    report.push(entry);
    const waiting =
      entry.state === 'ok' ? await waitingForSpace(deps, level, levels, await delayedJobs()) : [];
    entry.waiting = waiting.length;
    if (entry.state === 'ok' && waiting.length === 0) continue;
    const below = index > 0 ? levels[index - 1] : undefined;
    if (!below) {
      entry.shortfall = `${level.name} is the lowest tier: there is no tier to demote its contents to; raise its capacity or free space`;
      deps.logger.warn({ level: level.name, usedBytes, ...capacity }, entry.shortfall);
      continue;
    }
    const demotion = new Demotion(deps, level, below, deployment, entry);
    const ranked = await rankColdest(deps, level);
    if (entry.state === 'over') {
      const need = usedBytes - capacity.lowBytes;
      for (const candidate of ranked) {
        if (entry.demotedBytes + entry.inFlightBytes >= need) break;
        await demotion.take(candidate);
      }
      if (entry.demotedBytes + entry.inFlightBytes < need) {
        entry.shortfall = `only ${entry.demotedBytes + entry.inFlightBytes} of the ${need} bytes above the low watermark could be demoted: the rest are pinned, already queued, or of unknown size`;
      }
    } else {
      // Room for hotter contents: a move waiting for space displaces residents colder than it
      // (coldest first), and only when they free enough for it, so a tier full of hot contents
      // keeps them and equal counts never swap.
      // The space a displacement frees is earmarked for its waiting content (a reservation in
      // its name), so a colder move that tries first cannot take it.
      const reserved = await listTierReservations(deps.db, level.name);
      const waitingCids = new Set(waiting.map((w) => w.cid));
      let others = 0;
      for (const [cid, bytes] of reserved) if (!waitingCids.has(cid)) others += bytes;
      let free = capacity.highBytes - usedBytes - others;
      let next = 0;
      for (const wait of waiting) {
        if (wait.bytes <= free) {
          free -= wait.bytes;
          await earmark(deps, level, wait);
          continue;
        }
        const chosen: RankedContent[] = [];
        let freed = 0;
        let i = next;
        for (; i < ranked.length && free + freed < wait.bytes; i += 1) {
          const resident = ranked[i];
          if (!resident || resident.count >= wait.count) break;
          chosen.push(resident);
          freed += resident.bytes;
        }
        if (free + freed < wait.bytes) break;
        await earmark(deps, level, wait);
        for (const resident of chosen) await demotion.take(resident);
        next = i;
        free = free + freed - wait.bytes;
      }
    }
    deps.metrics?.capacityDemotions.inc({ level: level.name }, entry.demoted);
    if (entry.demoted === 0) continue;
    deps.logger.warn(
      {
        level: level.name,
        usedBytes,
        highBytes: capacity.highBytes,
        lowBytes: capacity.lowBytes,
        waiting: entry.waiting,
        demoted: entry.demoted,
        demotedBytes: entry.demotedBytes,
        inFlightBytes: entry.inFlightBytes,
        to: below.name,
      },
      entry.state === 'over'
        ? `tier ${level.name} is above its high watermark: ${entry.demoted} coldest contents are demoted to ${below.name}`
        : `tier ${level.name} is full for ${entry.waiting} hotter contents waiting for space: ${entry.demoted} colder contents are demoted to ${below.name}`,
    );
  }
  return report;
}

/** Queues the capacity demotions of one tier and keeps its report's figures. */
class Demotion {
  private readonly deps: CapacitySweepDeps;
  private readonly level: Level;
  private readonly below: Level;
  private readonly deployment: string;
  private readonly entry: CapacitySweepLevel;

  constructor(
    deps: CapacitySweepDeps,
    level: Level,
    below: Level,
    deployment: string,
    entry: CapacitySweepLevel,
  ) {
    this.deps = deps;
    this.level = level;
    this.below = below;
    this.deployment = deployment;
    this.entry = entry;
  }

  /**
   * Queues a `capacity` job for `content`, unless it already has a job: a demotion queued by an
   * earlier sweep and not committed yet counts as freeing its bytes (`inFlightBytes`), any other
   * job leaves the content alone.
   */
  async take(content: RankedContent): Promise<void> {
    const { queue } = this.deps;
    const pending = await queue.getDeduplicationJobId(dedupId(content.cid));
    if (pending) {
      const job = await queue.getJob(pending);
      if (job?.data.reason === 'capacity' && job.data.from === this.level.name) {
        this.entry.inFlightBytes += content.bytes;
      }
      return;
    }
    await enqueueRelocation(queue, {
      cid: content.cid,
      count: content.count,
      target: this.below.name,
      from: this.level.name,
      requestedAt: (this.deps.now ?? Date.now)(),
      deployment: this.deployment,
      reason: 'capacity',
    });
    this.entry.demoted += 1;
    this.entry.demotedBytes += content.bytes;
  }
}

/**
 * Reserves `wait`'s bytes in `level` whatever the tier holds now (the demotions making room for
 * it are under way): its own next try replaces this reservation and is admitted once they
 * commit, while every other move into the tier counts it.
 */
async function earmark(deps: CapacitySweepDeps, level: Level, wait: RankedContent): Promise<void> {
  await reserveTierSpace(deps.db, {
    cid: wait.cid,
    level: level.name,
    bytes: wait.bytes,
    limitBytes: Number.MAX_SAFE_INTEGER,
  });
}

/** A relocation job as the queue returns it. */
type RelocateJobLike = Awaited<ReturnType<RelocationQueue['getDelayed']>>[number];

/** Most delayed jobs the sweep reads to find the moves waiting for space. */
const WAITING_SCAN = 1000;

/**
 * The moves into `level` that wait for space (delayed, with the cid's hold
 * {@link CAPACITY_HOLD_CODE} on this level), hottest first: a content pinned to the level before
 * any count. Sizes come from MySQL, else from the file on the content's tier.
 */
async function waitingForSpace(
  deps: CapacitySweepDeps,
  level: Level,
  levels: readonly Level[],
  delayed: readonly RelocateJobLike[],
): Promise<RankedContent[]> {
  const found: RankedContent[] = [];
  for (const job of delayed) {
    if (job.data.reason === 'capacity') continue;
    const cid = job.data.cid;
    const cached = await deps.cache.get(cid);
    if (cached?.hold?.code !== CAPACITY_HOLD_CODE || cached.hold.level !== level.name) continue;
    const content = await getContent(deps.db, cid);
    if (!content) continue;
    let bytes = content.size_bytes === null ? null : Number(content.size_bytes);
    if (bytes === null) {
      const at = levels.find((l) => l.name === content.content_level);
      bytes = at ? await tierFileSize(at.path, content.filename) : null;
    }
    if (bytes === null) continue;
    const count =
      cached.pin === level.name ? Number.MAX_SAFE_INTEGER : (cached.count ?? job.data.count);
    found.push({ cid, count, bytes });
  }
  return found.sort((a, b) => b.count - a.count || a.cid - b.cid);
}

interface RankedContent {
  cid: number;
  count: number;
  bytes: number;
}

/** The tier's unpinned contents, coldest first, with their sizes (read from disk when unknown). */
async function rankColdest(deps: CapacitySweepDeps, level: Level): Promise<RankedContent[]> {
  const candidates = await listDemotionCandidates(deps.db, level.name);
  const ranked: RankedContent[] = [];
  for (let i = 0; i < candidates.length; i += PEEK_BATCH) {
    const batch = candidates.slice(i, i + PEEK_BATCH);
    const cached = await deps.cache.peekMany(batch.map((c) => c.cid));
    for (const [j, candidate] of batch.entries()) {
      const entry = cached[j];
      // A cid pinned since MySQL was read is left alone too.
      if (entry?.pin) continue;
      let bytes = candidate.sizeBytes;
      if (bytes === null) {
        bytes = await tierFileSize(level.path, candidate.filename);
        if (bytes === null) continue;
        await recordContentSize(deps.db, { cid: candidate.cid, level: level.name, bytes });
      }
      ranked.push({ cid: candidate.cid, count: entry?.count ?? candidate.viewCount, bytes });
    }
  }
  return ranked.sort((a, b) => a.count - b.count || a.cid - b.cid);
}
