import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commitRelocation, getContent, getContentHistory, seedIfEmpty } from '@relocation/db';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

describe('commitRelocation', () => {
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

  const move7 = {
    cid: 7,
    fromLevel: 'bronze',
    toLevel: 'silver',
    viewCount: 1964,
    jobId: '41',
    bytes: 1234,
    durationMs: 12,
  };

  it('changes the level and writes one history row in one transaction', async () => {
    const before = await getContent(t.db, 7);
    const now = new Date('2026-11-26T10:00:00.123Z');
    const result = await commitRelocation(t.db, { ...move7, now });
    expect(result).toMatchObject({ kind: 'committed' });
    const after = await getContent(t.db, 7);
    expect(after).toMatchObject({ content_level: 'silver', view_count: 1964 });
    expect(after?.update_time.toISOString()).toBe(now.toISOString());
    const history = await getContentHistory(t.db, 7);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      cid: 7,
      old_content_level: 'bronze',
      new_content_level: 'silver',
      view_count: 1964,
      job_id: '41',
      bytes: 1234,
      duration_ms: 12,
    });
    expect(history[0]?.old_updated_date.toISOString()).toBe(before?.update_time.toISOString());
    expect(history[0]?.new_updated_date.toISOString()).toBe(now.toISOString());
    if (result.kind === 'committed') expect(result.historyId).toBe(history[0]?.id);
  });

  it('treats a second commit of the same move as a no-op', async () => {
    expect((await commitRelocation(t.db, move7)).kind).toBe('committed');
    expect(await commitRelocation(t.db, move7)).toEqual({ kind: 'already-committed' });
    expect(await getContentHistory(t.db, 7)).toHaveLength(1);
  });

  it('rejects a stale move whose from-level no longer holds and changes nothing', async () => {
    const result = await commitRelocation(t.db, { ...move7, fromLevel: 'gold', toLevel: 'silver' });
    expect(result).toEqual({ kind: 'stale', actualLevel: 'bronze' });
    expect((await getContent(t.db, 7))?.content_level).toBe('bronze');
    expect(await getContentHistory(t.db, 7)).toEqual([]);
  });

  it('answers not-found for an unknown cid', async () => {
    expect(await commitRelocation(t.db, { ...move7, cid: 999 })).toEqual({ kind: 'not-found' });
  });

  it('rolls back the level change when the history insert fails', async () => {
    // A job id longer than the column is refused by strict mode, after the UPDATE ran.
    const error = await commitRelocation(t.db, { ...move7, jobId: 'x'.repeat(300) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(await getContent(t.db, 7)).toMatchObject({ content_level: 'bronze', view_count: 640 });
    expect(await getContentHistory(t.db, 7)).toEqual([]);
  });

  it('writes no history row when the level change fails', async () => {
    // The target tier is not in `level`: the foreign key refuses the UPDATE.
    const error = await commitRelocation(t.db, { ...move7, toLevel: 'platinum' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((await getContent(t.db, 7))?.content_level).toBe('bronze');
    expect(await getContentHistory(t.db, 7)).toEqual([]);
  });

  it('serialises concurrent commits of one cid: exactly one history row', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => commitRelocation(t.db, { ...move7, jobId: `j${i}` })),
    );
    expect(results.filter((r) => r.kind === 'committed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'already-committed')).toHaveLength(11);
    expect(await getContentHistory(t.db, 7)).toHaveLength(1);
    expect((await getContent(t.db, 7))?.content_level).toBe('silver');
  });

  it('serialises racing moves to different tiers: one wins, the other is stale', async () => {
    const [a, b] = await Promise.all([
      commitRelocation(t.db, { ...move7, toLevel: 'silver', jobId: 'a' }),
      commitRelocation(t.db, { ...move7, toLevel: 'gold', jobId: 'b' }),
    ]);
    const kinds = [a?.kind, b?.kind].sort();
    expect(kinds).toEqual(['committed', 'stale']);
    const history = await getContentHistory(t.db, 7);
    expect(history).toHaveLength(1);
    expect((await getContent(t.db, 7))?.content_level).toBe(history[0]?.new_content_level);
  });
});
