import { once } from 'node:events';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { QueueEvents } from 'bullmq';
import {
  getContent,
  getContentHistory,
  parseDatabaseUrl,
  replaceLevels,
  type Database,
} from '@relocation/db';
import { enqueueRelocation, type ContentCache, type RelocationQueue } from '@relocation/queue';
import {
  loadConfig,
  sha256File,
  startMetricsServer,
  startRelocator,
  tempPrefix,
  type MoveJournal,
  type RelocatorHandle,
  type StartRelocatorOptions,
} from '@relocation/relocator';
import type { Level } from '@relocation/tiering';
import { Kysely, MysqlDialect } from 'kysely';
import { createConnection } from 'mysql2/promise';
import { createPool } from 'mysql2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, type TestDatabase, type TestRedis } from '../support/services.ts';
import {
  SILENT,
  createHarness,
  insertContents,
  jobOutcome,
  list,
  until,
  writeSeededFile,
  type Harness,
  type Scratch,
} from './support.ts';

let h: Harness;
let t: TestDatabase;
let r: TestRedis;
let scratch: Scratch;
let levels: Level[];
let queue: RelocationQueue;
let events: QueueEvents;
let cache: ContentCache;
let journal: MoveJournal;
const running: RelocatorHandle[] = [];

beforeAll(async () => {
  h = await createHarness();
  ({ t, r, scratch, levels, queue, events, cache, journal } = h);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((handle) => handle.close()));
});
afterAll(async () => {
  await h.close();
});

function dir(level: string): string {
  return h.dir(level);
}

async function start(
  env: Record<string, string> = {},
  options: StartRelocatorOptions = {},
): Promise<RelocatorHandle> {
  const config = loadConfig({
    DATABASE_URL: t.url,
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: r.prefix,
    RELOCATOR_METRICS_PORT: '0',
    RELOCATOR_SHUTDOWN_TIMEOUT_MS: '5000',
    ...env,
  });
  const handle = await startRelocator(config, { logger: SILENT, db: t.db, ...options });
  running.push(handle);
  return handle;
}

/** What the gateway does for a post: cache the content, record the count, ask for a move. */
function post(cid: number, count: number) {
  return h.post(cid, count);
}

async function history(cid: number) {
  return getContentHistory(t.db, cid);
}

describe('the relocate processor through a real worker', () => {
  it('moves a file across file systems, commits the level and exactly one history row', async () => {
    await insertContents(t.db, [{ cid: 7, level: 'bronze', filename: 'g.mp4', viewCount: 640 }]);
    const digest = await writeSeededFile(path.join(dir('bronze'), 'g.mp4'), 3 << 20, 'g');
    const handle = await start();
    const job = await post(7, 1964);
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome).toMatchObject({
      state: 'completed',
      result: { outcome: 'moved', from: 'bronze', to: 'silver', bytes: 3 << 20, count: 1964 },
    });

    expect(await list(dir('bronze'))).not.toContain('g.mp4');
    expect(await list(dir('silver'))).toEqual(['g.mp4']);
    expect(await sha256File(path.join(dir('silver'), 'g.mp4'))).toBe(digest);
    expect(await getContent(t.db, 7)).toMatchObject({ content_level: 'silver', view_count: 1964 });
    const rows = await history(7);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      old_content_level: 'bronze',
      new_content_level: 'silver',
      view_count: 1964,
      job_id: job.id,
      bytes: 3 << 20,
    });
    expect(rows[0]?.duration_ms).toBeGreaterThanOrEqual(0);
    expect((await cache.get(7))?.level).toBe('silver');
    expect((await cache.get(7))?.lastJobId).toBe(job.id);
    expect(await journal.get(7)).toBeNull();
    expect((await queue.getJob(job.id ?? ''))?.progress).toBe(100);

    const metrics = await handle.metrics.registry.metrics();
    expect(metrics).toContain('relocator_moves_total{outcome="moved",from="bronze",to="silver"} 1');
    expect(metrics).toContain(`relocator_bytes_moved_total ${3 << 20}`);
    expect(metrics).toContain('relocator_move_duration_seconds_count 1');
  });

  it('moves to the target of the latest count, not the one in the job, with a rename', async () => {
    await insertContents(t.db, [{ cid: 8, level: 'bronze', filename: 'h.mp4' }]);
    await writeFile(path.join(dir('bronze'), 'h.mp4'), 'h');
    const inode = (await stat(path.join(dir('bronze'), 'h.mp4'))).ino;
    await cache.fill(8, { level: 'bronze', filename: 'h.mp4' });
    await cache.recordCount(8, 2500);
    const job = await enqueueRelocation(queue, {
      cid: 8,
      count: 1500,
      target: 'silver',
      from: 'bronze',
      requestedAt: Date.now(),
    });
    await start();
    expect(await jobOutcome(events, job.id ?? '')).toMatchObject({
      state: 'completed',
      result: { outcome: 'moved', to: 'gold', count: 2500 },
    });
    expect((await stat(path.join(dir('gold'), 'h.mp4'))).ino).toBe(inode);
    expect(await list(dir('bronze'))).not.toContain('h.mp4');
    expect((await getContent(t.db, 8))?.content_level).toBe('gold');
  });

  it('completes a job whose content is already on its target without touching files or history', async () => {
    await insertContents(t.db, [{ cid: 9, level: 'silver', filename: 'i.mp4' }]);
    await writeFile(path.join(dir('silver'), 'i.mp4'), 'i');
    const before = await stat(path.join(dir('silver'), 'i.mp4'));
    await cache.setContent(9, { level: 'bronze', filename: 'i.mp4' }); // a stale cache entry
    await start();
    const job = await post(9, 1500);
    expect(await jobOutcome(events, job.id ?? '')).toMatchObject({
      state: 'completed',
      result: { outcome: 'noop', level: 'silver', count: 1500, reason: 'on-target' },
    });
    const after = await stat(path.join(dir('silver'), 'i.mp4'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(await history(9)).toEqual([]);
    expect((await cache.get(9))?.level).toBe('silver');
  });

  it('converges on retry with exactly one history row when the commit fails after the move', async () => {
    await insertContents(t.db, [{ cid: 10, level: 'bronze', filename: 'j.mp4' }]);
    const digest = await writeSeededFile(path.join(dir('bronze'), 'j.mp4'), 1 << 20, 'j');
    // The relocator's MySQL sessions give up on a row lock after 1 s instead of 50 s.
    const parts = parseDatabaseUrl(t.url);
    const pool = createPool({
      ...parts,
      timezone: 'Z',
      supportBigNumbers: true,
      connectionLimit: 4,
    });
    pool.on('connection', (conn) => {
      conn.query('SET SESSION innodb_lock_wait_timeout = 1');
    });
    const impatientDb = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
    // Another session holds the content row, so commitRelocation's SELECT … FOR UPDATE times out.
    const locker = await createConnection({ ...parts, timezone: 'Z' });
    try {
      await locker.beginTransaction();
      await locker.query('SELECT cid FROM contents WHERE cid = 10 FOR UPDATE');
      const handle = await start({}, { db: impatientDb });
      const firstFailure = once(handle.worker, 'failed');
      const job = await post(10, 1200);
      const finished = jobOutcome(events, job.id ?? '');
      const [, error] = (await firstFailure) as [unknown, Error];
      expect(error.message).toMatch(/lock wait timeout/i);

      // Between the attempts: the file has moved, MySQL has not, the pending move is recorded.
      expect(await list(dir('bronze'))).not.toContain('j.mp4');
      expect(await list(dir('silver'))).toContain('j.mp4');
      expect((await getContent(t.db, 10))?.content_level).toBe('bronze');
      expect(await history(10)).toEqual([]);
      expect(await journal.get(10)).toMatchObject({ from: 'bronze', to: 'silver', jobId: job.id });

      await locker.rollback();
      expect(await finished).toMatchObject({
        state: 'completed',
        result: { outcome: 'moved', from: 'bronze', to: 'silver', bytes: 1 << 20 },
      });
      const rows = await history(10);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        job_id: job.id,
        bytes: 1 << 20,
        new_content_level: 'silver',
      });
      expect((await getContent(t.db, 10))?.content_level).toBe('silver');
      expect(await sha256File(path.join(dir('silver'), 'j.mp4'))).toBe(digest);
      expect((await queue.getJob(job.id ?? ''))?.attemptsMade).toBe(2);
      expect(await journal.get(10)).toBeNull();
    } finally {
      await locker.end();
      await Promise.all(running.splice(0).map((h) => h.close()));
      await impatientDb.destroy();
    }
  });

  it('fails permanently on traversal names from the database and touches nothing', async () => {
    const bait = {
      diskParent: path.join(scratch.disk, 'escape.mp4'),
      abs: path.join(scratch.disk, 'abs.mp4'),
    };
    await writeFile(bait.diskParent, 'bait');
    await writeFile(bait.abs, 'absolute bait');
    await mkdir(path.join(dir('bronze'), 'sub'), { recursive: true });
    await writeFile(path.join(dir('bronze'), 'sub', 'x.mp4'), 'nested');
    const hostile = [
      { cid: 101, filename: '../escape.mp4' },
      { cid: 102, filename: bait.abs },
      { cid: 103, filename: 'nul\0.mp4' },
      { cid: 104, filename: 'sub/x.mp4' },
      { cid: 105, filename: '..' },
      { cid: 106, filename: '..\\escape.mp4' },
    ];
    await insertContents(
      t.db,
      hostile.map((h) => ({ ...h, level: 'bronze' })),
    );
    const snapshot = async () => ({
      disk: await list(scratch.disk),
      shm: await list(scratch.shm),
      bronze: await list(dir('bronze')),
      silver: await list(dir('silver')),
      gold: await list(dir('gold')),
    });
    const before = await snapshot();
    await start();
    for (const { cid, filename } of hostile) {
      expect((await getContent(t.db, cid))?.filename).toBe(filename);
      const job = await post(cid, 1500);
      const outcome = await jobOutcome(events, job.id ?? '');
      expect(outcome).toMatchObject({ state: 'failed' });
      if (outcome.state === 'failed') expect(outcome.reason).toMatch(/^UNSAFE_FILENAME: /);
      const stored = await queue.getJob(job.id ?? '');
      expect(stored?.attemptsMade).toBe(1);
      expect(await stored?.getState()).toBe('failed');
      expect((await getContent(t.db, cid))?.content_level).toBe('bronze');
      expect(await history(cid)).toEqual([]);
      expect(await journal.get(cid)).toBeNull();
    }
    expect(await snapshot()).toEqual(before);
    expect(await readFile(bait.diskParent, 'utf8')).toBe('bait');
    expect(await readFile(bait.abs, 'utf8')).toBe('absolute bait');
    expect(await readFile(path.join(dir('bronze'), 'sub', 'x.mp4'), 'utf8')).toBe('nested');
  });

  it('fails permanently on a collision, names both paths and leaves both files', async () => {
    await insertContents(t.db, [{ cid: 11, level: 'bronze', filename: 'k.mp4' }]);
    await writeFile(path.join(dir('bronze'), 'k.mp4'), 'mine');
    await writeFile(path.join(dir('silver'), 'k.mp4'), 'somebody else');
    await start();
    const job = await post(11, 1001);
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome.state).toBe('failed');
    if (outcome.state === 'failed') {
      expect(outcome.reason).toMatch(/^FILE_COLLISION: /);
      expect(outcome.reason).toContain(path.join(dir('bronze'), 'k.mp4'));
      expect(outcome.reason).toContain(path.join(dir('silver'), 'k.mp4'));
    }
    expect(await readFile(path.join(dir('bronze'), 'k.mp4'), 'utf8')).toBe('mine');
    expect(await readFile(path.join(dir('silver'), 'k.mp4'), 'utf8')).toBe('somebody else');
    expect((await queue.getJob(job.id ?? ''))?.attemptsMade).toBe(1);
    expect(await journal.get(11)).toBeNull();
    expect(await history(11)).toEqual([]);
  });

  it('fails permanently as FILE_MISSING when the file is nowhere', async () => {
    await insertContents(t.db, [{ cid: 12, level: 'bronze', filename: 'l.mp4' }]);
    await start();
    const job = await post(12, 1001);
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome).toMatchObject({ state: 'failed' });
    if (outcome.state === 'failed') {
      expect(outcome.reason).toMatch(/^FILE_MISSING: /);
      expect(outcome.reason).toContain(path.join(dir('bronze'), 'l.mp4'));
    }
    expect(await history(12)).toEqual([]);
  });

  it('says where the file is when it is missing from the tier MySQL names', async () => {
    await insertContents(t.db, [{ cid: 15, level: 'bronze', filename: 'o.mp4' }]);
    await writeFile(path.join(dir('gold'), 'o.mp4'), 'moved by hand');
    await start();
    const job = await post(15, 1001);
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome).toMatchObject({ state: 'failed' });
    if (outcome.state === 'failed') {
      expect(outcome.reason).toMatch(/^FILE_MISSING: /);
      expect(outcome.reason).toContain(`the file is at ${path.join(dir('gold'), 'o.mp4')}`);
    }
    expect(await readFile(path.join(dir('gold'), 'o.mp4'), 'utf8')).toBe('moved by hand');
  });

  it('fails permanently when the content is not in MySQL', async () => {
    await start();
    const job = await enqueueRelocation(queue, {
      cid: 404,
      count: 5,
      target: 'bronze',
      from: 'silver',
      requestedAt: Date.now(),
    });
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome).toMatchObject({ state: 'failed' });
    if (outcome.state === 'failed') expect(outcome.reason).toMatch(/^CONTENT_NOT_FOUND: /);
  });

  it('first finishes an interrupted move, then follows the newer count (no copy left behind)', async () => {
    // A crashed attempt moved m.mp4 bronze → silver but never committed; the count is now gold's.
    await insertContents(t.db, [{ cid: 13, level: 'bronze', filename: 'm.mp4' }]);
    const digest = await writeSeededFile(path.join(dir('silver'), 'm.mp4'), 1 << 20, 'm');
    await writeFile(path.join(dir('silver'), `${tempPrefix('m.mp4')}j1-dead00`), 'partial');
    await journal.begin(13, {
      from: 'bronze',
      to: 'silver',
      filename: 'm.mp4',
      jobId: 'crashed',
      startedAt: Date.now() - 1000,
    });
    await start();
    const job = await post(13, 5000);
    expect(await jobOutcome(events, job.id ?? '')).toMatchObject({
      state: 'completed',
      result: { outcome: 'moved', from: 'silver', to: 'gold' },
    });
    expect(await list(dir('bronze'))).not.toContain('m.mp4');
    expect((await list(dir('silver'))).filter((f) => f.includes('m.mp4'))).toEqual([]);
    expect(await list(dir('gold'))).toContain('m.mp4');
    expect(await sha256File(path.join(dir('gold'), 'm.mp4'))).toBe(digest);
    const rows = (await history(13)).reverse();
    expect(rows.map((h) => [h.old_content_level, h.new_content_level])).toEqual([
      ['bronze', 'silver'],
      ['silver', 'gold'],
    ]);
    expect((await getContent(t.db, 13))?.content_level).toBe('gold');
    expect(await journal.get(13)).toBeNull();
  });

  it('ends a pending move whose level was removed with a permanent failure that says so, and later jobs of the cid run', async () => {
    await insertContents(t.db, [{ cid: 215, level: 'bronze', filename: 'level-gone.mp4' }]);
    await writeFile(path.join(dir('bronze'), 'level-gone.mp4'), 'o');
    await journal.begin(215, {
      from: 'bronze',
      to: 'platinum',
      filename: 'level-gone.mp4',
      jobId: 'crashed',
      startedAt: Date.now() - 1000,
    });
    await start();
    const job = await post(215, 2500);
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome).toMatchObject({ state: 'failed' });
    if (outcome.state !== 'failed') return;
    expect(outcome.reason).toMatch(
      /^LEVEL_NOT_FOUND: .*level "platinum" is no longer in the level table/,
    );
    expect(outcome.reason).toMatch(/pending move was cleared/);
    expect(await journal.get(215)).toBeNull();
    expect(await list(dir('bronze'))).toContain('level-gone.mp4');

    const next = await post(215, 2500);
    expect(await jobOutcome(events, next.id ?? '')).toMatchObject({
      state: 'completed',
      result: { outcome: 'moved', from: 'bronze', to: 'gold' },
    });
  });

  it('finishes a committed pending move with the copy bandwidth limit (reconcile repairs are throttled too)', async () => {
    // MySQL says silver; the file is still on bronze (disk → tmpfs: a copy), as a reconcile
    // repair leaves it: the next job finishes the move, at RELOCATOR_COPY_BYTES_PER_SECOND.
    await insertContents(t.db, [{ cid: 216, level: 'silver', filename: 'throttled-repair.mp4' }]);
    const digest = await writeSeededFile(
      path.join(dir('bronze'), 'throttled-repair.mp4'),
      6 << 20,
      'p',
    );
    await journal.begin(216, {
      from: 'bronze',
      to: 'silver',
      filename: 'throttled-repair.mp4',
      jobId: 'reconcile-1',
      startedAt: Date.now(),
    });
    await start({ RELOCATOR_COPY_BYTES_PER_SECOND: String(4 << 20) });
    const job = await post(216, 1500);
    expect(await jobOutcome(events, job.id ?? '')).toMatchObject({ state: 'completed' });
    const done = await h.queue.getJob(job.id ?? '');
    // 6 MiB at 4 MiB/s: unthrottled this copy takes a few milliseconds.
    expect((done?.finishedOn ?? 0) - (done?.processedOn ?? 0)).toBeGreaterThanOrEqual(1200);
    expect(await sha256File(path.join(dir('silver'), 'throttled-repair.mp4'))).toBe(digest);
    expect(await list(dir('bronze'))).not.toContain('throttled-repair.mp4');
    expect(await journal.get(216)).toBeNull();
  });

  it('fails a job whose payload breaks the queue contract at once, with INVALID_JOB naming the field', async () => {
    await start();
    const job = await h.queue.add(
      'relocate',
      // Not what the gateway queues: a cid that is not a number, no target.
      { cid: 'seven', count: 10 } as unknown as Parameters<typeof h.queue.add>[1],
      { attempts: 3 },
    );
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome).toMatchObject({ state: 'failed' });
    if (outcome.state !== 'failed') return;
    expect(outcome.reason).toMatch(
      /^INVALID_JOB: job \S+ does not match the relocation job contract \(cid: /,
    );
    expect((await h.queue.getJob(job.id ?? ''))?.attemptsMade).toBe(1);
  });

  it('delays a move until the minimum residence has passed', async () => {
    const movedAt = new Date(Date.now() - 500);
    await insertContents(t.db, [
      { cid: 14, level: 'bronze', filename: 'n.mp4', updateTime: movedAt },
    ]);
    await writeFile(path.join(dir('bronze'), 'n.mp4'), 'n');
    await start({ TIERING_MIN_RESIDENCE_MS: '1500' });
    const job = await post(14, 2500);
    const outcome = await jobOutcome(events, job.id ?? '');
    expect(outcome).toMatchObject({ state: 'completed', result: { outcome: 'moved', to: 'gold' } });
    const rows = await history(14);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.new_updated_date.getTime()).toBeGreaterThanOrEqual(movedAt.getTime() + 1500);
    // The wait is not a failed attempt: one attempt, completed, no failure recorded.
    const stored = await queue.getJob(job.id ?? '');
    expect(stored?.attemptsMade).toBe(1);
    expect(stored?.failedReason).toBeFalsy();
  });

  it('serves /metrics and /healthz over HTTP', async () => {
    const handle = await start();
    const server = await startMetricsServer(handle.metrics.registry, {
      port: 0,
      host: '127.0.0.1',
      healthy: () => handle.worker.isRunning(),
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      for (const name of [
        'relocator_moves_total',
        'relocator_bytes_moved_total',
        'relocator_move_duration_seconds',
        'relocator_active_jobs',
        'process_cpu_user_seconds_total',
      ]) {
        expect(text).toContain(`# TYPE ${name}`);
      }
      const health = await fetch(`${base}/healthz`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('the level table a relocator uses', () => {
  it('follows a level change published by the gateway at once, and one made in MySQL within seconds', async () => {
    await insertContents(t.db, [
      { cid: 41, level: 'bronze', filename: 'lv1.mp4' },
      { cid: 42, level: 'bronze', filename: 'lv2.mp4' },
    ]);
    await writeFile(path.join(dir('bronze'), 'lv1.mp4'), 'one');
    await writeFile(path.join(dir('bronze'), 'lv2.mp4'), 'two');
    let clock = Date.now();
    await start({}, { now: () => clock });
    try {
      // 700 views: bronze under the current table, no move; the table is now cached.
      expect(await jobOutcome(events, (await post(41, 700)).id ?? '')).toMatchObject({
        result: { outcome: 'noop', level: 'bronze' },
      });

      // The gateway replaces the table (bronze ends at 499) and publishes a new version.
      const lower = levels.map((l) =>
        l.name === 'bronze'
          ? { ...l, maxCount: 499 }
          : l.name === 'silver'
            ? { ...l, minCount: 500 }
            : l,
      );
      await replaceLevels(t.db, lower);
      await cache.publishLevels(lower);
      expect(await jobOutcome(events, (await post(41, 700)).id ?? '')).toMatchObject({
        result: { outcome: 'moved', from: 'bronze', to: 'silver' },
      });

      // An operator edits MySQL directly (no version bump): seen once the cached copy is old.
      await t.db
        .updateTable('level')
        .set({ max_counts: 599 })
        .where('content_level', '=', 'bronze')
        .execute();
      await t.db
        .updateTable('level')
        .set({ min_counts: 600 })
        .where('content_level', '=', 'silver')
        .execute();
      expect(await jobOutcome(events, (await post(42, 550)).id ?? '')).toMatchObject({
        result: { outcome: 'moved', to: 'silver' },
      });
      await post(42, 10); // back to bronze, with the table still cached
      await until(
        async () => (await getContent(t.db, 42))?.content_level === 'bronze',
        5000,
        'cid 42 back on bronze',
      );
      clock += 6000;
      expect(await jobOutcome(events, (await post(42, 550)).id ?? '')).toMatchObject({
        result: { outcome: 'noop', level: 'bronze' },
      });
    } finally {
      await replaceLevels(t.db, levels);
      await cache.publishLevels(levels);
    }
  });
});
