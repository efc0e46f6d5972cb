import { lstat, opendir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  getContent,
  getDeploymentId,
  listContents,
  listLevels,
  recordContentSize,
  recountTierUsage,
  type Database,
  type TierUsage,
} from '@relocation/db';
import {
  dedupId,
  enqueueRelocation,
  syncCache,
  type ContentCache,
  type RelocationQueue,
  type MoveJournal,
} from '@relocation/queue';
import type { ChooseTierOptions, Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { TEMP_MARKER, TIER_MARKER_FILE, checkTier, filenameProblem } from '@relocation/contract';

/**
 * Kinds of disagreement between MySQL and the tier directories:
 * - `misplaced`: the content's file is not on its level's tier but on another one;
 * - `duplicate`: the file is on its tier and also on another tier;
 * - `missing`: the file is on no tier;
 * - `orphan`: a file on a tier that no content refers to;
 * - `temp`: a temporary copy left by an interrupted move;
 * - `tier`: a tier directory that cannot be used (missing, unmarked, marked for another level or
 *   database) or where moves met a storage fault in the last hour (`detail` says which). The
 *   files of an unusable tier are not listed and its contents are not reported as missing;
 * - `cache`: the Redis cache says another tier or file name than MySQL (a change made outside
 *   the service, a restored database); needs a cache passed in;
 * - `stuck`: the content's latest count calls for another tier while nothing is queued, running
 *   or delayed for it; needs a cache passed in;
 * - `usage`: a tier's usage as MySQL tracks it is wrong: either a content whose file is on its
 *   tier has another size than `size_bytes`, or no size yet (NULL: registered before the file
 *   could be seen, seeded) — `cid` set; or a level's `tier_usage` counters disagree with a
 *   recount from `contents` (changed with SQL, restored) — `cid` null, `filename` the level.
 *   `detail` gives both sides, in files and bytes.
 */
export type DriftKind =
  'misplaced' | 'duplicate' | 'missing' | 'orphan' | 'temp' | 'tier' | 'cache' | 'stuck' | 'usage';

/** How long after a move's storage fault reconcile still reports its tier, in milliseconds. */
export const TIER_FAULT_REPORT_MS = 3_600_000;

/** Every drift kind, in report order. */
export const DRIFT_KINDS: readonly DriftKind[] = [
  'misplaced',
  'duplicate',
  'missing',
  'orphan',
  'temp',
  'tier',
  'cache',
  'stuck',
  'usage',
];

/** One disagreement. Paths are absolute. */
export interface Drift {
  kind: DriftKind;
  cid: number | null;
  filename: string;
  /** Where MySQL says the file is (contents only). */
  expected: string | null;
  /** Where files were found (for `temp`/`orphan`: the file itself). */
  found: string[];
  /** A relocation is queued, running or interrupted for the cid: the state may be transient. */
  inFlight: boolean;
  /** For `tier`, `cache`, `stuck` and `usage`: what disagrees (for `tier`: what to do). */
  detail?: string;
}

/** What {@link reconcile} found. */
export interface ReconcileReport {
  levels: number;
  contents: number;
  files: number;
  drift: Drift[];
  counts: Record<DriftKind, number>;
}

/** What {@link reconcile} needs. */
export interface ReconcileDeps {
  db: Kysely<Database>;
  /** With the queue and journal, drift of cids whose relocation is under way is marked `inFlight`. */
  queue?: RelocationQueue;
  journal?: MoveJournal;
  /**
   * The content cache: with it, each tier's last storage fault is reported (`tier`), and the
   * cache is compared with MySQL (`cache`, `stuck`).
   */
  cache?: ContentCache;
  /** The tiering options the relocators decide with (for `stuck`). */
  tiering?: ChooseTierOptions;
  now?: number;
}

interface TierFile {
  level: Level;
  file: string;
  /** Bytes, from the walk's lstat; null when the file vanished before it (a move took it). */
  size: number | null;
}

interface TierEntry {
  name: string;
  file: string;
  size: number | null;
}

async function listTier(level: Level): Promise<TierEntry[]> {
  const out: TierEntry[] = [];
  let dir;
  try {
    dir = await opendir(level.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw error;
  }
  for await (const entry of dir) {
    // The tier marker (and a marker being rewritten) is the service's own file, not a content's.
    if (entry.name.startsWith(TIER_MARKER_FILE)) continue;
    if (!entry.isFile()) continue;
    const file = path.join(level.path, entry.name);
    // The one lstat of the walk: `usage` compares its size with MySQL's, nothing stats again.
    const size = entry.name.includes(TEMP_MARKER) ? null : await sizeOf(file);
    out.push({ name: entry.name, file, size });
  }
  return out;
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await lstat(file)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function describeUsage(usage: TierUsage): string {
  return `${usage.files} ${usage.files === 1 ? 'file' : 'files'}, ${usage.bytes} bytes`;
}

/**
 * Compares MySQL with the tier directories and lists every disagreement (read-only). Reads the
 * contents a page at a time, each tier directory once (one lstat per file, for `usage`), and
 * compares the usage counters with a recount in a dry run.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const levels = await listLevels(deps.db);
  const deployment = await getDeploymentId(deps.db);
  const now = deps.now ?? Date.now();
  const faults = deps.cache ? await deps.cache.readTierStatus() : {};
  const byName = new Map<string, TierFile[]>();
  const temps: Drift[] = [];
  const tiers: Drift[] = [];
  const unusable = new Set<string>();
  let files = 0;
  for (const level of levels) {
    const check = await checkTier(level.path, { level: level.name, deployment });
    const lastFault = faults[level.name]?.lastFault;
    if (!check.ok || (lastFault && now - lastFault.at < TIER_FAULT_REPORT_MS)) {
      tiers.push({
        kind: 'tier',
        cid: null,
        filename: level.name,
        expected: level.path,
        found: [],
        inFlight: false,
        detail: !check.ok
          ? check.message
          : `moves met ${lastFault?.code ?? 'a fault'} ${Math.round((now - (lastFault?.at ?? now)) / 1000)} s ago: ${lastFault?.message ?? ''}`,
      });
    }
    if (!check.ok) {
      unusable.add(level.name);
      continue;
    }
    for (const entry of await listTier(level)) {
      files++;
      if (entry.name.includes(TEMP_MARKER)) {
        temps.push({
          kind: 'temp',
          cid: null,
          filename: entry.name,
          expected: null,
          found: [entry.file],
          inFlight: false,
        });
        continue;
      }
      const list = byName.get(entry.name) ?? [];
      list.push({ level, file: entry.file, size: entry.size });
      byName.set(entry.name, list);
    }
  }

  const drift: Drift[] = [];
  const referenced = new Set<string>();
  let contents = 0;
  let afterCid = -1;
  for (;;) {
    const page = await listContents(deps.db, { afterCid, limit: 1000 });
    if (page.length === 0) break;
    for (const content of page) {
      contents++;
      afterCid = content.cid;
      referenced.add(content.filename);
      if (filenameProblem(content.filename) !== null) continue; // the relocator refuses these
      // With a tier unusable, where its contents are cannot be known: its `tier` drift says so.
      if (unusable.size > 0) {
        if (unusable.has(content.content_level)) continue;
        if ((byName.get(content.filename) ?? []).length === 0) continue;
      }
      const level = levels.find((l) => l.name === content.content_level);
      const expected = level ? path.join(level.path, content.filename) : null;
      const where = byName.get(content.filename) ?? [];
      const onTier = where.find((w) => w.level.name === content.content_level);
      const elsewhere = where.filter((w) => w.level.name !== content.content_level);
      let kind: DriftKind | null = null;
      if (where.length === 0) kind = 'missing';
      else if (!onTier) kind = 'misplaced';
      else if (elsewhere.length > 0) kind = 'duplicate';
      if (kind !== null) {
        drift.push({
          kind,
          cid: content.cid,
          filename: content.filename,
          expected,
          found: where.map((w) => w.file),
          inFlight: await inFlight(deps, content.cid),
        });
      }
      const recorded = content.size_bytes === null ? null : Number(content.size_bytes);
      if (onTier && onTier.size !== null && onTier.size !== recorded) {
        drift.push({
          kind: 'usage',
          cid: content.cid,
          filename: content.filename,
          expected,
          found: [onTier.file],
          inFlight: await inFlight(deps, content.cid),
          detail: `size_bytes is ${recorded === null ? 'NULL (unknown)' : recorded}; the file has ${onTier.size} bytes`,
        });
      }
    }
  }
  for (const [name, where] of byName) {
    if (referenced.has(name)) continue;
    for (const w of where) {
      drift.push({
        kind: 'orphan',
        cid: null,
        filename: name,
        expected: null,
        found: [w.file],
        inFlight: false,
      });
    }
  }
  drift.push(...temps, ...tiers);
  if (deps.cache) {
    const synced = await syncCache(
      { db: deps.db, cache: deps.cache, ...(deps.tiering ? { tiering: deps.tiering } : {}) },
      { fix: false },
    );
    for (const d of synced.drift) {
      drift.push({
        kind: 'cache',
        cid: d.cid,
        filename: d.mysql.filename,
        expected: null,
        found: [],
        inFlight: await inFlight(deps, d.cid),
        detail: `the cache says ${d.cached.level} (${d.cached.filename}), MySQL says ${d.mysql.level} (${d.mysql.filename})`,
      });
    }
    for (const s of synced.stuck) {
      drift.push({
        kind: 'stuck',
        cid: s.cid,
        filename: s.filename,
        expected: null,
        found: [],
        inFlight: false,
        detail: `count ${s.count} calls for ${s.target}, it is on ${s.level}, and nothing is queued for it`,
      });
    }
  }
  // Counters and contents are compared in one snapshot, so a commit under way is not drift.
  for (const c of await recountTierUsage(deps.db, { dryRun: true })) {
    const level = levels.find((l) => l.name === c.level);
    drift.push({
      kind: 'usage',
      cid: null,
      filename: c.level,
      expected: level?.path ?? null,
      found: [],
      inFlight: false,
      detail: `the usage counters say ${describeUsage(c.before)}; a recount of contents says ${describeUsage(c.after)}`,
    });
  }
  const counts = Object.fromEntries(DRIFT_KINDS.map((k) => [k, 0])) as Record<DriftKind, number>;
  for (const d of drift) counts[d.kind]++;
  return { levels: levels.length, contents, files, drift, counts };
}

async function inFlight(deps: ReconcileDeps, cid: number): Promise<boolean> {
  if (deps.journal && (await deps.journal.get(cid))) return true;
  if (deps.queue && (await deps.queue.getDeduplicationJobId(dedupId(cid)))) return true;
  return false;
}

/** What {@link fixDrift} did with each drift. */
export interface FixAction {
  drift: Drift;
  /** `corrected`: MySQL was written directly (a size recorded, usage counters recounted). */
  action: 'queued' | 'removed' | 'corrected' | 'skipped';
  reason: string;
}

/** What {@link fixDrift} needs: where to queue repairs. */
export interface FixDeps {
  db: Kysely<Database>;
  queue: RelocationQueue;
  cache: ContentCache;
  journal: MoveJournal;
}

/** Options of {@link fixDrift}. */
export interface FixOptions {
  /** Temporary copies younger than this are left alone (a copy may be running); default 1 h. */
  tempMinAgeMs?: number;
  now?: number;
}

/**
 * Brings files to where MySQL says, without ever deleting a file that is the only copy:
 * - `misplaced` (found on exactly one other tier) and `duplicate` (one extra tier per run) are
 *   handed to the relocator: the repair is written as the cid's pending move (from the tier the
 *   file is on, to its level) and a relocation job is queued; the relocator finishes pending
 *   moves first, with its usual crash-safe, no-clobber file move — identical duplicates are
 *   removed, different ones fail the job with FILE_COLLISION and both files stay;
 * - `temp` copies older than `tempMinAgeMs` are deleted (the source of a move is only removed
 *   after its copy is in place, so a temporary file is never the only copy);
 * - `usage`: the size of each file found on its content's tier is recorded (measured again now,
 *   with `recordContentSize`, which writes only while the content is still on that level and
 *   adjusts the counters in the same transaction, so a move under way is never contradicted);
 *   then the counters of every level are recounted from `contents` once (`recountTierUsage`),
 *   which corrects the reported levels — and any level that drifted since the scan, reported as
 *   an extra action;
 * - `missing` and `orphan` are reported only: no safe automatic answer exists.
 * Drift of a cid whose relocation is under way is skipped (the running job settles it); `usage`
 * is not, as recording a size cannot contradict a move (above).
 */
export async function fixDrift(
  deps: FixDeps,
  report: ReconcileReport,
  options: FixOptions = {},
): Promise<FixAction[]> {
  const now = options.now ?? Date.now();
  const minAge = options.tempMinAgeMs ?? 3_600_000;
  const levels = await listLevels(deps.db);
  const levelOf = (file: string) => levels.find((l) => path.dirname(file) === path.resolve(l.path));
  const actions: FixAction[] = [];
  const levelUsage: Drift[] = [];
  for (const drift of report.drift) {
    switch (drift.kind) {
      case 'usage':
        // Levels are recounted after the loop, once every size below has been recorded.
        if (drift.cid === null) levelUsage.push(drift);
        else actions.push(await recordSize(deps.db, levels, drift, drift.cid));
        break;
      case 'missing':
        actions.push({
          drift,
          action: 'skipped',
          reason: 'the file is on no tier: restore it from a backup or delete the content',
        });
        break;
      case 'orphan':
        actions.push({
          drift,
          action: 'skipped',
          reason: 'no content refers to this file: register it or delete it',
        });
        break;
      case 'cache': {
        const cid = drift.cid;
        if (cid === null) break;
        const [entry] = await deps.cache.peekMany([cid]);
        const content = await getContent(deps.db, cid);
        if (!entry || !content) {
          actions.push({ drift, action: 'skipped', reason: 'the content or its entry is gone' });
          break;
        }
        const mysql = { level: content.content_level, filename: content.filename };
        const fixed = await deps.cache.syncContent(cid, entry, mysql);
        actions.push({
          drift,
          action: fixed ? 'queued' : 'skipped',
          reason: fixed
            ? `cache corrected to ${mysql.level}`
            : 'the entry changed meanwhile (a relocator settled a move)',
        });
        break;
      }
      case 'stuck': {
        const cid = drift.cid;
        if (cid === null) break;
        const content = await getContent(deps.db, cid);
        if (!content) {
          actions.push({ drift, action: 'skipped', reason: 'the content is gone' });
          break;
        }
        const count = (await deps.cache.latestCount(cid)) ?? Number(content.view_count);
        const { deployment } = await deps.cache.keys();
        const job = await enqueueRelocation(deps.queue, {
          cid,
          count,
          target: content.content_level,
          from: content.content_level,
          requestedAt: now,
          deployment,
          reason: 'reconcile',
        });
        actions.push({
          drift,
          action: 'queued',
          reason: `relocation queued (job ${job.id ?? '?'})`,
        });
        break;
      }
      case 'tier':
        actions.push({
          drift,
          action: 'skipped',
          reason:
            'an operator must act on the disk (mount it, free space, fix permissions) or run `npm run setup` for markers; moves to and from it wait meanwhile',
        });
        break;
      case 'temp': {
        const file = drift.found[0];
        if (file === undefined) break;
        const st = await lstat(file).catch(() => null);
        if (!st) {
          actions.push({ drift, action: 'skipped', reason: 'already gone' });
        } else if (now - st.mtimeMs < minAge) {
          actions.push({
            drift,
            action: 'skipped',
            reason: `younger than ${minAge} ms: a copy may be running`,
          });
        } else {
          await rm(file, { force: true });
          actions.push({ drift, action: 'removed', reason: 'stale temporary copy' });
        }
        break;
      }
      case 'misplaced':
      case 'duplicate': {
        const cid = drift.cid;
        if (cid === null) break;
        const content = await deps.db
          .selectFrom('contents')
          .selectAll()
          .where('cid', '=', cid)
          .executeTakeFirst();
        const extra = drift.found.filter((f) => f !== drift.expected);
        const fromLevel = extra[0] === undefined ? undefined : levelOf(extra[0]);
        if (!content || !fromLevel) {
          actions.push({
            drift,
            action: 'skipped',
            reason: 'the content or tier changed since the scan',
          });
          break;
        }
        if (drift.kind === 'misplaced' && extra.length > 1) {
          actions.push({
            drift,
            action: 'skipped',
            reason: 'the file is on several wrong tiers: choose the right copy by hand',
          });
          break;
        }
        if (await deps.queue.getDeduplicationJobId(dedupId(cid))) {
          actions.push({
            drift,
            action: 'skipped',
            reason: 'a relocation is queued or running for this content',
          });
          break;
        }
        const recorded = await deps.journal.beginIfAbsent(cid, {
          from: fromLevel.name,
          to: content.content_level,
          filename: content.filename,
          jobId: `reconcile-${now}`,
          startedAt: now,
        });
        if (!recorded) {
          actions.push({
            drift,
            action: 'skipped',
            reason: 'an interrupted move is pending for this content',
          });
          break;
        }
        const count = (await deps.cache.latestCount(cid)) ?? Number(content.view_count);
        await enqueueRelocation(deps.queue, {
          cid,
          count,
          target: content.content_level,
          from: fromLevel.name,
          requestedAt: now,
          deployment: (await deps.cache.keys()).deployment,
          reason: 'reconcile',
        });
        actions.push({
          drift,
          action: 'queued',
          reason:
            drift.kind === 'misplaced'
              ? `move from ${fromLevel.name} to ${content.content_level} queued`
              : `removal of the ${fromLevel.name} copy queued (only if identical)`,
        });
        break;
      }
    }
  }
  if (report.counts.usage > 0) actions.push(...(await recountUsage(deps.db, levels, levelUsage)));
  return actions;
}

/** Records the size of the file of `cid` on its level, measured now (see {@link fixDrift}). */
async function recordSize(
  db: Kysely<Database>,
  levels: readonly Level[],
  drift: Drift,
  cid: number,
): Promise<FixAction> {
  const content = await getContent(db, cid);
  const level = content ? levels.find((l) => l.name === content.content_level) : undefined;
  if (!content || !level) {
    return { drift, action: 'skipped', reason: 'the content or its level is gone' };
  }
  const bytes = await sizeOf(path.join(level.path, content.filename));
  if (bytes === null) {
    return {
      drift,
      action: 'skipped',
      reason: `the file is no longer on ${level.name} (a move took it; its commit records the size)`,
    };
  }
  return (await recordContentSize(db, { cid, level: level.name, bytes }))
    ? { drift, action: 'corrected', reason: `size recorded: ${bytes} bytes on ${level.name}` }
    : { drift, action: 'skipped', reason: 'the size was recorded meanwhile (a move committed)' };
}

/** Recounts every level's usage and says what became of each reported level (see {@link fixDrift}). */
async function recountUsage(
  db: Kysely<Database>,
  levels: readonly Level[],
  reported: readonly Drift[],
): Promise<FixAction[]> {
  const corrections = new Map((await recountTierUsage(db)).map((c) => [c.level, c] as const));
  const actions: FixAction[] = [];
  for (const drift of reported) {
    const c = corrections.get(drift.filename);
    corrections.delete(drift.filename);
    actions.push(
      c
        ? {
            drift,
            action: 'corrected',
            reason: `counters set to ${describeUsage(c.after)} (were ${describeUsage(c.before)})`,
          }
        : { drift, action: 'skipped', reason: 'the counters agreed by the time of the fix' },
    );
  }
  for (const c of corrections.values()) {
    actions.push({
      drift: {
        kind: 'usage',
        cid: null,
        filename: c.level,
        expected: levels.find((l) => l.name === c.level)?.path ?? null,
        found: [],
        inFlight: false,
        detail: `drifted after the scan: the usage counters said ${describeUsage(c.before)}; a recount of contents said ${describeUsage(c.after)}`,
      },
      action: 'corrected',
      reason: `counters set to ${describeUsage(c.after)} (were ${describeUsage(c.before)})`,
    });
  }
  return actions;
}
