import { stat } from 'node:fs/promises';
import path from 'node:path';
import { getContent, getContentHistory } from '@relocation/db';
import { sha256File, tempPrefix } from '@relocation/relocator';
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
