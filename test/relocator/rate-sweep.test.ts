import path from 'node:path';
import { getContent, getContentHistory } from '@relocation/db';
import { getRelocationStatus } from '@relocation/queue';
import { sha256File } from '@relocation/relocator';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.ts';
import {
  createHarness,
  insertContents,
  killHard,
  list,
  spawnRelocator,
  until,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from './support.ts';

const MINUTE = 60_000;

/**
 * The rate sweep end to end: a real relocator with `TIERING_POLICY=rate`, a half-life of a
 * minute and a sweep every second demotes a gold content nobody watches any more, with no post.
 */
describe('rate sweep', () => {
  let h: Harness;
  let relocator: RelocatorProcess | null = null;
  let maintenance: Queue;
  let metricsPort = 0;

  beforeAll(async () => {
    h = await createHarness();
    maintenance = new Queue('relocation-maintenance', {
      connection: h.r.redis,
      prefix: h.r.prefix,
    });
  });
  afterAll(async () => {
    if (relocator) await killHard(relocator);
    await maintenance.obliterate({ force: true });
    await maintenance.close();
    await h.close();
  });

  /**
   * Posts `views` views over the 20 seconds ending `ago` ms before now, through the gateway's
   * post script with a one-minute half-life: a rate of `views × 180` views per hour then, halved
   * every minute since.
   */
  async function watched(cid: number, views: number, ago: number): Promise<void> {
    const last = Date.now() - ago;
    await h.cache.recordCount(cid, 0, last - 20_000, MINUTE);
    await h.cache.recordCount(cid, views, last, MINUTE);
  }

  async function sweepsSince(at: number): Promise<number> {
    const done = await maintenance.getJobs(['completed']);
    return done.filter((j) => j.name === 'rate-sweep' && (j.finishedOn ?? 0) > at).length;
  }

  it('demotes a gold content whose rate decayed below gold’s demote threshold, moving its file, with history reason decay; a failing one is not queued again', async () => {
    await insertContents(h.t.db, [
      { cid: 1, level: 'gold', filename: 'cold.mp4', viewCount: 44 },
      { cid: 2, level: 'gold', filename: 'hot.mp4', viewCount: 1000 },
      { cid: 3, level: 'gold', filename: 'lost.mp4', viewCount: 44 },
    ]);
    const digest = await writeSeededFile(path.join(h.dir('gold'), 'cold.mp4'), 300_000, 'cold');
    await writeSeededFile(path.join(h.dir('gold'), 'hot.mp4'), 1000, 'hot');
    // cid 3's file is missing: its demotion fails for good (FILE_MISSING).
    for (const [cid, filename] of [
      [1, 'cold.mp4'],
      [2, 'hot.mp4'],
      [3, 'lost.mp4'],
    ] as const) {
      await h.cache.fill(cid, { level: 'gold', filename });
    }
    // 44 views in 20 s five minutes ago: 7,920 views/h then, 7,920 / 2^5 ≈ 248 now, below gold's
    // 300 and far above silver's 5 for minutes to come.
    await watched(1, 44, 5 * MINUTE);
    await watched(3, 44, 5 * MINUTE);
    // 1,000 views in the last 20 s: 180,000 views/h.
    await watched(2, 1000, 0);

    metricsPort = await freePort();
    relocator = spawnRelocator(
      h.env({
        TIERING_POLICY: 'rate',
        TIERING_RATE_HALF_LIFE: '1m',
        TIERING_RATE_THRESHOLDS: 'silver=60/5,gold=600/300',
        RATE_SWEEP_EVERY: '1s',
        CACHE_SYNC_EVERY: 'off',
        PIN_EXPIRY_EVERY: 'off',
        CAPACITY_SWEEP_EVERY: 'off',
        RELOCATOR_METRICS_PORT: String(metricsPort),
        RELOCATOR_METRICS_HOST: '127.0.0.1',
      }),
    );
    await relocator.waitForLog((l) => l.msg === 'relocator started');

    await until(
      async () => (await getContent(h.t.db, 1))?.content_level === 'silver',
      20_000,
      'cid 1 demoted to silver',
    );
    expect(await list(h.dir('gold'))).toEqual(['hot.mp4']);
    expect(await list(h.dir('silver'))).toEqual(['cold.mp4']);
    expect(await sha256File(path.join(h.dir('silver'), 'cold.mp4'))).toBe(digest);
    const [row, ...older] = await getContentHistory(h.t.db, 1);
    expect(older).toEqual([]);
    expect(row).toMatchObject({
      old_content_level: 'gold',
      new_content_level: 'silver',
      reason: 'decay',
      request_id: null,
    });
    const decision = JSON.parse(row?.decision ?? 'null') as { rate: { rate: number } };
    expect(decision.rate).toMatchObject({
      kind: 'demote',
      level: 'gold',
      threshold: 300,
      halfLifeMs: MINUTE,
    });
    expect(decision.rate.rate).toBeLessThan(300);
    expect(decision.rate.rate).toBeGreaterThan(5);

    // cid 3's demotion failed; it stays failed on gold, and later sweeps leave it alone.
    await until(
      async () => (await getRelocationStatus(h.queue, h.cache, 3)).state === 'failed',
      20_000,
      'cid 3 failed',
    );
    const failed = await getRelocationStatus(h.queue, h.cache, 3);
    expect(failed).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/FILE_MISSING/) as string,
    });
    const failedAt = Date.now();
    await until(async () => (await sweepsSince(failedAt)) >= 3, 20_000, 'three more sweeps');
    const jobs = await h.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => j.data.cid === 3).map((j) => j.id)).toEqual([failed.jobId]);
    expect(await getRelocationStatus(h.queue, h.cache, 3)).toMatchObject({
      state: 'failed',
      jobId: failed.jobId,
    });
    expect((await getContent(h.t.db, 3))?.content_level).toBe('gold');

    // The watched content stays on gold; no job was ever queued for it.
    expect((await getContent(h.t.db, 2))?.content_level).toBe('gold');
    expect(jobs.filter((j) => j.data.cid === 2)).toEqual([]);
    expect(jobs.filter((j) => j.data.cid === 1).map((j) => j.data.reason)).toEqual(['decay']);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^relocator_rate_sweep_queued_total 2$/m);
  }, 90_000);
});
