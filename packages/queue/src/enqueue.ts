import type { Job, Queue } from 'bullmq';
import { RELOCATE_JOB, dedupId } from './constants.ts';
import { RELOCATION_JOB_OPTIONS } from './job-options.ts';
import type { RelocationJobData, RelocationResult } from './job-data.ts';

/** The relocation queue's type. */
export type RelocationQueue = Queue<RelocationJobData, RelocationResult, typeof RELOCATE_JOB>;

/**
 * Asks for a cid's relocation: one job per cid at a time, the latest count wins (I4, I5).
 *
 * BullMQ's `deduplication` with `keepLastIfActive` does it atomically in Redis, across any number
 * of gateways: with no job for the cid a job is added; with a job waiting, this add is ignored
 * (the processor reads the latest count when it starts, so the waiting job does the latest
 * thing); with a job active, the latest data is kept and BullMQ adds one follow-up job when the
 * active one completes or fails, so a count that arrived during a move is re-evaluated. A
 * completed or failed job no longer holds the key, so the cid can always be queued again.
 * Never combine this with a custom `jobId`: the id check would run first and defeat it.
 */
export async function enqueueRelocation(
  queue: RelocationQueue,
  data: RelocationJobData,
): Promise<Job<RelocationJobData, RelocationResult, typeof RELOCATE_JOB>> {
  return queue.add(RELOCATE_JOB, data, {
    ...RELOCATION_JOB_OPTIONS,
    deduplication: { id: dedupId(data.cid), keepLastIfActive: true },
  });
}
