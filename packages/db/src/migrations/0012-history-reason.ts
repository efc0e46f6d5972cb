import type { Kysely } from 'kysely';
import { addMissingColumns, dropColumns } from './column-helpers.ts';

/**
 * Records what triggered each level change (`reason`: `post`, `pin`, `capacity`, `admin`; see
 * `HISTORY_REASONS`); NULL on rows written before this column existed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await addMissingColumns(db, 'update_history', [
    { name: 'reason', definition: 'varchar(32) null' },
  ]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await dropColumns(db, 'update_history', ['reason']);
}
