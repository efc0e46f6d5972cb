import { sql, type Kysely } from 'kysely';

/** Creates the `contents` table: one row per content, pointing at its tier. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('contents')
    .ifNotExists()
    .addColumn('cid', sql`bigint unsigned`, (c) => c.primaryKey())
    .addColumn('content_level', 'varchar(64)', (c) =>
      c.notNull().references('level.content_level').onUpdate('restrict').onDelete('restrict'),
    )
    .addColumn('filename', 'varchar(255)', (c) => c.notNull())
    .addColumn('view_count', sql`bigint unsigned`, (c) => c.notNull().defaultTo(0))
    .addColumn('generate_time', sql`datetime(3)`, (c) =>
      c.notNull().defaultTo(sql`current_timestamp(3)`),
    )
    .addColumn('update_time', sql`datetime(3)`, (c) =>
      c.notNull().defaultTo(sql`current_timestamp(3)`),
    )
    .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('contents').ifExists().execute();
}
