import { getDeploymentId, seedIfEmpty } from '@relocation/db';
import {
  ContentCache,
  RELOCATION_QUEUE,
  RelocationKeys,
  enqueueRelocation,
  syncCache,
  type RelocationQueue,
} from '@relocation/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../support/services.ts';

/** The cache sweep: MySQL is the truth (I7), and nothing stays on the wrong tier unseen. */
describe('syncCache', () => {
  let t: TestDatabase;
  let r: TestRedis;
  let cache: ContentCache;
  let queue: RelocationQueue;

  beforeAll(async () => {
    t = await createTestDatabase();
    await seedIfEmpty(t.db, { dataDir: '/srv/reloc-sync' });
    r = createTestRedis();
    const keys = new RelocationKeys({ prefix: r.prefix, deployment: await getDeploymentId(t.db) });
    cache = new ContentCache(r.redis, keys);
    queue = new Queue(RELOCATION_QUEUE, { connection: r.redis, prefix: r.prefix });
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await r.cleanup();
    await t.drop();
  });

  it('corrects an entry that a manual UPDATE made wrong, and reports it', async () => {
    await cache.fill(7, { level: 'bronze', filename: 'g.mp4' });
    await t.db
      .updateTable('contents')
      .set({ content_level: 'gold' })
      .where('cid', '=', 7)
      .execute();

    const dry = await syncCache({ db: t.db, cache }, { fix: false });
    expect(dry.drift).toEqual([
      {
        cid: 7,
        cached: { level: 'bronze', filename: 'g.mp4' },
        mysql: { level: 'gold', filename: 'g.mp4' },
        fixed: false,
      },
    ]);
    expect((await cache.get(7))?.level).toBe('bronze');

    const fixed = await syncCache({ db: t.db, cache }, { fix: true });
    expect(fixed.drift.map((d) => d.fixed)).toEqual([true]);
    expect((await cache.get(7))?.level).toBe('gold');
    expect((await syncCache({ db: t.db, cache }, { fix: true })).drift).toEqual([]);
  });

  it('never overwrites an entry that changed after it was read (a relocator settling a move)', async () => {
    await cache.fill(8, { level: 'bronze', filename: 'h.mp4' });
    // The sweep read bronze; a relocator then committed silver and updated the cache.
    await cache.setContent(8, { level: 'silver', filename: 'h.mp4' });
    const done = await cache.syncContent(
      8,
      { level: 'bronze', filename: 'h.mp4' },
      { level: 'bronze', filename: 'h.mp4' },
    );
    expect(done).toBe(false);
    expect((await cache.get(8))?.level).toBe('silver');
  });

  it('lists a content whose latest count calls for another tier with nothing queued as stuck, and not once a job is queued', async () => {
    await cache.fill(2, { level: 'bronze', filename: 'b.mp4' });
    await cache.recordCount(2, 1500);
    const first = await syncCache({ db: t.db, cache }, { fix: true });
    expect(first.stuck).toContainEqual({
      cid: 2,
      filename: 'b.mp4',
      level: 'bronze',
      target: 'silver',
      count: 1500,
    });
    const listed = await cache.listStuck(0, 100);
    expect(listed.items.map((i) => i.cid)).toContain(2);

    await enqueueRelocation(queue, {
      cid: 2,
      count: 1500,
      target: 'silver',
      from: 'bronze',
      requestedAt: Date.now(),
    });
    const second = await syncCache({ db: t.db, cache }, { fix: true });
    expect(second.stuck.map((s) => s.cid)).not.toContain(2);
    expect((await cache.listStuck(0, 100)).items.map((i) => i.cid)).not.toContain(2);
  });
});
