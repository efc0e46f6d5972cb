export { loadConfig } from './config.ts';
export type { RelocatorConfig } from './config.ts';
export { createLogger } from './logger.ts';
export { createRelocatorMetrics, startMetricsServer } from './metrics.ts';
export type { MetricsServer, MoveMetricOutcome, RelocatorMetrics } from './metrics.ts';
export {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_PROGRESS_INTERVAL_MS,
  moveFile,
  removeStaleTempFiles,
  sha256File,
  tempPrefix,
} from './move-file.ts';
export type { MoveFileOptions, MoveFileResult, MoveOutcome, MoveProgress } from './move-file.ts';
export { MoveJournal } from '@relocation/queue';
export type { PendingMove } from '@relocation/queue';
export { PermanentJobError } from './permanent-job-error.ts';
export { createRelocateProcessor } from './relocate.processor.ts';
export type {
  RelocateJob,
  RelocateOptions,
  RelocateProcessor,
  RelocateProcessorDeps,
} from './relocate.processor.ts';
export {
  RelocationError,
  STORAGE_FAULT_CODES,
  errnoCode,
  isPermanentFsError,
  storageFaultOf,
} from './relocation-error.ts';
export type { RelocationErrorCode, StorageFault, StorageFaultCode } from './relocation-error.ts';
export { startRelocator } from './start.ts';
export { DEFAULT_TIER_RECHECK_MS, TierGuard } from './tier-guard.ts';
export type { TierGuardDeps, UnavailableTier } from './tier-guard.ts';
export type { RelocationWorker, RelocatorHandle, StartRelocatorOptions } from './start.ts';
export { assertTierDir, resolveInTier } from './tier-path.ts';
export { DRIFT_KINDS, fixDrift, reconcile } from './reconcile.ts';
export type {
  Drift,
  DriftKind,
  FixAction,
  FixDeps,
  FixOptions,
  ReconcileDeps,
  ReconcileReport,
} from './reconcile.ts';
export {
  CACHE_SYNC_SCHEDULER_ID,
  MAINTENANCE_QUEUE,
  RECONCILE_SCHEDULER_ID,
  startReconcileScheduler,
} from './reconcile.scheduler.ts';
export type { ReconcileScheduler, ReconcileSchedulerDeps } from './reconcile.scheduler.ts';
