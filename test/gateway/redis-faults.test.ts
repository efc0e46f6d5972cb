import { spawnSync } from 'node:child_process';
import { enqueueRelocation, redisFaultOf } from '@relocation/queue';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildGateway,
  eventually,
  form,
  json,
  openServices,
  startRedisServer,
  type Gateway,
  type RedisServer,
  type Services,
} from './support.ts';

const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0;
if (!haveRedisServer) {
  console.warn('redis-faults.test.ts: skipped, no redis-server binary to start private servers');
}

type Injected = Awaited<ReturnType<Gateway['app']['inject']>>;

/** Asserts a 503 in the one error shape with `code`, the `Retry-After` header and a message. */
function expectRefused(res: Injected, code: string, retryAfter: string, message: RegExp): void {
  expect(res.statusCode, res.body).toBe(503);
  expect(res.headers['retry-after']).toBe(retryAfter);
  const body = res.json<Record<string, unknown>>();
  expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  expect(body).toMatchObject({ statusCode: 503, code, error: 'Service Unavailable' });
  expect(body.message).toMatch(message);
}

/** The value of one sample in Prometheus text, or undefined when it is not there. */
function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function metrics(gw: Gateway): Promise<string> {
  const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
}

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

async function usedMemory(client: Redis): Promise<number> {
  return Number(infoField(await client.info('memory'), 'used_memory'));
}

/** The rejection of `operation`, or a failure when it succeeds. */
async function rejectionOf(operation: () => Promise<unknown>): Promise<unknown> {
  try {
    await operation();
  } catch (error) {
    return error;
  }
  throw new Error('expected Redis to refuse the write');
}

/** The posts every case sends: legacy, v1 single, v1 batch, and an uncached cid (a cache fill). */
const POSTS = [
  ['POST /post_sentence (cached cid)', form('/post_sentence', 'cid=7&count=1964')],
  ['POST /v1/views (cached cid)', json('/v1/views', { cid: 8, count: 5 })],
  [
    'POST /v1/views batch',
    json('/v1/views', [
      { cid: 7, count: 1965 },
      { cid: 8, count: 6 },
    ]),
  ],
  ['POST /post_sentence (uncached cid)', form('/post_sentence', 'cid=9&count=3')],
] as const;

/**
 * Asserts that Redis's own replies to a plain write, a Lua script, a MULTI and a BullMQ add (the
 * relocation enqueue) are all recognised as `fault`.
 */
async function expectRealRepliesRecognised(gw: Gateway, client: Redis, fault: string) {
  const writes: [string, () => Promise<unknown>][] = [
    ['SET', () => client.set('redis-faults:probe', 'x')],
    ['EVAL', () => client.eval("return redis.call('SET', KEYS[1], 'x')", 1, 'redis-faults:probe')],
    ['MULTI', () => client.multi().set('redis-faults:probe', 'x').incr('redis-faults:n').exec()],
    [
      'BullMQ add',
      () =>
        enqueueRelocation(gw.queue, {
          cid: 7,
          count: 1964,
          target: 'silver',
          from: 'bronze',
          requestedAt: Date.now(),
        }),
    ],
  ];
  for (const [what, write] of writes) {
    const error = await rejectionOf(write);
    expect(redisFaultOf(error), `${what}: ${String(error)}`).toBe(fault);
  }
}

describe.skipIf(!haveRedisServer)(
  'a full Redis (maxmemory reached under noeviction) answers 503 REDIS_FULL, not 500',
  () => {
    let services: Services;
    let server: RedisServer;
    let gw: Gateway;

    beforeAll(async () => {
      services = await openServices();
      server = await startRedisServer(['--maxmemory-policy', 'noeviction']);
      gw = await buildGateway(services, { REDIS_URL: server.url });
    });
    afterAll(async () => {
      await gw?.app.close();
      await server?.stop();
      await services?.close();
    });

    it('answers 503 REDIS_FULL with Retry-After on every post path, /readyz names it, metrics count it, and all recovers when maxmemory is raised', async () => {
      // Warm the cache: cids 7 and 8 are cached, 9 is not.
      for (const [, request] of POSTS.slice(0, 3)) {
        expect((await gw.app.inject(request)).statusCode).toBe(200);
      }
      expect((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

      // Fill Redis with data until it refuses a write: a limit 1 MiB above what it holds now,
      // then 4 KiB values until the first -OOM.
      const value = 'x'.repeat(4096);
      await server.client.config(
        'SET',
        'maxmemory',
        String((await usedMemory(server.client)) + 2 ** 20),
      );
      let stored = 0;
      let refusal: unknown = null;
      while (refusal === null && stored < 2000) {
        try {
          await server.client.set(`fill:${stored}`, value);
          stored += 1;
        } catch (error) {
          refusal = error;
        }
      }
      expect(stored).toBeGreaterThan(100);
      expect(String(refusal)).toMatch(/^ReplyError: OOM command not allowed/);
      // Redis is past its limit only by the last value; idle client buffers being freed could
      // bring it back under. Lower the limit well below what the data holds, so the state is
      // steady while the test runs.
      const maxmemory = (await usedMemory(server.client)) - 256 * 1024;
      await server.client.config('SET', 'maxmemory', String(maxmemory));

      let refused = 0;
      for (const [what, request] of POSTS) {
        const res = await gw.app.inject(request);
        expectRefused(res, 'REDIS_FULL', '5', /^Redis is full: .*raise maxmemory/);
        expect(res.body, what).not.toMatch(/INTERNAL_ERROR/);
        refused += 1;
      }
      await expectRealRepliesRecognised(gw, server.client, 'REDIS_FULL');

      const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      const readyBody = ready.json<{ code: string; message: string }>();
      expect(readyBody.code).toBe('NOT_READY');
      const full = /redis is full \(used (\d+) of maxmemory (\d+) bytes\)/.exec(readyBody.message);
      expect(full, readyBody.message).not.toBeNull();
      expect(Number(full?.[2])).toBe(maxmemory);
      expect(Number(full?.[1])).toBeGreaterThanOrEqual(maxmemory);
      expect(readyBody.message).not.toMatch(/mysql|redis is down/);
      expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

      const during = await metrics(gw);
      expect(metric(during, 'gateway_errors_total', 'code="REDIS_FULL"')).toBe(refused);
      expect(metric(during, 'gateway_errors_total', 'code="INTERNAL_ERROR"')).toBeUndefined();
      expect(metric(during, 'gateway_redis_condition', 'condition="full"')).toBe(1);
      expect(metric(during, 'gateway_redis_condition', 'condition="readonly"')).toBe(0);

      await server.client.config('SET', 'maxmemory', '0');
      for (const [what, request] of POSTS) {
        const res = await gw.app.inject(request);
        expect(res.statusCode, `${what}: ${res.body}`).toBe(200);
      }
      const legacy = await gw.app.inject(form('/post_sentence', 'cid=7&count=1966'));
      expect(legacy.json()).toMatchObject({ cid: '7', count: '1966', target: 'silver' });
      const readyAgain = await gw.app.inject({ method: 'GET', url: '/readyz' });
      expect(readyAgain.statusCode, readyAgain.body).toBe(200);
      expect(readyAgain.json()).toEqual({
        status: 'ready',
        checks: { redis: 'ok', database: 'ok' },
      });
      const after = await metrics(gw);
      expect(metric(after, 'gateway_redis_condition', 'condition="full"')).toBe(0);
      expect(metric(after, 'gateway_errors_total', 'code="REDIS_FULL"')).toBe(refused);
    });
  },
);

describe.skipIf(!haveRedisServer)(
  'a read-only Redis (a replica, e.g. after a failover) answers 503 REDIS_READONLY, not 500',
  () => {
    let services: Services;
    let primary: RedisServer;
    let replica: RedisServer;
    const gateways: Gateway[] = [];

    beforeAll(async () => {
      services = await openServices();
      // Sync the replica at once instead of after the default 5 s diskless-sync delay.
      primary = await startRedisServer(['--repl-diskless-sync-delay', '0']);
      replica = await startRedisServer();
    });
    afterAll(async () => {
      await Promise.all(gateways.map((g) => g.app.close()));
      await replica?.stop();
      await primary?.stop();
      await services?.close();
    });

    it('answers 503 REDIS_READONLY with Retry-After on every post path, /readyz says read-only, and all recovers once the replica is promoted', async () => {
      // Cids 7 and 8 are cached on the primary, and so on its replica.
      const onPrimary = await buildGateway(services, { REDIS_URL: primary.url });
      gateways.push(onPrimary);
      for (const [, request] of POSTS.slice(0, 3)) {
        expect((await onPrimary.app.inject(request)).statusCode).toBe(200);
      }

      await replica.client.replicaof('127.0.0.1', String(primary.port));
      await eventually(
        async () =>
          infoField(await replica.client.info('replication'), 'master_link_status') === 'up',
        10_000,
        'the replica to sync',
      );

      // A gateway started against the replica starts (the level table cannot be published).
      const gw = await buildGateway(services, { REDIS_URL: replica.url });
      gateways.push(gw);

      let refused = 0;
      for (const [what, request] of POSTS) {
        const res = await gw.app.inject(request);
        expectRefused(res, 'REDIS_READONLY', '2', /^Redis is read-only: .*check the failover/);
        expect(res.body, what).not.toMatch(/INTERNAL_ERROR/);
        refused += 1;
      }
      await expectRealRepliesRecognised(gw, replica.client, 'REDIS_READONLY');

      const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({
        code: 'NOT_READY',
        message: 'not ready: redis is read-only (a replica)',
      });
      expect((await onPrimary.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

      const during = await metrics(gw);
      expect(metric(during, 'gateway_errors_total', 'code="REDIS_READONLY"')).toBe(refused);
      expect(metric(during, 'gateway_errors_total', 'code="INTERNAL_ERROR"')).toBeUndefined();
      expect(metric(during, 'gateway_redis_condition', 'condition="readonly"')).toBe(1);
      expect(metric(during, 'gateway_redis_condition', 'condition="full"')).toBe(0);

      // The failover completes: the replica becomes a primary.
      await replica.client.replicaof('NO', 'ONE');
      for (const [what, request] of POSTS) {
        const res = await gw.app.inject(request);
        expect(res.statusCode, `${what}: ${res.body}`).toBe(200);
      }
      const readyAgain = await gw.app.inject({ method: 'GET', url: '/readyz' });
      expect(readyAgain.statusCode, readyAgain.body).toBe(200);
      const after = await metrics(gw);
      expect(metric(after, 'gateway_redis_condition', 'condition="readonly"')).toBe(0);
    });
  },
);
