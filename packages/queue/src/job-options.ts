import type { JobsOptions, KeepJobs } from 'bullmq';

/**
 * Options every relocation job is added with: transient failures retry with exponential backoff
 * (1 s, 2 s, 4 s, … 8 attempts). What to keep of finished jobs is a worker option
 * ({@link RELOCATION_KEEP_JOBS}), so it is not stored in every job (Redis memory per job).
 */
export const RELOCATION_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
});

/**
 * What relocation workers keep of finished jobs: completed ones an hour (at most 5,000) for Bull
 * Board, failed ones a week (at most 50,000) so operators and `/update_sentence` can see them.
 */
export const RELOCATION_KEEP_JOBS: Readonly<{
  removeOnComplete: KeepJobs;
  removeOnFail: KeepJobs;
}> = Object.freeze({
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
});
