import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Name of the marker file in every tier directory's root. It proves the directory is the tier's
 * disk (not an empty mount point) and belongs to this deployment's database. It starts with `.`,
 * which no content's file name may (see `filenameProblem`).
 */
export const TIER_MARKER_FILE = '.relocation-tier';

/** What a tier marker holds (JSON). */
export interface TierMarker {
  /** The level whose directory this is. */
  level: string;
  /** The identity of the database whose level table names it (`deployment.id`). */
  deployment: string;
  /** ISO time the marker was written. */
  createdAt: string;
}

/** What a tier directory is expected to be: the directory of `level` in database `deployment`. */
export interface TierIdentity {
  level: string;
  deployment: string;
}

/**
 * Why a tier directory cannot be used:
 * - `missing-directory`: the directory does not exist (an unmounted disk leaves nothing, or an
 *   empty mount point without the marker);
 * - `not-a-directory`: the path names a file or something else;
 * - `missing-marker`: the directory exists but holds no marker (an empty mount point, or a tier
 *   prepared before markers existed);
 * - `invalid-marker`: the marker is not the JSON this module writes;
 * - `other-level` / `other-deployment`: the marker names another level or another database;
 * - `unreadable`: the file system refused (permissions, I/O error); `errno` says which.
 */
export type TierProblemKind =
  | 'missing-directory'
  | 'not-a-directory'
  | 'missing-marker'
  | 'invalid-marker'
  | 'other-level'
  | 'other-deployment'
  | 'unreadable';

/** The result of {@link checkTier}. */
export type TierCheck =
  | { ok: true; marker: TierMarker }
  | { ok: false; problem: TierProblemKind; message: string; errno?: string };

function errnoOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined;
  }
  return undefined;
}

function parseMarker(text: string): TierMarker | null {
  try {
    const value = JSON.parse(text) as Partial<TierMarker> | null;
    if (
      value !== null &&
      typeof value === 'object' &&
      typeof value.level === 'string' &&
      typeof value.deployment === 'string'
    ) {
      return {
        level: value.level,
        deployment: value.deployment,
        createdAt: typeof value.createdAt === 'string' ? value.createdAt : '',
      };
    }
  } catch {
    // not JSON
  }
  return null;
}

/**
 * Reads the marker of tier directory `dir`. `null` when there is none; throws `TierMarkerError`
 * for a marker that is not ours and passes other file-system errors on.
 */
export async function readTierMarker(dir: string): Promise<TierMarker | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, TIER_MARKER_FILE), 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw error;
  }
  return parseMarker(text) ?? invalidMarker(dir);
}

function invalidMarker(dir: string): never {
  throw Object.assign(
    new Error(`${path.join(dir, TIER_MARKER_FILE)} is not a tier marker written by this service`),
    { code: 'EINVALIDMARKER' },
  );
}

/**
 * Checks that `dir` is the tier directory of `expected.level` in database `expected.deployment`:
 * it exists, is a directory, and holds a marker naming both. Never throws for a file-system
 * problem: every one is an answer, with a message that says what an operator should do.
 */
export async function checkTier(dir: string, expected: TierIdentity): Promise<TierCheck> {
  const where = `tier directory ${dir} of level "${expected.level}"`;
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) {
      return { ok: false, problem: 'not-a-directory', message: `${where} is not a directory` };
    }
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === 'ENOENT') {
      return {
        ok: false,
        problem: 'missing-directory',
        message: `${where} does not exist (is its disk mounted?); it is never created by a move: mount it, or create a new tier with \`npm run setup -- --create-tiers\``,
      };
    }
    return unreadable(where, error, errno);
  }
  let marker: TierMarker | null;
  try {
    marker = await readTierMarker(dir);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === 'EINVALIDMARKER') {
      return {
        ok: false,
        problem: 'invalid-marker',
        message: `${where}: ${(error as Error).message}; check the disk, then \`npm run setup -- --claim-tiers\``,
      };
    }
    return unreadable(where, error, errno);
  }
  if (marker === null) {
    return {
      ok: false,
      problem: 'missing-marker',
      message: `${where} has no ${TIER_MARKER_FILE} marker (an empty mount point, or a tier prepared before markers): check it is the right disk, then run \`npm run setup\``,
    };
  }
  if (marker.deployment !== expected.deployment) {
    return {
      ok: false,
      problem: 'other-deployment',
      message: `${where} belongs to another database (deployment ${marker.deployment}, this one is ${expected.deployment}); if this disk is really this deployment's, run \`npm run setup -- --claim-tiers\``,
    };
  }
  if (marker.level !== expected.level) {
    return {
      ok: false,
      problem: 'other-level',
      message: `${where} is marked as the directory of level "${marker.level}"; if the level table is right, run \`npm run setup -- --claim-tiers\``,
    };
  }
  return { ok: true, marker };
}

function unreadable(where: string, error: unknown, errno: string | undefined): TierCheck {
  const detail = error instanceof Error ? error.message : String(error);
  return {
    ok: false,
    problem: 'unreadable',
    message: `${where} cannot be read (${detail})`,
    ...(errno === undefined ? {} : { errno }),
  };
}

/**
 * Writes the marker of `identity.level` into `dir` (replacing any), durably: a temporary file,
 * fsync, rename, fsync of the directory. The directory must exist unless `createDirectory` is
 * set (then it is created with its parents). Returns the marker written.
 */
export async function writeTierMarker(
  dir: string,
  identity: TierIdentity,
  options: { createDirectory?: boolean } = {},
): Promise<TierMarker> {
  if (options.createDirectory) await mkdir(dir, { recursive: true });
  const marker: TierMarker = {
    level: identity.level,
    deployment: identity.deployment,
    createdAt: new Date().toISOString(),
  };
  const target = path.join(dir, TIER_MARKER_FILE);
  const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(marker)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return marker;
}

/** What may be done to make a level's directory its tier (see {@link planTier}). */
export interface TierPreparePolicy {
  /** Create a missing directory (a new tier), then mark it. */
  createDirectory: boolean;
  /** Mark an existing directory that has no marker yet. */
  markUnmarked: boolean;
  /**
   * Rewrite a marker that names another level or another database (the operator says this
   * disk is this tier of this deployment: a renamed level, or a database recreated).
   */
  claim: boolean;
}

/** What {@link planTier} decided for one level's directory. */
export type TierPlan =
  | { level: string; path: string; action: 'ready' }
  | { level: string; path: string; action: 'create' | 'mark' | 'claim'; reason: string }
  | { level: string; path: string; action: 'refuse'; reason: string };

/**
 * Decides, without writing anything, what makes `dir` usable as `identity.level`'s tier under
 * `policy`: nothing (`ready`), create it (`create`), write the marker (`mark`, `claim`), or
 * nothing can (`refuse`, with the check's message). Run {@link applyTierPlan} after checking
 * every level, so a refusal leaves every directory as it was.
 */
export async function planTier(
  dir: string,
  identity: TierIdentity,
  policy: TierPreparePolicy,
): Promise<TierPlan> {
  const base = { level: identity.level, path: dir };
  const check = await checkTier(dir, identity);
  if (check.ok) return { ...base, action: 'ready' };
  switch (check.problem) {
    case 'missing-directory':
      return policy.createDirectory
        ? { ...base, action: 'create', reason: check.message }
        : { ...base, action: 'refuse', reason: check.message };
    case 'missing-marker':
      return policy.markUnmarked
        ? { ...base, action: 'mark', reason: check.message }
        : { ...base, action: 'refuse', reason: check.message };
    case 'other-level':
    case 'other-deployment':
    case 'invalid-marker':
      return policy.claim
        ? { ...base, action: 'claim', reason: check.message }
        : { ...base, action: 'refuse', reason: check.message };
    case 'not-a-directory':
    case 'unreadable':
      return { ...base, action: 'refuse', reason: check.message };
  }
}

/** Carries out a plan of {@link planTier} for `deployment`; `ready` and `refuse` do nothing. */
export async function applyTierPlan(plan: TierPlan, deployment: string): Promise<void> {
  if (plan.action === 'ready' || plan.action === 'refuse') return;
  await writeTierMarker(
    plan.path,
    { level: plan.level, deployment },
    { createDirectory: plan.action === 'create' },
  );
}
