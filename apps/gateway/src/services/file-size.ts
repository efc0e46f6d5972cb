import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { filenameProblem, tierPathKey, tierPathProblem } from '@relocation/contract';
import type { Level } from '@relocation/tiering';

/**
 * The path of `filename` in `level`'s directory, or `null` when the tier path or the name breaks
 * its rule (`@relocation/contract`, the rules the relocator's `resolveInTier` applies) or the
 * name would resolve anywhere but directly inside the directory.
 */
export function pathInTier(level: Level, filename: string): string | null {
  if (tierPathProblem(level.path) !== null || filenameProblem(filename) !== null) return null;
  const dir = tierPathKey(level.path);
  const resolved = path.resolve(dir, filename);
  if (path.dirname(resolved) !== dir || path.basename(resolved) !== filename) return null;
  return resolved;
}

/**
 * Size in bytes of `filename` in the default tier of `levels` (the level with `minCount` 0) when
 * it is a regular file there (`lstat`: a link is never followed), else `null`: no default tier,
 * no such file, not a regular file, or a directory the gateway cannot read. Best effort for
 * `POST /v1/contents`, which registers the content with an unknown size then; never throws.
 */
export async function registeredFileSize(
  levels: readonly Level[],
  filename: string,
): Promise<number | null> {
  const tier = levels.find((level) => level.minCount === 0);
  const file = tier === undefined ? null : pathInTier(tier, filename);
  if (file === null) return null;
  try {
    const st = await lstat(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}
