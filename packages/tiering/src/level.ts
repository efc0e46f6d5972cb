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
  /**
   * Optional capacity of the tier in bytes (a positive safe integer). With it, no move goes into
   * the tier past its high watermark, and the coldest contents are demoted once it is above it.
   * Absent (or `null`): the tier has no capacity limit (only a full disk stops moves).
   */
  readonly capacityBytes?: number | null;
  /**
   * Percent of `capacityBytes` above which the tier takes no more files (1–100; default
   * {@link DEFAULT_HIGH_WATERMARK} when a capacity is set). Only with `capacityBytes`.
   */
  readonly highWatermark?: number | null;
  /**
   * Percent of `capacityBytes` down to which a tier above its high watermark is emptied by
   * demotions (0 to `highWatermark` − 1; default {@link DEFAULT_LOW_WATERMARK}, or 10 points
   * under a lower high watermark). Only with `capacityBytes`.
   */
  readonly lowWatermark?: number | null;
}

/** High watermark (percent) of a tier given a capacity without one. */
export const DEFAULT_HIGH_WATERMARK = 90;

/** Low watermark (percent) of a tier given a capacity without one. */
export const DEFAULT_LOW_WATERMARK = 80;

/** A tier's capacity limits in bytes, as {@link tierCapacity} computes them. */
export interface TierCapacity {
  /** The tier's capacity. */
  readonly capacityBytes: number;
  readonly highWatermark: number;
  readonly lowWatermark: number;
  /** Bytes the tier may hold: no move goes in past it (`capacity × high / 100`, rounded down). */
  readonly highBytes: number;
  /** Bytes a tier above `highBytes` is demoted down to (`capacity × low / 100`, rounded down). */
  readonly lowBytes: number;
}

/**
 * The capacity limits of a validated level, or `null` when it has no capacity. The one place
 * where watermarks become byte limits: the relocator's admission check, the capacity sweep, the
 * gateway's `GET /v1/levels` and the metrics all use it.
 */
export function tierCapacity(level: Level): TierCapacity | null {
  const capacityBytes = level.capacityBytes;
  if (capacityBytes === undefined || capacityBytes === null) return null;
  const highWatermark = level.highWatermark ?? DEFAULT_HIGH_WATERMARK;
  const lowWatermark = level.lowWatermark ?? defaultLowWatermark(highWatermark);
  return {
    capacityBytes,
    highWatermark,
    lowWatermark,
    highBytes: Math.floor((capacityBytes * highWatermark) / 100),
    lowBytes: Math.floor((capacityBytes * lowWatermark) / 100),
  };
}

/** The low watermark of a tier whose high watermark is `high` and whose low one is not given. */
export function defaultLowWatermark(high: number): number {
  return Math.max(0, Math.min(DEFAULT_LOW_WATERMARK, high - 10));
}

/**
 * Which way a move from `from` to `to` goes: `promote` to a level with a higher `minCount`, else
 * `demote` (the rule `chooseTier`, the plan and the overview all tell moves apart by).
 */
export function moveDirection(from: Level, to: Level): 'promote' | 'demote' {
  return to.minCount > from.minCount ? 'promote' : 'demote';
}
