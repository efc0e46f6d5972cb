import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_AUTH,
  buildGateway,
  eventually,
  form,
  freePort,
  json,
  openServices,
  type Gateway,
  type Services,
} from './support.ts';

const ERROR_KEYS = ['code', 'error', 'message', 'statusCode'];

/** Asserts the one error shape: exactly four keys, the status, the code, no stack. */
function expectError(
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
  status: number,
  code: string,
  message?: RegExp,
): void {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
  expect(body).toMatchObject({ statusCode: status, code });
  expect(res.body).not.toMatch(/\n\s+at /);
  if (message) expect(body.message).toMatch(message);
}

/** True when a Redis server answers PING on `port`. */
async function answersPing(port: number): Promise<boolean> {
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

describe('bad input is answered 4xx with a JSON error naming the field, never 500', () => {
  let services: Services;
  let gw: Gateway;

  beforeAll(async () => {
    services = await openServices();
    gw = await buildGateway(services, { BODY_LIMIT: '2048', VIEWS_BATCH_MAX: '3' });
  });
  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
  });

  const whole = /must be a whole number between 0 and 9007199254740991/;

  it.each([
    ['fractional', 'cid=7&count=1.5', 'body/count'],
    ['negative', 'cid=7&count=-1', 'body/count'],
    ['beyond 2^53 - 1', 'cid=7&count=9007199254740992', 'body/count'],
    ['not a number', 'cid=7&count=abc', 'body/count'],
    ['exponent', 'cid=7&count=1e3', 'body/count'],
    ['empty', 'cid=7&count=', 'body/count'],
    ['leading space', 'cid=%207&count=5', 'body/cid'],
    ['fractional cid', 'cid=7.0&count=5', 'body/cid'],
  ])('refuses a %s form value with 400 INVALID_INPUT naming the field', async (_, body, field) => {
    const res = await gw.app.inject(form('/post_sentence', body));
    expectError(res, 400, 'INVALID_INPUT', new RegExp(`^${field}: ${whole.source}`));
  });

  it.each([
    ['fractional', { cid: 7, count: 1.5 }, 'body/count'],
    ['negative', { cid: 7, count: -1 }, 'body/count'],
    ['2^53', { cid: 7, count: 2 ** 53 }, 'body/count'],
    ['string "abc"', { cid: 'abc', count: 5 }, 'body/cid'],
    ['null', { cid: 7, count: null }, 'body/count'],
    ['boolean', { cid: true, count: 5 }, 'body/cid'],
  ])('refuses a %s JSON value with 400 naming the field', async (_, body, field) => {
    const res = await gw.app.inject(json('/post_sentence', body));
    expectError(res, 400, 'INVALID_INPUT', new RegExp(`^${field}: ${whole.source}`));
  });

  it('refuses missing fields and a missing body with 400 naming them', async () => {
    expectError(
      await gw.app.inject(form('/post_sentence', 'cid=7')),
      400,
      'INVALID_INPUT',
      /^body\/count: is required$/,
    );
    expectError(
      await gw.app.inject(json('/post_sentence', {})),
      400,
      'INVALID_INPUT',
      /body\/cid: is required; body\/count: is required/,
    );
    expectError(
      await gw.app.inject({ method: 'POST', url: '/post_sentence' }),
      400,
      'INVALID_INPUT',
      /^body: is required/,
    );
    expectError(
      await gw.app.inject(form('/update_sentence', 'count=5')),
      400,
      'INVALID_INPUT',
      /^body\/cid: is required$/,
    );
  });

  it('refuses malformed JSON with 400 INVALID_JSON', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/post_sentence',
      headers: { 'content-type': 'application/json' },
      payload: '{"cid": 7,',
    });
    expectError(res, 400, 'INVALID_JSON');
  });

  it('answers 404 CONTENT_NOT_FOUND for an unknown cid and 404 NOT_FOUND for an unknown route', async () => {
    expectError(
      await gw.app.inject(form('/post_sentence', 'cid=424242&count=5')),
      404,
      'CONTENT_NOT_FOUND',
      /424242/,
    );
    expectError(await gw.app.inject({ method: 'GET', url: '/nope' }), 404, 'NOT_FOUND');
  });

  it('answers 415 for a body that is neither JSON nor a form', async () => {
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/post_sentence',
        headers: { 'content-type': type },
        payload: 'cid=7&count=5',
      });
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('answers 413 for a body larger than BODY_LIMIT', async () => {
    const res = await gw.app.inject(
      form('/post_sentence', `cid=7&count=5&pad=${'x'.repeat(4096)}`),
    );
    expectError(res, 413, 'BODY_TOO_LARGE');
  });

  it('answers 400 BATCH_TOO_LARGE for a batch above VIEWS_BATCH_MAX', async () => {
    const items = [1, 2, 3, 4].map((cid) => ({ cid, count: 5 }));
    const res = await gw.app.inject(json('/v1/views', items));
    expectError(res, 400, 'BATCH_TOO_LARGE', /at most 3 items/);
  });

  it('names the batch item and field that is malformed', async () => {
    const res = await gw.app.inject(
      json('/v1/views', [
        { cid: 1, count: 5 },
        { cid: 2, count: 'x' },
      ]),
    );
    expectError(res, 400, 'INVALID_INPUT', /^body\/1\/count: must be a whole number/);
    const shape = await gw.app.inject(json('/v1/views', 'hello'));
    expectError(shape, 400, 'INVALID_INPUT', /^body: must be an object/);
  });

  it('never answers a 500 for odd input', async () => {
    const odd = [
      form('/post_sentence', 'cid=7&cid=8&count=5'),
      form('/post_sentence', '%%%'),
      json('/post_sentence', [1, 2]),
      json('/post_sentence', { __proto__: { cid: 1 }, cid: 7, count: 5 }),
      {
        method: 'POST' as const,
        url: '/post_sentence',
        headers: { 'content-type': 'application/json' },
        payload: '{"__proto__":{"x":1},"cid":7,"count":5}',
      },
      json('/v1/contents', { cid: 7, filename: 7 }),
      { method: 'GET' as const, url: '/v1/contents/abc' },
      { method: 'GET' as const, url: '/v1/contents/7/history?limit=0' },
    ];
    for (const request of odd) {
      const res = await gw.app.inject(request);
      expect(res.statusCode, `${request.method} ${request.url} ${res.body}`).toBeGreaterThanOrEqual(
        200,
      );
      expect(res.statusCode, `${request.method} ${request.url} ${res.body}`).toBeLessThan(500);
    }
  });
});

describe('backends unavailable: 503 with a code naming the backend, and recovery', () => {
  let services: Services;
  const gateways: Gateway[] = [];
  let redisServer: ChildProcess | undefined;

  beforeAll(async () => {
    services = await openServices();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.app.close()));
    redisServer?.kill('SIGKILL');
    redisServer = undefined;
  });
  afterAll(async () => {
    await services?.close();
  });

  it('answers 503 REDIS_UNAVAILABLE when Redis cannot be reached, and /readyz names it', async () => {
    const port = await freePort();
    const gw = await buildGateway(services, { REDIS_URL: `redis://127.0.0.1:${port}` });
    gateways.push(gw);
    expectError(
      await gw.app.inject(form('/post_sentence', 'cid=7&count=1964')),
      503,
      'REDIS_UNAVAILABLE',
      /^Redis is unavailable/,
    );
    expectError(
      await gw.app.inject({ method: 'GET', url: '/v1/contents/7' }),
      503,
      'REDIS_UNAVAILABLE',
    );
    // A batch fails as a whole (resending counts is safe); Bull Board's API does not hang.
    expectError(
      await gw.app.inject(
        json('/v1/views', [
          { cid: 7, count: 1 },
          { cid: 8, count: 1 },
        ]),
      ),
      503,
      'REDIS_UNAVAILABLE',
    );
    expectError(
      await gw.app.inject({
        method: 'GET',
        url: '/admin/queues/api/queues',
        headers: { authorization: ADMIN_AUTH },
      }),
      503,
      'REDIS_UNAVAILABLE',
    );
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
    expectError(ready, 503, 'NOT_READY', /redis is down/);
    expect(ready.json<{ message: string }>().message).not.toMatch(/mysql is down/);
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const metrics = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    // What /readyz probes, as a gauge an alert can watch with no traffic.
    expect(metrics.body).toMatch(/^gateway_backend_up\{backend="redis"\} 0$/m);
    expect(metrics.body).toMatch(/^gateway_backend_up\{backend="mysql"\} 1$/m);
  });

  it('answers 503 DATABASE_UNAVAILABLE when MySQL cannot be reached for an uncached cid', async () => {
    const port = await freePort();
    const url = new URL(services.database.url);
    url.port = String(port);
    const gw = await buildGateway(services, {
      DATABASE_URL: url.toString(),
      QUEUE_PREFIX: `${services.prefix}-nodb`,
    });
    gateways.push(gw);
    expectError(
      await gw.app.inject(form('/post_sentence', 'cid=7&count=1964')),
      503,
      'DATABASE_UNAVAILABLE',
      /^MySQL is unavailable/,
    );
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
    expectError(ready, 503, 'NOT_READY', /mysql is down/);
    const metrics = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^gateway_backend_up\{backend="mysql"\} 0$/m);
    expect(metrics.body).toMatch(/^gateway_backend_up\{backend="redis"\} 1$/m);
  });

  const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;

  it.skipIf(!haveRedisServer)(
    'keeps running while Redis is stopped and recovers when it is back',
    async () => {
      const port = await freePort();
      const start = async () => {
        redisServer = spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
          { stdio: 'ignore' },
        );
        const child = redisServer;
        await eventually(() => answersPing(port), 10_000, 'redis-server to answer');
        return child;
      };
      let child = await start();
      const gw = await buildGateway(services, { REDIS_URL: `redis://127.0.0.1:${port}` });
      gateways.push(gw);
      expect((await gw.app.inject(form('/post_sentence', 'cid=7&count=1964'))).statusCode).toBe(
        200,
      );

      child.kill('SIGTERM');
      await once(child, 'exit');
      await eventually(() => gw.redis.status !== 'ready', 5000, 'the gateway to see Redis gone');
      expectError(
        await gw.app.inject(form('/post_sentence', 'cid=7&count=1964')),
        503,
        'REDIS_UNAVAILABLE',
      );
      expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);

      child = await start();
      await eventually(
        async () =>
          (await gw.app.inject(form('/post_sentence', 'cid=7&count=1964'))).statusCode === 200,
        10_000,
        'posts to succeed again',
      );
      const res = await gw.app.inject(form('/post_sentence', 'cid=7&count=1964'));
      expect(res.json()).toMatchObject({ cid: '7', status: 'update', target: 'silver' });
      expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      expect(await gw.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    },
    30_000,
  );
});
