export { MAX_FILENAME_BYTES, TEMP_MARKER, filenameProblem } from './file-name.ts';
export { MAX_TIER_PATH_BYTES, tierPathKey, tierPathProblem } from './tier-path.ts';
export { tierDirectory, tierFilePath, tierFileSize } from './tier-file-path.ts';
export type {
  TierDirectory,
  TierFilePath,
  TierPathRefusal,
  TierPathRule,
} from './tier-file-path.ts';
export {
  TIER_MARKER_FILE,
  applyTierPlan,
  checkTier,
  planTier,
  readTierMarker,
  writeTierMarker,
} from './tier-marker.ts';
export type {
  TierCheck,
  TierIdentity,
  TierMarker,
  TierPlan,
  TierPreparePolicy,
  TierProblemKind,
} from './tier-marker.ts';
