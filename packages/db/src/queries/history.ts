import type { Kysely } from 'kysely';
import type { Database, HistoryRow } from '../schema.ts';

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
