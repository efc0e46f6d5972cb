import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { checkTier, filenameProblem, tierFilePath, tierPathKey } from '@relocation/contract';
import {
  AUDIT_ACTIONS,
  assignContentLevel,
  getContent,
  getContentPin,
  listLevels,
  recordAudit,
  type Content,
  type Database,
} from '@relocation/db';
import {
  assertValidLevels,
  chooseTier,
  validateLevels,
  type ChooseTierOptions,
  type Level,
} from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { dedupId } from './constants.ts';
import type { ContentCache } from './content-cache.ts';
import { enqueueRelocation, type RelocationQueue } from './enqueue.ts';
import type { MoveJournal, PendingMove } from './move-journal.ts';

/**
 * Why an admin command refused (each maps to one HTTP status in the gateway and to exit status 1
 * in `npm run content`); the message says what was found and what to do.
 */
export type ContentAdminErrorCode =
  | 'CONTENT_NOT_FOUND'
  | 'UNKNOWN_LEVEL'
  | 'UNSAFE_FILENAME'
  | 'TIER_UNAVAILABLE'
  | 'FILE_NOT_ON_TIER'
  | 'RELOCATION_ACTIVE'
  | 'MOVE_PENDING'
  | 'CONTENT_CHANGED'
  | 'NO_PENDING_MOVE'
  | 'PENDING_MOVE_CONFLICT'
  | 'LEVEL_IN_USE'
  | 'INVALID_PIN';

/** A refusal of an admin command: a stable `code` and a message for an operator. */
export class ContentAdminError extends Error {
  readonly code: ContentAdminErrorCode;

  constructor(code: ContentAdminErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'ContentAdminError';
  }
}

/** What the admin commands need: the same connections the gateway and the relocator use. */
export interface ContentAdminDeps {
  db: Kysely<Database>;
  queue: RelocationQueue;
  /** Bound to the database's deployment (`DeploymentBinding`), like the apps' cache. */
  cache: ContentCache;
  /** On the same deployment as `cache` (e.g. `MoveJournal.forCache(cache)`). */
  journal: MoveJournal;
  /**
   * The placement policy the apps decide with (`TIERING_*`, `tieringOptions` of
   * `@relocation/runtime`), so a command targets the tier a post or the relocator would.
   */
  tiering: ChooseTierOptions;
  /** Clock in epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
}

/** Who runs an admin command; every command that is carried out writes an audit entry naming them. */
export interface ContentAdminOptions {
  /** `admin:<user>` over HTTP (the gateway's `actorOf`), `cli:<login>` from `npm run content`. */
  actor: string;
}

/**
 * The `update_history` job id of a manual change: the actor marked `admin:` once
 * (`admin:operator` over HTTP, `admin:cli:<login>` from the shell), at most 128 characters.
 */
export function manualJobId(actor: string): string {
  return (actor.startsWith('admin:') ? actor : `admin:${actor}`).slice(0, 128);
}

/** The commands an operator runs, by name, for messages (`npm run content` and HTTP). */
export const contentCommands = Object.freeze({
  setLevel: (cid: number, level: string) =>
    `\`npm run content -- set-level ${cid} ${level}\` (or \`PUT /v1/contents/${cid}/level\` with {"level":${JSON.stringify(level)}})`,
  requeue: (cid: number) =>
    `\`npm run content -- requeue ${cid}\` (or \`POST /v1/contents/${cid}/requeue\`)`,
  clearPending: (cid: number) =>
    `\`npm run content -- clear-pending ${cid}\` (or \`DELETE /v1/contents/${cid}/pending-move\`)`,
});

/** What is at a content's file name in one tier directory. */
export interface TierFile {
  level: string;
  /** The file's path in the tier directory. */
  path: string;
  /**
   * `file`: a regular file; `missing`: nothing; `other`: something that is not a regular file (a
   * directory, a symbolic link, which is never followed); `unreadable`: the file system refused.
   */
  found: 'file' | 'missing' | 'other' | 'unreadable';
  /** What `other` or `unreadable` is, for messages. */
  detail: string | null;
}

/** What {@link setContentLevel} did. */
export interface SetLevelResult {
  cid: number;
  level: string;
  /** The level MySQL held before (the same as `level` when nothing changed). */
  previousLevel: string;
  filename: string;
  /** Where the content's file is. */
  path: string;
  /** False when the content was already on `level` (no history row written). */
  changed: boolean;
  /** The `update_history` row written, when `changed`. */
  historyId: number | null;
  /** Regular files of the same name on other tiers (copies `npm run reconcile` reports). */
  otherCopies: string[];
  /**
   * The level the content's latest count calls for (`null` when the level table is invalid);
   * when it is not `level`, the next post or a requeue moves the content there.
   */
  target: string | null;
}

/** What {@link requeueContent} did. */
export type RequeueResult =
  | {
      kind: 'queued';
      cid: number;
      jobId: string;
      /** The level MySQL holds. */
      from: string;
      /** The level the latest count calls for (`from` when only a pending move is finished). */
      target: string;
      count: number;
      /** `move`: the count calls for another tier; `pending-move`: a recorded move is finished. */
      reason: 'move' | 'pending-move';
    }
  | { kind: 'on-target'; cid: number; level: string; count: number };

/** What {@link clearPendingMove} did. */
export interface ClearPendingResult {
  cid: number;
  /** The pending move that was cleared. */
  move: PendingMove;
  /** The tier that holds the file. */
  level: string;
  path: string;
  /** The level MySQL holds (`null` when the content no longer exists). */
  mysqlLevel: string | null;
  /** The command to run next when the file is not on MySQL's level, else `null`. */
  next: string | null;
}

/**
 * Records that a content's file is on `level` after an operator moved it by hand: the command
 * that replaces `UPDATE contents SET content_level = …`.
 *
 * Refuses (a {@link ContentAdminError}, nothing changed) unless: the content and the level exist;
 * the content's file name obeys the file-name rule; no relocation job of the cid is active and no
 * pending move is recorded for it (`RELOCATION_ACTIVE`, `MOVE_PENDING`); the level's directory is
 * its tier (marker of this level and database: `TIER_UNAVAILABLE`); and the file is a regular
 * file directly in that directory (`FILE_NOT_ON_TIER`, naming what each tier holds). Then one
 * MySQL transaction changes the level and writes the history row (job id {@link manualJobId})
 * and the audit entry (`content.set-level`), and the gateway's cache entry is pointed at the
 * level. Repeating it is harmless: a content already on `level` gets no history row (its audit
 * entry says the level did not change).
 */
export async function setContentLevel(
  deps: ContentAdminDeps,
  cid: number,
  levelName: string,
  options: ContentAdminOptions,
): Promise<SetLevelResult> {
  const content = await loadContent(deps, cid);
  const levels = await listLevels(deps.db);
  const level = levels.find((l) => l.name === levelName);
  if (!level) {
    throw new ContentAdminError(
      'UNKNOWN_LEVEL',
      `level ${JSON.stringify(levelName)} is not in the level table (levels: ${levels.map((l) => l.name).join(', ')})`,
    );
  }
  assertSafeName(content);
  await refuseWhileMoving(deps, cid);

  const { deployment } = await deps.cache.keys();
  const tier = await checkTier(level.path, { level: level.name, deployment });
  if (!tier.ok) throw new ContentAdminError('TIER_UNAVAILABLE', tier.message);
  const files = await Promise.all(levels.map((l) => inspectTierFile(l, content.filename)));
  const here = files.find((f) => f.level === level.name);
  if (here?.found !== 'file') {
    throw new ContentAdminError(
      'FILE_NOT_ON_TIER',
      `the file of content ${cid} is not a regular file in level "${level.name}"'s directory ` +
        `(${describeFile(here)}); ${describeElsewhere(files, level.name)}. Move the file there ` +
        'first, or name the level that holds it',
    );
  }
  const otherCopies = files
    .filter((f) => f.level !== level.name && f.found === 'file')
    .map((f) => f.path);

  const latest = await deps.cache.latestViews(cid);
  const viewCount = latest.count ?? Number(content.view_count);
  const checked = validateLevels(levels);
  const pin = (await getContentPin(deps.db, cid))?.level ?? null;
  const decision = checked.ok
    ? chooseTier({
        count: viewCount,
        levels: checked.levels,
        current: level.name,
        options: deps.tiering,
        pin,
        rateState: latest.rateState,
        now: (deps.now ?? Date.now)(),
      })
    : null;
  const result = await assignContentLevel(deps.db, {
    cid,
    level: level.name,
    expectedLevel: content.content_level,
    viewCount,
    jobId: manualJobId(options.actor),
    now: new Date((deps.now ?? Date.now)()),
    audit: { actor: options.actor, detail: `file ${here.path}` },
  });
  switch (result.kind) {
    case 'not-found':
      throw notFound(cid);
    case 'stale':
      throw new ContentAdminError(
        'CONTENT_CHANGED',
        `content ${cid} moved from ${content.content_level} to ${result.actualLevel} in MySQL ` +
          'while the files were checked; check again',
      );
    case 'assigned':
    case 'unchanged':
      break;
  }
  await deps.cache.setContent(cid, { level: level.name, filename: content.filename });
  return {
    cid,
    level: level.name,
    previousLevel: content.content_level,
    filename: content.filename,
    path: here.path,
    changed: result.kind === 'assigned',
    historyId: result.kind === 'assigned' ? result.historyId : null,
    otherCopies,
    target: decision === null ? null : decision.kind === 'stay' ? level.name : decision.to,
  };
}

/**
 * Queues a content's relocation from its latest count (the cache's, else MySQL's `view_count`)
 * or its pin,
 * whatever its last job did (a failed job does not hold the cid): the same `enqueueRelocation`
 * the gateway uses, so it joins a job already waiting for the cid instead of adding a second.
 * A job is queued when the count calls for another tier than MySQL's, or when a pending move is
 * recorded (the job finishes it first); otherwise the answer is `on-target` and nothing is queued.
 *
 * The audit entry (`content.requeue`) is written after the job was queued (a queue is not in a
 * MySQL transaction), with the job in `after`; should that write fail, the job stays queued and
 * the error is thrown.
 */
export async function requeueContent(
  deps: ContentAdminDeps,
  cid: number,
  options: ContentAdminOptions,
): Promise<RequeueResult> {
  const content = await loadContent(deps, cid);
  const levels = assertValidLevels(await listLevels(deps.db));
  const latest = await deps.cache.latestViews(cid);
  const count = latest.count ?? Number(content.view_count);
  const current = content.content_level;
  const decision = chooseTier({
    count,
    levels,
    current,
    options: deps.tiering,
    pin: (await getContentPin(deps.db, cid))?.level ?? null,
    rateState: latest.rateState,
    now: (deps.now ?? Date.now)(),
  });
  const target = decision.kind === 'stay' ? current : decision.to;
  const pending = await deps.journal.get(cid);
  const audit = {
    actor: options.actor,
    action: AUDIT_ACTIONS.requeueContent,
    target: `cid:${cid}`,
  };
  const before = { level: current, count, pendingMove: pending };
  if (target === current && pending === null) {
    await recordAudit(deps.db, { ...audit, before, after: { queued: false, target } });
    return { kind: 'on-target', cid, level: current, count };
  }
  const { deployment } = await deps.cache.keys();
  const job = await enqueueRelocation(deps.queue, {
    cid,
    count,
    target,
    from: current,
    requestedAt: (deps.now ?? Date.now)(),
    deployment,
    reason: 'admin',
  });
  const jobId = job.id ?? '';
  const reason = target === current ? 'pending-move' : 'move';
  await recordAudit(deps.db, { ...audit, before, after: { queued: true, jobId, target, reason } });
  return { kind: 'queued', cid, jobId, from: current, target, count, reason };
}

/**
 * Clears a cid's pending move after checking the files, for a move an operator has looked at
 * (a relocator finishes or ends a pending move by itself; this is for one it cannot).
 *
 * Refuses (nothing changed) when no move is pending (`NO_PENDING_MOVE`), while a job of the cid is
 * active (`RELOCATION_ACTIVE`), when a tier of the move cannot be checked (`TIER_UNAVAILABLE`),
 * and unless the file is a regular file on exactly one of the move's two tiers
 * (`PENDING_MOVE_CONFLICT`: on both is a collision, on neither a missing file; an operator
 * decides). Otherwise the move either never happened or finished: it is cleared, and the answer
 * says where the file is and, when that is not MySQL's level, the set-level command to run next.
 *
 * The audit entry (`content.clear-pending`, the cleared move in `before` and `after`) is written
 * after the move was cleared (the journal is in Redis); should that write fail, the move stays
 * cleared and the error is thrown.
 */
export async function clearPendingMove(
  deps: ContentAdminDeps,
  cid: number,
  options: ContentAdminOptions,
): Promise<ClearPendingResult> {
  const move = await deps.journal.get(cid);
  if (move === null) {
    throw new ContentAdminError('NO_PENDING_MOVE', `content ${cid} has no pending move`);
  }
  await refuseWhileActive(deps, cid);
  const content = await getContent(deps.db, cid);
  const levels = await listLevels(deps.db);
  const { deployment } = await deps.cache.keys();
  const what = `the pending move of content ${cid} (${move.filename}, ${move.from} → ${move.to}, job ${move.jobId || '?'})`;
  const problem = filenameProblem(move.filename);
  if (problem !== null) {
    throw new ContentAdminError(
      'UNSAFE_FILENAME',
      `${what} names a file that ${problem}; look at the tier directories yourself`,
    );
  }

  const files: TierFile[] = [];
  for (const name of [move.from, move.to]) {
    const level = levels.find((l) => l.name === name);
    if (!level) {
      throw new ContentAdminError(
        'TIER_UNAVAILABLE',
        `${what} cannot be checked: level "${name}" is no longer in the level table. The next ` +
          `job of the cid ends it and fails naming it: ${contentCommands.requeue(cid)}`,
      );
    }
    const tier = await checkTier(level.path, { level: level.name, deployment });
    if (!tier.ok) {
      throw new ContentAdminError('TIER_UNAVAILABLE', `${what} cannot be checked: ${tier.message}`);
    }
    files.push(await inspectTierFile(level, move.filename));
  }
  const present = files.filter((f) => f.found === 'file');
  const odd = files.filter((f) => f.found === 'other' || f.found === 'unreadable');
  const [only] = present;
  if (present.length !== 1 || odd.length > 0 || only === undefined) {
    const found = files.map((f) => `${f.level}: ${describeFile(f)}`).join('; ');
    const why =
      present.length === 2
        ? 'the file is on both tiers (a collision: compare them and remove the wrong copy)'
        : present.length === 0 && odd.length === 0
          ? 'the file is on neither tier (find it: `npm run reconcile` lists where it is)'
          : 'something other than a regular file is in the way';
    throw new ContentAdminError(
      'PENDING_MOVE_CONFLICT',
      `${what} was not cleared: ${why}. Found ${found}. Fix the files, then run ` +
        `${contentCommands.clearPending(cid)} again`,
    );
  }

  // A job may have started since the first check; it would be finishing this very move.
  await refuseWhileActive(deps, cid);
  await deps.journal.end(cid);
  const mysqlLevel = content?.content_level ?? null;
  if (content && mysqlLevel === only.level) {
    // MySQL and the file agree: the cache must say the same (a crash may have left it behind).
    await deps.cache.setContent(cid, { level: mysqlLevel, filename: content.filename });
  }
  const next =
    content && mysqlLevel !== only.level ? contentCommands.setLevel(cid, only.level) : null;
  await recordAudit(deps.db, {
    actor: options.actor,
    action: AUDIT_ACTIONS.clearPendingMove,
    target: `cid:${cid}`,
    before: { pendingMove: move, mysqlLevel },
    after: { pendingMove: null, cleared: move, fileLevel: only.level, path: only.path },
    detail: next === null ? null : `next: ${next}`,
  });
  return { cid, move, level: only.level, path: only.path, mysqlLevel, next };
}

/**
 * Refuses (`LEVEL_IN_USE`) a level table that would remove a level a pending move goes from or
 * to, naming the cids: such a move could never be finished. `PUT /v1/levels` calls it before it
 * replaces the table (the MySQL check for contents on the level comes after).
 */
export async function refuseRemovingLevelsOfPendingMoves(
  deps: Pick<ContentAdminDeps, 'db' | 'journal'>,
  next: readonly Pick<Level, 'name'>[],
): Promise<void> {
  const keep = new Set(next.map((l) => l.name));
  const removed = (await listLevels(deps.db)).map((l) => l.name).filter((n) => !keep.has(n));
  const using = await deps.journal.pendingMovesUsing(removed);
  if (using.length === 0) return;
  const shown = using
    .slice(0, 20)
    .map(
      ({ cid, move }) =>
        `cid ${cid} (${move.filename}, ${move.from} → ${move.to}, job ${move.jobId || '?'})`,
    );
  const more = using.length > shown.length ? ` and ${using.length - shown.length} more` : '';
  const levels = removed
    .filter((n) => using.some(({ move }) => move.from === n || move.to === n))
    .map((n) => `"${n}"`)
    .join(' and ');
  throw new ContentAdminError(
    'LEVEL_IN_USE',
    `cannot remove level ${levels}: pending moves use it: ${shown.join(', ')}${more}. Let them ` +
      'finish, or check the files and clear each with `npm run content -- clear-pending <cid>` ' +
      '(or `DELETE /v1/contents/<cid>/pending-move`)',
  );
}

/** What is at `filename` in `level`'s directory, never following a name outside it. */
export async function inspectTierFile(level: Level, filename: string): Promise<TierFile> {
  // The name obeys the file-name rule (checked by the callers); `tierFilePath` proves it is a
  // direct child of the tier directory all the same.
  const found = tierFilePath(level.path, filename);
  if (!found.ok) {
    // Where the file would be, for the message only: nothing is looked up there.
    const shown = path.join(tierPathKey(level.path), filename);
    return { level: level.name, path: shown, found: 'unreadable', detail: found.message };
  }
  const base = { level: level.name, path: found.path };
  try {
    const st = await lstat(found.path);
    if (st.isFile()) return { ...base, found: 'file', detail: null };
    const kind = st.isSymbolicLink()
      ? 'a symbolic link (never followed)'
      : st.isDirectory()
        ? 'a directory'
        : 'not a regular file';
    return { ...base, found: 'other', detail: kind };
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT' || errno === 'ENOTDIR')
      return { ...base, found: 'missing', detail: null };
    return { ...base, found: 'unreadable', detail: (error as Error).message };
  }
}

async function loadContent(deps: ContentAdminDeps, cid: number): Promise<Content> {
  const content = await getContent(deps.db, cid);
  if (!content) throw notFound(cid);
  return content;
}

function notFound(cid: number): ContentAdminError {
  return new ContentAdminError('CONTENT_NOT_FOUND', `no content has cid ${cid}`);
}

function assertSafeName(content: Content): void {
  const problem = filenameProblem(content.filename);
  if (problem !== null) {
    throw new ContentAdminError(
      'UNSAFE_FILENAME',
      `the file name of content ${content.cid}, ${JSON.stringify(content.filename)}, ${problem}; the service never touches such a file`,
    );
  }
}

/** The id of the cid's active relocation job (the one holding its dedup key, or its last), if any. */
async function activeJobId(deps: ContentAdminDeps, cid: number): Promise<string | null> {
  const ids = new Set<string>();
  const pending = await deps.queue.getDeduplicationJobId(dedupId(cid));
  if (pending) ids.add(pending);
  const last = (await deps.cache.get(cid))?.lastJobId;
  if (last) ids.add(last);
  for (const id of ids) {
    const job = await deps.queue.getJob(id);
    if (job && (await job.getState()) === 'active') return id;
  }
  return null;
}

async function refuseWhileActive(deps: ContentAdminDeps, cid: number): Promise<void> {
  const jobId = await activeJobId(deps, cid);
  if (jobId !== null) {
    throw new ContentAdminError(
      'RELOCATION_ACTIVE',
      `relocation job ${jobId} of content ${cid} is active (a relocator may be moving its file): ` +
        `wait until it finishes (\`GET /v1/contents/${cid}\` shows its state), then try again`,
    );
  }
}

/** Refuses while a job of the cid is active or a pending move is recorded for it. */
async function refuseWhileMoving(deps: ContentAdminDeps, cid: number): Promise<void> {
  await refuseWhileActive(deps, cid);
  const move = await deps.journal.get(cid);
  if (move !== null) {
    throw new ContentAdminError(
      'MOVE_PENDING',
      `content ${cid} has a pending move (${move.filename}, ${move.from} → ${move.to}, job ` +
        `${move.jobId || '?'}, started ${new Date(move.startedAt).toISOString()}): the next job ` +
        `of the cid finishes it (${contentCommands.requeue(cid)}); if it cannot, check the files ` +
        `and clear it with ${contentCommands.clearPending(cid)}`,
    );
  }
}

function describeFile(file: TierFile | undefined): string {
  if (!file) return 'not checked';
  switch (file.found) {
    case 'file':
      return `${file.path} is a regular file`;
    case 'missing':
      return `nothing at ${file.path}`;
    case 'other':
    case 'unreadable':
      return `${file.path}: ${file.detail ?? file.found}`;
  }
}

function describeElsewhere(files: readonly TierFile[], except: string): string {
  const found = files.filter((f) => f.level !== except && f.found !== 'missing');
  if (found.length === 0) return 'no other tier holds it either';
  return `found on ${found.map((f) => `${f.level} (${describeFile(f)})`).join(', ')}`;
}
