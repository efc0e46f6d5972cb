import { sql, type Kysely } from 'kysely';

/**
 * True when `table` has `column` in the current database. MySQL 8 has no `ADD COLUMN IF NOT
 * EXISTS` (MariaDB has), so migrations that add columns ask first and stay safe to re-run.
 */
export async function hasColumn(
  db: Kysely<unknown>,
  table: string,
  column: string,
): Promise<boolean> {
  const { rows } = await sql<{ n: number | string }>`
    select count(*) as n from information_schema.columns
    where table_schema = database() and table_name = ${table} and column_name = ${column}`.execute(
    db,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Adds each missing column of `table` (`definition` is the SQL after the column's name). */
export async function addMissingColumns(
  db: Kysely<unknown>,
  table: string,
  columns: readonly { name: string; definition: string }[],
): Promise<void> {
  for (const column of columns) {
    if (await hasColumn(db, table, column.name)) continue;
    await sql`alter table ${sql.table(table)} add column ${sql.ref(column.name)} ${sql.raw(column.definition)}`.execute(
      db,
    );
  }
}

/** Drops each column of `table` that exists. */
export async function dropColumns(
  db: Kysely<unknown>,
  table: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names) {
    if (!(await hasColumn(db, table, name))) continue;
    await sql`alter table ${sql.table(table)} drop column ${sql.ref(name)}`.execute(db);
  }
}
