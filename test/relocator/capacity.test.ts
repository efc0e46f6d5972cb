import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import {
  getContent,
  getContentHistory,
  readTierUsage,
  recountTierUsage,
  replaceLevels,
  setContentPin,
} from '@relocation/db';
import {
  loadConfig as loadGatewayConfig,
  startGateway,
  type GatewayHandle,
} from '@relocation/gateway';
import { getRelocationStatus, syncCache } from '@relocation/queue';
import { sha256File } from '@relocation/relocator';
import type { Level } from '@relocation/tiering';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.ts';
import {
  createHarness,
  insertContents,
  killHard,
  list,
  REPO_ROOT,
  spawnRelocator,
  until,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from './support.ts';

const run = promisify(execFile);

/** Tier capacity on real files with tiny capacities: admission below the high watermark, demotions. */
describe('tier capacity', () => {
  let h: Harness;
  let gateway: GatewayHandle;
  let relocator: RelocatorProcess | null = null;
  let metricsPort = 0;

  beforeAll(async () => {
    h = await createHarness();
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
  beforeEach(async () => {
    // Each test starts from empty tiers, tables and queue.
    await h.queue.obliterate({ force: true });
    for (const table of [
      'content_pin',
      'update_history',
      'tier_reservation',
      'contents',
    ] as const) {
      await h.t.db.deleteFrom(table).execute();
    }
    for (const level of h.levels) {
      for (const name of await list(level.path)) {
        if (name.endsWith('.mp4')) await rm(path.join(level.path, name));
      }
    }
    await replaceLevels(h.t.db, h.levels);
    await recountTierUsage(h.t.db);
  });
  afterEach(async () => {
    if (relocator) await killHard(relocator);
    relocator = null;
  });
  afterAll(async () => {
    await gateway?.close();
    await h.close();
  });

  async function startRelocator(extra: Record<string, string> = {}): Promise<RelocatorProcess> {
    metricsPort = await freePort();
    relocator = spawnRelocator(
      h.env({
        RELOCATOR_METRICS_PORT: String(metricsPort),
        RELOCATOR_METRICS_HOST: '127.0.0.1',
        RELOCATOR_FAULT_RETRY_MAX_MS: '1000',
        CAPACITY_SWEEP_EVERY: '1s',
        ...extra,
      }),
    );
    await relocator.waitForLog((l) => l.msg === 'relocator started');
    return relocator;
  }

  /** Gives gold a capacity (the other tiers none). */
  async function goldCapacity(capacity: Partial<Level>): Promise<void> {
    await replaceLevels(
      h.t.db,
      h.levels.map((l) => (l.name === 'gold' ? { ...l, ...capacity } : l)),
    );
  }

  /** Contents with real files of known sizes on their tiers, counted in the usage. */
  async function place(
    rows: readonly { cid: number; level: string; bytes: number; count: number }[],
  ): Promise<Map<number, string>> {
    await insertContents(
      h.t.db,
      rows.map((r) => ({
        cid: r.cid,
        level: r.level,
        filename: `c${r.cid}.mp4`,
        viewCount: r.count,
      })),
    );
    const digests = new Map<number, string>();
    for (const r of rows) {
      digests.set(
        r.cid,
        await writeSeededFile(path.join(h.dir(r.level), `c${r.cid}.mp4`), r.bytes, `c${r.cid}`),
      );
      await h.t.db
        .updateTable('contents')
        .set({ size_bytes: r.bytes })
        .where('cid', '=', r.cid)
        .execute();
      await h.cache.fill(r.cid, { level: r.level, filename: `c${r.cid}.mp4` });
      await h.cache.recordCount(r.cid, r.count);
    }
    await recountTierUsage(h.t.db);
    return digests;
  }

  async function levelOf(cid: number): Promise<string | undefined> {
    return (await getContent(h.t.db, cid))?.content_level;
  }

  async function metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  }

  it('holds a promotion that would pass the high watermark without failing it, and lets it through once space frees up', async () => {
    // gold may hold 900 bytes (90 % of 1000).
    await goldCapacity({ capacityBytes: 1000, highWatermark: 90, lowWatermark: 50 });
    const digests = await place([
      { cid: 1, level: 'gold', bytes: 400, count: 5000 },
      { cid: 2, level: 'bronze', bytes: 400, count: 10 },
      { cid: 3, level: 'bronze', bytes: 300, count: 10 },
    ]);
    const proc = await startRelocator();

    await h.post(2, 3000);
    await until(async () => (await levelOf(2)) === 'gold', 15_000, 'cid 2 on gold');
    const job = await h.post(3, 3000);
    await until(
      async () => (await getRelocationStatus(h.queue, h.cache, 3)).state === 'waiting-for-space',
      15_000,
      'cid 3 waiting for space',
    );
    // Several tries later: still waiting, never failed, nothing written to gold.
    await until(
      () => proc.logs.filter((l) => l.code === 'TIER_AT_HIGH_WATERMARK').length >= 3,
      15_000,
      'three tries',
    );
    // Between two tries it is delayed; a try in progress shows as active.
    expect(['delayed', 'active']).toContain(await h.queue.getJobState(job.id ?? ''));
    expect(await levelOf(3)).toBe('bronze');
    expect(await list(h.dir('gold'))).not.toContain('c3.mp4');
    const shown = await gateway.app.inject({ method: 'GET', url: '/v1/contents/3' });
    expect(shown.json()).toMatchObject({
      level: 'bronze',
      settled: false,
      reason: expect.stringMatching(/waits for space/) as string,
      relocation: {
        state: 'waiting-for-space',
        target: 'gold',
        hold: {
          code: 'TIER_AT_HIGH_WATERMARK',
          level: 'gold',
          message: expect.stringMatching(
            /gold holds 800 bytes .* of the 900 its high watermark allows .* this 300-byte file waits/,
          ) as string,
        },
      },
    });
    const text = await metrics();
    expect(text).toMatch(
      /relocator_waiting_moves_total\{code="TIER_AT_HIGH_WATERMARK",level="gold"\} [1-9]/,
    );
    expect(text).toMatch(/relocator_tier_bytes\{level="gold"\} 800\b/);
    expect(text).toMatch(/relocator_tier_files\{level="gold"\} 2\b/);
    expect(text).toMatch(/relocator_tier_high_watermark_bytes\{level="gold"\} 900\b/);
    // Below the high watermark already: the sweep demoted nothing.
    expect(text).not.toMatch(/relocator_capacity_demotions_total\{level="gold"\} [1-9]/);

    // An ordinary demotion frees 400 bytes: the held promotion goes through.
    await h.post(1, 10);
    await until(async () => (await levelOf(3)) === 'gold', 20_000, 'cid 3 on gold');
    expect(await levelOf(1)).toBe('bronze');
    expect(await sha256File(path.join(h.dir('gold'), 'c3.mp4'))).toBe(digests.get(3));
    expect((await readTierUsage(h.t.db)).get('gold')).toEqual({ files: 2, bytes: 700 });
    expect(await recountTierUsage(h.t.db)).toEqual([]);
    await until(
      async () => (await getRelocationStatus(h.queue, h.cache, 3)).state === 'idle',
      5000,
      'cid 3 idle',
    );
    expect(await h.queue.getJobState(job.id ?? '')).not.toBe('failed');
  });

  it('demotes the coldest unpinned contents of a tier above its high watermark down to its low watermark', async () => {
    // Six 100-byte files on gold (600 bytes); the capacity drops to 600 with 90 % / 50 %:
    // 600 > 540 so the sweep frees 300 bytes, coldest first, never the pinned one.
    const counts = { 10: 2100, 11: 2200, 12: 5000, 13: 2050, 14: 9000, 15: 3000 } as const;
    const digests = await place(
      Object.entries(counts).map(([cid, count]) => ({
        cid: Number(cid),
        level: 'gold',
        bytes: 100,
        count,
      })),
    );
    await setContentPin(h.t.db, {
      cid: 13,
      level: 'gold',
      until: null,
      reason: 'launch',
      actor: 'cli:test',
    });
    await goldCapacity({ capacityBytes: 600, highWatermark: 90, lowWatermark: 50 });
    await startRelocator();

    await until(
      async () => (await readTierUsage(h.t.db)).get('gold')?.bytes === 300,
      20_000,
      'gold down to its low watermark',
    );
    const placed: Record<string, string | undefined> = {};
    for (const cid of Object.keys(counts)) placed[cid] = await levelOf(Number(cid));
    expect(placed).toEqual({
      10: 'silver',
      11: 'silver',
      12: 'gold',
      13: 'gold',
      14: 'gold',
      15: 'silver',
    });
    for (const cid of [10, 11, 15]) {
      const history = await getContentHistory(h.t.db, cid);
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({
        old_content_level: 'gold',
        new_content_level: 'silver',
        reason: 'capacity',
      });
      expect(await sha256File(path.join(h.dir('silver'), `c${cid}.mp4`))).toBe(digests.get(cid));
      expect(await list(h.dir('gold'))).not.toContain(`c${cid}.mp4`);
    }
    // Later sweeps find gold below its high watermark and leave it alone.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await readTierUsage(h.t.db)).get('gold')).toEqual({ files: 3, bytes: 300 });
    expect(await getContentHistory(h.t.db, 13)).toEqual([]);
    expect(await metrics()).toMatch(/relocator_capacity_demotions_total\{level="gold"\} 3\b/);
    // A demoted content is not stuck: the sweep that lists stuck contents leaves it out, and
    // its status says why it is where it is.
    const sweep = await syncCache({ db: h.t.db, cache: h.cache }, { fix: false });
    expect(sweep.stuck.map((c) => c.cid)).toEqual([]);
    const shown = await gateway.app.inject({ method: 'GET', url: '/v1/contents/10' });
    expect(shown.json()).toMatchObject({
      level: 'silver',
      target: 'gold',
      settled: false,
      reason: expect.stringMatching(/^demoted from gold by the capacity sweep/) as string,
    });
    expect(await recountTierUsage(h.t.db)).toEqual([]);
  });

  it('makes room for a hotter content waiting for space by demoting a colder one, never a hotter one', async () => {
    // gold holds 800 of its 900 allowed bytes; cid 32 (hot) and 34 (lukewarm) wait for space.
    await goldCapacity({ capacityBytes: 1000, highWatermark: 90, lowWatermark: 50 });
    await place([
      { cid: 30, level: 'gold', bytes: 400, count: 2100 },
      { cid: 31, level: 'gold', bytes: 400, count: 8000 },
      { cid: 32, level: 'bronze', bytes: 300, count: 10 },
      { cid: 34, level: 'bronze', bytes: 300, count: 10 },
    ]);
    await startRelocator();
    await h.post(34, 2050);
    await h.post(32, 5000);

    await until(async () => (await levelOf(32)) === 'gold', 20_000, 'cid 32 on gold');
    expect(await levelOf(30)).toBe('silver');
    expect((await getContentHistory(h.t.db, 30))[0]).toMatchObject({
      old_content_level: 'gold',
      new_content_level: 'silver',
      reason: 'capacity',
    });
    // cid 34 is colder than every content left on gold: it keeps waiting, nothing else moves.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await getRelocationStatus(h.queue, h.cache, 34)).state).toBe('waiting-for-space');
    expect(await levelOf(31)).toBe('gold');
    expect(await levelOf(34)).toBe('bronze');
    expect((await readTierUsage(h.t.db)).get('gold')).toEqual({ files: 2, bytes: 700 });
    // cid 34 never entered gold (the space freed for cid 32 was earmarked for it).
    expect(await getContentHistory(h.t.db, 34)).toEqual([]);
  });

  it("npm run levels shows each tier's usage and --sweep queues the demotions at once", async () => {
    await place([
      { cid: 40, level: 'gold', bytes: 300, count: 2100 },
      { cid: 41, level: 'gold', bytes: 300, count: 7000 },
      { cid: 42, level: 'bronze', bytes: 50, count: 10 },
    ]);
    await goldCapacity({ capacityBytes: 600, highWatermark: 80, lowWatermark: 50 });
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'apps/relocator/src/levels.main.ts', ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...h.env() },
      });
    const shown = JSON.parse((await cli('--json')).stdout) as {
      levels: Level[];
      usage: Record<string, Record<string, unknown>>;
    };
    expect(shown.levels.map((l) => l.name)).toEqual(['bronze', 'silver', 'gold']);
    expect(shown.usage.gold).toEqual({
      files: 2,
      bytes: 600,
      reservedBytes: 0,
      capacityBytes: 600,
      highWatermarkBytes: 480,
      lowWatermarkBytes: 300,
      percent: 100,
      aboveHighWatermark: true,
    });
    expect(shown.usage.bronze).toMatchObject({ files: 1, bytes: 50, capacityBytes: null });

    const swept = (await cli('--sweep')).stdout;
    expect(swept).toMatch(
      /^capacity sweep: gold above its high watermark \(600 B > 480 B\): 1 demotions queued \(300 B\)$/m,
    );
    expect(swept).toMatch(
      /\ngold +2000\+ +\S+ +2 +600 B +0 B +600 B +80% 480 B +50% 300 B +100\.0% +ABOVE HIGH WATERMARK\n/,
    );
    const jobId = await h.queue.getDeduplicationJobId('cid-40');
    const job = jobId ? await h.queue.getJob(jobId) : undefined;
    expect(job?.data).toMatchObject({
      cid: 40,
      from: 'gold',
      target: 'silver',
      reason: 'capacity',
    });
    expect(await h.queue.getDeduplicationJobId('cid-41')).toBeFalsy();
    // A second sweep finds the demotion under way and queues nothing more.
    expect((await cli('--sweep')).stdout).toMatch(
      /capacity sweep: gold above its high watermark .*: nothing to demote; 300 B already being demoted/,
    );
  });

  it('finishes a demotion interrupted by SIGKILL mid-copy: one copy, one history row, reason capacity', async () => {
    const MiB = 1024 * 1024;
    // gold (disk) above its high watermark; the demotion to silver (tmpfs) is a throttled copy.
    const digests = await place([
      { cid: 20, level: 'gold', bytes: 4 * MiB, count: 2100 },
      { cid: 21, level: 'gold', bytes: 100, count: 9000 },
    ]);
    await goldCapacity({ capacityBytes: 4 * MiB, highWatermark: 90, lowWatermark: 50 });
    const first = await startRelocator({ RELOCATOR_COPY_BYTES_PER_SECOND: String(MiB) });
    await until(
      async () => (await list(h.dir('silver'))).some((name) => name.includes('.relocating-')),
      15_000,
      'the demotion copying',
    );
    await killHard(first);
    relocator = null;
    expect(await levelOf(20)).toBe('gold');

    await startRelocator();
    await until(async () => (await levelOf(20)) === 'silver', 30_000, 'cid 20 demoted');
    const history = await getContentHistory(h.t.db, 20);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ new_content_level: 'silver', reason: 'capacity' });
    expect(await sha256File(path.join(h.dir('silver'), 'c20.mp4'))).toBe(digests.get(20));
    expect(await list(h.dir('gold'))).not.toContain('c20.mp4');
    await until(
      async () => !(await list(h.dir('silver'))).some((name) => name.includes('.relocating-')),
      10_000,
      'no temp file left',
    );
    expect(await levelOf(21)).toBe('gold');
    expect((await readTierUsage(h.t.db)).get('gold')).toEqual({ files: 1, bytes: 100 });
    expect(await recountTierUsage(h.t.db)).toEqual([]);
  });
});
