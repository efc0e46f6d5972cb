import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { AUDIT_ACTIONS, recordAudit, type AuditContext } from './audit.ts';
import { HISTORY_REASONS } from './history.ts';
import { adjustTierUsage } from './tier-usage.ts';

/** A level an operator sets by hand for a content whose file they moved themselves. */
export interface LevelAssignment {
  cid: number;
  /** The level the content's file is on now. */
  level: string;
  /**
   * The level the caller last saw; the change is refused (`stale`) if the row moved elsewhere
   * since. Omit to accept any current level.
   */
  expectedLevel?: string;
  /** Total views known for the content (stored on the row and in the history row). */
  viewCount: number;
  /** Who made the change, stored as the history row's `job_id` (e.g. `admin:operator`). */
  jobId: string;
  /** Time of the change; defaults to now. */
  now?: Date;
  /**
   * Who made the change: an audit entry (`content.set-level`, target `cid:<cid>`, before and
   * after the level) is written in the same transaction, also when the content was already on
   * the level (`unchanged`: before and after are the same).
   */
  audit?: AuditContext;
}

/** What {@link assignContentLevel} did. */
export type AssignResult =
  | { kind: 'assigned'; previousLevel: string; historyId: number; updatedAt: Date }
  | { kind: 'unchanged' }
  | { kind: 'stale'; actualLevel: string }
  | { kind: 'not-found' };

/** Writes the audit entry of an assignment (when it has `audit`), in the caller's transaction. */
async function recordAssignment(
  trx: Kysely<Database>,
  change: LevelAssignment,
  previousLevel: string,
  historyId: number | null,
): Promise<void> {
  if (!change.audit) return;
  await recordAudit(trx, {
    actor: change.audit.actor,
    action: AUDIT_ACTIONS.setContentLevel,
    target: `cid:${change.cid}`,
    before: { level: previousLevel },
    after: { level: change.level, historyId },
    detail: change.audit.detail ?? null,
  });
}

/**
 * Records a level change made outside the relocator (an operator moved the file by hand) in one
 * transaction, as `commitRelocation` records a move: locks the content row, updates
 * `content_level` / `update_time` / `view_count` and inserts the `update_history` row (I3), with
 * no bytes or duration (nothing was copied by the service). A content already on `level` is
 * `unchanged` (no history row), so repeating the call is harmless; a row that is no longer on
 * `expectedLevel` gives `stale` and changes nothing. With `audit`, an `assigned` or `unchanged`
 * answer is recorded in the same transaction (`stale` and `not-found`, refusals, record nothing).
 * The caller checks the file and the level.
 */
export async function assignContentLevel(
  db: Kysely<Database>,
  change: LevelAssignment,
): Promise<AssignResult> {
  const now = change.now ?? new Date();
  return db.transaction().execute(async (trx): Promise<AssignResult> => {
    const row = await trx
      .selectFrom('contents')
      .select(['content_level', 'update_time', 'size_bytes'])
      .where('cid', '=', change.cid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return { kind: 'not-found' };
    if (row.content_level === change.level) {
      await recordAssignment(trx, change, row.content_level, null);
      return { kind: 'unchanged' };
    }
    if (change.expectedLevel !== undefined && row.content_level !== change.expectedLevel) {
      return { kind: 'stale', actualLevel: row.content_level };
    }
    await trx
      .updateTable('contents')
      .set({ content_level: change.level, update_time: now, view_count: change.viewCount })
      .where('cid', '=', change.cid)
      .execute();
    const size = row.size_bytes === null ? 0 : Number(row.size_bytes);
    await adjustTierUsage(trx, change.cid, [
      { level: row.content_level, files: -1, bytes: -size },
      { level: change.level, files: 1, bytes: size },
    ]);
    const inserted = await trx
      .insertInto('update_history')
      .values({
        cid: change.cid,
        old_updated_date: row.update_time,
        old_content_level: row.content_level,
        new_updated_date: now,
        new_content_level: change.level,
        view_count: change.viewCount,
        job_id: change.jobId,
        bytes: null,
        duration_ms: null,
        reason: HISTORY_REASONS.admin,
      })
      .executeTakeFirstOrThrow();
    const historyId = Number(inserted.insertId);
    await recordAssignment(trx, change, row.content_level, historyId);
    return {
      kind: 'assigned',
      previousLevel: row.content_level,
      historyId,
      updatedAt: now,
    };
  });
}
