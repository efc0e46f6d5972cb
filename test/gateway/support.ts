import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeTierMarker } from '@relocation/contract';
import {
  commitRelocation,
  createDb,
  getContent,
  getDeploymentId,
  listLevels,
  replaceLevels,
  seedIfEmpty,
  type Database,
} from '@relocation/db';
import { buildApp, loadConfig, type GatewayApp, type GatewayConfig } from '@relocation/gateway';
import {
  ContentCache,
  bindToDatabase,
  RELOCATION_QUEUE,
  RelocationKeys,
  createProducerRedis,
  type RelocationJobData,
  type RelocationQueue,
  type RelocationResult,
} from '@relocation/queue';
import {
  loadConfig as loadRelocatorConfig,
  startRelocator,
  type RelocatorHandle,
} from '@relocation/relocator';
import { chooseTier, type Level } from '@relocation/tiering';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import {
  createTestDatabase,
  createTestRedis,
  redisUrl,
  type TestDatabase,
  type TestRedis,
} from '../support/services.ts';
import { SILENT, createScratch, tiersIn, type Scratch } from '../relocator/support.ts';

/** Admin credentials the tests configure. */
export const ADMIN = Object.freeze({ user: 'operator', password: 'correct horse battery staple' });

/** `Authorization` header value for {@link ADMIN}. */
export const ADMIN_AUTH = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

/** A test file's MySQL database (seeded with the 2018 levels and contents 1–12) and Redis prefix. */
export interface Services {
  database: TestDatabase;
  redis: TestRedis;
  /** BullMQ and content-cache prefix of this file. */
  prefix: string;
  /** Opens a queue on the file's prefix (closed by {@link Services.close}). */
  queue(): RelocationQueue;
  /** A content cache on the file's prefix, over the shared test connection. */
  cache: ContentCache;
  /** Drops the database, removes the prefix's keys, closes what {@link Services.queue} opened. */
  close(): Promise<void>;
}

/** Creates this test file's database (migrated, seeded) and Redis prefix. */
export async function openServices(options: { dataDir?: string } = {}): Promise<Services> {
  const database = await createTestDatabase();
  await seedIfEmpty(database.db, { dataDir: options.dataDir ?? '/srv/relocation-test' });
  const redis = createTestRedis();
  const queues: RelocationQueue[] = [];
  return {
    database,
    redis,
    prefix: redis.prefix,
    cache: new ContentCache(
      redis.redis,
      new RelocationKeys({
        prefix: redis.prefix,
        deployment: await getDeploymentId(database.db),
      }),
    ),
    queue() {
      const queue: RelocationQueue = new Queue(RELOCATION_QUEUE, {
        connection: redis.redis,
        prefix: redis.prefix,
      });
      queues.push(queue);
      return queue;
    },
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      await database.drop();
      await redis.cleanup();
    },
  };
}

/** One gateway instance with connections of its own, as `startGateway` would open them. */
export interface Gateway {
  app: GatewayApp;
  config: GatewayConfig;
  db: Kysely<Database>;
  redis: Redis;
  queue: RelocationQueue;
  cache: ContentCache;
}

/**
 * The environment of a gateway that listens (`startGateway`, or `main.ts` as a child process) on
 * a free loopback port, on the file's database and prefix, with the admin login; `extra` adds
 * or overrides variables.
 */
export function listeningGatewayEnv(
  services: Services,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl(),
    DATABASE_URL: services.database.url,
    QUEUE_PREFIX: services.prefix,
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    ...extra,
  };
}

/** Environment for {@link buildGateway}: overrides of the test defaults. */
export type GatewayEnv = Record<string, string | undefined>;

/**
 * Builds a gateway on the file's database and prefix, with its own producer Redis, queue and
 * MySQL pool (closed by `app.close()`), and waits until it is ready.
 */
export async function buildGateway(services: Services, env: GatewayEnv = {}): Promise<Gateway> {
  const config = loadConfig({
    REDIS_URL: redisUrl(),
    DATABASE_URL: services.database.url,
    QUEUE_PREFIX: services.prefix,
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
  const redis = createProducerRedis(config.redisUrl);
  const queue: RelocationQueue = new Queue(RELOCATION_QUEUE, {
    connection: redis,
    prefix: config.queuePrefix,
    skipVersionCheck: true,
  });
  const db = createDb(config.databaseUrl);
  // Bound to the database as startGateway binds it: the identity is read lazily.
  const cache = new ContentCache(
    redis,
    bindToDatabase({ redis, prefix: config.queuePrefix, db, databaseUrl: config.databaseUrl }),
  );
  const level = process.env.GATEWAY_TEST_LOG_LEVEL;
  const app = await buildApp({
    config,
    db,
    redis,
    queue,
    cache,
    logger: level ? { level } : false,
  });
  try {
    await app.ready();
  } catch (error) {
    await app.close();
    throw error;
  }
  return { app, config, db, redis, queue, cache };
}

/** What the test worker saw for one job. */
export interface ProcessedJob {
  jobId: string;
  cid: number;
  /** `job.data.count`. */
  dataCount: number;
  /** The latest count it read from the cache when it started. */
  readCount: number;
  from: string;
  to: string;
}

/** Options of {@link startTestWorker}. */
export interface TestWorkerOptions {
  /**
   * Runs after the worker decided and before it commits (the time a file move takes); await
   * something here to hold the job active.
   */
  beforeCommit?: (job: Job<RelocationJobData, RelocationResult>) => Promise<void> | void;
  /** Return a reason to fail the job permanently instead of relocating. */
  fail?: (job: Job<RelocationJobData, RelocationResult>) => string | null;
  /** Called for every job it finished. */
  onProcessed?: (processed: ProcessedJob) => void;
}

/**
 * A tiny relocator for the gateway's tests (the real one is apps/relocator): it records the job
 * as the cid's last job, reads the latest count, and when the count calls for another tier
 * commits the move in MySQL and updates the cache; no files are touched.
 */
export function startTestWorker(
  services: Services,
  options: TestWorkerOptions = {},
): Worker<RelocationJobData, RelocationResult> {
  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const db = services.database.db;
  const cache = services.cache;
  const worker = new Worker<RelocationJobData, RelocationResult>(
    RELOCATION_QUEUE,
    async (job) => {
      const { cid } = job.data;
      const jobId = job.id ?? '';
      await cache.setLastJob(cid, jobId);
      const reason = options.fail?.(job) ?? null;
      if (reason !== null) throw new UnrecoverableError(reason);
      const content = await getContent(db, cid);
      if (!content) throw new UnrecoverableError(`content ${cid} missing`);
      const count = (await cache.latestCount(cid)) ?? job.data.count;
      const levels = await listLevels(db);
      const decision = chooseTier({ count, levels, current: content.content_level });
      const from = content.content_level;
      const to = decision.kind === 'move' ? decision.to : from;
      await options.beforeCommit?.(job);
      if (to !== from) {
        await commitRelocation(db, {
          cid,
          fromLevel: from,
          toLevel: to,
          viewCount: count,
          jobId,
          bytes: 1,
          durationMs: 1,
        });
      }
      await cache.setContent(cid, { level: to, filename: content.filename });
      options.onProcessed?.({ jobId, cid, dataCount: job.data.count, readCount: count, from, to });
      return to === from
        ? { outcome: 'noop', level: from, count, reason: 'on target' }
        : { outcome: 'moved', from, to, bytes: 1, durationMs: 1, count };
    },
    { connection, prefix: services.prefix, concurrency: 4 },
  );
  worker.on('error', () => undefined);
  const close = worker.close.bind(worker);
  worker.close = async (force?: boolean) => {
    await close(force);
    await connection.quit().catch(() => connection.disconnect());
  };
  return worker;
}

/** Queue events on the file's prefix (close them in afterAll). */
export async function openQueueEvents(services: Services): Promise<QueueEvents> {
  const events = new QueueEvents(RELOCATION_QUEUE, {
    connection: new Redis(redisUrl(), { maxRetriesPerRequest: null }),
    prefix: services.prefix,
  });
  await events.waitUntilReady();
  return events;
}

/** Resolves with the next event value that satisfies `accept`, or rejects after `ms`. */
export function waitFor<T>(
  subscribe: (listener: (value: T) => void) => () => void,
  accept: (value: T) => boolean,
  ms = 10_000,
  what = 'event',
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const unsubscribe = subscribe((value) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

/** Waits until `events` reports job `jobId` (or any job, when omitted) completed. */
export function completed(
  events: QueueEvents,
  jobId?: string,
  ms = 10_000,
): Promise<{ jobId: string }> {
  return waitFor<{ jobId: string }>(
    (listener) => {
      events.on('completed', listener);
      return () => events.off('completed', listener);
    },
    (e) => jobId === undefined || e.jobId === jobId,
    ms,
    `job ${jobId ?? '(any)'} to complete`,
  );
}

/** Waits until `events` reports job `jobId` (or any job) failed. */
export function failed(
  events: QueueEvents,
  jobId?: string,
  ms = 10_000,
): Promise<{ jobId: string }> {
  return waitFor<{ jobId: string }>(
    (listener) => {
      events.on('failed', listener);
      return () => events.off('failed', listener);
    },
    (e) => jobId === undefined || e.jobId === jobId,
    ms,
    `job ${jobId ?? '(any)'} to fail`,
  );
}

/** Polls `check` until it returns true, failing after `ms` (for states without an event). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Inserts a content row directly (for tests that need cids of their own). */
export async function addContent(
  services: Services,
  content: { cid: number; level: string; filename?: string; viewCount?: number },
): Promise<void> {
  await services.database.db
    .insertInto('contents')
    .values({
      cid: content.cid,
      content_level: content.level,
      filename: content.filename ?? `c${content.cid}.mp4`,
      view_count: content.viewCount ?? 0,
    })
    .execute();
}

/** A form-encoded POST for `app.inject`. */
export function form(url: string, body: string) {
  return {
    method: 'POST' as const,
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: body,
  };
}

/** A JSON POST for `app.inject`. */
export function json(url: string, body: unknown, method: 'POST' | 'PUT' = 'POST') {
  return {
    method,
    url,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  };
}

/** A promise and its resolver, to hold a job active until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Waits until job `jobId` has completed, whether before or after this call (rejects if it failed). */
export async function jobCompleted(
  queue: RelocationQueue,
  events: QueueEvents,
  jobId: string,
  ms = 10_000,
): Promise<void> {
  const job = await queue.getJob(jobId);
  if (!job) throw new Error(`job ${jobId} not found`);
  await job.waitUntilFinished(events, ms);
}

export { freePort } from '../support/net.ts';

export { startRedisServer } from '../support/redis-server.ts';
export type { RedisServer } from '../support/redis-server.ts';

/** Real tier directories with the seeded contents' files, and a real relocator on them. */
export interface RealRelocator {
  scratch: Scratch;
  levels: Level[];
  relocator: RelocatorHandle;
  /** A tier's directory. */
  dir(level: string): string;
  /** Stops the relocator and removes the directories. */
  close(): Promise<void>;
}

/**
 * Puts the file's levels on real directories (bronze on disk, silver on tmpfs, gold on disk,
 * each with its tier marker), writes a small file for each seeded content 1-12 on its tier, and
 * starts the real relocator on the file's database and prefix (tests of the gateway start the
 * real other app, never a stand-in). `env` adds relocator settings.
 */
export async function startRealRelocator(
  services: Services,
  env: Record<string, string> = {},
): Promise<RealRelocator> {
  const scratch = await createScratch();
  const levels = tiersIn(scratch);
  const { db } = services.database;
  await replaceLevels(db, levels);
  const deployment = await getDeploymentId(db);
  for (const level of levels) {
    await writeTierMarker(level.path, { level: level.name, deployment }, { createDirectory: true });
  }
  for (let cid = 1; cid <= 12; cid++) {
    const content = await getContent(db, cid);
    const level = levels.find((l) => l.name === content?.content_level);
    if (!content || !level) throw new Error(`no content ${cid}`);
    await writeFile(path.join(level.path, content.filename), `file of ${cid}`);
  }
  const relocator = await startRelocator(
    loadRelocatorConfig({
      DATABASE_URL: services.database.url,
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: services.prefix,
      RELOCATOR_METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
      ...env,
    }),
    { logger: SILENT, db },
  );
  return {
    scratch,
    levels,
    relocator,
    dir(name) {
      const found = levels.find((l) => l.name === name);
      if (!found) throw new Error(`no level ${name}`);
      return found.path;
    },
    async close() {
      await relocator.close();
      await scratch.cleanup();
    },
  };
}
