import path from 'node:path';
import { filenameProblem, tierPathKey, tierPathProblem } from '@relocation/contract';
import { RelocationError } from './relocation-error.ts';

/**
 * Resolves `filename` inside the tier directory `tierDir` and proves the result is a direct child
 * of it. Throws `UNSAFE_PATH` for a tier directory that breaks the tier-path rule and
 * `UNSAFE_FILENAME` for a name that breaks the file-name rule (both from `@relocation/contract`,
 * the rules the gateway applies too); touches nothing either way.
 */
export function resolveInTier(tierDir: string, filename: string): string {
  const dir = assertTierDir(tierDir);
  const problem = filenameProblem(filename);
  if (problem !== null) {
    throw new RelocationError(
      'UNSAFE_FILENAME',
      `file name ${JSON.stringify(filename)} ${problem}; refusing to touch it under ${dir}`,
    );
  }
  const resolved = path.resolve(dir, filename);
  if (path.dirname(resolved) !== dir || path.basename(resolved) !== filename) {
    throw new RelocationError(
      'UNSAFE_FILENAME',
      `file name ${JSON.stringify(filename)} resolves to ${resolved}, outside ${dir}`,
    );
  }
  return resolved;
}

/** Checks a tier directory against the tier-path rule; returns it without a trailing `/`. */
export function assertTierDir(tierDir: string): string {
  const problem = tierPathProblem(tierDir);
  if (problem !== null) {
    throw new RelocationError(
      'UNSAFE_PATH',
      `tier directory ${JSON.stringify(tierDir)} ${problem}`,
    );
  }
  return tierPathKey(tierDir);
}
