import type { JobsOptions } from 'bullmq';

/**
 * Options every relocation job is added with. Transient failures retry with exponential backoff
 * (1 s, 2 s, 4 s, …); completed jobs are kept an hour for Bull Board, failed ones a week so
 * operators and `/update_sentence` can see them.
 */
export const RELOCATION_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
});
