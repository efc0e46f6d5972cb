import { applyTierPlan, planTier, type TierPlan } from '@relocation/contract';
import { getDeploymentId, type Database } from '@relocation/db';
import type { Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { AppError, fromDatabase } from '../errors.ts';

/**
 * Makes sure every level of a new table names its tier's disk before the table is stored: each
 * directory must exist and hold the marker of its level and this database (the relocator moves
 * nothing into or out of a directory that does not). With `create`, missing directories are
 * created and unmarked ones marked (a new, empty tier), and a marker of another level of this
 * database is rewritten (a renamed level). Nothing is written unless every level can be made
 * ready; otherwise `TIER_UNAVAILABLE` (409) names each level and what to do.
 */
export async function prepareTierDirs(
  db: Kysely<Database>,
  levels: readonly Level[],
  options: { create: boolean },
): Promise<TierPlan[]> {
  const deployment = await fromDatabase(() => getDeploymentId(db));
  const plans = await Promise.all(
    levels.map((level) =>
      planTier(
        level.path,
        { level: level.name, deployment },
        { createDirectory: options.create, markUnmarked: options.create, claim: false },
      ),
    ),
  );
  const refused = plans.filter((p) => p.action === 'refuse');
  if (refused.length > 0) {
    const hint = options.create
      ? ''
      : '; to create a new, empty tier send the table again with ?create=true';
    throw new AppError(
      'TIER_UNAVAILABLE',
      `${refused.map((p) => `level "${p.level}": ${p.reason}`).join('; ')}${hint}`,
    );
  }
  for (const plan of plans) await applyTierPlan(plan, deployment);
  return plans;
}
