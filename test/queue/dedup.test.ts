import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import {
  ContentCache,
  RelocationKeys,
  RELOCATION_QUEUE,
  enqueueRelocation,
  getRelocationStatus,
  type RelocationJobData,
  type RelocationQueue,
} from '@relocation/queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, redisUrl, type TestRedis } from '../support/services.ts';
import { Redis } from 'ioredis';

function data(cid: number, count: number, target = 'silver'): RelocationJobData {
  return { cid, count, target, from: 'bronze', requestedAt: Date.now() };
}

/** A promise and its resolver, to hold a job active until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('the queue contract: one job per cid, the latest count wins', () => {
  let r: TestRedis;
  let queue: RelocationQueue;
  let events: QueueEvents;
  let cache: ContentCache;
  const workers: Worker[] = [];

  beforeAll(async () => {
    r = createTestRedis();
    queue = new Queue(RELOCATION_QUEUE, { connection: r.redis, prefix: r.prefix });
    events = new QueueEvents(RELOCATION_QUEUE, {
      connection: new Redis(redisUrl(), { maxRetriesPerRequest: null }),
      prefix: r.prefix,
    });
    await events.waitUntilReady();
    cache = new ContentCache(r.redis, new RelocationKeys({ prefix: r.prefix, deployment: 'test' }));
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close(true)));
    await queue.obliterate({ force: true });
  });
  afterAll(async () => {
    await events.close();
    await queue.close();
    await r.cleanup();
  });

  function startWorker(processor: (job: Job<RelocationJobData>) => Promise<unknown>): Worker {
    const worker = new Worker<RelocationJobData>(RELOCATION_QUEUE, processor, {
      connection: new Redis(redisUrl(), { maxRetriesPerRequest: null }),
      prefix: r.prefix,
      concurrency: 4,
    });
    workers.push(worker);
    return worker;
  }

  it('adds one job for a cid and ignores adds while it waits', async () => {
    const first = await enqueueRelocation(queue, data(7, 1964));
    const second = await enqueueRelocation(queue, data(7, 1970));
    expect(second.id).toBe(first.id);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await queue.getDeduplicationJobId('cid-7')).toBe(first.id);
    await enqueueRelocation(queue, data(8, 1500));
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 2 });
  });

  it('queues exactly one follow-up with the latest data for adds during an active job', async () => {
    const hold = gate();
    const seen: number[] = [];
    const started = new Promise<void>((resolve) => {
      startWorker(async (job) => {
        seen.push(job.data.count);
        if (seen.length === 1) {
          resolve();
          await hold.promise;
        }
        return null;
      });
    });
    const first = await enqueueRelocation(queue, data(7, 1964));
    await started;
    for (const count of [2100, 2200, 500]) await enqueueRelocation(queue, data(7, count));
    expect(await queue.getJobCounts('active', 'waiting')).toEqual({ active: 1, waiting: 0 });
    const followUpDone = new Promise<string>((resolve) =>
      events.on('completed', ({ jobId }) => {
        if (jobId !== first.id) resolve(jobId);
      }),
    );
    hold.open();
    await followUpDone;
    expect(seen).toEqual([1964, 500]);
  });

  it('queues a cid again after its job completed', async () => {
    const done = new Promise<void>((resolve) => events.once('completed', () => resolve()));
    startWorker(() => Promise.resolve(null));
    const first = await enqueueRelocation(queue, data(7, 1964));
    await done;
    await workers[0]?.close();
    const again = await enqueueRelocation(queue, data(7, 2500));
    expect(again.id).not.toBe(first.id);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('queues a cid again after its job failed, and reports the failure until then', async () => {
    const failed = new Promise<void>((resolve) => events.once('failed', () => resolve()));
    startWorker(async (job) => {
      await cache.setLastJob(job.data.cid, job.id ?? '');
      throw new Error('disk on fire');
    });
    await cache.fill(7, { level: 'bronze', filename: 'g.mp4' });
    const first = await queue.add('relocate', data(7, 1964), {
      deduplication: { id: 'cid-7', keepLastIfActive: true },
      attempts: 1,
    });
    await failed;
    await workers[0]?.close();
    expect(await getRelocationStatus(queue, cache, 7)).toMatchObject({
      state: 'failed',
      jobId: first.id,
      error: 'disk on fire',
    });
    const again = await enqueueRelocation(queue, data(7, 2500));
    expect(again.id).not.toBe(first.id);
    expect(await getRelocationStatus(queue, cache, 7)).toMatchObject({
      state: 'queued',
      jobId: again.id,
    });
  });
});

describe('ContentCache', () => {
  let r: TestRedis;
  let cache: ContentCache;
  beforeAll(() => {
    r = createTestRedis();
    cache = new ContentCache(r.redis, new RelocationKeys({ prefix: r.prefix, deployment: 'test' }));
  });
  afterAll(async () => {
    await r.cleanup();
  });

  it('records nothing for a cid it does not know', async () => {
    expect(await cache.recordCount(404, 10)).toEqual({ kind: 'miss', levelsVersion: 0 });
    expect(await cache.get(404)).toBeNull();
  });

  it('records the latest count of a known cid and returns its tier in one call', async () => {
    expect(await cache.fill(7, { level: 'bronze', filename: 'g.mp4' })).toBe(true);
    expect(await cache.recordCount(7, 1964, 1000)).toEqual({
      kind: 'hit',
      level: 'bronze',
      filename: 'g.mp4',
      levelsVersion: 0,
      pendingJobId: null,
      pin: null,
      rateState: null,
    });
    await cache.recordCount(7, 12, 2000);
    expect(await cache.latestCount(7)).toBe(12);
  });

  it('never lets a fill overwrite the tier a relocator wrote', async () => {
    await cache.setContent(9, { level: 'gold', filename: 'i.mp4' });
    expect(await cache.fill(9, { level: 'silver', filename: 'i.mp4' })).toBe(false);
    expect((await cache.get(9))?.level).toBe('gold');
  });

  it('publishes level tables with a rising version', async () => {
    const levels = [{ name: 'bronze', minCount: 0, maxCount: null, path: '/t/b' }];
    const v1 = await cache.publishLevels(levels);
    const v2 = await cache.publishLevels(levels);
    expect(v2).toBe(v1 + 1);
    expect(await cache.readLevels()).toEqual({ version: v2, levels });
    expect((await cache.recordCount(7, 5)).levelsVersion).toBe(v2);
  });
});
