import { sql, type Kysely } from 'kysely';

/**
 * Creates `content_pin`: at most one pin per content (an operator keeps it on `level` whatever
 * its counts say, until `until` or until released). A pin goes with its content (`on delete
 * cascade`); a pinned level cannot be removed (`restrict`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('content_pin')
    .ifNotExists()
    .addColumn('cid', sql`bigint unsigned`, (c) =>
      c.primaryKey().references('contents.cid').onUpdate('restrict').onDelete('cascade'),
    )
    .addColumn('level', 'varchar(64)', (c) =>
      c.notNull().references('level.content_level').onUpdate('restrict').onDelete('restrict'),
    )
    .addColumn('until', sql`datetime(3)`)
    .addColumn('reason', 'varchar(500)', (c) => c.notNull())
    .addColumn('pinned_by', 'varchar(200)', (c) => c.notNull())
    .addColumn('pinned_at', sql`datetime(3)`, (c) => c.notNull().defaultTo(sql`now(3)`))
    .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('content_pin').ifExists().execute();
}
