import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, lchown, readdir } from 'node:fs/promises';
import path from 'node:path';
import { TEMP_MARKER } from '@relocation/contract';
import { getContent, getContentHistory } from '@relocation/db';
import { getRelocationStatus, type RelocationStatus } from '@relocation/queue';
import { sha256File } from '@relocation/relocator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.ts';
import {
  REPO_ROOT,
  createHarness,
  insertContents,
  jobOutcome,
  killHard,
  list,
  spawnRelocator,
  until,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
  type SpawnUser,
} from './support.ts';

// Storage faults, "denied" (issue 16): a tier directory the relocator may not use (`chmod`) makes
// moves into it wait with TIER_DENIED, visibly, and the move completes by itself once the
// permissions are back. Root bypasses permission checks, so the relocator runs as `nobody` and
// the tier directories are handed to that user.

const SIZE = 4 * 1024 * 1024;

/** `nobody`'s uid and gid, or `null` when there is no such user. */
function nobody(): SpawnUser | null {
  try {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
    const user = { uid: id('-u'), gid: id('-g') };
    return Number.isInteger(user.uid) && Number.isInteger(user.gid) && user.uid !== 0 ? user : null;
  } catch {
    return null;
  }
}

/** True when `user` can read the repository (a checkout in a 0700 directory is not readable). */
function canReadRepo(user: SpawnUser): boolean {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `require('node:fs').accessSync(${JSON.stringify(path.join(REPO_ROOT, 'package.json'))})`,
    ],
    { uid: user.uid, gid: user.gid, stdio: 'ignore' },
  );
  return probe.status === 0;
}

const USER = nobody();
const skipReason =
  process.getuid?.() !== 0
    ? 'the test process is not root, so it can neither hand the tiers to another user nor run the relocator as one'
    : USER === null
      ? 'there is no non-root user "nobody" to run the relocator as'
      : !canReadRepo(USER)
        ? `user "nobody" cannot read the repository at ${REPO_ROOT} (a directory above it is not readable by others), so the relocator cannot run as that user`
        : null;
if (skipReason !== null) console.warn(`permission-faults.test.ts: skipped, ${skipReason}`);

/** Gives `root` and everything under it to `user`. */
async function chownTree(root: string, user: SpawnUser): Promise<void> {
  await lchown(root, user.uid, user.gid);
  for (const entry of await readdir(root, { recursive: true })) {
    await lchown(path.join(root, entry), user.uid, user.gid);
  }
}

interface Readyz {
  status: number;
  body: {
    status?: string;
    tiers?: { level: string; path: string; code: string; message: string }[];
  };
}

async function readyz(port: number): Promise<Readyz> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as Readyz['body'] };
}

/** Names of temporary copies (`.…relocating-…`) in a tier directory. */
async function tempFiles(dir: string): Promise<string[]> {
  return (await list(dir)).filter((name) => name.includes(TEMP_MARKER));
}

describe.skipIf(skipReason !== null)(
  'a tier the relocator may not use (EACCES) makes the move wait with TIER_DENIED, then it completes',
  () => {
    const user = USER ?? { uid: -1, gid: -1 };
    let h: Harness;
    let children: RelocatorProcess[] = [];
    /** Directories whose mode a test changed; put back to 0755 after each test. */
    let changed: string[] = [];

    beforeAll(async () => {
      h = await createHarness();
      // The relocator (as `nobody`) owns the tiers, so it can move files between them normally.
      await chownTree(h.scratch.disk, user);
      await chownTree(h.scratch.shm, user);
    });
    afterEach(async () => {
      // Permissions first, so the relocator could finish and the scratch cleanup can list them.
      await Promise.all(changed.map((dir) => chmod(dir, 0o755)));
      changed = [];
      await Promise.all(children.map((c) => killHard(c)));
      children = [];
    });
    afterAll(async () => {
      await h?.close();
    });

    /** Starts a relocator as `nobody` with fast fault retries and tier checks; waits for it. */
    async function startRelocator(): Promise<{ proc: RelocatorProcess; port: number }> {
      const port = await freePort();
      const proc = spawnRelocator(
        h.env({
          RELOCATOR_METRICS_PORT: String(port),
          RELOCATOR_METRICS_HOST: '127.0.0.1',
          RELOCATOR_FAULT_RETRY_MAX_MS: '1000',
          RELOCATOR_TIER_CHECK_MS: '200',
        }),
        [],
        user,
      );
      children.push(proc);
      await proc.waitForLog((l) => l.msg === 'relocator started', 30_000);
      return { proc, port };
    }

    function expectRunning(proc: RelocatorProcess): void {
      expect(proc.child.exitCode).toBeNull();
      expect(proc.child.signalCode).toBeNull();
    }

    /**
     * Content `cid` (a real file of {@link SIZE} bytes) on bronze; `tier`'s directory gets `mode`
     * while a relocator runs; a count promotes the content to `tier`. The move must wait (never
     * fail) with TIER_DENIED naming the directory, keep the source and leave no temporary copy,
     * and complete by itself once the directory is 0755 again.
     */
    async function deniedThenRestored(options: {
      cid: number;
      filename: string;
      tier: 'silver' | 'gold';
      count: number;
      mode: number;
      /** Post only once readiness reports the tier (the periodic tier check saw it first). */
      postAfterReadiness: boolean;
    }): Promise<{ proc: RelocatorProcess; port: number }> {
      const { cid, filename, tier, count, mode } = options;
      const bronze = h.dir('bronze');
      const dest = h.dir(tier);
      await insertContents(h.t.db, [{ cid, level: 'bronze', filename }]);
      const source = path.join(bronze, filename);
      const digest = await writeSeededFile(source, SIZE, `denied-${cid}`);
      await lchown(source, user.uid, user.gid);

      const { proc, port } = await startRelocator();
      expect((await readyz(port)).status).toBe(200);

      changed.push(dest);
      await chmod(dest, mode);
      const reportsTier = async () => {
        const r = await readyz(port);
        return (
          r.status === 503 &&
          (r.body.tiers ?? []).some(
            (t) => t.level === tier && t.code === 'TIER_DENIED' && t.message.includes(dest),
          )
        );
      };
      if (options.postAfterReadiness) {
        await until(reportsTier, 10_000, `/readyz to report ${tier} as TIER_DENIED`);
      }

      const job = await h.post(cid, count);
      const jobId = job.id ?? '';
      expect(job.data.target).toBe(tier);

      // The move waits, visibly: the cid's state is `waiting` with the fault and the directory.
      const seen: { status?: RelocationStatus } = {};
      await until(
        async () => {
          const status = await getRelocationStatus(h.queue, h.cache, cid);
          if (status.state === 'failed') throw new Error(`the job failed: ${status.error}`);
          seen.status = status;
          return status.state === 'waiting';
        },
        15_000,
        `cid ${cid} to be waiting`,
      );
      expect(seen.status).toMatchObject({
        state: 'waiting',
        jobId,
        target: tier,
        hold: { code: 'TIER_DENIED', level: tier },
      });
      expect(seen.status?.state === 'waiting' && seen.status.hold.message).toContain(dest);

      // It keeps waiting through retries (1 s apart here) and never fails.
      await until(
        () =>
          proc.logs.filter(
            (l) => l.jobId === jobId && String(l.msg).startsWith('relocation waits: TIER_DENIED: '),
          ).length >= 2,
        15_000,
        'a second "relocation waits" line for the job',
      );
      await until(
        async () => (await job.getState()) === 'delayed',
        5000,
        'the job to be delayed again',
      );
      const held = await h.queue.getJob(jobId);
      expect(held?.failedReason ?? '').toBe('');
      expect(await h.queue.getJobCounts('failed')).toEqual({ failed: 0 });
      // Neither a failure nor an ordinary retry: the fault is recognised as a storage fault.
      expect(
        proc.logs.filter(
          (l) => l.jobId === jobId && (l.outcome === 'failed' || l.outcome === 'retry'),
        ),
      ).toEqual([]);

      // The process is up, the source intact, nothing written to either tier.
      expectRunning(proc);
      expect(await list(bronze)).toContain(filename);
      expect(await sha256File(source)).toBe(digest);
      expect(await list(dest)).not.toContain(filename);
      expect(await tempFiles(dest)).toEqual([]);
      expect(await tempFiles(bronze)).toEqual([]);
      expect((await getContent(h.t.db, cid))?.content_level).toBe('bronze');
      expect(await getContentHistory(h.t.db, cid)).toEqual([]);
      await until(reportsTier, 5000, `/readyz to report ${tier} as TIER_DENIED`);

      // The fault is cleared: the move completes by itself, once.
      const outcome = jobOutcome(h.events, jobId, 20_000);
      await chmod(dest, 0o755);
      changed = changed.filter((dir) => dir !== dest);
      expect(await outcome).toMatchObject({
        state: 'completed',
        result: { outcome: 'moved', from: 'bronze', to: tier, bytes: SIZE },
      });

      expectRunning(proc);
      expect(await list(bronze)).not.toContain(filename);
      expect(await list(dest)).toContain(filename);
      expect(await sha256File(path.join(dest, filename))).toBe(digest);
      expect(await tempFiles(dest)).toEqual([]);
      expect(await tempFiles(bronze)).toEqual([]);
      expect((await getContent(h.t.db, cid))?.content_level).toBe(tier);
      const history = await getContentHistory(h.t.db, cid);
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({
        old_content_level: 'bronze',
        new_content_level: tier,
        job_id: jobId,
      });
      const cached = await h.cache.get(cid);
      expect(cached?.hold ?? null).toBeNull();
      expect(cached?.level).toBe(tier);
      expect(await h.journal.get(cid)).toBeNull();
      expect(await getRelocationStatus(h.queue, h.cache, cid)).toMatchObject({ state: 'idle' });
      return { proc, port };
    }

    it('gold (a rename from bronze) at chmod 000: waits, then moves once it is 0755 again', async () => {
      const { port } = await deniedThenRestored({
        cid: 1,
        filename: 'a.mp4',
        tier: 'gold',
        count: 2500,
        mode: 0o000,
        postAfterReadiness: true,
      });
      // The tier check found the fault (no move met it), so readiness recovers with the tier.
      await until(async () => (await readyz(port)).status === 200, 10_000, '/readyz to be ready');
    });

    it('silver (a copy from bronze, tmpfs) at chmod 000: waits, then copies once it is 0755 again', async () => {
      await deniedThenRestored({
        cid: 2,
        filename: 'b.mp4',
        tier: 'silver',
        count: 1500,
        mode: 0o000,
        postAfterReadiness: false,
      });
    });

    it('silver at chmod 555 (marker readable, the copy is refused): waits, no temp file, then copies', async () => {
      await deniedThenRestored({
        cid: 3,
        filename: 'c.mp4',
        tier: 'silver',
        count: 1500,
        mode: 0o555,
        postAfterReadiness: false,
      });
    });
  },
);
