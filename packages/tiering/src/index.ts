export type { Level, TierCapacity } from './level.ts';
export {
  DEFAULT_HIGH_WATERMARK,
  DEFAULT_LOW_WATERMARK,
  defaultLowWatermark,
  moveDirection,
  tierCapacity,
} from './level.ts';
export { LEVEL_RULES } from './level-rule.ts';
export type { LevelRule, LevelRuleViolation } from './level-rule.ts';
export { InvalidLevelsError } from './invalid-levels-error.ts';
export { assertValidLevels, validateLevels } from './validate-levels.ts';
export type { ValidationResult } from './validate-levels.ts';
export {
  applyPin,
  budgetAllows,
  chooseTier,
  DEFAULT_FLAP_BUDGET,
  explainMove,
  hysteresisBand,
  movesInWindow,
  rateOf,
  targetLevel,
} from './choose-tier.ts';
export type {
  ChooseTierInput,
  ChooseTierOptions,
  CrossedBoundary,
  CrossedRateThreshold,
  FlapBudget,
  MoveDecision,
  MoveExplanation,
  RecentMove,
  StayDecision,
  TierDecision,
  WaitDecision,
} from './choose-tier.ts';
export { replayViews } from './replay.ts';
export type { ReplayPolicy, ReplayResult, ViewEvent } from './replay.ts';
export { syntheticViews } from './synthetic-views.ts';
export type { SyntheticViewsOptions } from './synthetic-views.ts';
export {
  freshLevel,
  observeViews,
  RATE_UNIT_MS,
  rateAt,
  rateTarget,
  thresholdsOf,
  warmUpMs,
} from './view-rate.ts';
export type { RateTarget, RateThresholds, ViewRatePolicy, ViewRateState } from './view-rate.ts';
