import { sql, type Kysely } from 'kysely';

/**
 * Creates `audit_log`: one row per admin action (who, when, what, on what, before and after),
 * written in the same transaction as the action's effect where there is one. `before` and
 * `after` hold JSON text (`longtext`, so MySQL and MariaDB store and return it alike).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .ifNotExists()
    .addColumn('id', sql`bigint unsigned`, (c) => c.primaryKey().autoIncrement())
    .addColumn('at', sql`datetime(3)`, (c) => c.notNull().defaultTo(sql`now(3)`))
    .addColumn('actor', 'varchar(200)', (c) => c.notNull())
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('target', 'varchar(200)')
    .addColumn('before', sql`longtext`)
    .addColumn('after', sql`longtext`)
    .addColumn('detail', 'text')
    .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').ifExists().execute();
}
