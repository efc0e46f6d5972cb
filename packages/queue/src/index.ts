export {
  CAPACITY_HOLD_CODE,
  isPolicyHold,
  POLICY_HOLD_CODES,
  DEFAULT_QUEUE_PREFIX,
  MAX_SAFE_COUNT,
  RELOCATE_JOB,
  RELOCATION_QUEUE,
  dedupId,
} from './constants.ts';
export {
  createProducerRedis,
  createWorkerRedis,
  hashTagOf,
  isClusterUnavailableError,
} from './connection.ts';
export type { RedisClusterTarget, RedisConnection, RedisNode, RedisTarget } from './connection.ts';
export { ContentCache, parseRateState, RATE_STATE_FIELDS, TurnBatch } from './content-cache.ts';
export { pauseRelocations, relocationsStatus, resumeRelocations } from './relocations-control.ts';
export type {
  RelocationsAudit,
  RelocationsStatus,
  RelocatorReplica,
} from './relocations-control.ts';
export {
  ContentAdminError,
  clearPendingMove,
  contentCommands,
  inspectTierFile,
  manualJobId,
  refuseRemovingLevelsOfPendingMoves,
  requeueContent,
  setContentLevel,
} from './content-admin.ts';
export type {
  ClearPendingResult,
  ContentAdminDeps,
  ContentAdminErrorCode,
  ContentAdminOptions,
  RequeueResult,
  SetLevelResult,
  TierFile,
} from './content-admin.ts';
export { SYNC_PAGE, syncCache } from './cache-sync.ts';
export {
  sweepRates,
  type RateSweepDeps,
  type RateSweepOptions,
  type RateSweepReport,
} from './rate-sweep.ts';
export {
  MAX_PLAN_LIMIT,
  PLAN_DIRECTIONS,
  PLAN_SCAN_COUNT,
  planPolicy,
  planRelocations,
} from './plan.ts';
export type {
  PlanBoundary,
  PlanDirection,
  PlanPolicy,
  PlanOptions,
  PlanTotals,
  PlannedMove,
  RelocationPlan,
} from './plan.ts';
export type {
  CacheDrift,
  CacheSyncDeps,
  CacheSyncReport,
  PinDrift,
  StuckContent,
} from './cache-sync.ts';
export {
  PIN_EXPIRY_ACTOR,
  PIN_REASON_MAX,
  expirePins,
  pinContent,
  unpinContent,
} from './content-pin.ts';
export type { ExpiredPin, PinRequest, PinResult, UnpinResult } from './content-pin.ts';
export { MoveJournal, parsePendingMove } from './move-journal.ts';
export type { PendingMove } from './move-journal.ts';
export {
  RelocationKeys,
  deploymentBase,
  loginFailuresKey,
  ownerKey,
  rateLimitNamespace,
  rateLimitSubject,
} from './keys.ts';
export type { KeySource, RateLimitClient } from './keys.ts';
export {
  DeploymentBinding,
  IdentityUnavailableError,
  bindToDatabase,
  OWNER_RENEW_MS,
  OWNER_TTL_MS,
  PrefixInUseError,
  databaseLabel,
  logBindingEvent,
  removeDeploymentState,
  renewEvery,
} from './deployment.ts';
export type {
  BindingEvent,
  BindingLogger,
  ClaimOutcome,
  DeploymentBindingOptions,
} from './deployment.ts';
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
