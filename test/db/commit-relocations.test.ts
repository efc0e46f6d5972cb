import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  commitRelocations,
  getContent,
  getContentHistory,
  insertContent,
  readTierReservations,
  readTierUsage,
  reserveTierSpace,
  type RelocationCommit,
} from '@relocation/db';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

describe('commitRelocations (group commit)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });
  beforeEach(async () => {
    await t.reseed();
    // Registered on bronze (the default tier) with their sizes, so the usage counters know them.
    for (const cid of [1, 2, 3, 4, 5]) {
      await insertContent(t.db, { cid, filename: `c${cid}.mp4`, sizeBytes: cid * 100 });
    }
  });

  const move = (cid: number, over: Partial<RelocationCommit> = {}): RelocationCommit => ({
    cid,
    fromLevel: 'bronze',
    toLevel: 'silver',
    viewCount: 1000 + cid,
    jobId: `j${cid}`,
    bytes: cid * 100,
    durationMs: cid,
    ...over,
  });

  async function usage() {
    const all = await readTierUsage(t.db);
    return Object.fromEntries(['bronze', 'silver', 'gold'].map((l) => [l, all.get(l)]));
  }

  async function historyCount(): Promise<number> {
    const row = await t.db
      .selectFrom('update_history')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('gives each move of one transaction its own outcome: committed, stale, not-found, already-committed', async () => {
    // cid 4 is already on silver (an earlier attempt committed it).
    await commitRelocations(t.db, [move(4)]);
    await reserveTierSpace(t.db, { cid: 1, level: 'silver', bytes: 100, limitBytes: 10_000 });
    const now = new Date('2026-12-01T10:00:00.123Z');
    const results = await commitRelocations(t.db, [
      move(1, { releaseReservation: true, now }),
      move(2, { fromLevel: 'gold', toLevel: 'silver' }), // stale: it is on bronze
      move(999), // not in MySQL
      move(4), // already committed
      move(3, { toLevel: 'gold', bytes: 350, reason: 'pin', requestId: 'r3', levelsVersion: 7 }),
    ]);
    expect(results.map((r) => r.kind)).toEqual([
      'committed',
      'stale',
      'not-found',
      'already-committed',
      'committed',
    ]);
    expect(results[1]).toEqual({ kind: 'stale', actualLevel: 'bronze' });

    // Rows: the committed ones moved with their own count, size and time; the others did not.
    expect(await getContent(t.db, 1)).toMatchObject({
      content_level: 'silver',
      view_count: 1001,
      size_bytes: 100,
    });
    expect((await getContent(t.db, 1))?.update_time.toISOString()).toBe(now.toISOString());
    expect(await getContent(t.db, 2)).toMatchObject({ content_level: 'bronze', view_count: 0 });
    expect(await getContent(t.db, 3)).toMatchObject({
      content_level: 'gold',
      view_count: 1003,
      size_bytes: 350,
    });

    // Exactly one history row per committed move, each with its own figures and id.
    expect(await historyCount()).toBe(3); // cid 4's earlier commit, 1 and 3
    const [h1] = await getContentHistory(t.db, 1);
    const [h3] = await getContentHistory(t.db, 3);
    expect(h1).toMatchObject({
      old_content_level: 'bronze',
      new_content_level: 'silver',
      job_id: 'j1',
      bytes: 100,
      reason: 'post',
    });
    expect(h1?.new_updated_date.toISOString()).toBe(now.toISOString());
    expect(h3).toMatchObject({
      old_content_level: 'bronze',
      new_content_level: 'gold',
      job_id: 'j3',
      bytes: 350,
      reason: 'pin',
      request_id: 'r3',
      levels_version: 7,
    });
    expect(await getContentHistory(t.db, 2)).toEqual([]);
    expect(await getContentHistory(t.db, 4)).toHaveLength(1);
    expect(results[0]).toMatchObject({ historyId: h1?.id });
    expect(results[4]).toMatchObject({ historyId: h3?.id });

    // Usage: bronze lost 1, 3 and 4; silver holds 1 and 4; gold holds 3 (its new size).
    expect(await usage()).toEqual({
      bronze: { files: 2, bytes: 200 + 500 },
      silver: { files: 2, bytes: 100 + 400 },
      gold: { files: 1, bytes: 350 },
    });
    expect(await readTierReservations(t.db)).toEqual(new Map());
  });

  it('takes two moves of one cid in order and never writes a second row for the same move', async () => {
    const results = await commitRelocations(t.db, [
      move(1),
      move(1, { jobId: 'again' }),
      move(1, { fromLevel: 'silver', toLevel: 'gold', jobId: 'next' }),
    ]);
    expect(results.map((r) => r.kind)).toEqual(['committed', 'already-committed', 'committed']);
    const history = await getContentHistory(t.db, 1);
    expect(history.map((h) => [h.old_content_level, h.new_content_level, h.job_id])).toEqual([
      ['silver', 'gold', 'next'],
      ['bronze', 'silver', 'j1'],
    ]);
    expect((await getContent(t.db, 1))?.content_level).toBe('gold');
    expect(await usage()).toMatchObject({ silver: { files: 0, bytes: 0 }, gold: { files: 1 } });
  });

  it('writes nothing of a group whose transaction fails, and a second try commits each move once', async () => {
    const group = [move(1), move(2, { jobId: 'x'.repeat(300) }), move(3)];
    await expect(commitRelocations(t.db, group)).rejects.toThrow();
    expect(await historyCount()).toBe(0);
    expect((await getContent(t.db, 1))?.content_level).toBe('bronze');
    expect((await getContent(t.db, 3))?.content_level).toBe('bronze');
    expect(await usage()).toMatchObject({ bronze: { files: 5, bytes: 1500 } });

    const fixed = [move(1), move(2), move(3)];
    expect((await commitRelocations(t.db, fixed)).map((r) => r.kind)).toEqual([
      'committed',
      'committed',
      'committed',
    ]);
    // Committing the same group again (as after a lost COMMIT reply) changes nothing.
    expect((await commitRelocations(t.db, fixed)).map((r) => r.kind)).toEqual([
      'already-committed',
      'already-committed',
      'already-committed',
    ]);
    expect(await historyCount()).toBe(3);
    expect(await usage()).toMatchObject({
      bronze: { files: 2, bytes: 900 },
      silver: { files: 3, bytes: 600 },
    });
  });

  it('serialises concurrent groups over the same rows: one history row per level change', async () => {
    const groups = Array.from({ length: 6 }, (_, g) =>
      [1, 2, 3, 4, 5].map((cid) => move(cid, { jobId: `g${g}-${cid}` })),
    );
    const results = (await Promise.all(groups.map((moves) => commitRelocations(t.db, moves))))
      .flat()
      .map((r) => r.kind);
    expect(results.filter((k) => k === 'committed')).toHaveLength(5);
    expect(results.filter((k) => k === 'already-committed')).toHaveLength(25);
    expect(await historyCount()).toBe(5);
    expect(await usage()).toMatchObject({
      bronze: { files: 0, bytes: 0 },
      silver: { files: 5, bytes: 1500 },
    });
  });
});
