import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { copyFile, mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCH_DIR, REPO_ROOT } from '../lib/children.ts';
import { BenchContext } from '../lib/context.ts';
import { rotate, type Bench } from '../lib/bench.ts';
import { figure, type BenchResult } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

const GIB = 1024 ** 3;
const FILENAME = 'movie.bin';
const METHODS = ['cp-sync', 'move-size', 'move-sha256', 'move-stream'] as const;
type Method = (typeof METHODS)[number];

/** What the move child reports. */
interface MoveReport {
  durationMs: number;
  bytes: number;
  outcome: string;
  /** How moveFile copied: `kernel` (copyFile) or `stream` (read/write loop). */
  copy?: string;
  maxRssKiB: number;
}

/** Writes `bytes` of deterministic, incompressible data (AES-CTR keystream of a fixed key). */
async function writeMaster(file: string, bytes: number): Promise<void> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 3));
  const zeros = Buffer.alloc(8 * 1024 * 1024);
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < bytes; written += zeros.length) {
      const chunk = cipher.update(zeros.subarray(0, Math.min(zeros.length, bytes - written)));
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
}

function runProcess(
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; message: unknown }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: env ?? process.env,
      stdio: ['ignore', 'inherit', 'inherit', ...(env ? (['ipc'] as const) : [])],
    });
    let message: unknown = null;
    child.on('message', (m: unknown) => {
      message = m;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, message }));
  });
}

async function runMoveChild(params: Record<string, unknown>): Promise<MoveReport> {
  const { code, message } = await runProcess(
    process.execPath,
    ['--import', 'tsx', path.join(BENCH_DIR, 'servers', 'move.ts')],
    { ...process.env, BENCH_MOVE: JSON.stringify(params) },
  );
  if (code !== 0 || message === null) throw new Error(`move child failed (exit ${code})`);
  return message as MoveReport;
}

/**
 * Benchmark 5: moving one big file from /dev/shm to a disk folder (different `stat().dev`) with
 * the relocator's moveFile — copy to a temporary name, fsync, verify, link into place, unlink the
 * source — against `cp src dst && sync dst`. MB/s (10^6 bytes) with size-only verification (the
 * default, a kernel copy), with sha256 verification, and with the streamed copy that throttled
 * copies use; and the peak RSS of the process doing the move, against the same child loading
 * the same modules and moving nothing.
 */
export const crossFsBench: Bench = {
  name: 'cross-fs',
  title: 'Cross-filesystem move',
  async run(ctx) {
    const bytes = ctx.plan.crossFsBytes;
    const srcDir = path.join(ctx.shm, 'src');
    const destDir = path.join(ctx.scratch, 'cross-fs');
    await mkdir(srcDir, { recursive: true });
    await mkdir(destDir, { recursive: true });
    if (!(await BenchContext.differentDevices(srcDir, destDir))) {
      ctx.note(`cross-fs skipped: ${srcDir} and ${destDir} are on one file system`);
      return [];
    }
    const size = bytes >= GIB ? `${bytes / GIB} GiB` : `${bytes / 1024 ** 2} MiB`;
    if (bytes < GIB) {
      ctx.note(`cross-fs: quick mode moves a ${size} file instead of 1 GiB (--long moves 1 GiB)`);
    }
    const master = path.join(ctx.shm, 'master.bin');
    ctx.log(`cross-fs: writing a ${size} file to /dev/shm`);
    await writeMaster(master, bytes);
    const src = path.join(srcDir, FILENAME);
    const dest = path.join(destDir, FILENAME);

    const measure = async (method: Method): Promise<{ mbps: number; rssMiB: number | null }> => {
      await rm(dest, { force: true });
      await copyFile(master, src);
      // Start every measurement with nothing left to write back (the previous copy's deletion,
      // other processes' writes), so one method does not pay for another.
      await runProcess('sync', []);
      try {
        if (method === 'cp-sync') {
          const started = performance.now();
          const { code } = await runProcess('sh', [
            '-c',
            'cp "$1" "$2" && sync "$2"',
            'sh',
            src,
            dest,
          ]);
          const ms = performance.now() - started;
          if (code !== 0) throw new Error(`cp + sync failed (exit ${code})`);
          return { mbps: bytes / 1e6 / (ms / 1000), rssMiB: null };
        }
        const report = await runMoveChild({
          sourceDir: srcDir,
          destDir,
          filename: FILENAME,
          verifyChecksum: method === 'move-sha256',
          kernelCopy: method !== 'move-stream',
          idle: false,
        });
        if (report.outcome !== 'copied' || report.bytes !== bytes) {
          throw new Error(`moveFile answered ${report.outcome} for ${report.bytes} bytes`);
        }
        const expected = method === 'move-stream' ? 'stream' : 'kernel';
        if (report.copy !== expected) {
          throw new Error(
            `moveFile copied by ${report.copy}, the ${method} run expects ${expected}`,
          );
        }
        if ((await stat(dest)).size !== bytes) throw new Error('the moved file has the wrong size');
        return { mbps: bytes / 1e6 / (report.durationMs / 1000), rssMiB: report.maxRssKiB / 1024 };
      } finally {
        await rm(dest, { force: true });
        await rm(src, { force: true });
      }
    };

    ctx.log('cross-fs: warm-up');
    await measure('cp-sync');
    await measure('move-size');
    const runs = new Map<Method, { mbps: number; rssMiB: number | null }[]>(
      METHODS.map((m) => [m, []]),
    );
    const idle: number[] = [];
    for (let round = 0; round < ctx.plan.rounds; round++) {
      for (const method of rotate(METHODS, round)) {
        const result = await measure(method);
        runs.get(method)?.push(result);
        ctx.log(
          `cross-fs round ${round + 1}/${ctx.plan.rounds} ${method}: ${Math.round(result.mbps)} MB/s${result.rssMiB === null ? '' : `, peak RSS ${Math.round(result.rssMiB)} MiB`}`,
        );
      }
      const report = await runMoveChild({
        sourceDir: srcDir,
        destDir,
        filename: FILENAME,
        verifyChecksum: false,
        idle: true,
      });
      idle.push(report.maxRssKiB / 1024);
    }
    await rm(master, { force: true });

    const mbpsRounds = (m: Method) => (runs.get(m) ?? []).map((r) => r.mbps);
    const rssRounds = (m: Method) => (runs.get(m) ?? []).map((r) => r.rssMiB ?? Number.NaN);
    const mbps = (m: Method) => median(mbpsRounds(m));
    const rss = (m: Method) => median(rssRounds(m));
    const idleRss = median(idle);
    const results: BenchResult[] = [
      figure({
        name: 'cross-fs.move.size-verify',
        value: mbps('move-size'),
        samples: { value: mbpsRounds('move-size'), baseline: mbpsRounds('cp-sync') },
        unit: 'MB/s',
        baseline: 'cp src dst && sync dst',
        baselineValue: mbps('cp-sync'),
        better: 'higher',
        target: 0.9,
        note: `${size}, /dev/shm → disk; moveFile: kernel copy (copyFile) to a temp name, fsync, size check, link, unlink source, fsync both directories`,
      }),
      figure({
        name: 'cross-fs.move.sha256-verify',
        value: mbps('move-sha256'),
        samples: { value: mbpsRounds('move-sha256'), baseline: mbpsRounds('cp-sync') },
        unit: 'MB/s',
        baseline: 'cp src dst && sync dst',
        baselineValue: mbps('cp-sync'),
        better: 'higher',
        note: 'RELOCATOR_VERIFY_CHECKSUM=true: kernel copy; sha256 of the source while the kernel copies, of the copy while it is flushed',
      }),
      figure({
        name: 'cross-fs.move.stream',
        value: mbps('move-stream'),
        samples: { value: mbpsRounds('move-stream'), baseline: mbpsRounds('cp-sync') },
        unit: 'MB/s',
        baseline: 'cp src dst && sync dst',
        baselineValue: mbps('cp-sync'),
        better: 'higher',
        note: 'the streamed copy (two 256 KiB buffers; what a throttled copy or a file system without a kernel copy gets), unthrottled, size check',
      }),
      figure({
        name: 'cross-fs.rss.size-verify',
        value: rss('move-size'),
        samples: { value: rssRounds('move-size'), baseline: idle },
        unit: 'MiB',
        baseline: 'peak RSS of the same child moving nothing',
        baselineValue: idleRss,
        better: 'lower',
      }),
      figure({
        name: 'cross-fs.rss.sha256-verify',
        value: rss('move-sha256'),
        samples: { value: rssRounds('move-sha256'), baseline: idle },
        unit: 'MiB',
        baseline: 'peak RSS of the same child moving nothing',
        baselineValue: idleRss,
        better: 'lower',
      }),
      figure({
        name: 'cross-fs.rss.stream',
        value: rss('move-stream'),
        samples: { value: rssRounds('move-stream'), baseline: idle },
        unit: 'MiB',
        baseline: 'peak RSS of the same child moving nothing',
        baselineValue: idleRss,
        better: 'lower',
      }),
    ];
    return results;
  },
};
