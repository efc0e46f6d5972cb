import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Moves between two levels in one minute of a window (see {@link countMovesPerMinute}). */
export interface MinuteMoves {
  /** Whole minutes from the window's start: 0 is `[since, since + 1 min)`. */
  minute: number;
  from: string;
  to: string;
  /** Level changes (history rows) from `from` to `to` in that minute. */
  moves: number;
}

/**
 * Level changes from `since` (inclusive) to `until` (exclusive), counted per minute of the
 * window and per pair of levels, in one grouped read of `update_history` over its time index
 * (`new_updated_date`, migration 0016): only the rows of the window are read. Minutes are
 * counted from `since`, so a caller that wants calendar minutes passes a `since` on a minute.
 * Ordered by minute, then levels; minutes without moves are absent.
 */
export async function countMovesPerMinute(
  db: Kysely<Database>,
  window: { since: Date; until: Date },
): Promise<MinuteMoves[]> {
  const rows = await db
    .selectFrom('update_history')
    .select([
      sql<number>`timestampdiff(minute, ${window.since}, new_updated_date)`.as('minute'),
      'old_content_level as from',
      'new_content_level as to',
      (eb) => eb.fn.countAll<number | string>().as('moves'),
    ])
    .where('new_updated_date', '>=', window.since)
    .where('new_updated_date', '<', window.until)
    .groupBy(['minute', 'old_content_level', 'new_content_level'])
    .orderBy('minute')
    .orderBy('old_content_level')
    .orderBy('new_content_level')
    .execute();
  return rows.map((r) => ({
    minute: Number(r.minute),
    from: r.from,
    to: r.to,
    moves: Number(r.moves),
  }));
}
