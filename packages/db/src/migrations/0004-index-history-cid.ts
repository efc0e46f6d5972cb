import type { Kysely } from 'kysely';

/** Indexes `update_history` by content so a content's history reads newest first without a scan. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('update_history_cid_id')
    .ifNotExists()
    .on('update_history')
    .columns(['cid', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('update_history_cid_id').on('update_history').execute();
}
