import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  assignContentLevel,
  commitRelocation,
  getContentHistory,
  insertContent,
  listDemotionCandidates,
  listLevels,
  readTierReservations,
  readTierUsage,
  recordContentSize,
  recountTierUsage,
  releaseTierSpace,
  replaceLevels,
  reserveTierSpace,
  RESERVATION_TTL_MS,
  seedLevels,
  setContentPin,
  TIER_USAGE_SHARDS,
} from '@relocation/db';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

describe('tier usage and reservations', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });
  beforeEach(async () => {
    await t.reseed();
  });

  async function usageOf(level: string) {
    return (await readTierUsage(t.db)).get(level) ?? { files: 0, bytes: 0 };
  }

  it('stores a capacity with its watermarks and reads it back; a level without one has none', async () => {
    const [bronze, silver, gold] = seedLevels('/srv/tiers');
    await replaceLevels(t.db, [bronze!, silver!, { ...gold!, capacityBytes: 5_000_000 }]);
    const levels = await listLevels(t.db);
    expect(levels[2]).toEqual({
      ...gold,
      capacityBytes: 5_000_000,
      highWatermark: 90,
      lowWatermark: 80,
    });
    expect(levels[0]).toEqual(bronze);
    await replaceLevels(t.db, [bronze!, silver!, gold!]);
    expect((await listLevels(t.db))[2]).toEqual(gold);
  });

  it('counts a registered content, moves its bytes with each commit and each manual level', async () => {
    await insertContent(t.db, { cid: 17, filename: 'q.mp4', sizeBytes: 1000 });
    await insertContent(t.db, { cid: 18, filename: 'r.mp4' });
    expect(await usageOf('bronze')).toEqual({ files: 2, bytes: 1000 });

    await commitRelocation(t.db, {
      cid: 17,
      fromLevel: 'bronze',
      toLevel: 'gold',
      viewCount: 2500,
      jobId: '1',
      bytes: 1000,
      durationMs: 1,
    });
    // The move learnt the size of the second file.
    await commitRelocation(t.db, {
      cid: 18,
      fromLevel: 'bronze',
      toLevel: 'silver',
      viewCount: 1500,
      jobId: '2',
      bytes: 700,
      durationMs: 1,
    });
    expect(await usageOf('bronze')).toEqual({ files: 0, bytes: 0 });
    expect(await usageOf('gold')).toEqual({ files: 1, bytes: 1000 });
    expect(await usageOf('silver')).toEqual({ files: 1, bytes: 700 });

    await assignContentLevel(t.db, { cid: 18, level: 'gold', viewCount: 2100, jobId: 'admin:x' });
    expect(await usageOf('silver')).toEqual({ files: 0, bytes: 0 });
    expect(await usageOf('gold')).toEqual({ files: 2, bytes: 1700 });
    // Both ways of changing a level record why.
    expect((await getContentHistory(t.db, 18)).map((h) => h.reason)).toEqual(['admin', 'post']);
    // A recount finds the counters right.
    expect(await recountTierUsage(t.db)).toEqual([]);
  });

  it('writes the reason a commit gives into its history row', async () => {
    await insertContent(t.db, { cid: 1, filename: 'a.mp4', sizeBytes: 10 });
    await commitRelocation(t.db, {
      cid: 1,
      fromLevel: 'bronze',
      toLevel: 'silver',
      viewCount: 5,
      jobId: '9',
      bytes: 10,
      durationMs: 1,
      reason: 'capacity',
    });
    expect((await getContentHistory(t.db, 1))[0]?.reason).toBe('capacity');
  });

  it('recount corrects counters after contents were changed with SQL behind the service', async () => {
    await insertContent(t.db, { cid: 1, filename: 'a.mp4', sizeBytes: 100 });
    await insertContent(t.db, { cid: 2, filename: 'b.mp4', sizeBytes: 50 });
    await t.db
      .updateTable('contents')
      .set({ content_level: 'gold' })
      .where('cid', '=', 1)
      .execute();
    expect(await usageOf('gold')).toEqual({ files: 0, bytes: 0 });
    const corrections = await recountTierUsage(t.db);
    expect(corrections).toEqual([
      { level: 'bronze', before: { files: 2, bytes: 150 }, after: { files: 1, bytes: 50 } },
      { level: 'gold', before: { files: 0, bytes: 0 }, after: { files: 1, bytes: 100 } },
    ]);
    expect(await usageOf('gold')).toEqual({ files: 1, bytes: 100 });
    expect(await recountTierUsage(t.db)).toEqual([]);
  });

  it('spreads a level over its shards and sums them', async () => {
    for (let cid = 1; cid <= 40; cid += 1) {
      await insertContent(t.db, { cid, filename: `f${cid}.mp4`, sizeBytes: cid });
    }
    const { rows } = await sql<{ n: number }>`
      select count(*) as n from tier_usage where level = 'bronze' and files > 0`.execute(t.db);
    expect(Number(rows[0]?.n)).toBe(TIER_USAGE_SHARDS);
    expect(await usageOf('bronze')).toEqual({ files: 40, bytes: (40 * 41) / 2 });
  });

  it('records a size found on disk once, adjusting the usage', async () => {
    await insertContent(t.db, { cid: 3, filename: 'c.mp4' });
    expect(await recordContentSize(t.db, { cid: 3, level: 'bronze', bytes: 321 })).toBe(true);
    expect(await recordContentSize(t.db, { cid: 3, level: 'bronze', bytes: 321 })).toBe(false);
    // A size seen on a tier the content has left meanwhile is not recorded.
    expect(await recordContentSize(t.db, { cid: 3, level: 'gold', bytes: 5 })).toBe(false);
    expect(await usageOf('bronze')).toEqual({ files: 1, bytes: 321 });
  });

  describe('reserveTierSpace', () => {
    it('reserves within the limit, refuses past it, and counts committed bytes and other reservations', async () => {
      await insertContent(t.db, { cid: 1, filename: 'a.mp4', sizeBytes: 600 });
      await assignContentLevel(t.db, { cid: 1, level: 'gold', viewCount: 1, jobId: 'admin:x' });
      const limit = 1000;
      expect(
        await reserveTierSpace(t.db, { cid: 2, level: 'gold', bytes: 300, limitBytes: limit }),
      ).toEqual({ reserved: true, usedBytes: 600, reservedBytes: 0 });
      expect(
        await reserveTierSpace(t.db, { cid: 3, level: 'gold', bytes: 101, limitBytes: limit }),
      ).toEqual({ reserved: false, usedBytes: 600, reservedBytes: 300 });
      expect(
        await reserveTierSpace(t.db, { cid: 3, level: 'gold', bytes: 100, limitBytes: limit }),
      ).toMatchObject({ reserved: true });
      // A retried move replaces its own reservation rather than adding to it.
      expect(
        await reserveTierSpace(t.db, { cid: 2, level: 'gold', bytes: 300, limitBytes: limit }),
      ).toEqual({ reserved: true, usedBytes: 600, reservedBytes: 100 });
      expect((await readTierReservations(t.db)).get('gold')).toBe(400);
      await releaseTierSpace(t.db, 2);
      expect((await readTierReservations(t.db)).get('gold')).toBe(100);
    });

    it('ignores a reservation older than the TTL (left by a crashed relocator)', async () => {
      const old = new Date(Date.now() - RESERVATION_TTL_MS - 1000);
      await reserveTierSpace(t.db, {
        cid: 5,
        level: 'gold',
        bytes: 900,
        limitBytes: 1000,
        now: old,
      });
      expect(
        await reserveTierSpace(t.db, { cid: 6, level: 'gold', bytes: 900, limitBytes: 1000 }),
      ).toMatchObject({ reserved: true, reservedBytes: 0 });
    });

    it('never lets concurrent reservations overshoot the limit', async () => {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          reserveTierSpace(t.db, { cid: 100 + i, level: 'gold', bytes: 100, limitBytes: 550 }),
        ),
      );
      expect(results.filter((r) => r.reserved)).toHaveLength(5);
      expect((await readTierReservations(t.db)).get('gold')).toBe(500);
    });

    it('is released by the commit of the move that reserved', async () => {
      await insertContent(t.db, { cid: 9, filename: 'i.mp4', sizeBytes: 40 });
      await reserveTierSpace(t.db, { cid: 9, level: 'gold', bytes: 40, limitBytes: 100 });
      await commitRelocation(t.db, {
        cid: 9,
        fromLevel: 'bronze',
        toLevel: 'gold',
        viewCount: 3000,
        jobId: '1',
        bytes: 40,
        durationMs: 1,
        releaseReservation: true,
      });
      expect((await readTierReservations(t.db)).get('gold')).toBeUndefined();
      expect(await usageOf('gold')).toEqual({ files: 1, bytes: 40 });
    });
  });

  it('lists demotion candidates of a level without the pinned ones', async () => {
    for (const cid of [1, 2, 3]) {
      await insertContent(t.db, { cid, filename: `${cid}.mp4`, sizeBytes: cid * 10 });
    }
    await setContentPin(t.db, {
      cid: 2,
      level: 'bronze',
      until: null,
      reason: 'keep',
      actor: 'cli:x',
    });
    expect(await listDemotionCandidates(t.db, 'bronze')).toEqual([
      { cid: 1, filename: '1.mp4', sizeBytes: 10, viewCount: 0 },
      { cid: 3, filename: '3.mp4', sizeBytes: 30, viewCount: 0 },
    ]);
  });
});
