import {
  HOUR_MS,
  baseEnvSchema,
  duration,
  flag,
  loadEnv,
  sharedSettings,
  text,
  wholeNumber,
  type Env,
  type SharedSettings,
} from '@relocation/runtime';
import { DEFAULT_COMMIT_GROUP_MAX, DEFAULT_COMMIT_GROUP_MS } from './commit-batcher.ts';

/** The relocator's settings, validated; see the README's settings table for each one. */
export interface RelocatorConfig extends SharedSettings {
  /** Jobs one process runs at the same time. */
  readonly concurrency: number;
  /** Jobs started per second across every relocator on the queue; 0 = unlimited. */
  readonly maxMovesPerSecond: number;
  /** Milliseconds a shutdown waits for active moves before abandoning them to another worker. */
  readonly shutdownTimeoutMs: number;
  /** Port of the Prometheus `/metrics` and `/healthz` server; 0 = no server. */
  readonly metricsPort: number;
  /** Address the metrics server listens on. */
  readonly metricsHost: string;
  /** Milliseconds a job's lock lives without renewal (renewed every half of it while running). */
  readonly lockDurationMs: number;
  /** Milliseconds between checks for jobs whose lock expired (their worker died). */
  readonly stalledIntervalMs: number;
  /** How often a job may stall (its worker die) before it fails for good. */
  readonly maxStalledCount: number;
  /** Compare sha256 of source and copy before a cross-filesystem move replaces the source. */
  readonly verifyChecksum: boolean;
  /** Bytes per second one cross-filesystem copy may read; 0 = unlimited. */
  readonly copyBytesPerSecond: number;
  /** Milliseconds between scheduled reconcile runs (a BullMQ job scheduler); 0 = off. */
  readonly reconcileEveryMs: number;
  /** Scheduled reconcile runs also queue fixes (as `npm run reconcile -- --fix`). */
  readonly reconcileFix: boolean;
  /** Longest milliseconds between two tries of a move waiting out a storage fault. */
  readonly faultRetryMaxMs: number;
  /** Milliseconds between two checks of each tier directory and its marker. */
  readonly tierCheckMs: number;
  /**
   * Milliseconds between two sweeps comparing the Redis cache with MySQL (correcting drift and
   * listing stuck contents); 0 = off. Bounds how long a change made in MySQL outside the service
   * takes to reach the gateways.
   */
  readonly cacheSyncEveryMs: number;
  /**
   * Milliseconds between two runs of the pin expiry (releasing pins whose `until` has passed);
   * 0 = off. A pin lasts at most this much past its `until`.
   */
  readonly pinExpiryEveryMs: number;
  /** Milliseconds between two capacity sweeps (demotions from tiers above their high watermark); 0 = off. */
  readonly capacitySweepEveryMs: number;
  /**
   * Milliseconds between two rate sweeps (demotions of contents whose view rate decayed below
   * their level's threshold with no post); 0 = off. Runs only with `TIERING_POLICY=rate`.
   */
  readonly rateSweepEveryMs: number;
  /**
   * Longest milliseconds a finished move waits for others to share its MySQL transaction (group
   * commit); 0 = every move commits alone.
   */
  readonly commitGroupMs: number;
  /** Most moves committed in one MySQL transaction. */
  readonly commitGroupMax: number;
}

const envSchema = baseEnvSchema.extend({
  RELOCATOR_CONCURRENCY: wholeNumber({ min: 1, max: 256, fallback: 4 }),
  RELOCATOR_MAX_MOVES_PER_SECOND: wholeNumber({ min: 0, max: 100_000, fallback: 0 }),
  RELOCATOR_SHUTDOWN_TIMEOUT_MS: wholeNumber({ min: 0, max: HOUR_MS, fallback: 30_000 }),
  RELOCATOR_METRICS_PORT: wholeNumber({ min: 0, max: 65_535, fallback: 9464 }),
  RELOCATOR_METRICS_HOST: text('0.0.0.0'),
  RELOCATOR_LOCK_DURATION_MS: wholeNumber({ min: 1000, max: HOUR_MS, fallback: 10_000 }),
  RELOCATOR_STALLED_INTERVAL_MS: wholeNumber({ min: 500, max: HOUR_MS, fallback: 5000 }),
  RELOCATOR_MAX_STALLED_COUNT: wholeNumber({ min: 0, max: 100, fallback: 2 }),
  RELOCATOR_VERIFY_CHECKSUM: flag(false),
  RELOCATOR_COPY_BYTES_PER_SECOND: wholeNumber({ min: 0, fallback: 0 }),
  RECONCILE_EVERY: duration({ minMs: 1000, fallbackMs: 0 }),
  RECONCILE_FIX: flag(false),
  RELOCATOR_FAULT_RETRY_MAX_MS: wholeNumber({ min: 1000, max: HOUR_MS, fallback: 60_000 }),
  RELOCATOR_TIER_CHECK_MS: wholeNumber({ min: 100, max: HOUR_MS, fallback: 5000 }),
  CACHE_SYNC_EVERY: duration({ minMs: 1000, fallbackMs: 30_000 }),
  PIN_EXPIRY_EVERY: duration({ minMs: 1000, fallbackMs: 30_000 }),
  CAPACITY_SWEEP_EVERY: duration({ minMs: 1000, fallbackMs: 30_000 }),
  RATE_SWEEP_EVERY: duration({ minMs: 1000, fallbackMs: 60_000 }),
  RELOCATOR_COMMIT_GROUP_MS: wholeNumber({
    min: 0,
    max: 1000,
    fallback: DEFAULT_COMMIT_GROUP_MS,
  }),
  RELOCATOR_COMMIT_GROUP_MAX: wholeNumber({
    min: 1,
    max: 1000,
    fallback: DEFAULT_COMMIT_GROUP_MAX,
  }),
});

/**
 * Reads the relocator's configuration from `env` (default `process.env`) without side effects:
 * the shared variables of `baseEnvSchema` (`@relocation/runtime`) and the relocator's own.
 *
 * Values are trimmed and an empty one counts as unset. Throws a `ConfigError` listing every bad
 * variable at once, one line each (`RELOCATOR_CONCURRENCY: must be a whole number from 1 to 256
 * (got "0")`). The result is frozen.
 */
export function loadConfig(env: Env = process.env): RelocatorConfig {
  const e = loadEnv(envSchema, env);
  return Object.freeze({
    ...sharedSettings(e),
    concurrency: e.RELOCATOR_CONCURRENCY,
    maxMovesPerSecond: e.RELOCATOR_MAX_MOVES_PER_SECOND,
    shutdownTimeoutMs: e.RELOCATOR_SHUTDOWN_TIMEOUT_MS,
    metricsPort: e.RELOCATOR_METRICS_PORT,
    metricsHost: e.RELOCATOR_METRICS_HOST,
    lockDurationMs: e.RELOCATOR_LOCK_DURATION_MS,
    stalledIntervalMs: e.RELOCATOR_STALLED_INTERVAL_MS,
    maxStalledCount: e.RELOCATOR_MAX_STALLED_COUNT,
    verifyChecksum: e.RELOCATOR_VERIFY_CHECKSUM,
    copyBytesPerSecond: e.RELOCATOR_COPY_BYTES_PER_SECOND,
    reconcileEveryMs: e.RECONCILE_EVERY,
    reconcileFix: e.RECONCILE_FIX,
    faultRetryMaxMs: e.RELOCATOR_FAULT_RETRY_MAX_MS,
    tierCheckMs: e.RELOCATOR_TIER_CHECK_MS,
    cacheSyncEveryMs: e.CACHE_SYNC_EVERY,
    pinExpiryEveryMs: e.PIN_EXPIRY_EVERY,
    capacitySweepEveryMs: e.CAPACITY_SWEEP_EVERY,
    rateSweepEveryMs: e.RATE_SWEEP_EVERY,
    commitGroupMs: e.RELOCATOR_COMMIT_GROUP_MS,
    commitGroupMax: e.RELOCATOR_COMMIT_GROUP_MAX,
  });
}
