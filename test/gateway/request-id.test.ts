import { getContentHistory } from '@relocation/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_AUTH,
  buildGateway,
  eventually,
  form,
  json,
  openServices,
  startRealRelocator,
  type Gateway,
  type RealRelocator,
  type Services,
} from './support.ts';

const admin = { authorization: ADMIN_AUTH };

type HistoryItem = { oldLevel: string; newLevel: string; reason: string; requestId: string };

/** A post's request id travels in its job to the history row of the move, with a real relocator. */
describe('the request id of the post that queued a move', () => {
  let services: Services;
  let gw: Gateway;
  let real: RealRelocator;

  beforeAll(async () => {
    services = await openServices();
    real = await startRealRelocator(services);
    gw = await buildGateway(services);
  });
  afterAll(async () => {
    await real?.close();
    await gw?.app.close();
    await services?.close();
  });

  const withId = <T extends { headers: Record<string, string> }>(request: T, id: string): T => ({
    ...request,
    headers: { ...request.headers, 'x-request-id': id },
  });
  const jobOf = async (cid: number) => {
    const jobs = await gw.queue.getJobs(['waiting', 'prioritized']);
    const found = jobs.filter((job) => job.data.cid === cid);
    expect(found, `jobs of content ${cid}`).toHaveLength(1);
    return found[0];
  };
  const historyOf = async (cid: number) => {
    const res = await gw.app.inject({ method: 'GET', url: `/v1/contents/${cid}/history` });
    expect(res.statusCode).toBe(200);
    return res.json<{ items: HistoryItem[] }>().items;
  };

  it('is in the job data of the legacy, v1 and batch posts, and in the history row of each move', async () => {
    // Jobs stay waiting while relocations are paused, so their data can be read.
    const paused = await gw.app.inject({
      method: 'POST',
      url: '/v1/relocations/pause',
      headers: admin,
    });
    expect(paused.statusCode).toBe(200);

    const legacy = await gw.app.inject(
      withId(form('/post_sentence', 'cid=7&count=1964'), 'abc-123'),
    );
    expect(legacy.statusCode).toBe(200);
    expect(legacy.headers['x-request-id']).toBe('abc-123');
    expect(legacy.json()).toMatchObject({ status: 'update', target: 'silver' });
    const single = await gw.app.inject(
      withId(json('/v1/views', { cid: 2, count: 2500 }), 'v1-single'),
    );
    expect(single.json()).toMatchObject({ status: 'update', target: 'gold' });
    const batch = await gw.app.inject(
      withId(
        json('/v1/views', [
          { cid: 3, count: 2100 },
          { cid: 4040, count: 1 },
          { cid: 4, count: 1500 },
        ]),
        'v1-batch',
      ),
    );
    expect(batch.statusCode).toBe(200);
    // A request id longer than a job carries is cut, not refused (the job would be invalid).
    const long = 'r'.repeat(200);
    await gw.app.inject(withId(form('/post_sentence', 'cid=5&count=500'), long));

    expect((await jobOf(7))?.data).toMatchObject({ cid: 7, count: 1964, requestId: 'abc-123' });
    expect((await jobOf(2))?.data).toMatchObject({ cid: 2, requestId: 'v1-single' });
    expect((await jobOf(3))?.data).toMatchObject({ cid: 3, requestId: 'v1-batch' });
    expect((await jobOf(4))?.data).toMatchObject({ cid: 4, requestId: 'v1-batch' });
    expect((await jobOf(5))?.data.requestId).toBe('r'.repeat(128));

    // A later post finds the job pending: BullMQ keeps the job that is waiting, with the request
    // id of the post that queued it (the latest count still decides when it runs).
    const later = await gw.app.inject(withId(form('/post_sentence', 'cid=7&count=2200'), 'later'));
    expect(later.json()).toMatchObject({ status: 'update', target: 'gold' });
    const job7 = await jobOf(7);
    expect(job7?.data).toMatchObject({ count: 1964, requestId: 'abc-123' });

    await gw.app.inject({ method: 'POST', url: '/v1/relocations/resume', headers: admin });
    await eventually(
      async () => {
        for (const cid of [7, 2, 3, 4, 5]) {
          if ((await getContentHistory(services.database.db, cid)).length === 0) return false;
        }
        return true;
      },
      20_000,
      'the five moves',
    );

    expect(await historyOf(7)).toEqual([
      expect.objectContaining({
        oldLevel: 'bronze',
        newLevel: 'gold',
        reason: 'post',
        requestId: 'abc-123',
      }),
    ]);
    expect((await historyOf(2))[0]).toMatchObject({ newLevel: 'gold', requestId: 'v1-single' });
    expect((await historyOf(3))[0]).toMatchObject({ newLevel: 'gold', requestId: 'v1-batch' });
    expect((await historyOf(4))[0]).toMatchObject({ newLevel: 'silver', requestId: 'v1-batch' });
    expect((await historyOf(5))[0]).toMatchObject({
      newLevel: 'bronze',
      requestId: long.slice(0, 128),
    });
  }, 30_000);

  it('generates one when the post has none, and the history row names it', async () => {
    const res = await gw.app.inject(form('/post_sentence', 'cid=8&count=1300'));
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await eventually(
      async () => (await getContentHistory(services.database.db, 8)).length === 1,
      15_000,
      'the move of content 8',
    );
    expect((await historyOf(8))[0]).toMatchObject({ newLevel: 'silver', requestId: id });
  });

  it('names what queued a move made outside a post: an operator requeue (admin), an unpin (pin)', async () => {
    // Content 9 (silver): a count of 2500 reaches the cache without a job (as after a lost job).
    await gw.cache.fill(9, { level: 'silver', filename: 'i.mp4' });
    await gw.cache.recordCount(9, 2500);
    const requeued = await gw.app.inject({
      method: 'POST',
      url: '/v1/contents/9/requeue',
      headers: admin,
    });
    expect(requeued.statusCode, requeued.body).toBe(202);
    await eventually(
      async () => (await getContentHistory(services.database.db, 9)).length === 1,
      15_000,
      'the requeued move of content 9',
    );
    expect((await historyOf(9))[0]).toMatchObject({ newLevel: 'gold', reason: 'admin' });

    // Content 10 (bronze, 10 views): pinned to silver, then released: back to bronze.
    const pinned = await gw.app.inject({
      ...json('/v1/contents/10/pin', { level: 'silver', reason: 'launch week' }, 'PUT'),
      headers: { ...json('/', {}).headers, ...admin },
    });
    expect(pinned.statusCode, pinned.body).toBe(200);
    await eventually(
      async () => (await getContentHistory(services.database.db, 10)).length === 1,
      15_000,
      'the pinned move of content 10',
    );
    const unpinned = await gw.app.inject({
      method: 'DELETE',
      url: '/v1/contents/10/pin',
      headers: admin,
    });
    expect(unpinned.statusCode, unpinned.body).toBe(200);
    await eventually(
      async () => (await getContentHistory(services.database.db, 10)).length === 2,
      15_000,
      'the move of content 10 after its unpin',
    );
    expect((await historyOf(10)).map((row) => [row.newLevel, row.reason])).toEqual([
      ['bronze', 'pin'],
      ['silver', 'pin'],
    ]);
  });
});
