import path from 'node:path';
import { Queue, type Job, type QueueEvents } from 'bullmq';
import { getContent, getContentHistory, replaceLevels } from '@relocation/db';
import {
  ContentCache,
  RELOCATION_QUEUE,
  enqueueRelocation,
  type RelocationJobData,
  type RelocationQueue,
} from '@relocation/queue';
import {
  loadConfig,
  sha256File,
  startRelocator,
  type RelocatorHandle,
} from '@relocation/relocator';
import { targetLevel, type Level } from '@relocation/tiering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  redisUrl,
  type TestDatabase,
  type TestRedis,
} from '../support/services.ts';
import {
  SILENT,
  closeQueueEvents,
  runAll,
  createScratch,
  insertContents,
  list,
  makeTierDirs,
  openQueueEvents,
  tiersIn,
  until,
  writeSeededFile,
  type Scratch,
} from './support.ts';

const CONCURRENCY = 4;
const FILES = 8;
const FILE_BYTES = 4 * 1024 * 1024;
/** Each copy takes about half a second, long enough to see the moves overlap. */
const BYTES_PER_SECOND = 8 * 1024 * 1024;

let t: TestDatabase;
let r: TestRedis;
let scratch: Scratch;
let levels: Level[];
let queue: RelocationQueue;
let events: QueueEvents;
let cache: ContentCache;
let relocator: RelocatorHandle | undefined;

beforeAll(async () => {
  t = await createTestDatabase();
  r = createTestRedis();
  scratch = await createScratch();
  levels = tiersIn(scratch);
  await replaceLevels(t.db, levels);
  await makeTierDirs(levels);
  queue = new Queue(RELOCATION_QUEUE, { connection: r.redis, prefix: r.prefix });
  events = await openQueueEvents(r.prefix);
  cache = new ContentCache(r.redis, { prefix: r.prefix });
});
afterAll(async () => {
  await runAll([
    async () => relocator?.close(),
    () => closeQueueEvents(events),
    () => queue.obliterate({ force: true }),
    () => queue.close(),
    () => r.cleanup(),
    () => t.drop(),
    () => scratch.cleanup(),
  ]);
});

function dir(name: string): string {
  return levels.find((l) => l.name === name)?.path ?? '';
}

async function post(cid: number, count: number): Promise<void> {
  const content = await getContent(t.db, cid);
  if (!content) throw new Error(`no content ${cid}`);
  await cache.fill(cid, { level: content.content_level, filename: content.filename });
  await cache.recordCount(cid, count);
  await enqueueRelocation(queue, {
    cid,
    count,
    target: targetLevel(count, levels).name,
    from: content.content_level,
    requestedAt: Date.now(),
  });
}

/** Most half-open [processedOn, finishedOn) intervals that overlap at one instant. */
function maxOverlap(jobs: readonly Job<RelocationJobData>[]): number {
  const points = jobs.flatMap((j) => [
    [j.processedOn ?? 0, 1],
    [j.finishedOn ?? 0, -1],
  ]);
  points.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0));
  let current = 0;
  let max = 0;
  for (const [, delta] of points) {
    current += delta ?? 0;
    max = Math.max(max, current);
  }
  return max;
}

describe('relocator concurrency', () => {
  it(`runs ${CONCURRENCY} moves at once in one process, never two for one cid`, async () => {
    const cids = Array.from({ length: FILES }, (_, i) => i + 1);
    await insertContents(
      t.db,
      cids.map((cid) => ({ cid, level: 'bronze', filename: `f${cid}.mp4` })),
    );
    const digests = new Map<number, string>();
    for (const cid of cids) {
      digests.set(
        cid,
        await writeSeededFile(path.join(dir('bronze'), `f${cid}.mp4`), FILE_BYTES, `c${cid}`),
      );
    }
    const config = loadConfig({
      DATABASE_URL: t.url,
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: r.prefix,
      RELOCATOR_CONCURRENCY: String(CONCURRENCY),
      RELOCATOR_COPY_BYTES_PER_SECOND: String(BYTES_PER_SECOND),
      RELOCATOR_METRICS_PORT: '0',
    });
    relocator = await startRelocator(config, { logger: SILENT, db: t.db });

    // Sample what the queue and the process report while the moves run.
    let maxActiveInQueue = 0;
    let maxActiveGauge = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { active = 0 } = await queue.getJobCounts('active');
        maxActiveInQueue = Math.max(maxActiveInQueue, active);
        const gauge = (await relocator?.metrics.activeJobs.get())?.values[0]?.value ?? 0;
        maxActiveGauge = Math.max(maxActiveGauge, gauge);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    for (const cid of cids) await post(cid, 1500);
    // Counts that arrive while cid 1 moves: BullMQ keeps one follow-up job for it.
    await until(
      async () => (await queue.getJobs(['active'])).some((j) => j.data.cid === 1),
      10_000,
      'cid 1 to be active',
    );
    await post(1, 2100);
    await post(1, 2500);
    await post(2, 3000);

    await until(
      async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      20_000,
      'the queue to drain',
    );
    sampling = false;
    await sampler;

    const jobs = (await queue.getJobs(['completed', 'failed'])) as Job<RelocationJobData>[];
    expect(jobs.every((j) => j.finishedOn !== undefined && !j.failedReason)).toBe(true);
    expect(maxActiveInQueue).toBe(CONCURRENCY);
    expect(maxActiveGauge).toBe(CONCURRENCY);
    expect(maxOverlap(jobs)).toBe(CONCURRENCY);
    for (const cid of cids) {
      const own = jobs.filter((j) => j.data.cid === cid);
      expect(maxOverlap(own)).toBe(1);
    }
    expect(jobs.filter((j) => j.data.cid === 1).length).toBe(2);

    const final = new Map([
      [1, 'gold'],
      [2, 'gold'],
    ]);
    for (const cid of cids) {
      const level = final.get(cid) ?? 'silver';
      expect((await getContent(t.db, cid))?.content_level).toBe(level);
      expect(await sha256File(path.join(dir(level), `f${cid}.mp4`))).toBe(digests.get(cid));
      const rows = (await getContentHistory(t.db, cid)).reverse();
      expect(rows[0]?.old_content_level).toBe('bronze');
      expect(rows.at(-1)?.new_content_level).toBe(level);
    }
    expect(await list(dir('bronze'))).toEqual([]);
  });
});
