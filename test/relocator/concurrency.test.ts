import path from 'node:path';
import type { Job } from 'bullmq';
import { getContent, getContentHistory } from '@relocation/db';
import type { RelocationJobData, RelocationQueue } from '@relocation/queue';
import {
  loadConfig,
  sha256File,
  startRelocator,
  type RelocatorHandle,
} from '@relocation/relocator';
import type { Level } from '@relocation/tiering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, type TestDatabase } from '../support/services.ts';
import {
  SILENT,
  createHarness,
  insertContents,
  list,
  maxOverlap,
  runAll,
  until,
  writeSeededFile,
  type Harness,
} from './support.ts';

const CONCURRENCY = 4;
const FILES = 8;
const FILE_BYTES = 4 * 1024 * 1024;
/** Each copy takes about half a second, long enough to see the moves overlap. */
const BYTES_PER_SECOND = 8 * 1024 * 1024;

let h: Harness;
let t: TestDatabase;
let levels: Level[];
let queue: RelocationQueue;
let relocator: RelocatorHandle | undefined;

beforeAll(async () => {
  h = await createHarness();
  ({ t, levels, queue } = h);
});
afterAll(async () => {
  await runAll([async () => relocator?.close(), () => h.close()]);
});

function dir(name: string): string {
  return levels.find((l) => l.name === name)?.path ?? '';
}

async function post(cid: number, count: number): Promise<void> {
  await h.post(cid, count);
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
      QUEUE_PREFIX: h.r.prefix,
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
