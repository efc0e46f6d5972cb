import type { QueueEvents, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addContent,
  buildGateway,
  completed,
  gate,
  jobCompleted,
  json,
  openQueueEvents,
  openServices,
  startTestWorker,
  type Gateway,
  type Services,
} from './support.ts';

describe('v1 API', () => {
  let services: Services;
  let gw: Gateway;
  let events: QueueEvents;
  const workers: Worker[] = [];

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

  describe('POST /v1/views', () => {
    it('answers a single report like the legacy call, with numbers and the job id', async () => {
      const res = await gw.app.inject(json('/v1/views', { cid: 7, count: 1964 }));
      expect(res.statusCode).toBe(200);
      const [job] = await gw.queue.getWaiting();
      expect(res.json()).toEqual({
        cid: 7,
        count: 1964,
        status: 'update',
        level: 'bronze',
        target: 'silver',
        filename: 'g.mp4',
        jobId: job?.id,
      });
      const unknown = await gw.app.inject(json('/v1/views', { cid: 9999, count: 1 }));
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ code: 'CONTENT_NOT_FOUND' });
    });

    it('answers a batch item by item, in order, reporting unknown cids per item', async () => {
      const res = await gw.app.inject(
        json('/v1/views', [
          { cid: 2, count: 1500 },
          { cid: 9998, count: 5 },
          { cid: 3, count: 1200 },
          { cid: '12', count: '2500' },
        ]),
      );
      expect(res.statusCode).toBe(200);
      const { items } = res.json<{ items: Record<string, unknown>[] }>();
      expect(items).toEqual([
        expect.objectContaining({
          cid: 2,
          count: 1500,
          status: 'update',
          level: 'bronze',
          target: 'silver',
        }),
        {
          cid: 9998,
          count: 5,
          status: 'error',
          error: expect.objectContaining({ statusCode: 404, code: 'CONTENT_NOT_FOUND' }) as unknown,
        },
        expect.objectContaining({
          cid: 3,
          status: 'done',
          level: 'silver',
          target: 'silver',
          jobId: null,
        }),
        expect.objectContaining({ cid: 12, count: 2500, status: 'update', target: 'gold' }),
      ]);
      expect(await gw.queue.getJobCounts('waiting')).toEqual({ waiting: 2 });
    });

    it('lets the last item win when a batch repeats a cid', async () => {
      await addContent(services, { cid: 301, level: 'bronze' });
      const res = await gw.app.inject(
        json('/v1/views', [
          { cid: 301, count: 1500 },
          { cid: 301, count: 2500 },
          { cid: 301, count: 10 },
        ]),
      );
      expect(
        res.json<{ items: { status: string; target: string }[] }>().items.map((i) => i.target),
      ).toEqual(['silver', 'gold', 'bronze']);
      expect(await services.cache.latestCount(301)).toBe(10);
    });

    it('records a batch of cached cids in one pipeline and still lets the last item win', async () => {
      await addContent(services, { cid: 303, level: 'bronze' });
      await addContent(services, { cid: 304, level: 'bronze' });
      // Warm the cache: both cids are known to Redis before the batch.
      for (const cid of [303, 304]) await gw.app.inject(json('/v1/views', { cid, count: 1 }));
      const res = await gw.app.inject(
        json('/v1/views', [
          { cid: 303, count: 1500 },
          { cid: 304, count: 20 },
          { cid: 303, count: 30 },
          { cid: 9997, count: 1 },
        ]),
      );
      const { items } = res.json<{ items: { status: string; target?: string }[] }>();
      expect(items.map((i) => [i.status, i.target])).toEqual([
        ['update', 'silver'],
        ['done', 'bronze'],
        ['done', 'bronze'],
        ['error', undefined],
      ]);
      expect(await services.cache.latestCount(303)).toBe(30);
      expect(await services.cache.latestCount(304)).toBe(20);
      // One job for 303 (asked for by its first item); the relocator will read the latest count.
      const job = await gw.queue.getJob(
        (await gw.queue.getDeduplicationJobId('cid-303')) ?? 'none',
      );
      expect(job?.data).toMatchObject({ cid: 303, count: 1500, target: 'silver' });
    });

    it('applies TIERING_HYSTERESIS: a count just outside the range keeps the content in place', async () => {
      const damped = await buildGateway(services, { TIERING_HYSTERESIS: '100' });
      try {
        await addContent(services, { cid: 302, level: 'bronze' });
        const post = async (count: number) =>
          (await damped.app.inject(json('/v1/views', { cid: 302, count }))).json<{
            status: string;
            target: string;
          }>();
        expect(await post(1099)).toMatchObject({ status: 'done', target: 'bronze' });
        expect(await post(1100)).toMatchObject({ status: 'update', target: 'silver' });
      } finally {
        await damped.app.close();
      }
    });

    it('refuses an empty batch', async () => {
      const res = await gw.app.inject(json('/v1/views', []));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'INVALID_INPUT' });
      expect(res.json<{ message: string }>().message).toMatch(/at least one item/);
    });
  });

  describe('POST /v1/contents', () => {
    it('registers a content on the default tier (201), caches it, and refuses a second time (409)', async () => {
      const res = await gw.app.inject(
        json('/v1/contents', { cid: 2001, filename: 'new movie.mp4' }),
      );
      expect(res.statusCode).toBe(201);
      const body = res.json<Record<string, unknown>>();
      expect(body).toMatchObject({
        cid: 2001,
        level: 'bronze',
        filename: 'new movie.mp4',
        viewCount: 0,
      });
      expect(Date.parse(String(body.generateTime))).toBeGreaterThan(Date.now() - 60_000);
      expect(await services.cache.get(2001)).toMatchObject({
        level: 'bronze',
        filename: 'new movie.mp4',
      });

      const again = await gw.app.inject(json('/v1/contents', { cid: 2001, filename: 'other.mp4' }));
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'CONTENT_EXISTS' });
      expect(again.json<{ message: string }>().message).toMatch(/2001/);

      const sameFile = await gw.app.inject(
        json('/v1/contents', { cid: 2003, filename: 'new movie.mp4' }),
      );
      expect(sameFile.statusCode).toBe(409);
      expect(sameFile.json()).toMatchObject({ code: 'FILENAME_EXISTS' });
      expect(sameFile.json<{ message: string }>().message).toContain('"new movie.mp4"');
    });

    it.each([
      ['a slash', 'dir/evil.mp4'],
      ['a backslash', 'dir\\evil.mp4'],
      ['dot-dot', '..'],
      ['dot', '.'],
      ['NUL', 'a\u0000b.mp4'],
      ['a newline', 'a\nb.mp4'],
      ['DEL', 'a\u007fb.mp4'],
      ['an empty name', ''],
      ['more than 255 bytes', `${'é'.repeat(128)}.mp4`],
    ])('refuses a filename with %s (400 naming it)', async (_, filename) => {
      const res = await gw.app.inject(json('/v1/contents', { cid: 2002, filename }));
      expect(res.statusCode).toBe(400);
      const body = res.json<{ code: string; message: string }>();
      expect(body.code).toBe('INVALID_INPUT');
      expect(body.message.startsWith('body/filename: ')).toBe(true);
      expect(body.message).toContain(JSON.stringify(filename).slice(0, 40));
    });

    it('accepts names with dots and unicode that are plain base names', async () => {
      for (const [cid, filename] of [
        [2003, 'a.b.c.mp4'],
        [2004, '영상.mp4'],
        [2005, `${'a'.repeat(251)}.mp4`],
      ] as const) {
        const res = await gw.app.inject(json('/v1/contents', { cid, filename }));
        expect(res.statusCode, filename).toBe(201);
      }
    });
    it('refuses every name the relocator could not move (one rule for both apps)', async () => {
      for (const [cid, filename] of [
        [2006, '..hidden..mp4'],
        [2007, 'x.mp4.relocating-1'],
        [2008, ' '],
        [2009, '\u202E'],
        [2010, '.relocation-tier'],
      ] as const) {
        const res = await gw.app.inject(json('/v1/contents', { cid, filename }));
        expect(res.statusCode, filename).toBe(400);
        expect(res.json(), filename).toMatchObject({ code: 'INVALID_INPUT' });
        expect(res.json<{ message: string }>().message).toMatch(/^body\/filename: /);
      }
    });
  });

  describe('GET /v1/contents/:cid', () => {
    it('shows level, filename, latest count, update time and relocation state idle -> queued -> active -> idle', async () => {
      await addContent(services, { cid: 401, level: 'bronze', filename: 'x.mp4', viewCount: 5 });
      const read = async () =>
        (await gw.app.inject({ method: 'GET', url: '/v1/contents/401' })).json<{
          level: string;
          viewCount: number;
          updateTime: string;
          relocation: Record<string, unknown>;
        }>();

      const idle = await read();
      expect(idle).toMatchObject({
        cid: 401,
        level: 'bronze',
        filename: 'x.mp4',
        viewCount: 5,
        relocation: { state: 'idle', jobId: null, target: null, error: null },
      });
      expect(Number.isNaN(Date.parse(idle.updateTime))).toBe(false);

      await gw.app.inject(json('/v1/views', { cid: 401, count: 1500 }));
      expect(await read()).toMatchObject({
        viewCount: 1500,
        relocation: { state: 'queued', target: 'silver', error: null },
      });

      const hold = gate();
      const started = gate();
      workers.push(
        startTestWorker(services, {
          beforeCommit: async () => {
            started.open();
            await hold.promise;
          },
        }),
      );
      await started.promise;
      const active = await read();
      expect(active.relocation).toMatchObject({ state: 'active', target: 'silver' });

      const done = completed(events, String(active.relocation.jobId));
      hold.open();
      await done;
      const after = await read();
      expect(after).toMatchObject({ level: 'silver', relocation: { state: 'idle', target: null } });
      expect(Date.parse(after.updateTime)).toBeGreaterThanOrEqual(Date.parse(idle.updateTime));
    });

    it('answers 404 for an unknown cid and 400 for a malformed one', async () => {
      expect((await gw.app.inject({ method: 'GET', url: '/v1/contents/9997' })).statusCode).toBe(
        404,
      );
      const bad = await gw.app.inject({ method: 'GET', url: '/v1/contents/1.5' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ message: string }>().message).toMatch(
        /^params\/cid: must be a whole number/,
      );
    });
  });

  describe('GET /v1/contents/:cid/history', () => {
    it('lists level changes newest first, limited by ?limit', async () => {
      await addContent(services, { cid: 501, level: 'bronze' });
      workers.push(startTestWorker(services));
      for (const count of [1500, 2500, 10]) {
        const res = await gw.app.inject(json('/v1/views', { cid: 501, count }));
        const { jobId } = res.json<{ jobId: string }>();
        await jobCompleted(gw.queue, events, jobId);
      }
      const res = await gw.app.inject({ method: 'GET', url: '/v1/contents/501/history' });
      expect(res.statusCode).toBe(200);
      const { cid, items } = res.json<{ cid: number; items: Record<string, unknown>[] }>();
      expect(cid).toBe(501);
      expect(
        items.map((i) => `${String(i.oldLevel)}->${String(i.newLevel)}@${String(i.viewCount)}`),
      ).toEqual(['gold->bronze@10', 'silver->gold@2500', 'bronze->silver@1500']);
      expect(items[0]).toMatchObject({
        bytes: 1,
        durationMs: 1,
        jobId: expect.any(String) as unknown,
      });

      const limited = await gw.app.inject({
        method: 'GET',
        url: '/v1/contents/501/history?limit=1',
      });
      expect(limited.json<{ items: unknown[] }>().items).toHaveLength(1);
      const older = await gw.app.inject({
        method: 'GET',
        url: `/v1/contents/501/history?before=${String(items[0]?.id)}`,
      });
      expect(older.json<{ items: unknown[] }>().items).toHaveLength(2);
      expect(
        (await gw.app.inject({ method: 'GET', url: '/v1/contents/9996/history' })).statusCode,
      ).toBe(404);
      const bad = await gw.app.inject({
        method: 'GET',
        url: '/v1/contents/501/history?limit=5000',
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ message: string }>().message).toMatch(/^querystring\/limit: /);
    });
  });
});
