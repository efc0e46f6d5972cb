import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assignContentLevel, getContent, getContentHistory, seedIfEmpty } from '@relocation/db';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

describe('assignContentLevel', () => {
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

  const manual = { cid: 7, level: 'silver', viewCount: 1964, jobId: 'admin:operator' };

  it('changes the level and writes one history row (no bytes, no duration) in one transaction', async () => {
    const before = await getContent(t.db, 7);
    const now = new Date('2026-11-26T10:00:00.123Z');
    const result = await assignContentLevel(t.db, { ...manual, expectedLevel: 'bronze', now });
    expect(result).toMatchObject({ kind: 'assigned', previousLevel: 'bronze' });
    const after = await getContent(t.db, 7);
    expect(after).toMatchObject({ content_level: 'silver', view_count: 1964 });
    expect(after?.update_time.toISOString()).toBe(now.toISOString());
    const history = await getContentHistory(t.db, 7);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      old_content_level: 'bronze',
      new_content_level: 'silver',
      job_id: 'admin:operator',
      bytes: null,
      duration_ms: null,
    });
    expect(history[0]?.old_updated_date.toISOString()).toBe(before?.update_time.toISOString());
    if (result.kind === 'assigned') expect(result.historyId).toBe(history[0]?.id);
  });

  it('is unchanged (no history row) for a content already on the level', async () => {
    expect((await assignContentLevel(t.db, manual)).kind).toBe('assigned');
    expect(await assignContentLevel(t.db, manual)).toEqual({ kind: 'unchanged' });
    expect(await getContentHistory(t.db, 7)).toHaveLength(1);
  });

  it('refuses a row that left the expected level (stale) and an unknown cid, changing nothing', async () => {
    expect(
      await assignContentLevel(t.db, { ...manual, level: 'gold', expectedLevel: 'silver' }),
    ).toEqual({ kind: 'stale', actualLevel: 'bronze' });
    expect((await getContent(t.db, 7))?.content_level).toBe('bronze');
    expect(await getContentHistory(t.db, 7)).toHaveLength(0);
    expect(await assignContentLevel(t.db, { ...manual, cid: 999 })).toEqual({ kind: 'not-found' });
  });
});
