import { sql, type Kysely } from 'kysely';

/** Creates `update_history`: one row per level change, with the job, bytes and duration of the move. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('update_history')
    .ifNotExists()
    .addColumn('id', sql`bigint unsigned`, (c) => c.primaryKey().autoIncrement())
    .addColumn('cid', sql`bigint unsigned`, (c) => c.notNull())
    .addColumn('old_updated_date', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('old_content_level', 'varchar(64)', (c) => c.notNull())
    .addColumn('new_updated_date', sql`datetime(3)`, (c) => c.notNull())
    .addColumn('new_content_level', 'varchar(64)', (c) => c.notNull())
    .addColumn('view_count', sql`bigint unsigned`, (c) => c.notNull().defaultTo(0))
    .addColumn('job_id', 'varchar(128)')
    .addColumn('bytes', sql`bigint unsigned`)
    .addColumn('duration_ms', sql`int unsigned`)
    .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('update_history').ifExists().execute();
}
