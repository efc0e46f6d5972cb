import type { Kysely } from 'kysely';

/** Indexes `audit_log` by time, so entries older than a date are found (and pruned) without a scan. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('audit_log_at_id')
    .ifNotExists()
    .on('audit_log')
    .columns(['at', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_log_at_id').on('audit_log').execute();
}
