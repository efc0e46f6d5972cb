import { assertValidLevels, InvalidLevelsError, type Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { DbError } from '../errors.ts';
import type { Database, LevelRow } from '../schema.ts';
import { AUDIT_ACTIONS, recordAudit, type AuditContext } from './audit.ts';
import { ensureTierUsageRows } from './tier-usage.ts';

type Executor = Kysely<Database>;

/**
 * Maps a `level` row to the tiering package's `Level`; the capacity fields are present only on
 * a level with a capacity (as `validateLevels` normalises them).
 */
export function toLevel(row: LevelRow): Level {
  const level: Level = {
    name: row.content_level,
    minCount: Number(row.min_counts),
    maxCount: row.max_counts === null ? null : Number(row.max_counts),
    path: row.path,
  };
  if (row.capacity_bytes === null || row.capacity_bytes === undefined) return level;
  return {
    ...level,
    capacityBytes: Number(row.capacity_bytes),
    highWatermark: row.high_watermark === null ? null : Number(row.high_watermark),
    lowWatermark: row.low_watermark === null ? null : Number(row.low_watermark),
  };
}

/** The capacity columns of a validated level (all NULL without a capacity). */
function capacityColumns(level: Level) {
  return {
    capacity_bytes: level.capacityBytes ?? null,
    high_watermark: level.capacityBytes == null ? null : (level.highWatermark ?? null),
    low_watermark: level.capacityBytes == null ? null : (level.lowWatermark ?? null),
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
          ...capacityColumns(level),
        })
        .onDuplicateKeyUpdate({
          min_counts: level.minCount,
          max_counts: level.maxCount,
          path: level.path,
          ...capacityColumns(level),
        })
        .execute();
    }
    await ensureTierUsageRows(trx, names);
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
