import { syncCache } from '@relocation/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, form, json, openServices, type Gateway, type Services } from './support.ts';

/**
 * I7: a content whose latest count calls for another tier with nothing queued for it is listed as
 * stuck (found by the relocators' cache sweep, `syncCache`) and says why it is not settled.
 */
describe('stuck contents', () => {
  let services: Services;
  let gw: Gateway;

  beforeAll(async () => {
    services = await openServices();
    gw = await buildGateway(services);
  });
  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
  });

  it('lists a content whose count calls for another tier with nothing queued, and says why in its status', async () => {
    // The post queues a move; the job is then lost (removed), as a failed job or a flushed
    // queue would leave it: nothing will ever move cid 7 now.
    const posted = await gw.app.inject(form('/post_sentence', 'cid=7&count=1964'));
    expect(posted.json()).toMatchObject({ status: 'update', target: 'silver' });
    await gw.queue.obliterate({ force: true });

    const status = await gw.app.inject({ method: 'GET', url: '/v1/contents/7' });
    expect(status.json()).toMatchObject({
      level: 'bronze',
      target: 'silver',
      settled: false,
      relocation: { state: 'idle' },
    });
    expect(status.json<{ reason: string }>().reason).toMatch(
      /^stuck: its count 1964 calls for silver, it is on bronze, and nothing is queued for it; `npm run content -- requeue 7`/,
    );
    const legacy = await gw.app.inject(form('/update_sentence', 'cid=7'));
    expect(legacy.body).toBe('check your status again');

    const sweep = await syncCache({ db: gw.db, cache: gw.cache }, { fix: true });
    expect(sweep.stuck.map((s) => s.cid)).toEqual([7]);
    const listed = await gw.app.inject({ method: 'GET', url: '/v1/contents?state=stuck' });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toMatchObject({
      total: 1,
      items: [{ cid: 7, filename: 'g.mp4', level: 'bronze', target: 'silver', viewCount: 1964 }],
    });

    // A new post queues the move again: no longer stuck, neither listed nor reported.
    await gw.app.inject(json('/v1/views', { cid: 7, count: 1964 }));
    const after = await gw.app.inject({ method: 'GET', url: '/v1/contents?state=stuck' });
    expect(after.json<{ items: unknown[] }>().items).toEqual([]);
    const queued = await gw.app.inject({ method: 'GET', url: '/v1/contents/7' });
    expect(queued.json<{ reason: string }>().reason).toBe('a move to silver is queued');
  });

  it('refuses an unknown state with 400 naming the parameter', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/contents?state=lost' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_INPUT' });
    expect(res.json<{ message: string }>().message).toMatch(/^querystring\/state: /);
  });
});
