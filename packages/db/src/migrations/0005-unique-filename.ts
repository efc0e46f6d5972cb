import type { Kysely } from 'kysely';

/**
 * One file name per content: every content of a tier shares one directory, so two contents with
 * the same file name would collide on disk.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('contents_filename_unique')
    .ifNotExists()
    .unique()
    .on('contents')
    .column('filename')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('contents_filename_unique').on('contents').execute();
}
