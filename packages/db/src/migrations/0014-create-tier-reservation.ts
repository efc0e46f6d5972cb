import { sql, type Kysely } from 'kysely';

/**
 * Creates `tier_reservation`: the bytes a move has reserved in a tier with a capacity before it
 * copies (one per content: a content has one move at a time). Deleted by the move's commit;
 * one left by a crash is replaced by the content's next move or ignored once older than
 * `RESERVATION_TTL_MS`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tier_reservation')
    .ifNotExists()
    .addColumn('cid', sql`bigint unsigned`, (c) => c.primaryKey())
    .addColumn('level', 'varchar(64)', (c) => c.notNull())
    .addColumn('bytes', sql`bigint unsigned`, (c) => c.notNull())
    .addColumn('reserved_at', sql`datetime(3)`, (c) => c.notNull())
    .modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin`)
    .execute();
  await db.schema
    .createIndex('tier_reservation_level')
    .ifNotExists()
    .on('tier_reservation')
    .columns(['level', 'reserved_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tier_reservation').ifExists().execute();
}
