import { createDb } from '@relocation/db';
import { buildApp, loadConfig, type GatewayApp } from '@relocation/gateway';
import {
  ContentCache,
  RELOCATION_QUEUE,
  bindToDatabase,
  createProducerRedis,
  type RelocationQueue,
} from '@relocation/queue';
import type { LogLevel } from '@relocation/runtime';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/services.ts';
import { form, json, openServices, type Services } from './support.ts';

/** One line the gateway logged, parsed. */
interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
}

const INFO = 30;
const DEBUG = 20;

/** A gateway whose logs at `level` are kept in `lines` (a pino destination stream). */
async function loggingGateway(
  services: Services,
  level: LogLevel,
): Promise<{ app: GatewayApp; lines: LogLine[] }> {
  const lines: LogLine[] = [];
  const logger = pino(
    { level },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const config = loadConfig({
    REDIS_URL: redisUrl(),
    DATABASE_URL: services.database.url,
    QUEUE_PREFIX: services.prefix,
  });
  const redis = createProducerRedis(config.redisUrl);
  const queue: RelocationQueue = new Queue(RELOCATION_QUEUE, {
    connection: redis,
    prefix: config.queuePrefix,
    skipVersionCheck: true,
  });
  const db = createDb(config.databaseUrl);
  const cache = new ContentCache(
    redis,
    bindToDatabase({ redis, prefix: config.queuePrefix, db, databaseUrl: config.databaseUrl }),
  );
  const app = await buildApp({ config, db, redis, queue, cache, logger });
  await app.ready();
  return { app, lines };
}

/** The messages logged for one request (by the request id it answered with), with their level. */
function linesOf(lines: LogLine[], reqId: unknown): [number, string][] {
  expect(typeof reqId).toBe('string');
  return lines.filter((line) => line.reqId === reqId).map((line) => [line.level, line.msg]);
}

describe('access logs', () => {
  let services: Services;
  const apps: GatewayApp[] = [];

  beforeAll(async () => {
    services = await openServices();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await services?.close();
  });

  it('at info, the view-report routes log nothing and count in gateway_posts_total; every other route keeps its access lines', async () => {
    const { app, lines } = await loggingGateway(services, 'info');
    apps.push(app);

    const reports = [
      await app.inject(form('/post_sentence', 'cid=7&count=1964')),
      await app.inject(json('/v1/views', { cid: 3, count: 1500 })),
      await app.inject(
        json('/v1/views', [
          { cid: 1, count: 10 },
          { cid: 2, count: 20 },
        ]),
      ),
    ];
    for (const res of reports) {
      expect(res.statusCode).toBe(200);
      expect(linesOf(lines, res.headers['x-request-id'])).toEqual([]);
    }

    // A refused view report (an unknown cid) is counted too, with no line at info.
    const refused = await app.inject(json('/v1/views', { cid: 404_404, count: 1 }));
    expect(refused.statusCode).toBe(404);
    expect(linesOf(lines, refused.headers['x-request-id'])).toEqual([]);
    // Other routes keep their 4xx line at info.
    const missing = await app.inject({ method: 'GET', url: '/v1/contents/404404' });
    expect(missing.statusCode).toBe(404);
    expect(linesOf(lines, missing.headers['x-request-id'])).toContainEqual([
      INFO,
      'no content has cid 404404',
    ]);

    const others = [
      await app.inject({ method: 'GET', url: '/healthz' }),
      await app.inject(form('/update_sentence', 'cid=7')),
      await app.inject({ method: 'GET', url: '/v1/levels' }),
    ];
    for (const res of others) {
      expect(res.statusCode).toBe(200);
      expect(linesOf(lines, res.headers['x-request-id'])).toEqual([
        [INFO, 'incoming request'],
        [INFO, 'request completed'],
      ]);
    }

    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    const posts = metrics.body
      .split('\n')
      .filter((line) => line.startsWith('gateway_posts_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
    expect(posts).toBe(5);
  });

  it("at debug, the view reports' access lines are logged at debug", async () => {
    const { app, lines } = await loggingGateway(services, 'debug');
    apps.push(app);

    for (const res of [
      await app.inject(form('/post_sentence', 'cid=5&count=10')),
      await app.inject(json('/v1/views', { cid: 6, count: 10 })),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(linesOf(lines, res.headers['x-request-id'])).toEqual([
        [DEBUG, 'incoming request'],
        [DEBUG, 'request completed'],
      ]);
    }
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(linesOf(lines, health.headers['x-request-id'])).toEqual([
      [INFO, 'incoming request'],
      [INFO, 'request completed'],
    ]);
  });
});
