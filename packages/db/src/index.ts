export { createDb, dropDatabase, ensureDatabase, parseDatabaseUrl } from './connect.ts';
export type { CreateDbOptions, DatabaseUrlParts } from './connect.ts';
export { DbError, isDuplicateKeyError } from './errors.ts';
export type { DbErrorCode } from './errors.ts';
export { migrateDownToEmpty, migrateToLatest, MigrationError } from './migrate.ts';
export { MIGRATIONS } from './migrations/index.ts';
export { assignContentLevel } from './queries/assign-content-level.ts';
export {
  AUDIT_ACTIONS,
  AUDIT_TEXT_MAX,
  listAudit,
  pruneAudit,
  recordAudit,
} from './queries/audit.ts';
export type { AuditContext, AuditEntry, AuditRecord, ListAuditOptions } from './queries/audit.ts';
export type { AssignResult, LevelAssignment } from './queries/assign-content-level.ts';
export { commitRelocation, commitRelocations } from './queries/commit-relocation.ts';
export type { CommitResult, RelocationCommit } from './queries/commit-relocation.ts';
export {
  contentSizes,
  getContent,
  getContentWithPin,
  getContentsWithPin,
  insertContent,
  listContents,
} from './queries/contents.ts';
export type { ContentWithPin, NewContentInput } from './queries/contents.ts';
export { getDeploymentId } from './queries/deployment.ts';
export {
  countContentPins,
  expireContentPins,
  getContentPin,
  getPinnedLevels,
  removeContentPin,
  setContentPin,
} from './queries/pins.ts';
export type { ContentPin, NewPin, SetPinResult } from './queries/pins.ts';
export {
  getContentHistory,
  HISTORY_REASONS,
  latestChanges,
  recentMoves,
} from './queries/history.ts';
export type { HistoryReason, LatestChange } from './queries/history.ts';
export {
  adjustTierUsage,
  adjustTierUsageOf,
  listDemotionCandidates,
  listTierReservations,
  readTierReservations,
  readLevelUsage,
  readTierUsage,
  recordContentSize,
  recountTierUsage,
  releaseTierSpace,
  reserveTierSpace,
  RESERVATION_TTL_MS,
  TIER_USAGE_SHARDS,
  tierUsageShard,
} from './queries/tier-usage.ts';
export type {
  DemotionCandidate,
  LevelUsage,
  RecountTierUsageOptions,
  ReservationResult,
  TierUsage,
  TierUsageCorrection,
  TierUsageChange,
  TierUsageDelta,
} from './queries/tier-usage.ts';
export { listLevels, replaceLevels, toLevel } from './queries/levels.ts';
export { countMovesPerMinute } from './queries/stats.ts';
export type { MinuteMoves } from './queries/stats.ts';
export type { ReplaceLevelsOptions } from './queries/levels.ts';
export { SAMPLE_CONTENTS, seedIfEmpty, seedLevels } from './seed.ts';
export type { SampleContent, SeedResult } from './seed.ts';
export type * from './schema.ts';
