import { tierDirectory, tierFilePath, type TierPathRule } from '@relocation/contract';
import { RelocationError, type RelocationErrorCode } from './relocation-error.ts';

/** The relocator's error code for each rule of `@relocation/contract` a path can break. */
const CODE_OF_RULE: Readonly<Record<TierPathRule, RelocationErrorCode>> = {
  'tier-path': 'UNSAFE_PATH',
  'file-name': 'UNSAFE_FILENAME',
};

/**
 * Resolves `filename` inside the tier directory `tierDir` and proves the result is a direct child
 * of it (`tierFilePath` of `@relocation/contract`, the join the gateway uses too). Throws
 * `UNSAFE_PATH` for a tier directory that breaks the tier-path rule and `UNSAFE_FILENAME` for a
 * name that breaks the file-name rule; touches nothing either way.
 */
export function resolveInTier(tierDir: string, filename: string): string {
  const found = tierFilePath(tierDir, filename);
  if (!found.ok) throw new RelocationError(CODE_OF_RULE[found.rule], found.message);
  return found.path;
}

/** Checks a tier directory against the tier-path rule; returns it without a trailing `/`. */
export function assertTierDir(tierDir: string): string {
  const tier = tierDirectory(tierDir);
  if (!tier.ok) throw new RelocationError(CODE_OF_RULE[tier.rule], tier.message);
  return tier.dir;
}
