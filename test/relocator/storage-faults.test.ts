import { rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { TIER_MARKER_FILE, writeTierMarker } from '@relocation/contract';
import { getContent, getContentHistory, getDeploymentId } from '@relocation/db';
import { getRelocationStatus, type RelocationStatus } from '@relocation/queue';
import {
  loadConfig as loadGatewayConfig,
  startGateway,
  type GatewayHandle,
} from '@relocation/gateway';
import { sha256File } from '@relocation/relocator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bindMount, cannotMount, mountTmpfs, remount, unmount } from '../support/mounts.ts';
import { freePort } from '../support/net.ts';
import {
  createHarness,
  insertContents,
  killHard,
  list,
  spawnRelocator,
  until,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from './support.ts';

const MiB = 1024 * 1024;
const skipReason = await cannotMount();
if (skipReason) console.warn(`storage-fault tests skipped: ${skipReason}`);

/** Real faults of the tier disks: a full, read-only, missing and unmounted disk. */
describe.skipIf(skipReason !== null)('storage faults', () => {
  let h: Harness;
  let gateway: GatewayHandle;
  let deployment: string;
  let relocator: RelocatorProcess | null = null;
  let metricsPort = 0;
  const mounts: string[] = [];

  beforeAll(async () => {
    h = await createHarness();
    deployment = await getDeploymentId(h.t.db);
    // The real gateway on the same database and prefix: what an operator sees.
    gateway = await startGateway(
      loadGatewayConfig({
        DATABASE_URL: h.t.url,
        REDIS_URL: h.env().REDIS_URL,
        QUEUE_PREFIX: h.r.prefix,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
      }),
    );
  });
  afterEach(async () => {
    if (relocator) await killHard(relocator);
    relocator = null;
    for (const dir of mounts.splice(0).reverse()) await unmount(dir);
  });
  afterAll(async () => {
    await gateway?.close();
    await h.close();
  });

  /** A relocator child that retries held moves every second at most and checks tiers often. */
  async function startRelocator(): Promise<RelocatorProcess> {
    metricsPort = await freePort();
    relocator = spawnRelocator(
      h.env({
        RELOCATOR_METRICS_PORT: String(metricsPort),
        RELOCATOR_METRICS_HOST: '127.0.0.1',
        RELOCATOR_FAULT_RETRY_MAX_MS: '1000',
        RELOCATOR_TIER_CHECK_MS: '200',
      }),
    );
    await relocator.waitForLog((l) => l.msg === 'relocator started');
    return relocator;
  }

  async function status(cid: number): Promise<RelocationStatus> {
    return getRelocationStatus(h.queue, h.cache, cid);
  }

  async function waitingWith(cid: number, code: string): Promise<RelocationStatus> {
    let last: RelocationStatus | null = null;
    await until(
      async () => {
        last = await status(cid);
        return last.state === 'waiting' && last.hold.code === code;
      },
      15_000,
      `cid ${cid} waiting with ${code}`,
    );
    if (!last) throw new Error('no status');
    return last;
  }

  async function readyz(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function tempFiles(): Promise<string[]> {
    const all = await Promise.all(['bronze', 'silver', 'gold'].map((l) => list(h.dir(l))));
    return all.flat().filter((name) => name.includes('.relocating-'));
  }

  /** Asserts a settled move: level in MySQL, one history row, the file only at `to`, idle. */
  async function expectMoved(
    cid: number,
    filename: string,
    digest: string,
    from: string,
    to: string,
  ): Promise<void> {
    await until(
      async () => (await getContent(h.t.db, cid))?.content_level === to,
      20_000,
      `cid ${cid} committed on ${to}`,
    );
    expect(await sha256File(path.join(h.dir(to), filename))).toBe(digest);
    expect(await list(h.dir(from))).not.toContain(filename);
    const history = await getContentHistory(h.t.db, cid);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ old_content_level: from, new_content_level: to });
    await until(async () => (await status(cid)).state === 'idle', 5000, `cid ${cid} idle`);
    expect((await h.cache.get(cid))?.hold).toBeNull();
    expect(await tempFiles()).toEqual([]);
  }

  it('waits out a full tier (no crash, no temp file, source kept) and moves once space frees up', async () => {
    // The scenario: silver on a 4 MiB disk, a 10 MiB file promoted into it.
    const silver = h.dir('silver');
    await mountTmpfs(silver, 4);
    mounts.push(silver);
    await writeTierMarker(silver, { level: 'silver', deployment });
    await insertContents(h.t.db, [{ cid: 4, level: 'bronze', filename: 'd.mp4' }]);
    const source = path.join(h.dir('bronze'), 'd.mp4');
    const digest = await writeSeededFile(source, 10 * MiB, 'full');
    const proc = await startRelocator();

    const job = await h.post(4, 1500);
    const waiting = await waitingWith(4, 'TIER_FULL');
    expect(waiting).toMatchObject({ jobId: job.id, hold: { level: 'silver' } });
    if (waiting.state !== 'waiting') throw new Error('not waiting');
    expect(waiting.hold.message).toMatch(
      /TIER_FULL: .*silver.* bytes free, the file needs 10485760/,
    );
    expect(await h.queue.getJobState(job.id ?? '')).toBe('delayed');
    // Still waiting after a few retries: never failed, the process is up, nothing was written.
    await until(
      () => proc.logs.filter((l) => l.code === 'TIER_FULL').length >= 3,
      10_000,
      'three tries',
    );
    expect(await h.queue.getJobState(job.id ?? '')).not.toBe('failed');
    expect(proc.child.exitCode).toBeNull();
    expect(await sha256File(source)).toBe(digest);
    expect(await list(silver)).toEqual([]);
    expect(await tempFiles()).toEqual([]);
    expect((await getContent(h.t.db, 4))?.content_level).toBe('bronze');
    const shown = await gateway.app.inject({ method: 'GET', url: '/v1/contents/4' });
    expect(shown.json()).toMatchObject({
      level: 'bronze',
      relocation: {
        state: 'waiting',
        target: 'silver',
        error: null,
        hold: {
          code: 'TIER_FULL',
          level: 'silver',
          message: expect.stringMatching(/bytes free/) as string,
        },
      },
    });
    const legacy = await gateway.app.inject({
      method: 'POST',
      url: '/update_sentence',
      payload: 'cid=4',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(legacy.body).toBe('check your status again');
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /relocator_waiting_moves_total\{code="TIER_FULL",level="silver"\} [1-9]/,
    );

    await remount(silver, 'size=32m');
    await expectMoved(4, 'd.mp4', digest, 'bronze', 'silver');
    expect(proc.child.exitCode).toBeNull();
  });

  it('never recreates a missing tier directory: the move waits, readiness names the tier, and it moves once the tier is back', async () => {
    const gold = h.dir('gold');
    await rm(gold, { recursive: true, force: true });
    await insertContents(h.t.db, [{ cid: 5, level: 'bronze', filename: 'e.mp4' }]);
    const source = path.join(h.dir('bronze'), 'e.mp4');
    const digest = await writeSeededFile(source, MiB, 'missing');
    const proc = await startRelocator();

    await h.post(5, 2500);
    const waiting = await waitingWith(5, 'TIER_UNAVAILABLE');
    if (waiting.state !== 'waiting') throw new Error('not waiting');
    expect(waiting.hold.level).toBe('gold');
    expect(waiting.hold.message).toMatch(/does not exist \(is its disk mounted\?\)/);
    await expect(stat(gold)).rejects.toThrow(/ENOENT/);
    expect(await sha256File(source)).toBe(digest);
    await until(async () => (await readyz()).status === 503, 5000, 'readiness to fail');
    const ready = await readyz();
    expect(ready.body).toMatchObject({
      status: 'not ready',
      tiers: [{ level: 'gold', code: 'TIER_UNAVAILABLE' }],
    });
    expect(proc.child.exitCode).toBeNull();

    await writeTierMarker(gold, { level: 'gold', deployment }, { createDirectory: true });
    await expectMoved(5, 'e.mp4', digest, 'bronze', 'gold');
    await until(async () => (await readyz()).status === 200, 5000, 'readiness to recover');
  });

  it('does not write into the empty mount point of an unmounted disk, and moves once it is mounted again', async () => {
    // The gold disk is a directory bind-mounted at the tier path; unmounting leaves the bare
    // mount point, which has no marker.
    const gold = h.dir('gold');
    const disk = path.join(h.scratch.disk, 'gold-disk');
    await writeTierMarker(disk, { level: 'gold', deployment }, { createDirectory: true });
    await unlink(path.join(gold, TIER_MARKER_FILE));
    await bindMount(disk, gold);
    mounts.push(gold);
    await unmount(gold);
    mounts.pop();
    await insertContents(h.t.db, [{ cid: 6, level: 'bronze', filename: 'f.mp4' }]);
    const digest = await writeSeededFile(path.join(h.dir('bronze'), 'f.mp4'), MiB, 'unmounted');
    await startRelocator();

    await h.post(6, 2500);
    const waiting = await waitingWith(6, 'TIER_UNAVAILABLE');
    if (waiting.state !== 'waiting') throw new Error('not waiting');
    expect(waiting.hold.message).toMatch(/has no \.relocation-tier marker/);
    expect(await list(gold)).not.toContain('f.mp4');

    await bindMount(disk, gold);
    mounts.push(gold);
    await expectMoved(6, 'f.mp4', digest, 'bronze', 'gold');
    // The file is on the disk, not under the mount point.
    await unmount(gold);
    mounts.pop();
    expect(await list(gold)).not.toContain('f.mp4');
    expect(await list(disk)).toEqual(['f.mp4']);
  });

  it('waits while the destination tier is read-only and moves once it is writable again', async () => {
    const silver = h.dir('silver');
    await mountTmpfs(silver, 64);
    mounts.push(silver);
    await writeTierMarker(silver, { level: 'silver', deployment });
    await remount(silver, 'ro');
    await insertContents(h.t.db, [{ cid: 8, level: 'bronze', filename: 'h.mp4' }]);
    const source = path.join(h.dir('bronze'), 'h.mp4');
    const digest = await writeSeededFile(source, 2 * MiB, 'read-only');
    const proc = await startRelocator();

    await h.post(8, 1500);
    const waiting = await waitingWith(8, 'TIER_READ_ONLY');
    if (waiting.state !== 'waiting') throw new Error('not waiting');
    expect(waiting.hold, JSON.stringify(waiting.hold)).toMatchObject({ level: 'silver' });
    expect(waiting.hold.message).toMatch(/EROFS/);
    expect(await sha256File(source)).toBe(digest);
    expect(await tempFiles()).toEqual([]);
    expect(proc.child.exitCode).toBeNull();

    await remount(silver, 'rw');
    await expectMoved(8, 'h.mp4', digest, 'bronze', 'silver');
  });

  it('finishes a move out of a read-only tier once it is writable: the copy waits in place, then the source goes', async () => {
    // silver (tmpfs) → bronze (disk) is a copy; the copy succeeds, the source's removal meets
    // EROFS: the pending move keeps both copies until the tier is writable again.
    const silver = h.dir('silver');
    await mountTmpfs(silver, 64);
    mounts.push(silver);
    await writeTierMarker(silver, { level: 'silver', deployment });
    await insertContents(h.t.db, [{ cid: 9, level: 'silver', filename: 'i.mp4' }]);
    const digest = await writeSeededFile(path.join(silver, 'i.mp4'), 2 * MiB, 'source-ro');
    await remount(silver, 'ro');
    await startRelocator();

    await h.post(9, 10);
    await waitingWith(9, 'TIER_READ_ONLY');
    expect((await getContent(h.t.db, 9))?.content_level).toBe('silver');
    expect(await sha256File(path.join(silver, 'i.mp4'))).toBe(digest);

    await remount(silver, 'rw');
    await expectMoved(9, 'i.mp4', digest, 'silver', 'bronze');
  });
});
