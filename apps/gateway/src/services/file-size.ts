import { tierFileSize } from '@relocation/contract';
import type { Level } from '@relocation/tiering';

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
  // The relocator's join and size (`@relocation/contract`): a name it would refuse has no size.
  return tier === undefined ? null : tierFileSize(tier.path, filename);
}
