import { stat } from 'node:fs/promises';
import path from 'node:path';
import { getContent, getContentHistory } from '@relocation/db';
import { loadConfig, startRelocator, tempPrefix } from '@relocation/relocator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/services.ts';
import {
  SILENT,
  createHarness,
  insertContents,
  jobOutcome,
  killHard,
  list,
  progressReached,
  spawnRelocator,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from './support.ts';

let h: Harness;
const children: RelocatorProcess[] = [];

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await Promise.all(children.map((c) => killHard(c)));
  await h.close();
});

function start(env: Record<string, string>): RelocatorProcess {
  const child = spawnRelocator(h.env(env));
  children.push(child);
  return child;
}

describe('relocator shutdown', () => {
  it('on SIGTERM finishes the active move, commits it, takes no new job and exits 0', async () => {
    await insertContents(h.t.db, [
      { cid: 1, level: 'bronze', filename: 'a.mp4' },
      { cid: 2, level: 'bronze', filename: 'b.mp4' },
    ]);
    await writeSeededFile(path.join(h.dir('bronze'), 'a.mp4'), 120 << 20, 'a');
    await writeSeededFile(path.join(h.dir('bronze'), 'b.mp4'), 1 << 20, 'b');
    const relocator = start({
      RELOCATOR_CONCURRENCY: '1',
      RELOCATOR_COPY_BYTES_PER_SECOND: String(100 << 20),
    });
    const job = await h.post(1, 1500);
    const finished = jobOutcome(h.events, job.id ?? '');
    await progressReached(h.events, job.id ?? '', 5);

    relocator.child.kill('SIGTERM');
    await relocator.waitForLog((l) => l.msg === 'relocator stopping: no new jobs');
    const late = await h.post(2, 1500);

    expect(await relocator.exited).toBe(0);
    expect(await finished).toMatchObject({ state: 'completed', result: { outcome: 'moved' } });
    expect((await getContent(h.t.db, 1))?.content_level).toBe('silver');
    expect(await getContentHistory(h.t.db, 1)).toHaveLength(1);
    expect(await list(h.dir('silver'))).toEqual(['a.mp4']);
    expect(relocator.logs.some((l) => l.msg === 'relocator stopped')).toBe(true);
    // The job posted after SIGTERM waits for another relocator.
    expect(await late.getState()).toBe('waiting');
  });

  it('aborts a copy that outlasts the shutdown deadline, keeps the source and lets the job retry', async () => {
    await insertContents(h.t.db, [{ cid: 3, level: 'bronze', filename: 'c.mp4' }]);
    await writeSeededFile(path.join(h.dir('bronze'), 'c.mp4'), 64 << 20, 'c');
    const relocator = start({
      RELOCATOR_COPY_BYTES_PER_SECOND: String(8 << 20),
      RELOCATOR_SHUTDOWN_TIMEOUT_MS: '300',
    });
    const job = await h.post(3, 1500);
    await progressReached(h.events, job.id ?? '', 2);
    relocator.child.kill('SIGTERM');
    expect(await relocator.exited).toBe(0);
    expect(
      relocator.logs.some((l) => l.msg === 'shutdown deadline passed: aborting active moves'),
    ).toBe(true);

    expect((await list(h.dir('silver'))).filter((f) => f.startsWith(tempPrefix('c.mp4')))).toEqual(
      [],
    );
    expect((await stat(path.join(h.dir('bronze'), 'c.mp4'))).size).toBe(64 << 20);
    expect((await getContent(h.t.db, 3))?.content_level).toBe('bronze');
    expect(['delayed', 'waiting']).toContain(await job.getState());

    // Any relocator picks the retry up and completes it.
    const config = loadConfig({ ...h.env(), REDIS_URL: redisUrl() });
    const next = await startRelocator(config, { logger: SILENT, db: h.t.db });
    try {
      expect(await jobOutcome(h.events, job.id ?? '')).toMatchObject({ state: 'completed' });
    } finally {
      await next.close();
    }
    expect((await getContent(h.t.db, 3))?.content_level).toBe('silver');
    expect(await getContentHistory(h.t.db, 3)).toHaveLength(1);
  });

  it('exits at once with a non-zero status on a second signal', async () => {
    await insertContents(h.t.db, [{ cid: 4, level: 'bronze', filename: 'd.mp4' }]);
    await writeSeededFile(path.join(h.dir('bronze'), 'd.mp4'), 32 << 20, 'd');
    const relocator = start({ RELOCATOR_COPY_BYTES_PER_SECOND: String(4 << 20) });
    const job = await h.post(4, 1500);
    await progressReached(h.events, job.id ?? '', 2);
    const sent = Date.now();
    relocator.child.kill('SIGTERM');
    await relocator.waitForLog((l) => l.msg === 'relocator stopping: no new jobs');
    relocator.child.kill('SIGTERM');
    expect(await relocator.exited).toBe(1);
    expect(Date.now() - sent).toBeLessThan(3000);
    expect((await getContent(h.t.db, 4))?.content_level).toBe('bronze');
  });
});
