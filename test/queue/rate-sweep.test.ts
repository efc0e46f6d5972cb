import { getDeploymentId, replaceLevels, setContentPin } from '@relocation/db';
import {
  ContentCache,
  RELOCATION_QUEUE,
  RelocationKeys,
  enqueueRelocation,
  sweepRates,
  syncCache,
  type RelocationQueue,
} from '@relocation/queue';
import type { ChooseTierOptions, Level } from '@relocation/tiering';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertContents } from '../relocator/support.ts';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../support/services.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

const LEVELS: Level[] = [
  { name: 'bronze', minCount: 0, maxCount: 999, path: '/srv/reloc-rate/bronze' },
  { name: 'silver', minCount: 1000, maxCount: 1999, path: '/srv/reloc-rate/silver' },
  { name: 'gold', minCount: 2000, maxCount: null, path: '/srv/reloc-rate/gold' },
];

/** Views per hour: into silver at 60, out of it below 30; into gold at 600, out below 300. */
const RATE: ChooseTierOptions = {
  viewRate: {
    halfLifeMs: HOUR,
    thresholds: { silver: { promote: 60, demote: 30 }, gold: { promote: 600, demote: 300 } },
  },
};

/** The rate sweep: a content nobody watches any more is demoted without a post. */
describe('sweepRates', () => {
  let t: TestDatabase;
  let r: TestRedis;
  let cache: ContentCache;
  let queue: RelocationQueue;
  const now = Date.now();

  /**
   * Posts 1,000 views in the 10 minutes ending `hoursAgo` hours before `now`, through the
   * gateway's post script: a rate of 6,000 views per hour then, halved every hour since.
   */
  async function watchedUntil(cid: number, hoursAgo: number): Promise<void> {
    const last = now - hoursAgo * HOUR;
    await cache.recordCount(cid, 0, last - 10 * MINUTE, HOUR);
    const posted = await cache.recordCount(cid, 1000, last, HOUR);
    expect(posted.kind === 'hit' && posted.rateState?.rate).toBeCloseTo(6000);
  }

  async function queuedJobs() {
    const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active']);
    return jobs.map((j) => j.data).sort((a, b) => a.cid - b.cid);
  }

  beforeAll(async () => {
    t = await createTestDatabase();
    await replaceLevels(t.db, LEVELS);
    r = createTestRedis();
    const keys = new RelocationKeys({ prefix: r.prefix, deployment: await getDeploymentId(t.db) });
    cache = new ContentCache(r.redis, keys);
    queue = new Queue(RELOCATION_QUEUE, { connection: r.redis, prefix: r.prefix });

    const rows = [
      { cid: 1, level: 'gold' }, // cold for 5 h: 187.5/h < 300 → silver
      { cid: 2, level: 'gold' }, // as cold, but a post's job is waiting
      { cid: 3, level: 'gold' }, // as cold, pinned to gold
      { cid: 4, level: 'bronze' }, // cold, on the bottom level
      { cid: 5, level: 'silver' }, // counted before the rate policy: no rate state
      { cid: 6, level: 'gold' }, // as cold, its last job failed
      { cid: 7, level: 'gold' }, // watched until now: 6,000/h
      { cid: 8, level: 'silver' }, // cold for 10 h: 5.9/h < 30 → bronze
    ];
    await insertContents(
      t.db,
      rows.map((row) => ({ ...row, filename: `r${row.cid}.mp4`, viewCount: 1000 })),
    );
    for (const row of rows)
      await cache.fill(row.cid, { level: row.level, filename: `r${row.cid}.mp4` });
    for (const cid of [1, 2, 3, 4, 6]) await watchedUntil(cid, 5);
    await watchedUntil(7, 0);
    await watchedUntil(8, 10);
    await cache.recordCount(5, 1500);
    await setContentPin(t.db, {
      cid: 3,
      level: 'gold',
      until: null,
      reason: 'test',
      actor: 'test',
    });

    // Cid 6's last job failed for good (as the relocator records it: the cid's last job).
    const failing = await enqueueRelocation(queue, {
      cid: 6,
      count: 1000,
      target: 'silver',
      from: 'gold',
      requestedAt: now,
    });
    const connection = r.redis.duplicate();
    const worker = new Worker(RELOCATION_QUEUE, null, {
      connection,
      prefix: r.prefix,
      autorun: false,
    });
    try {
      const job = await worker.getNextJob('test-token');
      expect(job?.id).toBe(failing.id);
      await cache.setLastJob(6, failing.id ?? '');
      await job?.moveToFailed(new UnrecoverableError('FILE_MISSING: gone'), 'test-token');
      expect(await failing.getState()).toBe('failed');
    } finally {
      await worker.close();
      connection.disconnect();
    }

    // Cid 2 has a post's job waiting.
    await enqueueRelocation(queue, {
      cid: 2,
      count: 1000,
      target: 'silver',
      from: 'gold',
      requestedAt: now,
    });
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await r.cleanup();
    await t.drop();
  });

  it('queues nothing with the count policy', async () => {
    const report = await sweepRates({ db: t.db, cache, queue, tiering: {}, now: () => now });
    expect(report).toMatchObject({ contents: 0, queued: 0, skipped: { pending: 0, failed: 0 } });
    expect((await queuedJobs()).map((j) => j.cid)).toEqual([2]);
  });

  it('leaves decayed contents to the rate sweep in the cache sweep’s stuck list, except one whose last job failed', async () => {
    const sync = (rateSweepQueue?: RelocationQueue) =>
      syncCache(
        {
          db: t.db,
          cache,
          tiering: RATE,
          now: () => now,
          ...(rateSweepQueue ? { rateSweepQueue } : {}),
        },
        { fix: false },
      );
    // Without a rate sweep nothing would demote 1, 6 and 8. Cid 4's rate (recorded here without
    // the gateway, so no job was queued) calls for a promotion, which only a post queues.
    expect((await sync()).stuck.map((c) => c.cid)).toEqual([1, 4, 6, 8]);
    expect((await sync(queue)).stuck.map((c) => c.cid)).toEqual([4, 6]);
  });

  it('queues one decay job per content whose decayed rate is below its level’s demote threshold, and none for pending, pinned, bottom, unmeasured, failed or watched contents', async () => {
    const deployment = await getDeploymentId(t.db);
    // Pages of 2: gold's five contents take three.
    const report = await sweepRates(
      { db: t.db, cache, queue, tiering: RATE, now: () => now },
      { pageSize: 2 },
    );
    expect(report).toMatchObject({ contents: 7, queued: 2, skipped: { pending: 1, failed: 1 } });
    expect(await queuedJobs()).toEqual([
      expect.objectContaining({ cid: 1, from: 'gold', target: 'silver', reason: 'decay' }),
      expect.objectContaining({ cid: 2, from: 'gold', target: 'silver' }),
      expect.objectContaining({ cid: 8, from: 'silver', target: 'bronze', reason: 'decay' }),
    ]);
    const [one, two, eight] = await queuedJobs();
    expect(one).toMatchObject({ count: 1000, requestedAt: now, deployment });
    expect(two?.reason).toBeUndefined();
    expect(eight).toMatchObject({ count: 1000, requestedAt: now, deployment });

    // The next sweep finds their jobs pending: still one job each; the failed one stays failed.
    const again = await sweepRates({ db: t.db, cache, queue, tiering: RATE, now: () => now });
    expect(again).toMatchObject({ contents: 7, queued: 0, skipped: { pending: 3, failed: 1 } });
    expect((await queuedJobs()).map((j) => j.cid)).toEqual([1, 2, 8]);
  });
});
