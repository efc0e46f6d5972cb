import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DbError,
  getContent,
  getContentHistory,
  insertContent,
  listContents,
  listLevels,
  replaceLevels,
  SAMPLE_CONTENTS,
  seedIfEmpty,
  seedLevels,
} from '@relocation/db';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

describe('queries', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });
  beforeEach(async () => {
    await t.db.deleteFrom('update_history').execute();
    await t.db.deleteFrom('contents').execute();
    await t.db.deleteFrom('level').execute();
    await seedIfEmpty(t.db, { dataDir: '/srv/tiers' });
  });

  it('seeds the levels and contents of seed 001 only into empty tables', async () => {
    expect(await listLevels(t.db)).toEqual(seedLevels('/srv/tiers'));
    const contents = await listContents(t.db);
    expect(contents.map((c) => [c.cid, c.filename, c.content_level])).toEqual(
      SAMPLE_CONTENTS.map((c) => [c.cid, c.filename, c.level]),
    );
    expect(contents.find((c) => c.cid === 7)?.content_level).toBe('bronze');
    expect(await seedIfEmpty(t.db, { dataDir: '/elsewhere' })).toEqual({ levels: 0, contents: 0 });
    expect((await listLevels(t.db))[0]?.path).toBe('/srv/tiers/bronze');
  });

  it('reads a content and answers undefined for an unknown cid', async () => {
    const g = await getContent(t.db, 7);
    expect(g).toMatchObject({
      cid: 7,
      filename: 'g.mp4',
      content_level: 'bronze',
      view_count: 640,
    });
    expect(g?.generate_time).toBeInstanceOf(Date);
    expect(await getContent(t.db, 99)).toBeUndefined();
  });

  it('registers a content on the default tier with generate_time now', async () => {
    const now = new Date('2026-01-02T03:04:05.678Z');
    const c = await insertContent(t.db, { cid: 100, filename: 'new.mp4', now });
    expect(c).toMatchObject({
      cid: 100,
      content_level: 'bronze',
      filename: 'new.mp4',
      view_count: 0,
    });
    expect(c.generate_time.toISOString()).toBe(now.toISOString());
    expect(c.update_time.toISOString()).toBe(now.toISOString());
  });

  it('refuses to register a known cid', async () => {
    await expect(insertContent(t.db, { cid: 7, filename: 'x.mp4' })).rejects.toMatchObject({
      code: 'CONTENT_EXISTS',
    });
    expect((await getContent(t.db, 7))?.filename).toBe('g.mp4');
  });

  it('refuses to register a file name another content uses', async () => {
    await expect(insertContent(t.db, { cid: 300, filename: 'g.mp4' })).rejects.toMatchObject({
      code: 'FILENAME_EXISTS',
    });
    expect(await getContent(t.db, 300)).toBeUndefined();
  });

  it('refuses to register when no level starts at 0', async () => {
    await t.db.deleteFrom('contents').execute();
    await t.db.deleteFrom('level').where('min_counts', '=', 0).execute();
    await expect(insertContent(t.db, { cid: 200, filename: 'x.mp4' })).rejects.toMatchObject({
      code: 'NO_DEFAULT_LEVEL',
    });
  });

  it('replaces the level table atomically', async () => {
    const levels = [
      { name: 'bronze', minCount: 0, maxCount: 499, path: '/t/bronze' },
      { name: 'silver', minCount: 500, maxCount: 4999, path: '/t/silver' },
      { name: 'gold', minCount: 5000, maxCount: null, path: '/t/gold' },
    ];
    expect(await replaceLevels(t.db, levels)).toEqual(levels);
    expect(await listLevels(t.db)).toEqual(levels);
  });

  it('refuses a level table that breaks I1 and keeps the old one', async () => {
    const before = await listLevels(t.db);
    const error = await replaceLevels(t.db, [
      { name: 'bronze', minCount: 0, maxCount: 999, path: '/t/b' },
      { name: 'silver', minCount: 1500, maxCount: null, path: '/t/s' },
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DbError);
    expect(error).toMatchObject({ code: 'INVALID_LEVELS' });
    expect((error as Error).message).toContain('silver');
    expect(await listLevels(t.db)).toEqual(before);
  });

  it('refuses to drop a level that contents sit on', async () => {
    const before = await listLevels(t.db);
    const error = await replaceLevels(t.db, [
      { name: 'bronze', minCount: 0, maxCount: 999, path: '/t/b' },
      { name: 'silver', minCount: 1000, maxCount: null, path: '/t/s' },
    ]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LEVEL_IN_USE' });
    expect((error as Error).message).toContain('"gold" (3 contents)');
    expect(await listLevels(t.db)).toEqual(before);
  });

  it('lists a content history newest first', async () => {
    const base = { cid: 12, view_count: 1, job_id: null, bytes: null, duration_ms: null };
    const d = (s: string) => new Date(s);
    await t.db
      .insertInto('update_history')
      .values([
        {
          ...base,
          old_updated_date: d('2018-05-01'),
          old_content_level: 'gold',
          new_updated_date: d('2018-07-26'),
          new_content_level: 'silver',
        },
        {
          ...base,
          old_updated_date: d('2018-07-26'),
          old_content_level: 'silver',
          new_updated_date: d('2018-08-01'),
          new_content_level: 'gold',
        },
      ])
      .execute();
    const history = await getContentHistory(t.db, 12);
    expect(history.map((h) => h.new_content_level)).toEqual(['gold', 'silver']);
    expect(await getContentHistory(t.db, 12, { limit: 1 })).toHaveLength(1);
    expect(await getContentHistory(t.db, 1)).toEqual([]);
  });
});
