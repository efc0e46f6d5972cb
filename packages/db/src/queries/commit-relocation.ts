import { sql, type Kysely } from 'kysely';
import type { Database, NewHistoryRow } from '../schema.ts';
import { HISTORY_REASONS, type HistoryReason } from './history.ts';
import { adjustTierUsageOf, type TierUsageChange } from './tier-usage.ts';

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
 * It is {@link commitRelocations} of a group of one.
 */
export async function commitRelocation(
  db: Kysely<Database>,
  move: RelocationCommit,
): Promise<CommitResult> {
  const [result] = await commitRelocations(db, [move]);
  if (!result) throw new Error('commitRelocations answered no result for one move');
  return result;
}

/**
 * Records a group of moves in ONE transaction, each with its own outcome (the answer is in the
 * order of `moves`): locks the group's content rows with one `SELECT … FOR UPDATE` (ascending
 * cid), then, for the moves whose row is still on their `fromLevel`, writes the rows (one
 * statement), the tier usage (one statement), the reservations to release (one statement) and one
 * history row each (one multi-row `INSERT`). A stale, missing or already committed row changes
 * nothing and does not stop the others; two moves of one cid are taken in order (the second sees
 * the first). If the transaction fails as a whole (deadlock, lost connection) nothing of it is
 * written, and committing the same moves again is safe: a move that did commit is then
 * `already-committed`, never a second history row (I3).
 *
 * The ids of a group's history rows are read back (see {@link insertedHistoryIds}): a multi-row
 * `INSERT`'s ids need not be consecutive (`auto_increment_increment` above 1, or MySQL 8's
 * interleaved auto-increment lock mode).
 */
export async function commitRelocations(
  db: Kysely<Database>,
  moves: readonly RelocationCommit[],
): Promise<CommitResult[]> {
  if (moves.length === 0) return [];
  const groupNow = new Date();
  return db.transaction().execute(async (trx): Promise<CommitResult[]> => {
    const cids = [...new Set(moves.map((m) => m.cid))].sort((a, b) => a - b);
    const locked = await trx
      .selectFrom('contents')
      .select(['cid', 'content_level', 'update_time', 'size_bytes'])
      .where('cid', 'in', cids)
      .orderBy('cid')
      .forUpdate()
      .execute();
    const rows = new Map<number, LockedRow>(
      locked.map((r) => [
        Number(r.cid),
        {
          level: r.content_level,
          updatedAt: r.update_time,
          size: r.size_bytes === null ? null : Number(r.size_bytes),
        },
      ]),
    );
    const results: CommitResult[] = [];
    const written = new Map<number, { move: RelocationCommit; row: LockedRow; now: Date }>();
    const usage: TierUsageChange[] = [];
    const history: NewHistoryRow[] = [];
    const releases: number[] = [];
    for (const move of moves) {
      const row = rows.get(move.cid);
      if (!row) {
        results.push({ kind: 'not-found' });
        continue;
      }
      if (row.level === move.toLevel) {
        results.push({ kind: 'already-committed' });
        continue;
      }
      if (row.level !== move.fromLevel) {
        results.push({ kind: 'stale', actualLevel: row.level });
        continue;
      }
      const now = move.now ?? groupNow;
      const oldSize = row.size ?? 0;
      const newSize = move.bytes ?? row.size;
      usage.push(
        { cid: move.cid, level: row.level, files: -1, bytes: -oldSize },
        { cid: move.cid, level: move.toLevel, files: 1, bytes: newSize ?? 0 },
      );
      if (move.releaseReservation) releases.push(move.cid);
      history.push({
        cid: move.cid,
        old_updated_date: row.updatedAt,
        old_content_level: row.level,
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
      });
      const next: LockedRow = { level: move.toLevel, updatedAt: now, size: newSize };
      rows.set(move.cid, next);
      written.set(move.cid, { move, row: next, now });
      // Filled in once the history rows are inserted.
      results.push({ kind: 'committed', historyId: history.length - 1, updatedAt: now });
    }
    if (history.length === 0) return results;

    await updateContentRows(
      trx,
      [...written.values()].map(({ move, row }) => ({
        cid: move.cid,
        level: row.level,
        updatedAt: row.updatedAt,
        viewCount: move.viewCount,
        size: row.size,
      })),
    );
    await adjustTierUsageOf(trx, usage);
    if (releases.length > 0) {
      await trx.deleteFrom('tier_reservation').where('cid', 'in', releases).execute();
    }
    const inserted = await trx
      .insertInto('update_history')
      .values(history)
      .executeTakeFirstOrThrow();
    const ids = await insertedHistoryIds(trx, Number(inserted.insertId), history);
    return results.map((r) =>
      r.kind === 'committed' ? { ...r, historyId: ids[r.historyId]! } : r,
    );
  });
}

/**
 * The ids of the history rows one multi-row `INSERT` wrote, in the order of `rows`. One row: the
 * insert id. More: the rows of the group's cids from the first id on, in id order. Only this
 * transaction can have written rows for these cids since (it holds their content rows locked, and
 * every history row is written under that lock), and one statement's ids rise in row order.
 */
async function insertedHistoryIds(
  trx: Kysely<Database>,
  firstId: number,
  rows: readonly NewHistoryRow[],
): Promise<number[]> {
  if (rows.length === 1) return [firstId];
  const found = await trx
    .selectFrom('update_history')
    .select(['id', 'cid'])
    .where('id', '>=', firstId)
    .where('cid', 'in', [...new Set(rows.map((r) => Number(r.cid)))])
    .orderBy('id')
    .execute();
  const byCid = new Map<number, number[]>();
  for (const r of found) {
    const ids = byCid.get(Number(r.cid)) ?? [];
    ids.push(Number(r.id));
    byCid.set(Number(r.cid), ids);
  }
  return rows.map((r) => {
    const id = byCid.get(Number(r.cid))?.shift();
    if (id === undefined) throw new Error(`history row of cid ${r.cid} not found after its insert`);
    return id;
  });
}

/** A content row as a group commit holds it (locked), after the group's earlier moves. */
interface LockedRow {
  level: string;
  updatedAt: Date;
  size: number | null;
}

/**
 * Writes the new level, time, count and size of each row in one statement (`CASE cid …` for a
 * group; a plain `UPDATE` for one row).
 */
async function updateContentRows(
  trx: Kysely<Database>,
  rows: readonly {
    cid: number;
    level: string;
    updatedAt: Date;
    viewCount: number;
    size: number | null;
  }[],
): Promise<void> {
  const [only] = rows;
  if (rows.length === 1 && only) {
    await trx
      .updateTable('contents')
      .set({
        content_level: only.level,
        update_time: only.updatedAt,
        view_count: only.viewCount,
        size_bytes: only.size,
      })
      .where('cid', '=', only.cid)
      .execute();
    return;
  }
  const caseOf = <T>(pick: (r: (typeof rows)[number]) => T) =>
    sql<T>`case cid ${sql.join(
      rows.map((r) => sql`when ${r.cid} then ${pick(r)}`),
      sql` `,
    )} end`;
  await trx
    .updateTable('contents')
    .set({
      content_level: caseOf((r) => r.level),
      update_time: caseOf((r) => r.updatedAt),
      view_count: caseOf((r) => r.viewCount),
      size_bytes: caseOf((r) => r.size),
    })
    .where(
      'cid',
      'in',
      rows.map((r) => r.cid),
    )
    .execute();
}
