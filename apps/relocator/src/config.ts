import { parseDatabaseUrl } from '@relocation/db';
import { DEFAULT_QUEUE_PREFIX } from '@relocation/queue';
import { z } from 'zod';

/** The relocator's settings, validated; see the README's settings table for each one. */
export interface RelocatorConfig {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  /** BullMQ key prefix shared with the gateway (`bull`; a hash tag such as `{relocation}` on Cluster). */
  readonly queuePrefix: string;
  readonly logLevel: LogLevel;
  /** Views a count must be outside the current level's range before the content moves. */
  readonly hysteresis: number;
  /** Minimum milliseconds a content stays on a level after its last move. */
  readonly minResidenceMs: number;
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
}

/** Pino log levels accepted by `LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Thrown by {@link loadConfig}; `message` has one line per bad variable, naming it. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(fallback);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], {
      error: 'must be true or false',
    })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(fallback);

const redisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
    error: 'must be a redis:// or rediss:// URL',
  })
  .default('redis://127.0.0.1:6379');

const databaseUrl = z
  .string()
  .superRefine((v, ctx) => {
    try {
      parseDatabaseUrl(v);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  })
  .default('mysql://root@127.0.0.1:3306/relocation');

const HOUR_MS = 3_600_000;

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: HOUR_MS,
  d: 24 * HOUR_MS,
};

/** Parses `0`/`off`, a number of milliseconds, or a duration such as `30s`, `15m`, `1h`, `1d`. */
export function parseDuration(raw: string): number | null {
  if (raw === 'off' || raw === '0') return 0;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw);
  if (!match) return null;
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1);
}

const duration = z
  .string()
  .transform((raw, ctx) => {
    const ms = parseDuration(raw);
    if (ms === null || (ms > 0 && ms < 1000)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be off, or a duration of at least 1s such as 30s, 15m, 1h, 1d',
      });
      return z.NEVER;
    }
    return ms;
  })
  .default(0);

const schema = z.object({
  REDIS_URL: redisUrl,
  DATABASE_URL: databaseUrl,
  QUEUE_PREFIX: z
    .string()
    .regex(/^[^\s:]{1,64}$/, 'must be 1-64 characters without spaces or ":"')
    .default(DEFAULT_QUEUE_PREFIX),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  TIERING_HYSTERESIS: int(0, Number.MAX_SAFE_INTEGER, 0),
  TIERING_MIN_RESIDENCE_MS: int(0, 365 * 24 * HOUR_MS, 0),
  RELOCATOR_CONCURRENCY: int(1, 256, 4),
  RELOCATOR_MAX_MOVES_PER_SECOND: int(0, 100_000, 0),
  RELOCATOR_SHUTDOWN_TIMEOUT_MS: int(0, HOUR_MS, 30_000),
  RELOCATOR_METRICS_PORT: int(0, 65_535, 9464),
  RELOCATOR_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  RELOCATOR_LOCK_DURATION_MS: int(1000, HOUR_MS, 10_000),
  RELOCATOR_STALLED_INTERVAL_MS: int(500, HOUR_MS, 5000),
  RELOCATOR_MAX_STALLED_COUNT: int(0, 100, 2),
  RELOCATOR_VERIFY_CHECKSUM: bool(false),
  RELOCATOR_COPY_BYTES_PER_SECOND: int(0, Number.MAX_SAFE_INTEGER, 0),
  RECONCILE_EVERY: duration,
  RECONCILE_FIX: bool(false),
  RELOCATOR_FAULT_RETRY_MAX_MS: int(1000, HOUR_MS, 60_000),
  RELOCATOR_TIER_CHECK_MS: int(100, HOUR_MS, 5000),
});

/**
 * Reads the relocator's configuration from `env` (default `process.env`) without side effects.
 *
 * An empty variable counts as unset. Throws a {@link ConfigError} listing every bad variable at
 * once, one line each (`RELOCATOR_CONCURRENCY: must be at least 1 (got "0")`). The result is
 * frozen.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): RelocatorConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '(config)');
      const got = input[key];
      return `${key}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new ConfigError([...new Set(problems)]);
  }
  const e = parsed.data;
  return Object.freeze({
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    queuePrefix: e.QUEUE_PREFIX,
    logLevel: e.LOG_LEVEL,
    hysteresis: e.TIERING_HYSTERESIS,
    minResidenceMs: e.TIERING_MIN_RESIDENCE_MS,
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
  });
}
