import { getPinnedLevels, listContents, listLevels, type Database } from '@relocation/db';
import { chooseTier, validateLevels, type ChooseTierOptions } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { SYNC_PAGE } from './cache-sync.ts';
import type { ContentCache } from './content-cache.ts';
import { enqueueRelocation, type RelocationQueue } from './enqueue.ts';
import { getRelocationStatus } from './relocation-state.ts';

/** What {@link sweepRates} needs. */
export interface RateSweepDeps {
  db: Kysely<Database>;
  cache: ContentCache;
  queue: RelocationQueue;
  /** The tiering options the apps decide with; the sweep runs only with `viewRate`. */
  tiering: ChooseTierOptions;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

/** How {@link sweepRates} pages. */
export interface RateSweepOptions {
  /** Contents read from MySQL (and cache entries from Redis) per round trip; default 1000. */
  pageSize?: number;
}

/** What {@link sweepRates} did. */
export interface RateSweepReport {
  /** Contents looked at: those on a level above the bottom one. */
  contents: number;
  /** Demotions queued (jobs with `reason: 'decay'`). */
  queued: number;
  /** Contents whose rate calls for a demotion that were left alone, by why. */
  skipped: {
    /** A job is already waiting, delayed or active for it (it decides with the latest rate). */
    pending: number;
    /** Its last job failed: it stays failed (and stuck) until an operator requeues it. */
    failed: number;
  };
  durationMs: number;
}

/**
 * Queues the demotions that view rates decayed with time call for (`TIERING_POLICY=rate`; with
 * `tiering.viewRate` null it does nothing). A content nobody watches gets no post, so nothing
 * else decides it again: this sweep pages through the contents above the bottom level, one level
 * at a time (a range of the `content_level` index per page of `pageSize`), decides each one with
 * `chooseTier` by its cached rate state as of `now`, its pin and its last move, and queues a
 * `decay` job for each demotion with no job pending. A content whose last job failed is not
 * queued again (the failure stays visible, `GET /v1/contents/{cid}`, until an operator
 * requeues it); a content with no rate state (never posted under the rate policy), one held by
 * its minimum residence, and a pinned one stay. Only demotions are queued: a decayed rate never
 * calls for a promotion, and another move with nothing pending is the cache sweep's stuck list.
 * One pass costs about `2 × contents / pageSize` round trips to each of MySQL and Redis, plus a
 * few per demotion.
 */
export async function sweepRates(
  deps: RateSweepDeps,
  options: RateSweepOptions = {},
): Promise<RateSweepReport> {
  const started = Date.now();
  const report: RateSweepReport = {
    contents: 0,
    queued: 0,
    skipped: { pending: 0, failed: 0 },
    durationMs: 0,
  };
  const viewRate = deps.tiering.viewRate ?? null;
  const checked = viewRate === null ? null : validateLevels(await listLevels(deps.db));
  if (checked === null || !checked.ok) {
    report.durationMs = Date.now() - started;
    return report;
  }
  const levels = checked.levels;
  const now = (deps.now ?? Date.now)();
  const limit = options.pageSize ?? SYNC_PAGE;
  // The bottom level (lowest minCount) has nothing below it: only the others can be demoted.
  const bottom = Math.min(...levels.map((level) => level.minCount));
  const above = levels.filter((level) => level.minCount !== bottom).map((level) => level.name);
  const { deployment } = await deps.cache.keys();
  for (const level of above) {
    let afterCid = -1;
    for (;;) {
      const page = await listContents(deps.db, { afterCid, limit, levels: [level] });
      if (page.length === 0) break;
      afterCid = Number(page[page.length - 1]?.cid ?? afterCid);
      const cids = page.map((c) => Number(c.cid));
      const entries = await deps.cache.peekMany(cids);
      const pins = await getPinnedLevels(deps.db, cids);
      const demotions: { cid: number; count: number; from: string; to: string }[] = [];
      for (const [i, content] of page.entries()) {
        report.contents++;
        const cid = Number(content.cid);
        const entry = entries[i] ?? null;
        const count = entry?.count ?? Number(content.view_count);
        const decision = chooseTier({
          count,
          levels,
          current: content.content_level,
          options: deps.tiering,
          now,
          lastMovedAt: content.update_time.getTime(),
          pin: pins.get(cid) ?? null,
          rateState: entry?.rateState ?? null,
        });
        if (decision.kind === 'move' && decision.reason === 'demote') {
          demotions.push({ cid, count, from: content.content_level, to: decision.to });
        }
      }
      if (demotions.length === 0) continue;
      const pending = await deps.cache.pendingJobs(demotions.map((d) => d.cid));
      for (const [i, demotion] of demotions.entries()) {
        if (pending[i] !== null) {
          report.skipped.pending++;
          continue;
        }
        // The rule of `GET /v1/contents/{cid}`: the cid's pending job, else its last job if
        // that failed. Read per demotion (a few round trips): they are few next to the contents.
        const status = await getRelocationStatus(deps.queue, deps.cache, demotion.cid);
        if (status.state === 'failed') {
          report.skipped.failed++;
          continue;
        }
        if (status.state !== 'idle') {
          report.skipped.pending++;
          continue;
        }
        await enqueueRelocation(deps.queue, {
          cid: demotion.cid,
          count: demotion.count,
          target: demotion.to,
          from: demotion.from,
          requestedAt: now,
          deployment,
          reason: 'decay',
        });
        report.queued++;
      }
    }
  }
  report.durationMs = Date.now() - started;
  return report;
}
