import { parseDatabaseUrl } from '@relocation/db';
import { DEFAULT_QUEUE_PREFIX, hashTagOf, type RedisClusterTarget } from '@relocation/queue';
import type { ChooseTierOptions } from '@relocation/tiering';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { hostPortMap, hostPorts, oneOf } from './env-fields.ts';
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
  /**
   * Any nodes of a Redis Cluster (`host:port,…`): when set, every connection is a cluster client
   * and REDIS_URL only lends its user, password and TLS (`rediss:`) to every node.
   */
  REDIS_CLUSTER_NODES: hostPorts('10.0.0.1:6379,10.0.0.2:6379'),
  /**
   * With REDIS_CLUSTER_NODES: where to dial the nodes the cluster announces under addresses not
   * reachable from here (`announced=reachable,…`, e.g. `redis-1:6379=127.0.0.1:7001`).
   */
  REDIS_CLUSTER_NAT_MAP: hostPortMap('redis-1:6379=127.0.0.1:7001'),
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
  /**
   * The Redis Cluster (`REDIS_CLUSTER_NODES`, `REDIS_CLUSTER_NAT_MAP`), or `null` for the single
   * server of `redisUrl`. The settings are a `RedisTarget` of `@relocation/queue` as they are:
   * pass them to `createProducerRedis` / `createWorkerRedis`.
   */
  readonly redisCluster: RedisClusterTarget | null;
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

/**
 * What a Redis Cluster asks of the other settings, as issue lines: a hash-tagged QUEUE_PREFIX,
 * so that every key one BullMQ script or one of our scripts touches is in one slot (the prefix is
 * not changed for the operator: another prefix is another deployment's keys), and no database in
 * REDIS_URL but 0 (a cluster has no other). Without `REDIS_CLUSTER_NODES`, a NAT map is refused
 * (it would be ignored).
 */
function clusterProblems(env: BaseEnv): string[] {
  if (env.REDIS_CLUSTER_NODES === null) {
    return env.REDIS_CLUSTER_NAT_MAP === null
      ? []
      : ['REDIS_CLUSTER_NAT_MAP: applies to a Redis Cluster only: set REDIS_CLUSTER_NODES too'];
  }
  const problems: string[] = [];
  if (hashTagOf(env.QUEUE_PREFIX) === null) {
    problems.push(
      `QUEUE_PREFIX: must contain a hash tag such as {relocation} when REDIS_CLUSTER_NODES is set, so that the queue's and the cache's keys share one cluster slot (got ${JSON.stringify(env.QUEUE_PREFIX)})`,
    );
  }
  const database = new URL(env.REDIS_URL).pathname.slice(1);
  if (database !== '' && database !== '0') {
    problems.push(
      'REDIS_URL: must not name a database other than 0 when REDIS_CLUSTER_NODES is set (a Redis Cluster has database 0 only; only its user, password and rediss: are used)',
    );
  }
  return problems;
}

/**
 * Picks {@link SharedSettings} out of parsed shared variables. Throws a {@link ConfigError} when
 * the settings do not suit a Redis Cluster (see {@link clusterProblems}).
 */
export function sharedSettings(env: BaseEnv): SharedSettings {
  const problems = clusterProblems(env);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    redisUrl: env.REDIS_URL,
    redisCluster:
      env.REDIS_CLUSTER_NODES === null
        ? null
        : Object.freeze({
            nodes: env.REDIS_CLUSTER_NODES,
            natMap: env.REDIS_CLUSTER_NAT_MAP ?? Object.freeze({}),
          }),
    databaseUrl: env.DATABASE_URL,
    queuePrefix: env.QUEUE_PREFIX,
    logLevel: env.LOG_LEVEL,
    tiering: tieringOptions(env),
  };
}
