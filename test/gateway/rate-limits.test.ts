import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rateLimitNamespace } from '@relocation/queue';
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_AUTH,
  buildGateway,
  eventually,
  form,
  json,
  openServices,
  startRedisServer,
  type Gateway,
  type Services,
} from './support.ts';

type Injected = Awaited<ReturnType<Gateway['app']['inject']>>;

const A = '10.0.0.1';
const B = '10.0.0.2';

const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!haveRedisServer) {
  console.warn('rate-limits.test.ts: Redis-down case skipped, no redis-server binary to stop');
}

/** A legacy post of cid 7 from `address` (count 10 keeps it on bronze: no job is queued). */
function post(gw: Gateway, address: string): Promise<Injected> {
  return gw.app.inject({ ...form('/post_sentence', 'cid=7&count=10'), remoteAddress: address });
}

/** Asserts a 429 in the gateway's one error shape, with `Retry-After` within the window. */
function expectLimited(res: Injected, limit: number): void {
  expect(res.statusCode, res.body).toBe(429);
  const body = res.json<Record<string, unknown>>();
  expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  expect(body).toMatchObject({
    statusCode: 429,
    code: 'RATE_LIMITED',
    error: 'Too Many Requests',
  });
  expect(body.message).toMatch(new RegExp(`more than ${limit} requests in a minute; retry in`));
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.headers['x-ratelimit-limit']).toBe(String(limit));
  expect(res.headers['x-ratelimit-remaining']).toBe('0');
}

/** The value of one sample in Prometheus text, or undefined when it is not there. */
async function metric(gw: Gateway, name: string, labels: string): Promise<number | undefined> {
  const text = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function statuses(responses: Injected[]): number[] {
  return responses.map((r) => r.statusCode);
}

describe('abuse limits on the write routes (counted in Redis)', () => {
  let services: Services;
  const opened: Gateway[] = [];

  async function gateway(env: Record<string, string>): Promise<Gateway> {
    const gw = await buildGateway(services, env);
    opened.push(gw);
    return gw;
  }

  /** The rate-limit counters of this file's prefix in the shared test Redis. */
  async function counterKeys(): Promise<string[]> {
    return services.redis.redis.keys(`${rateLimitNamespace(services.prefix)}*`);
  }

  beforeAll(async () => {
    services = await openServices();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((gw) => gw.app.close()));
    // Each test starts with fresh counters (they would otherwise last their minute).
    const keys = await counterKeys();
    if (keys.length > 0) await services.redis.redis.del(...keys);
  });
  afterAll(async () => {
    await services?.close();
  });

  it("answers client A's posts over the limit with 429 and Retry-After while client B's still succeed", async () => {
    const gw = await gateway({ RATE_LIMIT_POSTS_PER_MINUTE: '5' });
    for (let i = 0; i < 5; i++) {
      expect((await post(gw, A)).statusCode).toBe(200);
      if (i < 4) expect((await post(gw, B)).statusCode).toBe(200);
    }
    expectLimited(await post(gw, A), 5);
    // The two view routes share one counter per client: A is limited on /v1/views as well.
    expectLimited(
      await gw.app.inject({ ...json('/v1/views', { cid: 7, count: 10 }), remoteAddress: A }),
      5,
    );
    // Meanwhile B still has its own allowance (one post left), and A's reads are not limited.
    const [b, status, content] = await Promise.all([
      post(gw, B),
      gw.app.inject({ ...form('/update_sentence', 'cid=7'), remoteAddress: A }),
      gw.app.inject({ method: 'GET', url: '/v1/contents/7', remoteAddress: A }),
    ]);
    expect(b.statusCode).toBe(200);
    expect(status.statusCode).toBe(200);
    expect(content.statusCode).toBe(200);
    expectLimited(await post(gw, B), 5);

    expect(await metric(gw, 'gateway_rate_limited_total', 'route="/post_sentence"')).toBe(2);
    expect(await metric(gw, 'gateway_rate_limited_total', 'route="/v1/views"')).toBe(1);
    expect(await metric(gw, 'gateway_errors_total', 'code="RATE_LIMITED"')).toBe(3);
    expect(await metric(gw, 'gateway_posts_total', 'outcome="limited"')).toBe(3);
    expect(await metric(gw, 'gateway_posts_total', 'outcome="invalid"')).toBe(0);
    // One counter per client and group, each expiring with its window.
    const keys = await counterKeys();
    expect(keys.sort()).toEqual([
      `${rateLimitNamespace(services.prefix)}posts:ip:${A}`,
      `${rateLimitNamespace(services.prefix)}posts:ip:${B}`,
    ]);
    for (const key of keys) {
      const ttl = await services.redis.redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('counts per API key when the client sends one, whatever its address', async () => {
    const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');
    const gw = await gateway({
      RATE_LIMIT_POSTS_PER_MINUTE: '3',
      API_KEYS: `edge-eu:player:${sha256('key-eu')},edge-us:player:${sha256('key-us')}`,
    });
    const report = (key: string, address: string) =>
      gw.app.inject({
        ...json('/v1/views', { cid: 7, count: 10 }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        remoteAddress: address,
      });
    // One key from two addresses shares one counter...
    expect((await report('key-eu', A)).statusCode).toBe(200);
    expect((await report('key-eu', B)).statusCode).toBe(200);
    expect((await report('key-eu', A)).statusCode).toBe(200);
    const limited = await report('key-eu', B);
    expectLimited(limited, 3);
    expect(limited.json<{ message: string }>().message).toContain('"edge-eu"');
    // ...and another key from the same address has its own.
    expect((await report('key-us', A)).statusCode).toBe(200);
    expect((await counterKeys()).sort()).toEqual([
      `${rateLimitNamespace(services.prefix)}posts:key:edge-eu`,
      `${rateLimitNamespace(services.prefix)}posts:key:edge-us`,
    ]);
  });

  it("lets exactly the limit through a concurrent burst from A, and none of B's posts are refused", async () => {
    const gw = await gateway({ RATE_LIMIT_POSTS_PER_MINUTE: '20' });
    const burst = Array.from({ length: 120 }, () => post(gw, A));
    const others = Array.from({ length: 10 }, () => post(gw, B));
    const [fromA, fromB] = await Promise.all([Promise.all(burst), Promise.all(others)]);
    expect(statuses(fromA).filter((s) => s === 200)).toHaveLength(20);
    expect(statuses(fromA).filter((s) => s === 429)).toHaveLength(100);
    expect(statuses(fromB)).toEqual(Array.from({ length: 10 }, () => 200));
  });

  it('shares the count between two gateways on the same Redis', async () => {
    const one = await gateway({ RATE_LIMIT_POSTS_PER_MINUTE: '6' });
    const two = await gateway({ RATE_LIMIT_POSTS_PER_MINUTE: '6' });
    for (let i = 0; i < 3; i++) {
      expect((await post(one, A)).statusCode).toBe(200);
      expect((await post(two, A)).statusCode).toBe(200);
    }
    expectLimited(await post(one, A), 6);
    expectLimited(await post(two, A), 6);
    expect((await post(two, B)).statusCode).toBe(200);
  });

  it('reserves 1 % of a limit of 200 or more per round trip, and still lets through no more than the limit across gateways', async () => {
    // 300 a minute: each gateway reserves 3 counts at a time in Redis and hands them out itself.
    const one = await gateway({ RATE_LIMIT_POSTS_PER_MINUTE: '300' });
    const two = await gateway({ RATE_LIMIT_POSTS_PER_MINUTE: '300' });
    const key = `${rateLimitNamespace(services.prefix)}posts:ip:${A}`;
    expect((await post(one, A)).statusCode).toBe(200);
    expect(await services.redis.redis.get(key)).toBe('3');
    expect((await post(one, A)).statusCode).toBe(200);
    expect((await post(one, A)).statusCode).toBe(200);
    expect(await services.redis.redis.get(key)).toBe('3');
    expect((await post(two, A)).statusCode).toBe(200);
    expect(await services.redis.redis.get(key)).toBe('6');
    // Concurrent bursts from both gateways: exactly the rest of the allowance gets through.
    const burst = await Promise.all(
      Array.from({ length: 320 }, (_, i) => post(i % 2 === 0 ? one : two, A)),
    );
    const passed = statuses(burst).filter((s) => s === 200).length;
    // Never more than the limit (4 were used before the burst); at most a reservation less per
    // gateway (2 counts each) when one gateway runs out of requests holding counts it reserved.
    expect(passed).toBeLessThanOrEqual(300 - 4);
    expect(passed).toBeGreaterThanOrEqual(300 - 4 - 2 * 2);
    expect(statuses(burst).filter((s) => s === 429)).toHaveLength(320 - passed);
    expectLimited(await post(one, A), 300);
    const ttl = await services.redis.redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('limits registration and every admin write per route; failed logins do not use the allowance', async () => {
    const gw = await gateway({ RATE_LIMIT_WRITES_PER_MINUTE: '2' });
    const admin = { authorization: ADMIN_AUTH };
    const writes: Record<string, (n: number) => InjectOptions> = {
      'POST /v1/contents': (n) => ({
        ...json('/v1/contents', { cid: 1000 + n, filename: `rl-${n}.mp4` }),
        remoteAddress: A,
      }),
      'PUT /v1/levels': () => ({
        ...json('/v1/levels', { levels: [] }, 'PUT'),
        headers: { 'content-type': 'application/json', ...admin },
        remoteAddress: A,
      }),
      'PUT /v1/contents/:cid/level': () => ({
        ...json('/v1/contents/7/level', { level: 'no-such-level' }, 'PUT'),
        headers: { 'content-type': 'application/json', ...admin },
        remoteAddress: A,
      }),
      'POST /v1/contents/:cid/requeue': () => ({
        method: 'POST',
        url: '/v1/contents/7/requeue',
        headers: admin,
        remoteAddress: A,
      }),
      'DELETE /v1/contents/:cid/pending-move': () => ({
        method: 'DELETE',
        url: '/v1/contents/7/pending-move',
        headers: admin,
        remoteAddress: A,
      }),
    };

    // Wrong credentials are answered (401) before the limit is counted.
    for (let i = 0; i < 3; i++) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/contents/7/requeue',
        headers: { authorization: `Basic ${Buffer.from('operator:wrong').toString('base64')}` },
        remoteAddress: A,
      });
      expect(res.statusCode).toBe(401);
    }
    // Each route has its own allowance: using up one leaves the others untouched.
    for (const [route, request] of Object.entries(writes)) {
      for (let n = 0; n < 2; n++) {
        const res = await gw.app.inject(request(n));
        expect(res.statusCode, `${route}: ${res.body}`).not.toBe(429);
        expect(res.statusCode, `${route}: ${res.body}`).toBeLessThan(500);
      }
    }
    for (const [route, request] of Object.entries(writes)) {
      const res = await gw.app.inject(request(2));
      expect(res.statusCode, route).toBe(429);
      expectLimited(res, 2);
    }
    // The refused registration did not happen; B can still register.
    const refused = await gw.app.inject({ method: 'GET', url: '/v1/contents/1002' });
    expect(refused.statusCode).toBe(404);
    const fromB = await gw.app.inject({
      ...json('/v1/contents', { cid: 1003, filename: 'rl-3.mp4' }),
      remoteAddress: B,
    });
    expect(fromB.statusCode).toBe(201);
    // Posts are under their own, much higher limit.
    expect((await post(gw, A)).statusCode).toBe(200);
    expect(
      await metric(gw, 'gateway_rate_limited_total', 'route="/v1/contents/:cid/requeue"'),
    ).toBe(1);
  });

  it('never answers 429 when the limits are 0 (off), and keeps no counters', async () => {
    const gw = await gateway({
      RATE_LIMIT_POSTS_PER_MINUTE: '0',
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
    });
    const posts = await Promise.all(Array.from({ length: 60 }, () => post(gw, A)));
    expect(new Set(statuses(posts))).toEqual(new Set([200]));
    for (let i = 0; i < 10; i++) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/contents/7/requeue',
        headers: { authorization: ADMIN_AUTH },
        remoteAddress: A,
      });
      expect(res.statusCode).not.toBe(429);
    }
    expect(await counterKeys()).toEqual([]);
  });

  it.skipIf(!haveRedisServer)(
    'lets requests through while Redis is down (fail open): no 429 and no 500',
    async () => {
      const server = await startRedisServer();
      try {
        const gw = await gateway({
          REDIS_URL: server.url,
          RATE_LIMIT_POSTS_PER_MINUTE: '1',
          RATE_LIMIT_WRITES_PER_MINUTE: '1',
        });
        await server.stop();
        await eventually(() => gw.redis.status !== 'ready', 5000, 'the gateway to lose Redis');
        // Registration needs only MySQL: it succeeds every time although the limit is 1.
        for (let n = 0; n < 3; n++) {
          const res = await gw.app.inject({
            ...json('/v1/contents', { cid: 2000 + n, filename: `down-${n}.mp4` }),
            remoteAddress: A,
          });
          expect(res.statusCode, res.body).toBe(201);
        }
        // A post needs Redis: it answers 503 REDIS_UNAVAILABLE as before, never 429 or 500.
        for (let n = 0; n < 3; n++) {
          const res = await post(gw, A);
          expect(res.statusCode, res.body).toBe(503);
          expect(res.json()).toMatchObject({ code: 'REDIS_UNAVAILABLE' });
        }
      } finally {
        await server.stop();
      }
    },
  );
});

describe('security headers', () => {
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

  /** What every JSON answer carries, and nothing else: no helmet header on the API. */
  const JSON_HEADERS = ['connection', 'content-length', 'content-type', 'date', 'x-request-id'];

  it.each([
    ['POST /post_sentence', form('/post_sentence', 'cid=7&count=10')],
    ['POST /v1/views', json('/v1/views', [{ cid: 7, count: 10 }])],
    ['GET /v1/contents/7', { method: 'GET' as const, url: '/v1/contents/7' }],
    ['GET /v1/levels', { method: 'GET' as const, url: '/v1/levels' }],
    ['GET /healthz', { method: 'GET' as const, url: '/healthz' }],
    ['GET /docs/json', { method: 'GET' as const, url: '/docs/json' }],
    ['GET /no-such-route (404)', { method: 'GET' as const, url: '/no-such-route' }],
    ['POST /post_sentence (400)', form('/post_sentence', 'cid=x')],
  ])('leaves the headers of the JSON route %s unchanged', async (_name, request) => {
    const res = await gw.app.inject(request);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(res.headers).sort()).toEqual(JSON_HEADERS);
  });

  it('leaves /metrics (Prometheus text) without security headers', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-security-policy']).toBeUndefined();
    expect(res.headers['x-frame-options']).toBeUndefined();
  });

  function expectPageHeaders(res: Injected): void {
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('https:');
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(res.headers['strict-transport-security']).toBeUndefined();
  }

  it('sends the content security policy and helmet headers with /docs and its assets', async () => {
    const page = await gw.app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectPageHeaders(page);
    const script = await gw.app.inject({
      method: 'GET',
      url: '/docs/static/swagger-initializer.js',
    });
    expect(script.statusCode).toBe(200);
    expectPageHeaders(script);
  });

  it('sends them with Bull Board, its assets and its API', async () => {
    const page = await gw.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: ADMIN_AUTH },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectPageHeaders(page);
    const api = await gw.app.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      headers: { authorization: ADMIN_AUTH },
    });
    expect(api.statusCode).toBe(200);
    expectPageHeaders(api);
  });
});
