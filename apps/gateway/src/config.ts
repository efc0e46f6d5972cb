import { parseDatabaseUrl } from '@relocation/db';
import { DEFAULT_QUEUE_PREFIX } from '@relocation/queue';
import { z } from 'zod';

/** Log levels pino understands (`silent` turns logging off). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Operator credentials for Bull Board and the admin v1 routes. */
export interface AdminCredentials {
  readonly user: string;
  readonly password: string;
}

/** The gateway's validated configuration; see {@link loadConfig} for the variables. */
export interface GatewayConfig {
  /** TCP port to listen on (0 picks a free one). */
  readonly port: number;
  readonly host: string;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  /** BullMQ key prefix shared with the relocator; also prefixes the content cache. */
  readonly queuePrefix: string;
  /** `null` when ADMIN_USER / ADMIN_PASSWORD are unset: admin routes then answer 503. */
  readonly admin: AdminCredentials | null;
  readonly logLevel: LogLevel;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** Most items one `POST /v1/views` batch may carry. */
  readonly viewsBatchMax: number;
  /** Views a count must be outside its level's range before the content moves. */
  readonly tieringHysteresis: number;
}

/** Thrown by {@link loadConfig}; `issues` holds one line per bad variable, naming it. */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n${issues.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Default BODY_LIMIT: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Default VIEWS_BATCH_MAX. */
export const DEFAULT_VIEWS_BATCH_MAX = 1000;

function integer(name: string, min: number, max: number, fallback: number) {
  const message = `${name} must be a whole number between ${min} and ${max}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `${message} (got ${JSON.stringify(raw)})` });
        return z.NEVER;
      }
      return value;
    });
}

function url(name: string, fallback: string, check: (value: string) => string | null) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw ?? fallback;
      const problem = check(value);
      if (problem !== null) {
        ctx.addIssue({ code: 'custom', message: `${name} ${problem}` });
        return z.NEVER;
      }
      return value;
    });
}

function checkRedisUrl(value: string): string | null {
  try {
    const parsed = new URL(value);
    if (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:') return null;
  } catch {
    // Reported below with the expected form.
  }
  return `must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379 (got ${JSON.stringify(value)})`;
}

function checkDatabaseUrl(value: string): string | null {
  try {
    parseDatabaseUrl(value);
    return null;
  } catch (error) {
    return `must be a URL such as mysql://root@127.0.0.1:3306/relocation: ${(error as Error).message}`;
  }
}

const envSchema = z.object({
  PORT: integer('PORT', 0, 65535, 3000),
  HOST: z.string().default('0.0.0.0'),
  REDIS_URL: url('REDIS_URL', 'redis://127.0.0.1:6379', checkRedisUrl),
  DATABASE_URL: url('DATABASE_URL', 'mysql://root@127.0.0.1:3306/relocation', checkDatabaseUrl),
  QUEUE_PREFIX: z
    .string()
    .regex(/^\S{1,64}$/, {
      error: 'QUEUE_PREFIX must be 1-64 characters without spaces (e.g. bull or {relocation})',
    })
    .default(DEFAULT_QUEUE_PREFIX),
  ADMIN_USER: z
    .string()
    .refine((v) => !v.includes(':'), { error: 'ADMIN_USER must not contain ":"' })
    .optional(),
  ADMIN_PASSWORD: z.string().optional(),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  BODY_LIMIT: integer('BODY_LIMIT', 1024, 100 * 1024 * 1024, DEFAULT_BODY_LIMIT),
  VIEWS_BATCH_MAX: integer('VIEWS_BATCH_MAX', 1, 100_000, DEFAULT_VIEWS_BATCH_MAX),
  TIERING_HYSTERESIS: integer('TIERING_HYSTERESIS', 0, Number.MAX_SAFE_INTEGER, 0),
});

const VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

/**
 * Reads the gateway's configuration from `env` (pure: nothing else is read).
 *
 * Variables: PORT (3000), HOST (0.0.0.0), REDIS_URL (redis://127.0.0.1:6379), DATABASE_URL
 * (mysql://root@127.0.0.1:3306/relocation), QUEUE_PREFIX (bull), ADMIN_USER and ADMIN_PASSWORD
 * (both or neither; no default), LOG_LEVEL (info), BODY_LIMIT (1048576 bytes), VIEWS_BATCH_MAX
 * (1000), TIERING_HYSTERESIS (0 views). An empty variable counts as unset. Returns a frozen
 * object; throws {@link ConfigError} listing every bad variable at once, one line each.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): GatewayConfig {
  const input: Record<string, string | undefined> = {};
  for (const name of VARIABLES) {
    const value = env[name];
    input[name] = value === undefined || value === '' ? undefined : value;
  }
  const parsed = envSchema.safeParse(input);
  const issues: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '');
      issues.push(issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`);
    }
  }
  const user = input.ADMIN_USER;
  const password = input.ADMIN_PASSWORD;
  if ((user === undefined) !== (password === undefined)) {
    issues.push(
      user === undefined
        ? 'ADMIN_USER must be set when ADMIN_PASSWORD is (set both, or neither to disable admin routes)'
        : 'ADMIN_PASSWORD must be set when ADMIN_USER is (set both, or neither to disable admin routes)',
    );
  }
  if (!parsed.success || issues.length > 0) throw new ConfigError(issues);
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    queuePrefix: e.QUEUE_PREFIX,
    admin:
      e.ADMIN_USER !== undefined && e.ADMIN_PASSWORD !== undefined
        ? Object.freeze({ user: e.ADMIN_USER, password: e.ADMIN_PASSWORD })
        : null,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    viewsBatchMax: e.VIEWS_BATCH_MAX,
    tieringHysteresis: e.TIERING_HYSTERESIS,
  });
}
