import { sql, type Kysely } from 'kysely';

/**
 * The database's identity: one row, written when the database is created, that every cache,
 * journal and tier marker of this deployment carries (invariant I7). A fresh database gets a new
 * id; a database restored from a dump keeps the id it was dumped with.
 *
 * The table and its row are made idempotently (`if not exists`, `insert ignore`), so a crash
 * between the two statements is finished by the next run.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployment')
    .ifNotExists()
    .addColumn('singleton', 'integer', (col) => col.primaryKey().notNull().defaultTo(1))
    .addColumn('id', 'char(36)', (col) => col.notNull())
    .addColumn('created_at', 'datetime(3)', (col) => col.notNull().defaultTo(sql`now(3)`))
    .execute();
  await sql`insert ignore into deployment (singleton, id) values (1, uuid())`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('deployment').ifExists().execute();
}
