import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { filenameProblem } from './file-name.ts';
import { tierPathKey, tierPathProblem } from './tier-path.ts';

/**
 * Which rule refused a tier directory or a file in it: `tier-path` ({@link tierPathProblem}) or
 * `file-name` ({@link filenameProblem}, or a name that would resolve anywhere but directly
 * inside the directory).
 */
export type TierPathRule = 'tier-path' | 'file-name';

/**
 * A refusal of {@link tierDirectory} or {@link tierFilePath}: the rule that failed and a message
 * naming the directory or file and what is wrong with it, for an operator. Nothing was touched.
 */
export interface TierPathRefusal {
  readonly ok: false;
  readonly rule: TierPathRule;
  readonly message: string;
}

/** {@link tierDirectory}'s answer: the directory without a trailing `/`, or the refusal. */
export type TierDirectory = { readonly ok: true; readonly dir: string } | TierPathRefusal;

/** {@link tierFilePath}'s answer: the file's path, a direct child of the tier directory, or the refusal. */
export type TierFilePath = { readonly ok: true; readonly path: string } | TierPathRefusal;

/**
 * Checks `tierDir` against the tier-path rule; the directory it names (without its optional
 * trailing `/`, {@link tierPathKey}) or a `tier-path` refusal. Pure: no file system access.
 */
export function tierDirectory(tierDir: string): TierDirectory {
  const problem = tierPathProblem(tierDir);
  if (problem !== null) {
    return refuse('tier-path', `tier directory ${JSON.stringify(tierDir)} ${problem}`);
  }
  return { ok: true, dir: tierPathKey(tierDir) };
}

/**
 * The path of `filename` in the tier directory `tierDir`, proven to be a direct child of it, or
 * which rule refused: `tier-path` when the directory breaks {@link tierPathProblem}'s rule,
 * `file-name` when the name breaks {@link filenameProblem}'s or would resolve anywhere else. The
 * one join of a tier directory and a content's file name the gateway, the relocator and the
 * admin tools use (invariant I8). Pure: no file system access, a link is not looked at.
 */
export function tierFilePath(tierDir: string, filename: string): TierFilePath {
  const tier = tierDirectory(tierDir);
  if (!tier.ok) return tier;
  const { dir } = tier;
  const problem = filenameProblem(filename);
  if (problem !== null) {
    return refuse(
      'file-name',
      `file name ${JSON.stringify(filename)} ${problem}; refusing to touch it under ${dir}`,
    );
  }
  // The name obeys the file-name rule; resolving it proves it stays in the directory all the same.
  const resolved = path.resolve(dir, filename);
  if (path.dirname(resolved) !== dir || path.basename(resolved) !== filename) {
    return refuse(
      'file-name',
      `file name ${JSON.stringify(filename)} resolves to ${resolved}, outside ${dir}`,
    );
  }
  return { ok: true, path: resolved };
}

function refuse(rule: TierPathRule, message: string): TierPathRefusal {
  return { ok: false, rule, message };
}

/**
 * Size in bytes of `filename` in the tier directory `tierDir` when it is a regular file there
 * (`lstat`: a link is never followed), else `null`: a name or directory the rules refuse, no
 * such file, not a regular file, or a directory that cannot be read. Never throws. What the
 * gateway (registration), the plan and the relocator (capacity) all mean by "the file's size".
 */
export async function tierFileSize(tierDir: string, filename: string): Promise<number | null> {
  const file = tierFilePath(tierDir, filename);
  if (!file.ok) return null;
  try {
    const st = await lstat(file.path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}
