import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, form, json, openServices, type Gateway, type Services } from './support.ts';

describe('the hot path needs no MySQL for cached contents', () => {
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

  /** The Redis commands a post of cid 9 that changes nothing sends, once the cid is cached. */
  async function commandsOfOnePost(gateway: Gateway): Promise<string[]> {
    // Warm up: fills the cid and loads the scripts into Redis.
    await gateway.app.inject(form('/post_sentence', 'cid=9&count=1100'));
    await gateway.app.inject(form('/post_sentence', 'cid=9&count=1101'));
    const sent: string[] = [];
    const original = gateway.redis.sendCommand.bind(gateway.redis);
    gateway.redis.sendCommand = (command, stream) => {
      sent.push(command.name);
      return original(command, stream);
    };
    try {
      const res = await gateway.app.inject(form('/post_sentence', 'cid=9&count=1500'));
      expect(res.json()).toMatchObject({ status: 'done', target: 'silver', db_level: 'silver' });
    } finally {
      gateway.redis.sendCommand = original;
    }
    return sent;
  }

  it('does one Redis command for a post of a cached cid that changes nothing, its rate limit counted from counts reserved before', async () => {
    // The default limit (6000 a minute) reserves 60 counts per round trip: the warm-up did.
    expect(await commandsOfOnePost(gw)).toEqual(['evalsha']);
  });

  it('adds one round trip for the rate limit when the limit is under 200 (every request counted in Redis)', async () => {
    const strict = await buildGateway(services, { RATE_LIMIT_POSTS_PER_MINUTE: '100' });
    try {
      // The counter's transaction (one write, one round trip), then the post's own script.
      expect(await commandsOfOnePost(strict)).toEqual([
        'multi',
        'incrby',
        'pexpire',
        'pttl',
        'exec',
        'evalsha',
      ]);
    } finally {
      await strict.app.close();
    }
  });

  it('does exactly one Redis command for that post with the rate limit off', async () => {
    const unlimited = await buildGateway(services, { RATE_LIMIT_POSTS_PER_MINUTE: '0' });
    try {
      expect(await commandsOfOnePost(unlimited)).toEqual(['evalsha']);
    } finally {
      await unlimited.app.close();
    }
  });

  it('answers posts for cached cids with the right body after the MySQL pool is gone', async () => {
    // Warm the cache: the first post of each cid reads MySQL once.
    for (const cid of [3, 7, 11]) {
      expect((await gw.app.inject(form('/post_sentence', `cid=${cid}&count=10`))).statusCode).toBe(
        200,
      );
    }

    // Take MySQL away from this gateway: any query now fails.
    await gw.db.destroy();

    const update = await gw.app.inject(form('/post_sentence', 'cid=7&count=1964'));
    expect(update.statusCode).toBe(200);
    expect(update.body).toBe(
      '{"cid":"7","count":"1964","target":"silver","db_level":"bronze","filename":"g.mp4","worker_id":null,"status":"update"}',
    );
    const done = await gw.app.inject(form('/post_sentence', 'cid=3&count=1500'));
    expect(done.json()).toEqual({
      cid: '3',
      count: '1500',
      target: 'silver',
      db_level: 'silver',
      filename: 'c.mp4',
      worker_id: null,
      status: 'done',
    });
    const v1 = await gw.app.inject(
      json('/v1/views', [
        { cid: 11, count: 5000 },
        { cid: 7, count: 20 },
      ]),
    );
    expect(v1.statusCode).toBe(200);
    expect(v1.json()).toMatchObject({
      items: [
        { cid: 11, status: 'done', level: 'gold', target: 'gold' },
        { cid: 7, status: 'done', level: 'bronze', target: 'bronze' },
      ],
    });

    // A cid that is not cached needs MySQL, and says so.
    const uncached = await gw.app.inject(form('/post_sentence', 'cid=5&count=10'));
    expect(uncached.statusCode).toBe(503);
    expect(uncached.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json<{ message: string }>().message).toMatch(/mysql is down/);
  });
});
