import { CHECK_AGAIN } from '@relocation/gateway';
import type { Worker } from 'bullmq';
import type { QueueEvents } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildGateway,
  completed,
  form,
  json,
  openQueueEvents,
  openServices,
  startTestWorker,
  type Gateway,
  type Services,
} from './support.ts';

describe('legacy endpoints, wire-compatible with the 2018 players', () => {
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
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await gw.queue.obliterate({ force: true });
  });
  afterAll(async () => {
    await gw?.app.close();
    await events?.close();
    await services?.close();
  });

  it("answers the seed's curl example (form body cid=7&count=1964) with its exact object", async () => {
    const res = await gw.app.inject(form('/post_sentence', 'cid=7&count=1964'));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe(
      '{"cid":"7","count":"1964","target":"silver","db_level":"bronze","filename":"g.mp4","worker_id":null,"status":"update"}',
    );
    expect(await gw.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('answers the same object for a JSON body with numbers or digit strings', async () => {
    for (const body of [
      { cid: 7, count: 1964 },
      { cid: '7', count: '1964' },
    ]) {
      const res = await gw.app.inject(json('/post_sentence', body));
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(
        '{"cid":"7","count":"1964","target":"silver","db_level":"bronze","filename":"g.mp4","worker_id":null,"status":"update"}',
      );
    }
  });

  it('answers status done and queues nothing when the content is already on its target', async () => {
    const res = await gw.app.inject(form('/post_sentence', 'cid=3&count=1500'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      cid: '3',
      count: '1500',
      target: 'silver',
      db_level: 'silver',
      filename: 'c.mp4',
      worker_id: null,
      status: 'done',
    });
    expect(await gw.queue.count()).toBe(0);
  });

  it('answers update_sentence with "check your status again" while queued and the cid once a worker moved it', async () => {
    const post = await gw.app.inject(form('/post_sentence', 'cid=2&count=1500'));
    expect(post.json()).toMatchObject({ status: 'update', target: 'silver', db_level: 'bronze' });

    const queued = await gw.app.inject(form('/update_sentence', 'cid=2'));
    expect(queued.statusCode).toBe(200);
    expect(queued.headers['content-type']).toMatch(/^text\/plain/);
    expect(queued.body).toBe(CHECK_AGAIN);

    const [job] = await gw.queue.getWaiting();
    const done = completed(events, job?.id);
    workers.push(startTestWorker(services));
    await done;

    const settled = await gw.app.inject(form('/update_sentence', 'cid=2'));
    expect(settled.statusCode).toBe(200);
    expect(settled.body).toBe('2');
    const again = await gw.app.inject(form('/post_sentence', 'cid=2&count=1500'));
    expect(again.json()).toMatchObject({ status: 'done', target: 'silver', db_level: 'silver' });
  });

  it('answers update_sentence with the cid for a settled content, and 404 for an unknown one', async () => {
    const settled = await gw.app.inject(json('/update_sentence', { cid: 1 }));
    expect(settled.statusCode).toBe(200);
    expect(settled.body).toBe('1');
    const unknown = await gw.app.inject(form('/update_sentence', 'cid=999'));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ statusCode: 404, code: 'CONTENT_NOT_FOUND' });
  });

  it('answers "check your status again" when the latest count still calls for a move but nothing is queued', async () => {
    // Count recorded, job gone (e.g. removed by an operator): the content has not settled.
    await gw.app.inject(form('/post_sentence', 'cid=4&count=2500'));
    await gw.queue.obliterate({ force: true });
    const res = await gw.app.inject(form('/update_sentence', 'cid=4'));
    expect(res.body).toBe(CHECK_AGAIN);
  });
});
