import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

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
 * updates `content_level` / `update_time` / `view_count` and inserts the `update_history` row (I3).
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
      .select(['content_level', 'update_time'])
      .where('cid', '=', move.cid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return { kind: 'not-found' };
    if (row.content_level === move.toLevel) return { kind: 'already-committed' };
    if (row.content_level !== move.fromLevel) {
      return { kind: 'stale', actualLevel: row.content_level };
    }
    await trx
      .updateTable('contents')
      .set({ content_level: move.toLevel, update_time: now, view_count: move.viewCount })
      .where('cid', '=', move.cid)
      .execute();
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
      })
      .executeTakeFirstOrThrow();
    return { kind: 'committed', historyId: Number(inserted.insertId), updatedAt: now };
  });
}
