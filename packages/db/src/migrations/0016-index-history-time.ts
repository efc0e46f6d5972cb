import type { Kysely } from 'kysely';

/**
 * Indexes `update_history` by the time of each change, so the moves of the last hour (the
 * overview's moves per minute, `GET /v1/stats`) are read as a range, without a scan.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('update_history_new_updated_date')
    .ifNotExists()
    .on('update_history')
    .columns(['new_updated_date'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('update_history_new_updated_date').on('update_history').execute();
}
