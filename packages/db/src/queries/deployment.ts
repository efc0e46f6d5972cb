import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * The database's identity (a UUID written by the migration that created the `deployment` table).
 * Throws when the row is missing (the database is not migrated): run `npm run setup`.
 */
export async function getDeploymentId(db: Kysely<Database>): Promise<string> {
  const row = await db
    .selectFrom('deployment')
    .select('id')
    .where('singleton', '=', 1)
    .executeTakeFirst();
  if (!row) {
    throw new Error(
      'the database has no deployment identity (table `deployment` is empty): run `npm run setup`',
    );
  }
  return row.id;
}
