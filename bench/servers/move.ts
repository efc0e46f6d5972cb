// One cross-filesystem move with the relocator's moveFile (real code), in a process of its own
// so its peak RSS is the move's. Env BENCH_MOVE (JSON): { sourceDir, destDir, filename,
// verifyChecksum, kernelCopy, idle }. With `idle` it loads the same modules and moves nothing (the
// RSS baseline). Sends { durationMs, bytes, outcome, copy, maxRssKiB } over IPC, then exits.
import { performance } from 'node:perf_hooks';
import { moveFile } from '@relocation/relocator';
import { requireEnv } from './ipc.ts';

interface MoveParams {
  sourceDir: string;
  destDir: string;
  filename: string;
  verifyChecksum: boolean;
  /** false: the streamed copy (what throttled copies and file systems without a kernel copy get). */
  kernelCopy?: boolean;
  idle: boolean;
}

const params = JSON.parse(requireEnv('BENCH_MOVE')) as MoveParams;
let report: Record<string, unknown> = { durationMs: 0, bytes: 0, outcome: 'idle' };
if (!params.idle) {
  const started = performance.now();
  const result = await moveFile({
    sourceDir: params.sourceDir,
    destDir: params.destDir,
    filename: params.filename,
    attemptTag: 'bench',
    verifyChecksum: params.verifyChecksum,
    ...(params.kernelCopy === undefined ? {} : { kernelCopy: params.kernelCopy }),
  });
  report = {
    durationMs: performance.now() - started,
    bytes: result.bytes,
    outcome: result.outcome,
    copy: result.copy,
  };
}
// maxRSS is in KiB: the peak resident set of this process over its whole life.
report.maxRssKiB = process.resourceUsage().maxRSS;
process.send?.(report, () => process.exit(0));
