import path from 'node:path';
import { getContentHistory, getDeploymentId, replaceLevels } from '@relocation/db';
import {
  ContentCache,
  RelocationKeys,
  RELOCATION_QUEUE,
  enqueueRelocation,
  type RelocationQueue,
} from '@relocation/queue';
import {
  loadConfig,
  sha256File,
  startRelocator,
  type RelocatorHandle,
} from '@relocation/relocator';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/services.ts';
import {
  SILENT,
  createScratch,
  insertContents,
  list,
  makeTierDirs,
  runAll,
  tiersIn,
  until,
  writeSeededFile,
  type Scratch,
} from './support.ts';

/** A relocator whose Redis fills up in the middle of a move. */
describe('a relocator when Redis refuses writes', () => {
  let server: RedisServer;
  let t: TestDatabase;
  let scratch: Scratch;
  let redis: Redis;
  let queue: RelocationQueue;
  let cache: ContentCache;
  let relocator: RelocatorHandle | null = null;
  let metricsPort = 0;
  const prefix = `t-${uniqueSuffix()}`;

  beforeAll(async () => {
    server = await startRedisServer(['--maxmemory-policy', 'noeviction']);
    t = await createTestDatabase();
    scratch = await createScratch();
    const levels = tiersIn(scratch);
    await replaceLevels(t.db, levels);
    await makeTierDirs(levels, await getDeploymentId(t.db));
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    queue = new Queue(RELOCATION_QUEUE, { connection: redis, prefix });
    cache = new ContentCache(
      redis,
      new RelocationKeys({ prefix, deployment: await getDeploymentId(t.db) }),
    );
  });
  afterAll(async () => {
    await runAll([
      () => relocator?.close() ?? Promise.resolve(),
      () => queue.close(),
      () => Promise.resolve(redis.disconnect()),
      () => server.stop(),
      () => t.drop(),
      () => scratch.cleanup(),
    ]);
  });

  async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('backs off without failing the job, says so in readiness, and finishes the move once Redis has room', async () => {
    const bronze = path.join(scratch.disk, 'bronze');
    const silver = path.join(scratch.shm, 'silver');
    await insertContents(t.db, [{ cid: 1, level: 'bronze', filename: 'a.mp4' }]);
    const digest = await writeSeededFile(path.join(bronze, 'a.mp4'), 24 * 1024 * 1024, 'oom');
    metricsPort = await freePort();
    relocator = await startRelocator(
      loadConfig({
        REDIS_URL: server.url,
        DATABASE_URL: t.url,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'silent',
        RELOCATOR_METRICS_PORT: String(metricsPort),
        RELOCATOR_METRICS_HOST: '127.0.0.1',
        // About 1.5 s of copying: Redis fills up while the file is on its way.
        RELOCATOR_COPY_BYTES_PER_SECOND: String(16 * 1024 * 1024),
        RELOCATOR_LOCK_DURATION_MS: '2000',
        RELOCATOR_STALLED_INTERVAL_MS: '1000',
      }),
      { logger: SILENT, db: t.db },
    );

    await cache.fill(1, { level: 'bronze', filename: 'a.mp4' });
    await cache.recordCount(1, 1500);
    const job = await enqueueRelocation(queue, {
      cid: 1,
      count: 1500,
      target: 'silver',
      from: 'bronze',
      requestedAt: Date.now(),
    });
    const jobId = job.id ?? '';
    await until(async () => (await queue.getJobState(jobId)) === 'active', 10_000, 'active');

    // Redis is full from here on: every write is refused with OOM (noeviction).
    await server.client.config('SET', 'maxmemory', '1');
    await until(async () => (await readyz()).status === 503, 15_000, 'readiness to say full');
    expect((await readyz()).body).toMatchObject({ status: 'not ready', redis: 'REDIS_FULL' });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/relocator_redis_condition\{condition="full"\} 1/);
    // Whatever step the move was at (copying, recording the copy, committing), nothing failed:
    // BullMQ cannot even record a failure while Redis refuses writes, and the relocator waits.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await queue.getJobState(jobId)).not.toBe('failed');
    // Alive (a restart would not help), only not ready.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);

    await server.client.config('SET', 'maxmemory', '0');
    await until(async () => (await readyz()).status === 200, 20_000, 'readiness to recover');
    await until(
      async () => (await cache.get(1))?.level === 'silver',
      20_000,
      'the cache to follow MySQL',
    );
    expect(await list(bronze)).toEqual([]);
    expect(await list(silver)).toEqual(['a.mp4']);
    expect(await sha256File(path.join(silver, 'a.mp4'))).toBe(digest);
    expect(await getContentHistory(t.db, 1)).toHaveLength(1);
    expect(await queue.getJobState(jobId)).not.toBe('failed');
  });
});
