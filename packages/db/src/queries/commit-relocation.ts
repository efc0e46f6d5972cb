import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import { HISTORY_REASONS, type HistoryReason } from './history.ts';
import { adjustTierUsage } from './tier-usage.ts';

/** A finished file move, to be recorded. */
export interface RelocationCommit {
  cid: number;
  /** Level the move started from; the commit is refused if the row is no longer on it. */
  fromLevel: string;
  toLevel: string;
  /** Total views that decided the move. */
  viewCount: number;
  jobId: string | null;
  bytes: number | null;
  durationMs: number | null;
  /** What triggered the move (history `reason`); defaults to `post`. */
  reason?: HistoryReason;
  /** The decision's inputs (stored as JSON in the history row's `decision`). */
  decision?: object | null;
  /** Version of the level table the decision was made with. */
  levelsVersion?: number | null;
  /** Request id of the post whose count the move acted on. */
  requestId?: string | null;
  /** Delete the cid's tier-space reservation in the same transaction (the move reserved one). */
  releaseReservation?: boolean;
  /** Time of the change; defaults to now. */
  now?: Date;
}

/** What {@link commitRelocation} did. */
export type CommitResult =
  | { kind: 'committed'; historyId: number; updatedAt: Date }
  | { kind: 'already-committed' }
  | { kind: 'stale'; actualLevel: string }
  | { kind: 'not-found' };

/**
 * Records a move in one transaction: locks the content row, checks it is still on `fromLevel`,
 * updates `content_level` / `update_time` / `view_count` / `size_bytes` and inserts the
 * `update_history` row (I3); moves the file's bytes from one level's usage to the other's and,
 * with `releaseReservation`, deletes the cid's tier-space reservation.
 * Committing the same move again is a no-op (`already-committed`), never a second history row;
 * a row that moved elsewhere meanwhile gives `stale` and changes nothing.
 */
export async function commitRelocation(
  db: Kysely<Database>,
  move: RelocationCommit,
): Promise<CommitResult> {
  const now = move.now ?? new Date();
  return db.transaction().execute(async (trx): Promise<CommitResult> => {
    const row = await trx
      .selectFrom('contents')
      .select(['content_level', 'update_time', 'size_bytes'])
      .where('cid', '=', move.cid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return { kind: 'not-found' };
    if (row.content_level === move.toLevel) return { kind: 'already-committed' };
    if (row.content_level !== move.fromLevel) {
      return { kind: 'stale', actualLevel: row.content_level };
    }
    const oldSize = row.size_bytes === null ? 0 : Number(row.size_bytes);
    const newSize = move.bytes ?? (row.size_bytes === null ? null : Number(row.size_bytes));
    await trx
      .updateTable('contents')
      .set({
        content_level: move.toLevel,
        update_time: now,
        view_count: move.viewCount,
        size_bytes: newSize,
      })
      .where('cid', '=', move.cid)
      .execute();
    await adjustTierUsage(trx, move.cid, [
      { level: row.content_level, files: -1, bytes: -oldSize },
      { level: move.toLevel, files: 1, bytes: newSize ?? 0 },
    ]);
    if (move.releaseReservation) {
      await trx.deleteFrom('tier_reservation').where('cid', '=', move.cid).execute();
    }
    const inserted = await trx
      .insertInto('update_history')
      .values({
        cid: move.cid,
        old_updated_date: row.update_time,
        old_content_level: row.content_level,
        new_updated_date: now,
        new_content_level: move.toLevel,
        view_count: move.viewCount,
        job_id: move.jobId,
        bytes: move.bytes,
        duration_ms: move.durationMs,
        reason: move.reason ?? HISTORY_REASONS.post,
        decision: move.decision ? JSON.stringify(move.decision) : null,
        levels_version: move.levelsVersion ?? null,
        request_id: move.requestId ?? null,
      })
      .executeTakeFirstOrThrow();
    return { kind: 'committed', historyId: Number(inserted.insertId), updatedAt: now };
  });
}
