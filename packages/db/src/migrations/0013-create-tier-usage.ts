import { sql, type Kysely } from 'kysely';
import { recountTierUsage } from '../queries/tier-usage.ts';
import type { Database } from '../schema.ts';

/**
 * Creates `tier_usage`: files and bytes per level, split over `TIER_USAGE_SHARDS` rows per level
 * (shard = cid mod shards) so concurrent commits into one tier do not queue on a single hot row.
 * Every write of `contents` adjusts it in its own transaction; reconcile recounts it. Filled from
 * `contents` when created.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tier_usage')
    .ifNotExists()
    .addColumn('level', 'varchar(64)', (c) => c.notNull())
    .addColumn('shard', sql`tinyint unsigned`, (c) => c.notNull())
    .addColumn('files', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('tier_usage_pk', ['level', 'shard'])
    .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    .execute();
  await recountTierUsage(db as unknown as Kysely<Database>);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tier_usage').ifExists().execute();
}
