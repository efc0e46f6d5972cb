export {
  DEFAULT_QUEUE_PREFIX,
  MAX_SAFE_COUNT,
  RELOCATE_JOB,
  RELOCATION_QUEUE,
  dedupId,
} from './constants.ts';
export { createProducerRedis, createWorkerRedis } from './connection.ts';
export { ContentCache } from './content-cache.ts';
export type { CachedContent, MoveHold, RecordCountResult, TierStatus } from './content-cache.ts';
export { enqueueRelocation } from './enqueue.ts';
export type { RelocationQueue } from './enqueue.ts';
export { relocationJobDataSchema } from './job-data.ts';
export type { RelocationJobData, RelocationResult } from './job-data.ts';
export { RELOCATION_JOB_OPTIONS, RELOCATION_KEEP_JOBS } from './job-options.ts';
export { readRedisCondition, redisConditionOf, redisFaultOf } from './redis-faults.ts';
export type { RedisCondition, RedisFault } from './redis-faults.ts';
export { getRelocationStatus } from './relocation-state.ts';
export type { RelocationStatus } from './relocation-state.ts';
export { ENV_FILE, loadEnvFile } from './env-file.ts';
