import { getContent } from '@relocation/db';
import type { QueueEvents, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addContent,
  buildGateway,
  completed,
  failed,
  form,
  gate,
  openQueueEvents,
  openServices,
  startTestWorker,
  waitFor,
  type Gateway,
  type ProcessedJob,
  type Services,
} from './support.ts';

interface LegacyAnswer {
  cid: string;
  count: string;
  target: string;
  db_level: string;
  status: 'update' | 'done';
}

describe('one relocation job per cid, the latest count wins (through the gateway)', () => {
  let services: Services;
  let gw: Gateway;
  let events: QueueEvents;
  const workers: Worker[] = [];
  let nextCid = 100;

  beforeAll(async () => {
    services = await openServices();
    gw = await buildGateway(services);
    events = await openQueueEvents(services);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close(true)));
    await gw.queue.obliterate({ force: true });
  });
  afterAll(async () => {
    await gw?.app.close();
    await events?.close();
    await services?.close();
  });

  /** A fresh bronze content, so tests do not see each other's counts. */
  async function bronzeContent(): Promise<number> {
    nextCid += 1;
    await addContent(services, { cid: nextCid, level: 'bronze', viewCount: 10 });
    return nextCid;
  }

  async function post(cid: number, count: number): Promise<LegacyAnswer> {
    const res = await gw.app.inject(form('/post_sentence', `cid=${cid}&count=${count}`));
    expect(res.statusCode, res.body).toBe(200);
    return res.json<LegacyAnswer>();
  }

  async function level(cid: number): Promise<string | undefined> {
    return (await getContent(services.database.db, cid))?.content_level;
  }

  it('adds a job when the cid has none and the count calls for another tier', async () => {
    const cid = await bronzeContent();
    expect(await post(cid, 1500)).toMatchObject({
      status: 'update',
      target: 'silver',
      db_level: 'bronze',
    });
    const jobs = await gw.queue.getWaiting();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data).toMatchObject({ cid, count: 1500, target: 'silver', from: 'bronze' });
    expect(await gw.queue.getDeduplicationJobId(`cid-${cid}`)).toBe(jobs[0]?.id);
  });

  it('keeps one waiting job for counts posted while it waits, and the processor reads the latest count', async () => {
    const cid = await bronzeContent();
    await post(cid, 1500);
    await post(cid, 1800);
    expect(await post(cid, 2500)).toMatchObject({ status: 'update', target: 'gold' });
    expect(await gw.queue.getJobCounts('waiting', 'delayed', 'prioritized')).toEqual({
      waiting: 1,
      delayed: 0,
      prioritized: 0,
    });
    expect(await services.cache.latestCount(cid)).toBe(2500);

    const seen: ProcessedJob[] = [];
    const [job] = await gw.queue.getWaiting();
    const done = completed(events, job?.id);
    workers.push(startTestWorker(services, { onProcessed: (p) => seen.push(p) }));
    await done;
    expect(seen).toEqual([
      expect.objectContaining({ jobId: job?.id, dataCount: 1500, readCount: 2500, to: 'gold' }),
    ]);
    expect(await level(cid)).toBe('gold');
  });

  it('queues exactly one follow-up, carrying the last count, for counts posted while a job is active', async () => {
    const cid = await bronzeContent();
    const hold = gate();
    const seen: ProcessedJob[] = [];
    const started = gate();
    workers.push(
      startTestWorker(services, {
        beforeCommit: async () => {
          if (seen.length === 0) {
            started.open();
            await hold.promise;
          }
        },
        onProcessed: (p) => seen.push(p),
      }),
    );
    await post(cid, 1500);
    await started.promise;
    const first = await gw.queue.getDeduplicationJobId(`cid-${cid}`);

    // The first job decided bronze -> silver and is "moving the file"; counts keep coming.
    expect(await post(cid, 2500)).toMatchObject({
      status: 'update',
      target: 'gold',
      db_level: 'bronze',
    });
    await post(cid, 2600);
    expect(await post(cid, 700)).toMatchObject({
      status: 'done',
      target: 'bronze',
      db_level: 'bronze',
    });
    expect(await gw.queue.getJobCounts('active', 'waiting', 'delayed')).toEqual({
      active: 1,
      waiting: 0,
      delayed: 0,
    });

    const followUp = waitFor<{ jobId: string }>(
      (listener) => {
        events.on('completed', listener);
        return () => events.off('completed', listener);
      },
      (e) => e.jobId !== first,
      10_000,
      'the follow-up job',
    );
    hold.open();
    const { jobId } = await followUp;
    expect(seen).toEqual([
      expect.objectContaining({ jobId: first, readCount: 1500, from: 'bronze', to: 'silver' }),
      expect.objectContaining({
        jobId,
        dataCount: 700,
        readCount: 700,
        from: 'silver',
        to: 'bronze',
      }),
    ]);
    expect(await level(cid)).toBe('bronze');
    expect(await gw.queue.getJobCounts('active', 'waiting', 'delayed')).toEqual({
      active: 0,
      waiting: 0,
      delayed: 0,
    });
  });

  it('queues a cid again after its job completed', async () => {
    const cid = await bronzeContent();
    const worker = startTestWorker(services);
    workers.push(worker);
    const moved = completed(events);
    await post(cid, 1500);
    const { jobId: first } = await moved;
    expect(await level(cid)).toBe('silver');
    await worker.close();

    expect(await post(cid, 2500)).toMatchObject({
      status: 'update',
      target: 'gold',
      db_level: 'silver',
    });
    const jobs = await gw.queue.getWaiting();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.id).not.toBe(first);
    expect(jobs[0]?.data).toMatchObject({ cid, count: 2500, target: 'gold', from: 'silver' });
  });

  it('queues a cid again after its job failed, and reports the failure until then', async () => {
    const cid = await bronzeContent();
    const worker = startTestWorker(services, { fail: () => 'disk on fire' });
    workers.push(worker);
    const gone = failed(events);
    await post(cid, 1500);
    const { jobId: first } = await gone;
    await worker.close();

    const state = await gw.app.inject({ method: 'GET', url: `/v1/contents/${cid}` });
    expect(state.json()).toMatchObject({
      level: 'bronze',
      relocation: { state: 'failed', jobId: first, target: 'silver', error: 'disk on fire' },
    });
    const status = await gw.app.inject(form('/update_sentence', `cid=${cid}`));
    expect(status.body).toBe('check your status again');

    expect(await post(cid, 1600)).toMatchObject({ status: 'update', target: 'silver' });
    const jobs = await gw.queue.getWaiting();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.id).not.toBe(first);
    expect(jobs[0]?.data).toMatchObject({ cid, count: 1600 });
  });

  it('queues nothing and answers done for a count that keeps the content on its tier', async () => {
    const cid = await bronzeContent();
    for (const count of [0, 500, 999]) {
      expect(await post(cid, count)).toMatchObject({
        status: 'done',
        target: 'bronze',
        db_level: 'bronze',
      });
    }
    expect(await gw.queue.count()).toBe(0);
    expect(await gw.queue.getJobCounts('active', 'completed', 'failed')).toEqual({
      active: 0,
      completed: 0,
      failed: 0,
    });
    expect(await services.cache.latestCount(cid)).toBe(999);
  });
});
