import type { RelocationQueue } from './enqueue.ts';
import type { ContentCache, MoveHold } from './content-cache.ts';
import { CAPACITY_HOLD_CODE, dedupId, isPolicyHold } from './constants.ts';

/** Where a cid's relocation stands. */
export type RelocationStatus =
  | { state: 'idle'; jobId: string | null }
  | { state: 'queued' | 'active'; jobId: string; target: string | null }
  | {
      state: 'waiting' | 'waiting-for-space' | 'held';
      jobId: string;
      target: string | null;
      hold: MoveHold;
    }
  | { state: 'failed'; jobId: string; target: string | null; error: string };

/**
 * Reads a cid's relocation state from BullMQ: the job holding the cid's deduplication key
 * (waiting, delayed or active; a delayed job with a hold on the cid is `waiting` out a storage
 * fault, `waiting-for-space` below its target tier's high watermark, or `held` by the placement
 * policy), else the last job that ran for it if it failed, else idle.
 */
export async function getRelocationStatus(
  queue: RelocationQueue,
  cache: ContentCache,
  cid: number,
): Promise<RelocationStatus> {
  const [pendingId, cached] = await Promise.all([
    queue.getDeduplicationJobId(dedupId(cid)),
    cache.get(cid),
  ]);
  if (pendingId) {
    const job = await queue.getJob(pendingId);
    if (job) {
      const state = await job.getState();
      const target = job.data.target ?? null;
      if (state === 'active') return { state: 'active', jobId: pendingId, target };
      if (state === 'delayed' && cached?.hold) {
        const code = cached.hold.code;
        const waiting =
          code === CAPACITY_HOLD_CODE
            ? 'waiting-for-space'
            : isPolicyHold(code)
              ? 'held'
              : 'waiting';
        return { state: waiting, jobId: pendingId, target, hold: cached.hold };
      }
      if (
        state === 'waiting' ||
        state === 'delayed' ||
        state === 'prioritized' ||
        state === 'waiting-children'
      ) {
        return { state: 'queued', jobId: pendingId, target };
      }
    }
  }
  const lastJobId = cached?.lastJobId ?? null;
  if (lastJobId) {
    const job = await queue.getJob(lastJobId);
    if (job && (await job.getState()) === 'failed') {
      return {
        state: 'failed',
        jobId: lastJobId,
        target: job.data.target ?? null,
        error: job.failedReason || 'failed',
      };
    }
  }
  return { state: 'idle', jobId: lastJobId };
}
