import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  getContent,
  getContentHistory,
  insertContent,
  parseDatabaseUrl,
  type RelocationCommit,
} from '@relocation/db';
import { createConnection } from 'mysql2/promise';
import { CommitBatcher } from '../../apps/relocator/src/commit-batcher.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { SILENT } from './support.ts';

describe('the commit batcher (group commit of finished moves)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });
  beforeEach(async () => {
    await t.reseed();
    for (let cid = 1; cid <= 6; cid++) {
      await insertContent(t.db, { cid, filename: `c${cid}.mp4`, sizeBytes: 100 });
    }
  });

  const move = (cid: number, over: Partial<RelocationCommit> = {}): RelocationCommit => ({
    cid,
    fromLevel: 'bronze',
    toLevel: 'silver',
    viewCount: 1000,
    jobId: `j${cid}`,
    bytes: 100,
    durationMs: 1,
    ...over,
  });

  const batcher = (windowMs: number, maxMoves: number, inFlight?: () => number) =>
    new CommitBatcher(
      { db: t.db, logger: SILENT, ...(inFlight ? { inFlight } : {}) },
      { windowMs, maxMoves },
    );

  async function levels(cids: readonly number[]): Promise<string[]> {
    return Promise.all(cids.map(async (cid) => (await getContent(t.db, cid))?.content_level ?? ''));
  }

  it('writes a group as soon as it holds its most moves (the window is an hour)', async () => {
    const b = batcher(3_600_000, 3);
    const results = await Promise.all([1, 2, 3].map((cid) => b.commit(move(cid))));
    expect(results.map((r) => r.kind)).toEqual(['committed', 'committed', 'committed']);
    expect(b.stats).toEqual({ groups: 1, moves: 3, fallbacks: 0 });
    expect(await levels([1, 2, 3])).toEqual(['silver', 'silver', 'silver']);
  });

  it('splits more moves than a group holds into several groups', async () => {
    const b = batcher(3_600_000, 2);
    const results = await Promise.all([1, 2, 3, 4].map((cid) => b.commit(move(cid))));
    expect(results.every((r) => r.kind === 'committed')).toBe(true);
    expect(b.stats).toEqual({ groups: 2, moves: 4, fallbacks: 0 });
  });

  it('writes what the window collected when it closes', async () => {
    const b = batcher(20, 100);
    const results = await Promise.all([1, 2].map((cid) => b.commit(move(cid))));
    expect(results.map((r) => r.kind)).toEqual(['committed', 'committed']);
    expect(b.stats).toEqual({ groups: 1, moves: 2, fallbacks: 0 });
  });

  it('does not wait for the window once every running job waits in the group', async () => {
    const b = batcher(3_600_000, 100, () => 2);
    const results = await Promise.all([1, 2].map((cid) => b.commit(move(cid))));
    expect(results.map((r) => r.kind)).toEqual(['committed', 'committed']);
    expect(b.stats.groups).toBe(1);
    // A lone job (one running) commits at once.
    const alone = batcher(3_600_000, 100, () => 1);
    expect((await alone.commit(move(3))).kind).toBe('committed');
  });

  it('fills the next group while one is written, and writes it when that one ends', async () => {
    // Another session holds cid 1's row, so the first group (cid 1 alone) waits in MySQL.
    const locker = await createConnection({ ...parseDatabaseUrl(t.url), timezone: 'Z' });
    try {
      await locker.beginTransaction();
      await locker.query('SELECT cid FROM contents WHERE cid = 1 FOR UPDATE');
      let running = 1;
      const b = batcher(3_600_000, 100, () => running);
      const first = b.commit(move(1));
      running = 3;
      const next = [b.commit(move(2)), b.commit(move(3))];
      await locker.rollback();
      expect((await first).kind).toBe('committed');
      expect((await Promise.all(next)).map((r) => r.kind)).toEqual(['committed', 'committed']);
      expect(b.stats).toEqual({ groups: 2, moves: 3, fallbacks: 0 });
    } finally {
      await locker.end();
    }
  });

  it('commits every move alone with a window of 0', async () => {
    const b = batcher(0, 32);
    await Promise.all([1, 2, 3].map((cid) => b.commit(move(cid))));
    expect(b.stats).toEqual({ groups: 3, moves: 3, fallbacks: 0 });
  });

  it('keeps each move its own outcome in one group', async () => {
    const b = batcher(3_600_000, 3);
    const results = await Promise.all([
      b.commit(move(1)),
      b.commit(move(2, { fromLevel: 'gold' })),
      b.commit(move(999)),
    ]);
    expect(results).toEqual([
      expect.objectContaining({ kind: 'committed' }),
      { kind: 'stale', actualLevel: 'bronze' },
      { kind: 'not-found' },
    ]);
    expect(b.stats.groups).toBe(1);
  });

  it('commits a failed group one move at a time: the good moves commit, the bad one fails alone', async () => {
    const b = batcher(3_600_000, 3);
    // A job id longer than its column fails the group's history INSERT (strict mode).
    const settled = await Promise.allSettled([
      b.commit(move(1)),
      b.commit(move(2, { jobId: 'x'.repeat(300) })),
      b.commit(move(3)),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(settled[0]).toMatchObject({ value: { kind: 'committed' } });
    expect(settled[2]).toMatchObject({ value: { kind: 'committed' } });
    expect(b.stats).toMatchObject({ groups: 0, fallbacks: 1 });
    expect(await levels([1, 2, 3])).toEqual(['silver', 'bronze', 'silver']);
    for (const cid of [1, 3]) expect(await getContentHistory(t.db, cid)).toHaveLength(1);
    expect(await getContentHistory(t.db, 2)).toEqual([]);
  });

  it('writes what waits when drained', async () => {
    const b = batcher(3_600_000, 100);
    const pending = [1, 2].map((cid) => b.commit(move(cid)));
    await b.drain();
    expect((await Promise.all(pending)).map((r) => r.kind)).toEqual(['committed', 'committed']);
  });
});
