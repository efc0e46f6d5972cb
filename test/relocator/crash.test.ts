import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getContent, getContentHistory, parseDatabaseUrl } from '@relocation/db';
import { sha256File, tempPrefix } from '@relocation/relocator';
import { sql } from 'kysely';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHarness,
  insertContents,
  jobOutcome,
  killHard,
  list,
  progressReached,
  spawnRelocator,
  until,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from './support.ts';

const SIZE = 200 * 1024 * 1024;

let h: Harness;
const children: RelocatorProcess[] = [];

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await Promise.all(children.map((c) => killHard(c)));
  await h.close();
});

describe('a relocator killed in the middle of a copy', () => {
  it('leaves a state the next relocator completes: one copy, no temp file, one history row', async () => {
    await insertContents(h.t.db, [{ cid: 7, level: 'bronze', filename: 'g.mp4' }]);
    const source = path.join(h.dir('bronze'), 'g.mp4');
    const digest = await writeSeededFile(source, SIZE, 'crash');

    // 100 MB/s: the copy takes about two seconds, so the kill lands in the middle of it.
    const first = spawnRelocator(h.env({ RELOCATOR_COPY_BYTES_PER_SECOND: String(100 << 20) }));
    children.push(first);
    const job = await h.post(7, 1500);
    const jobId = job.id ?? '';
    const finished = jobOutcome(h.events, jobId, 60_000);
    await progressReached(h.events, jobId, 10);
    const isTemp = (f: string) => f.startsWith(tempPrefix('g.mp4'));
    await until(async () => (await list(h.dir('silver'))).some(isTemp), 5000, 'the temp copy');
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    // The crash left a partial copy, the intact source and a pending move; MySQL is unchanged.
    const partial = (await list(h.dir('silver'))).filter(isTemp);
    expect(partial).toHaveLength(1);
    expect((await stat(path.join(h.dir('silver'), partial[0] ?? ''))).size).toBeLessThan(SIZE);
    expect(await list(h.dir('silver'))).not.toContain('g.mp4');
    expect((await stat(source)).size).toBe(SIZE);
    expect((await getContent(h.t.db, 7))?.content_level).toBe('bronze');
    expect(await h.journal.get(7)).toMatchObject({ from: 'bronze', to: 'silver', jobId });
    expect(await h.queue.getJobCounts('active')).toEqual({ active: 1 });

    // A new relocator takes the stalled job over once its lock expires, and finishes it.
    const second = spawnRelocator(h.env());
    children.push(second);
    expect(await finished).toMatchObject({
      state: 'completed',
      result: { outcome: 'moved', from: 'bronze', to: 'silver', bytes: SIZE },
    });

    expect(await list(h.dir('bronze'))).toEqual([]);
    expect(await list(h.dir('silver'))).toEqual(['g.mp4']);
    expect(await list(h.dir('gold'))).toEqual([]);
    expect(await sha256File(path.join(h.dir('silver'), 'g.mp4'))).toBe(digest);
    expect((await getContent(h.t.db, 7))?.content_level).toBe('silver');
    const history = await getContentHistory(h.t.db, 7);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      old_content_level: 'bronze',
      new_content_level: 'silver',
      job_id: jobId,
      bytes: SIZE,
    });
    expect(await h.journal.get(7)).toBeNull();
    expect((await h.cache.get(7))?.level).toBe('silver');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe("a relocator killed between a group's file moves and its commit", () => {
  it('leaves pending moves the next relocator commits exactly once each: no file lost or doubled', async () => {
    const cids = [21, 22, 23, 24];
    await insertContents(
      h.t.db,
      cids.map((cid) => ({ cid, level: 'bronze', filename: `k${cid}.mp4` })),
    );
    for (const cid of cids) await writeFile(path.join(h.dir('bronze'), `k${cid}.mp4`), `k${cid}`);
    // Another session holds the rows: each move renames its file (bronze → gold, one disk), then
    // its group's SELECT … FOR UPDATE waits, files moved and MySQL unchanged.
    const locker = await createConnection({ ...parseDatabaseUrl(h.t.url), timezone: 'Z' });
    try {
      await locker.beginTransaction();
      await locker.query(`SELECT cid FROM contents WHERE cid IN (${cids.join(',')}) FOR UPDATE`);
      const first = spawnRelocator(
        h.env({
          RELOCATOR_CONCURRENCY: String(cids.length),
          RELOCATOR_COMMIT_GROUP_MS: '1000',
          RELOCATOR_COMMIT_GROUP_MAX: String(cids.length),
        }),
      );
      children.push(first);
      await first.waitForLog((l) => l.msg === 'relocator started', 60_000);
      const jobs = await Promise.all(cids.map((cid) => h.post(cid, 2500)));
      const outcomes = jobs.map((job) => jobOutcome(h.events, job.id ?? '', 60_000));
      // Every move waits in a commit: the locking reads waiting on the rows name every cid, one at
      // least two. (The process list, not innodb_trx: MariaDB does not always list a locking read
      // that waits there as LOCK WAIT.)
      let waiting: string[] = [];
      await until(
        async () => {
          const { rows } = await sql<{ query: string | null }>`
            select info as query from information_schema.processlist
            where db = database() and command = 'Query' and info like '%for update%'
              and id <> connection_id()`.execute(h.t.db);
          waiting = rows.map((r) => r.query ?? '');
          return cids.every((cid) => waiting.some((q) => q.includes(String(cid))));
        },
        30_000,
        'the group commit to wait for the locked rows',
      );
      expect(waiting.some((q) => cids.filter((cid) => q.includes(String(cid))).length > 1)).toBe(
        true,
      );
      expect(await list(h.dir('bronze'))).toEqual([]);
      expect(await list(h.dir('gold'))).toEqual(cids.map((cid) => `k${cid}.mp4`));
      for (const cid of cids) {
        expect(await h.journal.get(cid)).toMatchObject({ from: 'bronze', to: 'gold' });
      }

      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      await locker.rollback();
      for (const cid of cids) {
        expect((await getContent(h.t.db, cid))?.content_level).toBe('bronze');
        expect(await getContentHistory(h.t.db, cid)).toEqual([]);
      }

      // A new relocator takes the stalled jobs over: each finds its pending move and commits it.
      const second = spawnRelocator(h.env());
      children.push(second);
      const finished = await Promise.all(outcomes);
      for (const outcome of finished) {
        expect(outcome).toMatchObject({
          state: 'completed',
          result: { outcome: 'moved', from: 'bronze', to: 'gold' },
        });
      }
      expect(await list(h.dir('bronze'))).toEqual([]);
      // Silver holds the file of the test above; none of these.
      expect((await list(h.dir('silver'))).filter((f) => f.startsWith('k'))).toEqual([]);
      expect(await list(h.dir('gold'))).toEqual(cids.map((cid) => `k${cid}.mp4`));
      for (const [i, cid] of cids.entries()) {
        expect((await getContent(h.t.db, cid))?.content_level).toBe('gold');
        const history = await getContentHistory(h.t.db, cid);
        expect(history).toHaveLength(1);
        expect(history[0]).toMatchObject({
          old_content_level: 'bronze',
          new_content_level: 'gold',
          job_id: jobs[i]?.id,
        });
        expect(await h.journal.get(cid)).toBeNull();
        expect((await h.cache.get(cid))?.level).toBe('gold');
      }
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await locker.end();
    }
  }, 90_000);
});
