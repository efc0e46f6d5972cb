import type { LevelRuleViolation } from './level-rule.ts';

/**
 * Thrown by `assertValidLevels` when a level table breaks invariant I1 or a level is malformed.
 *
 * `code` is always `'INVALID_LEVELS'`; `violations` lists every problem found, not just the first.
 */
export class InvalidLevelsError extends Error {
  readonly code = 'INVALID_LEVELS';
  readonly violations: readonly LevelRuleViolation[];

  constructor(violations: readonly LevelRuleViolation[]) {
    super(`invalid level table: ${violations.map((v) => v.message).join('; ')}`);
    this.name = 'InvalidLevelsError';
    this.violations = violations;
  }
}
