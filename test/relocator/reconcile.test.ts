import { execFile } from 'node:child_process';
import { readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { TIER_MARKER_FILE } from '@relocation/contract';
import { getContent, getContentHistory, readTierUsage, recountTierUsage } from '@relocation/db';
import {
  MAINTENANCE_QUEUE,
  fixDrift,
  loadConfig,
  reconcile,
  startRelocator,
  tempPrefix,
  type RelocatorHandle,
} from '@relocation/relocator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  SILENT,
  createHarness,
  insertContents,
  list,
  until,
  writeSeededFile,
  type Harness,
} from './support.ts';

const run = promisify(execFile);

describe('reconcile', () => {
  let h: Harness;
  let relocator: RelocatorHandle | null = null;

  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await relocator?.close();
    await h.close();
  });
  beforeEach(async () => {
    await relocator?.close();
    relocator = null;
    await h.t.db.deleteFrom('update_history').execute();
    await h.t.db.deleteFrom('contents').execute();
    await h.t.db.deleteFrom('tier_usage').execute();
    for (const level of h.levels) {
      for (const name of await list(level.path)) {
        await import('node:fs/promises').then((fs) =>
          fs.rm(path.join(level.path, name), { force: true }),
        );
      }
    }
  });

  /**
   * Gives each content the size of its file on its tier and recounts the usage counters: the
   * state the service's own writes leave (the tests insert contents with SQL).
   */
  async function settleUsage(): Promise<void> {
    const rows = await h.t.db
      .selectFrom('contents')
      .select(['cid', 'content_level', 'filename'])
      .execute();
    for (const row of rows) {
      const st = await stat(path.join(h.dir(row.content_level), row.filename)).catch(() => null);
      if (!st) continue;
      await h.t.db
        .updateTable('contents')
        .set({ size_bytes: st.size })
        .where('cid', '=', row.cid)
        .execute();
    }
    await recountTierUsage(h.t.db);
  }

  /** One content per drift kind plus a healthy one; returns the sha256 of each file written. */
  async function makeDrift(): Promise<Record<string, string>> {
    await insertContents(h.t.db, [
      { cid: 1, level: 'bronze', filename: 'ok.mp4', viewCount: 10 },
      { cid: 2, level: 'silver', filename: 'misplaced.mp4', viewCount: 1500 },
      { cid: 3, level: 'gold', filename: 'dup-same.mp4', viewCount: 2500 },
      { cid: 4, level: 'gold', filename: 'dup-diff.mp4', viewCount: 2500 },
      { cid: 5, level: 'bronze', filename: 'missing.mp4', viewCount: 5 },
    ]);
    const sums: Record<string, string> = {};
    sums.ok = await writeSeededFile(path.join(h.dir('bronze'), 'ok.mp4'), 4096, 'ok');
    sums.misplaced = await writeSeededFile(path.join(h.dir('bronze'), 'misplaced.mp4'), 8192, 'm');
    sums.dupSame = await writeSeededFile(path.join(h.dir('gold'), 'dup-same.mp4'), 4096, 'd');
    await writeSeededFile(path.join(h.dir('silver'), 'dup-same.mp4'), 4096, 'd');
    sums.dupDiffGold = await writeSeededFile(path.join(h.dir('gold'), 'dup-diff.mp4'), 4096, 'x');
    sums.dupDiffBronze = await writeSeededFile(
      path.join(h.dir('bronze'), 'dup-diff.mp4'),
      4096,
      'y',
    );
    sums.orphan = await writeSeededFile(path.join(h.dir('silver'), 'orphan.mp4'), 1024, 'o');
    const temp = path.join(h.dir('gold'), `${tempPrefix('ok.mp4')}j1-abcd`);
    await writeFile(temp, 'partial copy');
    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(temp, old, old);
    await writeFile(path.join(h.dir('silver'), `${tempPrefix('fresh.mp4')}j2-abcd`), 'running');
    await settleUsage();
    return sums;
  }

  it('reports each kind of drift between MySQL and the tier directories', async () => {
    await makeDrift();
    const report = await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal });
    expect(report.contents).toBe(5);
    expect(report.counts).toEqual({
      misplaced: 1,
      duplicate: 2,
      missing: 1,
      orphan: 1,
      temp: 2,
      tier: 0,
      cache: 0,
      stuck: 0,
      usage: 0,
    });
    const byCid = new Map(report.drift.filter((d) => d.cid !== null).map((d) => [d.cid, d]));
    expect(byCid.get(1)).toBeUndefined();
    expect(byCid.get(2)).toMatchObject({
      kind: 'misplaced',
      expected: path.join(h.dir('silver'), 'misplaced.mp4'),
      found: [path.join(h.dir('bronze'), 'misplaced.mp4')],
      inFlight: false,
    });
    expect(byCid.get(3)?.kind).toBe('duplicate');
    expect(byCid.get(5)).toMatchObject({ kind: 'missing', found: [] });
    expect(report.drift.find((d) => d.kind === 'orphan')?.found).toEqual([
      path.join(h.dir('silver'), 'orphan.mp4'),
    ]);
  });

  it('fixes what is safe through the relocator and never deletes an only copy', async () => {
    await makeDrift();
    const report = await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal });
    const actions = await fixDrift(
      { db: h.t.db, queue: h.queue, cache: h.cache, journal: h.journal },
      report,
    );
    const action = (kind: string, cid: number | null) =>
      actions.find((a) => a.drift.kind === kind && a.drift.cid === cid)?.action;
    expect(action('misplaced', 2)).toBe('queued');
    expect(action('duplicate', 3)).toBe('queued');
    expect(action('duplicate', 4)).toBe('queued');
    expect(action('missing', 5)).toBe('skipped');
    expect(action('orphan', null)).toBe('skipped');
    expect(
      actions
        .filter((a) => a.drift.kind === 'temp')
        .map((a) => a.action)
        .sort(),
    ).toEqual(['removed', 'skipped']);

    relocator = await startRelocator(loadConfig({ ...h.env(), RELOCATOR_CONCURRENCY: '4' }), {
      logger: SILENT,
      db: h.t.db,
    });
    await until(
      async () => {
        const counts = await h.queue.getJobCounts('completed', 'failed');
        return (counts.completed ?? 0) + (counts.failed ?? 0) >= 3;
      },
      15_000,
      'the three repair jobs to finish',
    );

    // misplaced: moved to the tier MySQL says, level unchanged, no history row.
    expect(await list(h.dir('bronze'))).not.toContain('misplaced.mp4');
    expect(await list(h.dir('silver'))).toContain('misplaced.mp4');
    expect((await getContent(h.t.db, 2))?.content_level).toBe('silver');
    expect(await getContentHistory(h.t.db, 2)).toEqual([]);
    // identical duplicate: the extra copy is gone, the right one stays.
    expect(await list(h.dir('silver'))).not.toContain('dup-same.mp4');
    expect(await list(h.dir('gold'))).toContain('dup-same.mp4');
    // different duplicate: the job fails with FILE_COLLISION, both files stay untouched.
    const failed = await h.queue.getFailed();
    expect(failed.map((j) => j.data.cid)).toEqual([4]);
    expect(failed[0]?.failedReason).toContain('FILE_COLLISION');
    expect(await list(h.dir('gold'))).toContain('dup-diff.mp4');
    expect(await list(h.dir('bronze'))).toContain('dup-diff.mp4');
    expect(await h.journal.get(4)).toBeNull();
    // orphan and the young temp file stay; the old temp file is gone.
    expect(await list(h.dir('silver'))).toContain('orphan.mp4');
    expect((await list(h.dir('gold'))).filter((n) => n.includes('.relocating-'))).toEqual([]);
    expect((await list(h.dir('silver'))).filter((n) => n.includes('.relocating-'))).toHaveLength(1);

    const after = await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal });
    // The misplaced file had no recorded size (it was not on its tier); the repair move put it
    // there without committing anything, so reconcile now asks for its size.
    expect(after.drift.filter((d) => d.kind === 'usage')).toEqual([
      expect.objectContaining({
        cid: 2,
        detail: 'size_bytes is NULL (unknown); the file has 8192 bytes',
      }),
    ]);
    expect(after.counts).toEqual({
      misplaced: 0,
      duplicate: 1,
      missing: 1,
      orphan: 1,
      temp: 1,
      tier: 0,
      cache: 0,
      stuck: 0,
      usage: 1,
    });
  });

  it('reports an unusable tier (no marker) as tier drift, and does not call its contents missing', async () => {
    await insertContents(h.t.db, [
      { cid: 1, level: 'bronze', filename: 'ok.mp4' },
      { cid: 2, level: 'gold', filename: 'on-gold.mp4' },
    ]);
    await writeFile(path.join(h.dir('bronze'), 'ok.mp4'), 'x');
    await settleUsage();
    const marker = path.join(h.dir('gold'), TIER_MARKER_FILE);
    const saved = await readFile(marker);
    await rm(marker);
    try {
      const report = await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal });
      expect(report.counts).toMatchObject({ tier: 1, missing: 0, orphan: 0 });
      expect(report.drift).toEqual([
        expect.objectContaining({
          kind: 'tier',
          filename: 'gold',
          expected: h.dir('gold'),
          detail: expect.stringMatching(/has no \.relocation-tier marker/) as string,
        }),
      ]);
      const actions = await fixDrift(
        { db: h.t.db, queue: h.queue, cache: h.cache, journal: h.journal },
        report,
      );
      expect(actions).toEqual([expect.objectContaining({ action: 'skipped' })]);
    } finally {
      await writeFile(marker, saved);
    }
  });

  it('reports cache entries that disagree with MySQL as cache drift, and fixes them from MySQL', async () => {
    await insertContents(h.t.db, [{ cid: 1, level: 'bronze', filename: 'ok.mp4' }]);
    await writeFile(path.join(h.dir('bronze'), 'ok.mp4'), 'x');
    await settleUsage();
    // The cache says silver: MySQL was changed behind the service's back (or restored).
    await h.cache.fill(1, { level: 'silver', filename: 'ok.mp4' });
    const report = await reconcile({
      db: h.t.db,
      queue: h.queue,
      journal: h.journal,
      cache: h.cache,
    });
    expect(report.counts).toMatchObject({ cache: 1, stuck: 0, misplaced: 0 });
    expect(report.drift).toEqual([
      expect.objectContaining({
        kind: 'cache',
        cid: 1,
        detail: 'the cache says silver (ok.mp4), MySQL says bronze (ok.mp4)',
      }),
    ]);
    const actions = await fixDrift(
      { db: h.t.db, queue: h.queue, cache: h.cache, journal: h.journal },
      report,
    );
    expect(actions).toEqual([
      expect.objectContaining({ action: 'queued', reason: 'cache corrected to bronze' }),
    ]);
    expect((await h.cache.get(1))?.level).toBe('bronze');
  });

  it('queues a stuck content with its trigger named, so the history row of its move says reconcile', async () => {
    await insertContents(h.t.db, [{ cid: 1, level: 'bronze', filename: 'ok.mp4' }]);
    await writeFile(path.join(h.dir('bronze'), 'ok.mp4'), 'x');
    await settleUsage();
    // Its latest count calls for gold and nothing is queued for it (a lost job).
    await h.cache.fill(1, { level: 'bronze', filename: 'ok.mp4' });
    await h.cache.recordCount(1, 5000);
    const report = await reconcile({
      db: h.t.db,
      queue: h.queue,
      journal: h.journal,
      cache: h.cache,
    });
    expect(report.counts).toMatchObject({ stuck: 1 });
    await fixDrift({ db: h.t.db, queue: h.queue, cache: h.cache, journal: h.journal }, report);
    const [job] = await h.queue.getJobs(['waiting']);
    expect(job?.data).toMatchObject({ cid: 1, reason: 'reconcile' });
    relocator = await startRelocator(loadConfig(h.env()), { logger: SILENT, db: h.t.db });
    await until(
      async () => (await getContentHistory(h.t.db, 1)).length === 1,
      15_000,
      'the move of content 1',
    );
    expect((await getContentHistory(h.t.db, 1))[0]).toMatchObject({
      new_content_level: 'gold',
      reason: 'reconcile',
    });
  });

  it('records the size of a file found on its tier when MySQL does not know it or says another', async () => {
    await insertContents(h.t.db, [
      { cid: 1, level: 'bronze', filename: 'unknown.mp4' },
      { cid: 2, level: 'gold', filename: 'wrong.mp4', viewCount: 2500 },
    ]);
    await writeSeededFile(path.join(h.dir('bronze'), 'unknown.mp4'), 4096, 'u');
    await writeSeededFile(path.join(h.dir('gold'), 'wrong.mp4'), 2048, 'w');
    await h.t.db.updateTable('contents').set({ size_bytes: 100 }).where('cid', '=', 2).execute();
    // The counters agree with `contents` (a registration before the file was seen, say): only
    // the sizes on disk disagree.
    await recountTierUsage(h.t.db);
    const report = await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal });
    expect(report.counts).toMatchObject({ usage: 2, missing: 0, orphan: 0 });
    expect(report.drift).toEqual([
      expect.objectContaining({
        kind: 'usage',
        cid: 1,
        found: [path.join(h.dir('bronze'), 'unknown.mp4')],
        detail: 'size_bytes is NULL (unknown); the file has 4096 bytes',
      }),
      expect.objectContaining({
        kind: 'usage',
        cid: 2,
        detail: 'size_bytes is 100; the file has 2048 bytes',
      }),
    ]);

    const actions = await fixDrift(
      { db: h.t.db, queue: h.queue, cache: h.cache, journal: h.journal },
      report,
    );
    expect(actions.map((a) => [a.drift.cid, a.action, a.reason])).toEqual([
      [1, 'corrected', 'size recorded: 4096 bytes on bronze'],
      [2, 'corrected', 'size recorded: 2048 bytes on gold'],
    ]);
    expect((await getContent(h.t.db, 1))?.size_bytes).toBe(4096);
    expect((await getContent(h.t.db, 2))?.size_bytes).toBe(2048);
    const usage = await readTierUsage(h.t.db);
    expect(usage.get('bronze')).toEqual({ files: 1, bytes: 4096 });
    expect(usage.get('gold')).toEqual({ files: 1, bytes: 2048 });
    expect((await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal })).drift).toEqual([]);
  });

  it('reports usage counters a manual UPDATE left wrong, and --fix recounts them', async () => {
    await insertContents(h.t.db, [
      { cid: 1, level: 'bronze', filename: 'a.mp4', viewCount: 10 },
      { cid: 2, level: 'bronze', filename: 'b.mp4', viewCount: 10 },
    ]);
    await writeSeededFile(path.join(h.dir('bronze'), 'a.mp4'), 4096, 'a');
    await writeSeededFile(path.join(h.dir('bronze'), 'b.mp4'), 1024, 'b');
    await settleUsage();
    expect((await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal })).drift).toEqual([]);

    // An operator moves a file by hand and tells MySQL with SQL: the counters are not told.
    await rename(path.join(h.dir('bronze'), 'a.mp4'), path.join(h.dir('gold'), 'a.mp4'));
    await h.t.db
      .updateTable('contents')
      .set({ content_level: 'gold', view_count: 2500 })
      .where('cid', '=', 1)
      .execute();
    const report = await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal });
    expect(report.counts).toMatchObject({ usage: 2, misplaced: 0, missing: 0, orphan: 0 });
    expect(report.drift).toEqual([
      expect.objectContaining({
        kind: 'usage',
        cid: null,
        filename: 'bronze',
        expected: h.dir('bronze'),
        detail:
          'the usage counters say 2 files, 5120 bytes; a recount of contents says 1 file, 1024 bytes',
      }),
      expect.objectContaining({
        kind: 'usage',
        cid: null,
        filename: 'gold',
        detail:
          'the usage counters say 0 files, 0 bytes; a recount of contents says 1 file, 4096 bytes',
      }),
    ]);

    const env = { ...process.env, ...h.env() };
    const cli = (args: string[]) =>
      run('node', ['--import', 'tsx', 'apps/relocator/src/reconcile.main.ts', ...args], {
        cwd: REPO_ROOT,
        env,
      });
    const json = JSON.parse((await cli(['--json'])).stdout) as {
      counts: Record<string, number>;
      drift: { kind: string; filename: string }[];
    };
    expect(json.counts.usage).toBe(2);
    expect(json.drift.filter((d) => d.kind === 'usage').map((d) => d.filename)).toEqual([
      'bronze',
      'gold',
    ]);
    const fixed = (await cli(['--fix'])).stdout;
    expect(fixed).toContain(
      `  usage     bronze, expected at ${h.dir('bronze')}: the usage counters say 2 files, 5120 bytes`,
    );
    expect(fixed).toContain(
      '  fix: corrected usage bronze: counters set to 1 file, 1024 bytes (were 2 files, 5120 bytes)',
    );
    expect(fixed).toContain(
      '  fix: corrected usage gold: counters set to 1 file, 4096 bytes (were 0 files, 0 bytes)',
    );
    expect(fixed).toMatch(/drift: .*, usage 2$/m);

    const usage = await readTierUsage(h.t.db);
    expect(usage.get('bronze')).toEqual({ files: 1, bytes: 1024 });
    expect(usage.get('gold')).toEqual({ files: 1, bytes: 4096 });
    const after = await reconcile({ db: h.t.db, queue: h.queue, journal: h.journal });
    expect(after.counts.usage).toBe(0);
    expect(after.drift).toEqual([]);
    expect((await cli([])).stdout).toContain('no drift');
  });

  it('runs periodically through a BullMQ job scheduler when RECONCILE_EVERY is set', async () => {
    await makeDrift();
    relocator = await startRelocator(
      loadConfig({ ...h.env(), RECONCILE_EVERY: '1s', RELOCATOR_METRICS_PORT: '0' }),
      { logger: SILENT, db: h.t.db },
    );
    const maintenance = new Queue(MAINTENANCE_QUEUE, { connection: h.r.redis, prefix: h.r.prefix });
    try {
      expect((await maintenance.getJobSchedulers()).map((s) => s.key).sort()).toEqual([
        'cache-sync',
        'capacity-sweep',
        'pin-expiry',
        'reconcile',
      ]);
      const handle = relocator;
      await until(
        async () =>
          (await handle.metrics.registry.getSingleMetricAsString('relocator_drift')).includes(
            'relocator_drift{kind="missing"} 1',
          ),
        10_000,
        'a scheduled reconcile run',
      );
      expect(await handle.metrics.registry.getSingleMetricAsString('relocator_drift')).toContain(
        'relocator_drift{kind="usage"} 0',
      );
      await relocator.close();
      relocator = await startRelocator(loadConfig({ ...h.env() }), { logger: SILENT, db: h.t.db });
      expect((await maintenance.getJobSchedulers()).map((s) => s.key).sort()).toEqual([
        'cache-sync',
        'capacity-sweep',
        'pin-expiry',
      ]);
    } finally {
      await maintenance.obliterate({ force: true });
      await maintenance.close();
    }
  });

  it('prints the drift from the command line and exits 1 with --check', async () => {
    await makeDrift();
    const env = { ...process.env, ...h.env() };
    const result = await run(
      'node',
      ['--import', 'tsx', 'apps/relocator/src/reconcile.main.ts', '--check'],
      {
        cwd: REPO_ROOT,
        env,
      },
    ).catch((error: { code: number; stdout: string }) => error);
    expect('code' in result ? result.code : 0).toBe(1);
    expect(result.stdout).toContain('misplaced cid 2 (misplaced.mp4)');
    expect(result.stdout).toContain('drift: misplaced 1, duplicate 2, missing 1, orphan 1, temp 2');
    const json = await run(
      'node',
      ['--import', 'tsx', 'apps/relocator/src/reconcile.main.ts', '--json'],
      {
        cwd: REPO_ROOT,
        env,
      },
    );
    expect((JSON.parse(json.stdout) as { counts: { missing: number } }).counts.missing).toBe(1);
  });
});
