import path from 'node:path';
import type { Job } from 'bullmq';
import { getContent, getContentHistory } from '@relocation/db';
import type { RelocationJobData, RelocationResult } from '@relocation/queue';
import { sha256File } from '@relocation/relocator';
import { targetLevel } from '@relocation/tiering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHarness,
  insertContents,
  killHard,
  list,
  maxOverlap,
  spawnRelocator,
  until,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from './support.ts';

const CONTENTS = 60;
const ROUNDS = 5;
const TIERS = ['bronze', 'silver', 'gold'] as const;

let h: Harness;
const children: RelocatorProcess[] = [];

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await Promise.all(children.map((c) => killHard(c)));
  await h.close();
});

/** A small seeded PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe('two relocator processes on one queue', () => {
  it('moves every content to the target of its latest count, each move exactly once', async () => {
    const rand = random(20_181_126);
    const cids = Array.from({ length: CONTENTS }, (_, i) => i + 1);
    const initial = new Map(cids.map((cid) => [cid, TIERS[cid % 3] ?? 'bronze']));
    await insertContents(
      h.t.db,
      cids.map((cid) => ({ cid, level: initial.get(cid) ?? 'bronze', filename: `v${cid}.mp4` })),
    );
    const digests = new Map<number, string>();
    for (const cid of cids) {
      const file = path.join(h.dir(initial.get(cid) ?? 'bronze'), `v${cid}.mp4`);
      digests.set(
        cid,
        await writeSeededFile(file, 16_384 + Math.floor(rand() * 500_000), `r${cid}`),
      );
    }

    // Up to five moves per content in a few seconds: the flap budget (4/h by default) would hold
    // the fifth for an hour. This test is about two replicas, not the policy, so it is off.
    const env = h.env({ RELOCATOR_CONCURRENCY: '4', TIERING_FLAP_BUDGET: 'off' });
    const a = spawnRelocator(env);
    const b = spawnRelocator(env);
    children.push(a, b);

    const lastCount = new Map<number, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const { completed: before = 0 } = await h.queue.getJobCounts('completed');
      for (const cid of cids) {
        const count = Math.floor(rand() * 3000);
        lastCount.set(cid, count);
        await h.post(cid, count);
      }
      // Let some moves finish before the next round, so posts race active moves.
      await until(
        async () => ((await h.queue.getJobCounts('completed')).completed ?? 0) >= before + 10,
        20_000,
        `round ${round} to make progress`,
      );
    }
    await until(
      async () => {
        const counts = await h.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      60_000,
      'the queue to drain',
    );

    const failed = await h.queue.getJobs(['failed']);
    expect(failed.map((j) => j.failedReason)).toEqual([]);
    const jobs = (await h.queue.getJobs(['completed'])) as Job<
      RelocationJobData,
      RelocationResult
    >[];
    const movedJobIds = new Set(
      jobs.filter((j) => j.returnvalue.outcome === 'moved').map((j) => j.id),
    );

    const filesIn = new Map<string, string[]>();
    for (const tier of TIERS) filesIn.set(tier, await list(h.dir(tier)));
    let historyRows = 0;
    for (const cid of cids) {
      const filename = `v${cid}.mp4`;
      const target = targetLevel(lastCount.get(cid) ?? 0, h.levels).name;
      const content = await getContent(h.t.db, cid);
      expect(content?.content_level).toBe(target);
      expect((await h.cache.get(cid))?.level).toBe(target);
      for (const tier of TIERS) {
        expect(filesIn.get(tier)?.includes(filename)).toBe(tier === target);
      }
      expect(await sha256File(path.join(h.dir(target), filename))).toBe(digests.get(cid));

      // History is a chain from the initial tier to the final one; every link is a real change.
      const rows = (await getContentHistory(h.t.db, cid, { limit: 1000 })).reverse();
      historyRows += rows.length;
      let at: string | undefined = initial.get(cid);
      for (const row of rows) {
        expect(row.old_content_level).toBe(at);
        expect(row.new_content_level).not.toBe(row.old_content_level);
        expect(movedJobIds.has(row.job_id ?? '')).toBe(true);
        at = row.new_content_level;
      }
      expect(at).toBe(target);

      const own = jobs.filter((j) => j.data.cid === cid);
      expect(maxOverlap(own)).toBeLessThanOrEqual(1);
    }
    // Exactly one history row per job that reported a move: no move ran twice to completion.
    expect(historyRows).toBe(movedJobIds.size);
    const allFiles = [...filesIn.values()].flat();
    expect(allFiles).toHaveLength(CONTENTS);

    // Several jobs per content ran (follow-ups of counts that raced active moves).
    expect(jobs.length).toBeGreaterThan(CONTENTS);
    // Both processes took jobs.
    for (const child of [a, b]) {
      expect(child.logs.filter((l) => typeof l.outcome === 'string').length).toBeGreaterThan(0);
    }
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  });
});
