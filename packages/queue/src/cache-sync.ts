import {
  getContentPin,
  getPinnedLevels,
  HISTORY_REASONS,
  latestChanges,
  listContents,
  listLevels,
  type Database,
} from '@relocation/db';
import { chooseTier, validateLevels, type ChooseTierOptions } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import type { RelocationQueue } from './enqueue.ts';
import type { ContentCache } from './content-cache.ts';
import { getRelocationStatus } from './relocation-state.ts';

/** Contents read from MySQL (and cache entries from Redis) per round trip of a sweep. */
export const SYNC_PAGE = 1000;

/** A cache entry that disagrees with MySQL. */
export interface CacheDrift {
  cid: number;
  /** What the cache said. */
  cached: { level: string; filename: string };
  /** What MySQL says (the truth). */
  mysql: { level: string; filename: string };
  /** The entry was corrected (with `fix`; a relocator settling a move meanwhile wins). */
  fixed: boolean;
}

/** A cached pin that disagrees with MySQL's `content_pin` (`null`: not pinned). */
export interface PinDrift {
  cid: number;
  cached: string | null;
  mysql: string | null;
  /** The cached pin was corrected (with `fix`; a pin or unpin meanwhile wins). */
  fixed: boolean;
}

/**
 * A content whose latest count (or pin) calls for another tier while nothing is queued, running or
 * delayed for it: nothing will ever move it unless someone acts (a failed job, a lost post).
 */
export interface StuckContent {
  cid: number;
  filename: string;
  /** Its level in MySQL. */
  level: string;
  /** The tier its latest count (or its pin) calls for. */
  target: string;
  /** Its latest count (posted, else MySQL's). */
  count: number;
}

/** What {@link syncCache} found (and fixed). */
export interface CacheSyncReport {
  contents: number;
  /** Contents that have a cache entry. */
  cached: number;
  drift: CacheDrift[];
  /** Cached pins that disagreed with MySQL. */
  pinDrift: PinDrift[];
  stuck: StuckContent[];
  durationMs: number;
}

/** What {@link syncCache} needs. */
export interface CacheSyncDeps {
  db: Kysely<Database>;
  cache: ContentCache;
  /** The tiering options the apps decide with (hysteresis, minimum residence). */
  tiering?: ChooseTierOptions;
  /**
   * The relocation queue, when the relocators' rate sweep runs (`TIERING_POLICY=rate` with
   * `RATE_SWEEP_EVERY` on): a content whose decayed view rate calls for a demotion is then the
   * sweep's to queue, not stuck, unless its last relocation failed (the sweep leaves those to an
   * operator).
   */
  rateSweepQueue?: RelocationQueue;
  now?: () => number;
}

/**
 * Compares every content's cache entry with MySQL, the only truth (invariant I7), a page at a
 * time: a pipelined read of the entries per page of MySQL rows, so one pass costs about
 * `3 × contents / 1000` round trips. With `fix`, an entry that disagrees is corrected by
 * compare-and-set (an entry a relocator changed since it was read is left to the relocator), so
 * a change made in MySQL outside the service (manual SQL, a restore) reaches the gateways within
 * one sweep; a cached pin that disagrees with MySQL's is corrected the same way. It also lists
 * the stuck contents (see {@link StuckContent}; a pinned content on its pin level is not stuck,
 * nor one whose latest level change was a capacity demotion to the level it is on),
 * and with `fix` publishes that list for `GET /v1/contents?state=stuck`.
 */
export async function syncCache(
  deps: CacheSyncDeps,
  options: { fix: boolean },
): Promise<CacheSyncReport> {
  const started = Date.now();
  const now = (deps.now ?? Date.now)();
  const checked = validateLevels(await listLevels(deps.db));
  const levels = checked.ok ? checked.levels : null;
  const report: CacheSyncReport = {
    contents: 0,
    cached: 0,
    drift: [],
    pinDrift: [],
    stuck: [],
    durationMs: 0,
  };
  let afterCid = -1;
  for (;;) {
    const page = await listContents(deps.db, { afterCid, limit: SYNC_PAGE });
    if (page.length === 0) break;
    afterCid = Number(page[page.length - 1]?.cid ?? afterCid);
    const cids = page.map((c) => Number(c.cid));
    const entries = await deps.cache.peekMany(cids);
    const pins = await getPinnedLevels(deps.db, cids);
    const candidates: (StuckContent & { demote?: true })[] = [];
    for (const [i, content] of page.entries()) {
      report.contents++;
      const cid = Number(content.cid);
      const entry = entries[i] ?? null;
      const mysql = { level: content.content_level, filename: content.filename };
      if (entry) {
        report.cached++;
        if (entry.level !== mysql.level || entry.filename !== mysql.filename) {
          const seen = { level: entry.level, filename: entry.filename };
          const fixed = options.fix ? await deps.cache.syncContent(cid, seen, mysql) : false;
          report.drift.push({ cid, cached: seen, mysql, fixed });
        }
        const pin = pins.get(cid) ?? null;
        if (entry.pin !== pin) {
          const pinDrift = await syncPin(deps, cid, entry.pin, options);
          if (pinDrift) report.pinDrift.push(pinDrift);
        }
      }
      if (levels === null) continue;
      const count = entry?.count ?? Number(content.view_count);
      const decision = chooseTier({
        count,
        levels,
        current: mysql.level,
        ...(deps.tiering ? { options: deps.tiering } : {}),
        now,
        lastMovedAt: content.update_time.getTime(),
        // A pinned content on its pin level is settled, whatever its count says.
        pin: pins.get(cid) ?? null,
        rateState: entry?.rateState ?? null,
      });
      if (decision.kind === 'move') {
        candidates.push({
          cid,
          filename: mysql.filename,
          level: mysql.level,
          target: decision.to,
          count,
          ...(decision.reason === 'demote' ? { demote: true } : {}),
        });
      }
    }
    if (candidates.length > 0) {
      const pending = await deps.cache.pendingJobs(candidates.map((c) => c.cid));
      const idle = candidates.filter((_, i) => pending[i] === null);
      // A content the capacity sweep demoted stays below its count's tier until its next post
      // (which moves it back if the tier has room): that is a decision, not a stuck content.
      const changes = await latestChanges(
        deps.db,
        idle.map((c) => c.cid),
      );
      for (const { demote, ...candidate } of idle) {
        const change = changes.get(candidate.cid);
        if (change?.reason === HISTORY_REASONS.capacity && change.level === candidate.level)
          continue;
        if (demote === true && deps.rateSweepQueue && deps.tiering?.viewRate) {
          // The rate sweep queues it, unless its last relocation failed.
          const status = await getRelocationStatus(deps.rateSweepQueue, deps.cache, candidate.cid);
          if (status.state !== 'failed') continue;
        }
        report.stuck.push(candidate);
      }
    }
  }
  if (options.fix)
    await deps.cache.setStuck(
      report.stuck.map((s) => s.cid),
      now,
    );
  report.durationMs = Date.now() - started;
  return report;
}

/**
 * Corrects a cached pin to MySQL's, read again right before the write (the page was read a
 * moment ago), by compare-and-set against the pin the sweep saw in the cache.
 */
async function syncPin(
  deps: CacheSyncDeps,
  cid: number,
  cached: string | null,
  options: { fix: boolean },
): Promise<PinDrift | null> {
  const mysql = (await getContentPin(deps.db, cid))?.level ?? null;
  if (mysql === cached) return null;
  const fixed = options.fix ? await deps.cache.setPin(cid, mysql, cached) : false;
  return { cid, cached, mysql, fixed };
}
