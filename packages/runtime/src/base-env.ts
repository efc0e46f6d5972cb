import { parseDatabaseUrl } from '@relocation/db';
import { DEFAULT_QUEUE_PREFIX } from '@relocation/queue';
import type { ChooseTierOptions } from '@relocation/tiering';
import { z } from 'zod';
import { oneOf } from './env-fields.ts';
import {
  flapBudget,
  hysteresis,
  minResidenceByLevel,
  minResidenceMs,
  rateHalfLife,
  rateThresholds,
  tieringOptions,
  tieringPolicy,
} from './tiering-settings.ts';

/** Log levels pino understands (`silent` turns logging off); the values `LOG_LEVEL` accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The rule for `QUEUE_PREFIX`: 1-64 characters, no white space and no `:`. Every key is
 * `<prefix>:…` with `:` as the separator (BullMQ refuses `:` in queue names and job ids for the
 * same reason), so with a `:` one deployment's keys could fall inside another's: prefix
 * `bull:relocation` lies under `bull`'s queue keys `bull:relocation:*`. A hash tag such as
 * `{relocation}` is fine.
 */
export const QUEUE_PREFIX_PATTERN = /^[^\s:]{1,64}$/;

/** A URL setting; `problem` says why a value is refused, or returns null when it is fine. */
function urlSetting(fallback: string, problem: (value: string) => string | null) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw ?? fallback;
      const message = problem(value);
      if (message === null) return value;
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    });
}

function redisUrlProblem(value: string): string | null {
  if (/^rediss?:\/\/\S+$/.test(value) && URL.canParse(value)) return null;
  return 'must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379';
}

function databaseUrlProblem(value: string): string | null {
  try {
    parseDatabaseUrl(value);
    return null;
  } catch (error) {
    return `must be a URL such as mysql://root@127.0.0.1:3306/relocation: ${(error as Error).message}`;
  }
}

/**
 * The settings the gateway and the relocator share, read by the same rules in both: each app's
 * schema extends this one (`baseEnvSchema.extend({...})`), so a shared variable can never be
 * accepted by one app and refused by the other.
 */
export const baseEnvSchema = z.object({
  REDIS_URL: urlSetting('redis://127.0.0.1:6379', redisUrlProblem),
  DATABASE_URL: urlSetting('mysql://root@127.0.0.1:3306/relocation', databaseUrlProblem),
  QUEUE_PREFIX: z
    .string()
    .regex(
      QUEUE_PREFIX_PATTERN,
      'must be 1-64 characters without spaces or ":" (e.g. {relocation})',
    )
    .optional()
    .transform((value) => value ?? DEFAULT_QUEUE_PREFIX),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  // The placement policy (`tieringOptions` makes it the one `ChooseTierOptions` of every part).
  /** How far a count must be outside its level's range before the content moves. */
  TIERING_HYSTERESIS: hysteresis(),
  /** Minimum milliseconds a content stays on a level after its last move. */
  TIERING_MIN_RESIDENCE_MS: minResidenceMs(),
  /** Minimum residence of the levels it names (the level being left), overriding the above. */
  TIERING_MIN_RESIDENCE_BY_LEVEL: minResidenceByLevel(),
  /** Most tier changes of one content per window (`4/1h`), or `off`. */
  TIERING_FLAP_BUDGET: flapBudget(),
  /** What places contents: their total `count` (default) or their view `rate`. */
  TIERING_POLICY: tieringPolicy(),
  /** The half-life of the view rate (`TIERING_POLICY=rate`). */
  TIERING_RATE_HALF_LIFE: rateHalfLife(),
  /** Views per hour that promote into and demote out of each level (`TIERING_POLICY=rate`). */
  TIERING_RATE_THRESHOLDS: rateThresholds(),
});

/** The parsed shared settings, as {@link baseEnvSchema} returns them. */
export type BaseEnv = z.output<typeof baseEnvSchema>;

/**
 * The connection, logging and placement-policy settings both apps' configurations carry, under
 * the same names.
 */
export interface SharedSettings {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  /** BullMQ key prefix shared by the apps; also prefixes the content cache and the journal. */
  readonly queuePrefix: string;
  readonly logLevel: LogLevel;
  /**
   * The placement policy every part decides with (`TIERING_*`, see `tieringOptions`): the
   * gateway's posts, the relocator's moves, the plan and the CLIs pass this one object to
   * `chooseTier`, so they never disagree.
   */
  readonly tiering: ChooseTierOptions;
}

/** Picks {@link SharedSettings} out of parsed shared variables. */
export function sharedSettings(env: BaseEnv): SharedSettings {
  return {
    redisUrl: env.REDIS_URL,
    databaseUrl: env.DATABASE_URL,
    queuePrefix: env.QUEUE_PREFIX,
    logLevel: env.LOG_LEVEL,
    tiering: tieringOptions(env),
  };
}
