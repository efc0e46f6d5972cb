import { getContent } from '@relocation/db';
import type { QueueEvents, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addContent,
  buildGateway,
  eventually,
  form,
  openQueueEvents,
  openServices,
  startTestWorker,
  type Gateway,
  type ProcessedJob,
  type Services,
} from './support.ts';

describe('concurrent posts from two gateway replicas', () => {
  let services: Services;
  let a: Gateway;
  let b: Gateway;
  let events: QueueEvents;
  let worker: Worker | undefined;

  beforeAll(async () => {
    services = await openServices();
    // Two app instances with their own Redis connections on the same prefix: two replicas.
    a = await buildGateway(services);
    b = await buildGateway(services);
    events = await openQueueEvents(services);
  });
  afterAll(async () => {
    await worker?.close(true);
    await a?.app.close();
    await b?.app.close();
    await events?.close();
    await services?.close();
  });

  it('keeps at most one job waiting and one running, and the last count posted decides', async () => {
    const cid = 500;
    await addContent(services, { cid, level: 'bronze' });
    const processed: ProcessedJob[] = [];
    let running = 0;
    let maxRunning = 0;
    worker = startTestWorker(services, {
      beforeCommit: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        // A move takes a little while, so posts overlap running jobs.
        await new Promise((resolve) => setTimeout(resolve, 15));
        running -= 1;
      },
      onProcessed: (p) => processed.push(p),
    });

    // Sample the queue while the posts run.
    let sampling = true;
    let maxWaiting = 0;
    let maxActive = 0;
    const sampler = (async () => {
      while (sampling) {
        const counts = await services
          .queue()
          .getJobCounts('waiting', 'prioritized', 'delayed', 'active');
        maxWaiting = Math.max(
          maxWaiting,
          (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
        );
        maxActive = Math.max(maxActive, counts.active ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    // 199 concurrent posts with counts switching between bronze and silver, split over both
    // replicas and spread over ~300 ms so they overlap waiting and running jobs; then the last
    // post (a gold count) once they have all been answered.
    const counts = Array.from({ length: 199 }, (_, i) =>
      Math.floor(i / 7) % 2 === 0 ? i : 1000 + i,
    );
    const answers = await Promise.all(
      counts.map(async (count, i) => {
        await new Promise((resolve) => setTimeout(resolve, (i * 37) % 300));
        return (i % 2 === 0 ? a : b).app.inject(
          form('/post_sentence', `cid=${cid}&count=${count}`),
        );
      }),
    );
    expect(answers.every((res) => res.statusCode === 200)).toBe(true);
    const last = await b.app.inject(form('/post_sentence', `cid=${cid}&count=2500`));
    expect(last.json()).toMatchObject({ status: 'update', target: 'gold' });

    await eventually(
      async () => {
        const counts = await a.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
        return Object.values(counts).every((n) => n === 0) && processed.at(-1)?.readCount === 2500;
      },
      20_000,
      'the queue to drain after the last post',
    );
    sampling = false;
    await sampler;

    expect(maxWaiting).toBeLessThanOrEqual(1);
    expect(maxActive).toBeLessThanOrEqual(1);
    expect(maxRunning).toBe(1);
    expect(processed.length).toBeGreaterThan(1);
    expect(processed.at(-1)).toMatchObject({ readCount: 2500, to: 'gold' });
    expect((await getContent(services.database.db, cid))?.content_level).toBe('gold');
    expect(await services.cache.latestCount(cid)).toBe(2500);
  }, 30_000);
});
