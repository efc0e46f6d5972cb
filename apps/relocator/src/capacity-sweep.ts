import { lstat } from 'node:fs/promises';
import {
  getDeploymentId,
  listDemotionCandidates,
  listLevels,
  readTierUsage,
  recordContentSize,
  type Database,
} from '@relocation/db';
import {
  dedupId,
  enqueueRelocation,
  type ContentCache,
  type RelocationQueue,
} from '@relocation/queue';
import { tierCapacity, validateLevels, type Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RelocatorMetrics } from './metrics.ts';
import { resolveInTier } from './tier-path.ts';

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
 * Demotes the coldest contents of every tier above its high watermark until the demotions bring
 * it down to its low watermark: ranks the tier's contents that are not pinned by their latest
 * count (the cache's, else MySQL's; lowest first, then cid) and queues for each a `capacity` job
 * to the tier below, skipping contents that already have a job queued, until the bytes they free
 * (with those of demotions queued by earlier sweeps and still under way) reach the usage above the
 * low watermark. Demotions are ordinary moves (crash-safe, one history
 * row each, with reason `capacity`); the lowest tier has nowhere to demote to and is reported.
 * Sizes MySQL does not know yet are read from the tier (`lstat`) and recorded. Reads counters
 * and rows, never walks a directory.
 */
export async function sweepCapacity(deps: CapacitySweepDeps): Promise<CapacitySweepLevel[]> {
  const now = deps.now ?? Date.now;
  const checked = validateLevels(await listLevels(deps.db));
  if (!checked.ok) return [];
  const levels = checked.levels;
  const usage = await readTierUsage(deps.db);
  const deployment = await getDeploymentId(deps.db);
  const report: CapacitySweepLevel[] = [];
  for (const [index, level] of levels.entries()) {
    const capacity = tierCapacity(level);
    if (!capacity) continue;
    const usedBytes = usage.get(level.name)?.bytes ?? 0;
    const entry: CapacitySweepLevel = {
      level: level.name,
      usedBytes,
      highBytes: capacity.highBytes,
      lowBytes: capacity.lowBytes,
      state: usedBytes > capacity.highBytes ? 'over' : 'ok',
      demoted: 0,
      demotedBytes: 0,
      inFlightBytes: 0,
      shortfall: null,
    };
    report.push(entry);
    if (entry.state === 'ok') continue;
    const below = index > 0 ? levels[index - 1] : undefined;
    if (!below) {
      entry.shortfall = `${level.name} is the lowest tier: there is no tier to demote its contents to; raise its capacity or free space`;
      deps.logger.warn({ level: level.name, usedBytes, ...capacity }, entry.shortfall);
      continue;
    }
    const need = usedBytes - capacity.lowBytes;
    const ranked = await rankColdest(deps, level);
    // Demotions queued by an earlier sweep and not committed yet free their bytes already.
    let inFlight = 0;
    for (const candidate of ranked) {
      if (entry.demotedBytes + inFlight >= need) break;
      const pending = await deps.queue.getDeduplicationJobId(dedupId(candidate.cid));
      if (pending) {
        const job = await deps.queue.getJob(pending);
        if (job?.data.reason === 'capacity' && job.data.from === level.name) {
          inFlight += candidate.bytes;
        }
        continue;
      }
      await enqueueRelocation(deps.queue, {
        cid: candidate.cid,
        count: candidate.count,
        target: below.name,
        from: level.name,
        requestedAt: now(),
        deployment,
        reason: 'capacity',
      });
      entry.demoted += 1;
      entry.demotedBytes += candidate.bytes;
    }
    entry.inFlightBytes = inFlight;
    if (entry.demotedBytes + inFlight < need) {
      entry.shortfall = `only ${entry.demotedBytes} of the ${need} bytes above the low watermark could be demoted: the rest are pinned, already queued, or of unknown size`;
    }
    deps.metrics?.capacityDemotions.inc({ level: level.name }, entry.demoted);
    if (entry.demoted === 0) continue;
    deps.logger.warn(
      {
        level: level.name,
        usedBytes,
        highBytes: capacity.highBytes,
        lowBytes: capacity.lowBytes,
        demoted: entry.demoted,
        demotedBytes: entry.demotedBytes,
        inFlightBytes: inFlight,
        to: below.name,
      },
      `tier ${level.name} is above its high watermark: ${entry.demoted} coldest contents are demoted to ${below.name}`,
    );
  }
  return report;
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
        bytes = await sizeOnTier(level, candidate.filename);
        if (bytes === null) continue;
        await recordContentSize(deps.db, { cid: candidate.cid, level: level.name, bytes });
      }
      ranked.push({ cid: candidate.cid, count: entry?.count ?? candidate.viewCount, bytes });
    }
  }
  return ranked.sort((a, b) => a.count - b.count || a.cid - b.cid);
}

async function sizeOnTier(level: Level, filename: string): Promise<number | null> {
  try {
    const st = await lstat(resolveInTier(level.path, filename));
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}
