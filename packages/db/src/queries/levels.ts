import { assertValidLevels, InvalidLevelsError, type Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { DbError } from '../errors.ts';
import type { Database, LevelRow } from '../schema.ts';
import { AUDIT_ACTIONS, recordAudit, type AuditContext } from './audit.ts';

type Executor = Kysely<Database>;

/** Maps a `level` row to the tiering package's `Level`. */
export function toLevel(row: LevelRow): Level {
  return {
    name: row.content_level,
    minCount: Number(row.min_counts),
    maxCount: row.max_counts === null ? null : Number(row.max_counts),
    path: row.path,
  };
}

/** Lists the tiers ordered by `min_counts`. */
export async function listLevels(db: Executor): Promise<Level[]> {
  const rows = await db.selectFrom('level').selectAll().orderBy('min_counts').execute();
  return rows.map(toLevel);
}

/** Options of {@link replaceLevels}. */
export interface ReplaceLevelsOptions {
  /**
   * Who replaces the table: an audit entry (`levels.replace`, target `levels`, before and after
   * the tables) is written in the same transaction.
   */
  audit?: AuditContext;
}

/**
 * Replaces the whole tier table atomically after checking I1.
 * A level that contents still sit on or are pinned to cannot be removed (`LEVEL_IN_USE`); an invalid table is
 * refused with `INVALID_LEVELS`. Returns the table as stored, ordered by `min_counts`. With
 * `audit`, the replacement is recorded in the same transaction (a refusal or a failed
 * transaction records nothing).
 */
export async function replaceLevels(
  db: Kysely<Database>,
  levels: readonly Level[],
  options: ReplaceLevelsOptions = {},
): Promise<Level[]> {
  let valid: readonly Level[];
  try {
    valid = assertValidLevels(levels);
  } catch (error) {
    if (error instanceof InvalidLevelsError) {
      throw new DbError('INVALID_LEVELS', error.message, { cause: error });
    }
    throw error;
  }
  const names = valid.map((l) => l.name);
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('level')
      .selectAll()
      .orderBy('min_counts')
      .forUpdate()
      .execute();
    const removed = existing.map((r) => r.content_level).filter((n) => !names.includes(n));
    if (removed.length > 0) {
      const inUse = await trx
        .selectFrom('contents')
        .select(['content_level', (eb) => eb.fn.countAll<number>().as('n')])
        .where('content_level', 'in', removed)
        .groupBy('content_level')
        .execute();
      if (inUse.length > 0) {
        const list = inUse.map((r) => `"${r.content_level}" (${Number(r.n)} contents)`).join(', ');
        throw new DbError(
          'LEVEL_IN_USE',
          `cannot remove level ${list}: move those contents first or keep the level`,
        );
      }
      const pinned = await trx
        .selectFrom('content_pin')
        .select(['level', (eb) => eb.fn.countAll<number>().as('n')])
        .where('level', 'in', removed)
        .groupBy('level')
        .execute();
      if (pinned.length > 0) {
        const list = pinned.map((r) => `"${r.level}" (${Number(r.n)} pinned contents)`).join(', ');
        throw new DbError(
          'LEVEL_IN_USE',
          `cannot remove level ${list}: unpin those contents first or keep the level`,
        );
      }
      await trx.deleteFrom('level').where('content_level', 'in', removed).execute();
    }
    for (const level of valid) {
      await trx
        .insertInto('level')
        .values({
          content_level: level.name,
          min_counts: level.minCount,
          max_counts: level.maxCount,
          path: level.path,
        })
        .onDuplicateKeyUpdate({
          min_counts: level.minCount,
          max_counts: level.maxCount,
          path: level.path,
        })
        .execute();
    }
    const stored = await listLevels(trx);
    if (options.audit) {
      await recordAudit(trx, {
        actor: options.audit.actor,
        action: AUDIT_ACTIONS.replaceLevels,
        target: 'levels',
        before: existing.map(toLevel),
        after: stored,
        detail: options.audit.detail ?? null,
      });
    }
    return stored;
  });
}
