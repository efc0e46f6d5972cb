import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDb,
  dropDatabase,
  ensureDatabase,
  migrateDownToEmpty,
  migrateToLatest,
  MIGRATIONS,
} from '@relocation/db';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

async function tableNames(t: TestDatabase): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = ${t.name} order by table_name`.execute(t.db);
  return rows.map((r) => r.name);
}

describe('migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await t.drop();
  });

  it('creates every table on an empty database', async () => {
    expect(await tableNames(t)).toEqual([]);
    const applied = await migrateToLatest(t.db);
    expect(applied).toEqual(Object.keys(MIGRATIONS));
    const names = await tableNames(t);
    expect(names).toEqual(
      expect.arrayContaining([
        'contents',
        'level',
        'update_history',
        'deployment',
        'audit_log',
        'kysely_migration',
      ]),
    );
  });

  it('is a no-op when run again', async () => {
    expect(await migrateToLatest(t.db)).toEqual([]);
    const { rows } = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(
      t.db,
    );
    expect(Number(rows[0]?.n)).toBe(Object.keys(MIGRATIONS).length);
  });

  it('adds columns and tables safely when a step runs again (MySQL has no ADD COLUMN IF NOT EXISTS)', async () => {
    for (const name of [
      '0010-level-capacity',
      '0011-contents-size',
      '0012-history-reason',
      '0013-create-tier-usage',
      '0014-create-tier-reservation',
      '0015-history-decision',
    ]) {
      await MIGRATIONS[name]?.up(t.db);
    }
    const { rows } = await sql<{ name: string }>`
      select column_name as name from information_schema.columns
      where table_schema = ${t.name} and table_name = 'level' order by ordinal_position`.execute(
      t.db,
    );
    expect(rows.map((r) => r.name)).toEqual([
      'content_level',
      'min_counts',
      'max_counts',
      'path',
      'capacity_bytes',
      'high_watermark',
      'low_watermark',
    ]);
  });

  it('gives contents the columns of SPEC §3', async () => {
    const { rows } = await sql<{ name: string; type: string }>`
      select column_name as name, column_type as type from information_schema.columns
      where table_schema = ${t.name} and table_name = 'contents' order by ordinal_position`.execute(
      t.db,
    );
    expect(rows.map((r) => r.name)).toEqual([
      'cid',
      'content_level',
      'filename',
      'view_count',
      'generate_time',
      'update_time',
      // Added after the legacy columns, never renamed or reordered.
      'size_bytes',
    ]);
    expect(rows[0]?.type).toBe('bigint(20) unsigned');
  });

  it('migrates down to empty and up again', async () => {
    await migrateDownToEmpty(t.db);
    expect(await tableNames(t)).toEqual(['kysely_migration', 'kysely_migration_lock']);
    expect(await migrateToLatest(t.db)).toHaveLength(Object.keys(MIGRATIONS).length);
  });

  it('creates the target database when it is missing', async () => {
    const url = new URL(t.url);
    url.pathname = `/${t.name}_fresh`;
    await ensureDatabase(url.toString());
    await ensureDatabase(url.toString());
    const db = createDb(url.toString());
    try {
      expect(await migrateToLatest(db)).toHaveLength(Object.keys(MIGRATIONS).length);
    } finally {
      await db.destroy();
      await dropDatabase(url.toString());
    }
  });
});
