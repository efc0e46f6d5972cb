/**
 * Every rule a level table must satisfy, in the order `validateLevels` checks them.
 *
 * Together they express invariant I1 (levels partition the counts) plus the shape of each level.
 */
export const LEVEL_RULES = [
  'empty',
  'invalid-name',
  'invalid-path',
  'invalid-count',
  'min-above-max',
  'duplicate-name',
  'duplicate-path',
  'starts-at-zero',
  'gap',
  'overlap',
  'unbounded-not-last',
  'invalid-capacity',
] as const;

/** The name of one rule of a level table; see `LEVEL_RULES`. */
export type LevelRule = (typeof LEVEL_RULES)[number];

/**
 * One way in which a level table breaks a rule.
 *
 * `level` is the offending level's name (`null` when the problem is the table as a whole);
 * `message` names the level and the rule in words an operator can act on.
 */
export interface LevelRuleViolation {
  readonly level: string | null;
  readonly rule: LevelRule;
  readonly message: string;
}
