import { sql, type Kysely } from 'kysely';

/** Creates the `level` table: one row per storage tier. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('level')
    .ifNotExists()
    .addColumn('content_level', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('min_counts', sql`bigint unsigned`, (c) => c.notNull())
    .addColumn('max_counts', sql`bigint unsigned`)
    .addColumn('path', 'varchar(1024)', (c) => c.notNull())
    .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('level').ifExists().execute();
}
