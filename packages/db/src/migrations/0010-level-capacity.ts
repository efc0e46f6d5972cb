import type { Kysely } from 'kysely';
import { addMissingColumns, dropColumns } from './column-helpers.ts';

const COLUMNS = [
  // Optional capacity of the tier in bytes; NULL = no limit (the legacy table had none).
  { name: 'capacity_bytes', definition: 'bigint unsigned null' },
  // Percent of the capacity above which no move goes into the tier.
  { name: 'high_watermark', definition: 'tinyint unsigned null' },
  // Percent of the capacity down to which a tier above its high watermark is demoted.
  { name: 'low_watermark', definition: 'tinyint unsigned null' },
] as const;

/** Gives each level an optional capacity with high and low watermarks (added, never renamed). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await addMissingColumns(db, 'level', COLUMNS);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await dropColumns(
    db,
    'level',
    COLUMNS.map((c) => c.name),
  );
}
