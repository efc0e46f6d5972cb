/**
 * A storage tier: the directory holding the files of every content whose view count is in its range.
 *
 * Counts are total views, integers >= 0; `maxCount` is inclusive and `null` means no upper bound.
 * A table of levels must partition the counts (invariant I1, see `validateLevels`).
 */
export interface Level {
  /** The tier's name (`content_level`): 1–64 characters of `[A-Za-z0-9_-]`, unique in the table. */
  readonly name: string;
  /** The lowest total view count that belongs to this tier (inclusive). */
  readonly minCount: number;
  /** The highest total view count that belongs to this tier (inclusive); `null` = unbounded. */
  readonly maxCount: number | null;
  /** The tier's storage directory: an absolute POSIX path without `..` segments or NUL. */
  readonly path: string;
}
