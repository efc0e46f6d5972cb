import type { Kysely } from 'kysely';
import { addMissingColumns, dropColumns } from './column-helpers.ts';

const COLUMNS = [
  // JSON: the count that decided, the boundary and band it crossed, the policy in force.
  { name: 'decision', definition: 'text null' },
  // Version of the level table the decision was made with (as the gateways publish it).
  { name: 'levels_version', definition: 'bigint unsigned null' },
  // Request id of the post whose count the move acted on.
  { name: 'request_id', definition: 'varchar(128) null' },
] as const;

/**
 * Records why each level change happened (added after the legacy columns, never renamed): the
 * decision's inputs, the level table version and the request id of the post behind it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await addMissingColumns(db, 'update_history', COLUMNS);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await dropColumns(
    db,
    'update_history',
    COLUMNS.map((c) => c.name),
  );
}
