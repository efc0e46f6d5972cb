import type { Kysely } from 'kysely';
import type { Database, HistoryRow } from '../schema.ts';

/**
 * What triggered a level change, as `update_history.reason` records it: a post's count (`post`),
 * an operator's pin, unpin or a pin's expiry (`pin`), a tier above its high watermark
 * (`capacity`), an operator who recorded a level by hand or requeued the content (`admin`),
 * reconcile's fixes (`reconcile`), a view rate that decayed below its level's demote threshold
 * with no post to notice (`decay`: the relocators' rate sweep, `TIERING_POLICY=rate`).
 */
export const HISTORY_REASONS = Object.freeze({
  post: 'post',
  pin: 'pin',
  capacity: 'capacity',
  admin: 'admin',
  decay: 'decay',
  reconcile: 'reconcile',
} as const);

/** One of {@link HISTORY_REASONS}. */
export type HistoryReason = (typeof HISTORY_REASONS)[keyof typeof HISTORY_REASONS];

/** Reads a content's level changes, newest first. */
export async function getContentHistory(
  db: Kysely<Database>,
  cid: number,
  options: { limit?: number; beforeId?: number } = {},
): Promise<HistoryRow[]> {
  let query = db.selectFrom('update_history').selectAll().where('cid', '=', cid);
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
  return query
    .orderBy('id', 'desc')
    .limit(options.limit ?? 100)
    .execute();
}

/** The latest level change of a content: why it happened and the level it went to. */
export interface LatestChange {
  reason: string | null;
  level: string;
}

/** The latest history row of each of `cids` that has one (one grouped read). */
export async function latestChanges(
  db: Kysely<Database>,
  cids: readonly number[],
): Promise<Map<number, LatestChange>> {
  if (cids.length === 0) return new Map();
  const rows = await db
    .selectFrom('update_history')
    .select(['cid', 'reason', 'new_content_level'])
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('update_history')
        .select((e) => e.fn.max('id').as('id'))
        .where('cid', 'in', [...cids])
        .groupBy('cid'),
    )
    .execute();
  return new Map(
    rows.map((r) => [Number(r.cid), { reason: r.reason, level: r.new_content_level }] as const),
  );
}

/** A content's level changes since `since` (oldest first), for the flap budget. */
export async function recentMoves(
  db: Kysely<Database>,
  cid: number,
  since: Date,
): Promise<{ at: number; from: string; to: string }[]> {
  const rows = await db
    .selectFrom('update_history')
    .select(['new_updated_date', 'old_content_level', 'new_content_level'])
    .where('cid', '=', cid)
    .where('new_updated_date', '>', since)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    at: r.new_updated_date.getTime(),
    from: r.old_content_level,
    to: r.new_content_level,
  }));
}
