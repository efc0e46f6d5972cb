import {
  baseEnvSchema,
  loadEnv,
  sharedSettings,
  text,
  wholeNumber,
  type Env,
  type SharedSettings,
} from '@relocation/runtime';
import { z } from 'zod';

/** Operator credentials for Bull Board and the admin v1 routes. */
export interface AdminCredentials {
  readonly user: string;
  readonly password: string;
}

/** The gateway's validated configuration; see {@link loadConfig} for the variables. */
export interface GatewayConfig extends SharedSettings {
  /** TCP port to listen on (0 picks a free one). */
  readonly port: number;
  readonly host: string;
  /** `null` when ADMIN_USER / ADMIN_PASSWORD are unset: admin routes then answer 503. */
  readonly admin: AdminCredentials | null;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** Most items one `POST /v1/views` batch may carry. */
  readonly viewsBatchMax: number;
  /** Views a count must be outside its level's range before the content moves. */
  readonly tieringHysteresis: number;
}

/** Default BODY_LIMIT: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Default VIEWS_BATCH_MAX. */
export const DEFAULT_VIEWS_BATCH_MAX = 1000;

const envSchema = baseEnvSchema.extend({
  PORT: wholeNumber({ min: 0, max: 65535, fallback: 3000 }),
  HOST: text('0.0.0.0'),
  // Basic auth sends `user:password`, so a `:` in the user name could never match.
  ADMIN_USER: z
    .string()
    .regex(/^[^:]*$/, 'must not contain ":"')
    .optional(),
  ADMIN_PASSWORD: z.string().optional(),
  BODY_LIMIT: wholeNumber({ min: 1024, max: 100 * 1024 * 1024, fallback: DEFAULT_BODY_LIMIT }),
  VIEWS_BATCH_MAX: wholeNumber({ min: 1, max: 100_000, fallback: DEFAULT_VIEWS_BATCH_MAX }),
});

/**
 * Reads the gateway's configuration from `env` (pure: nothing else is read).
 *
 * Variables: the shared ones (REDIS_URL, DATABASE_URL, QUEUE_PREFIX, LOG_LEVEL,
 * TIERING_HYSTERESIS; see `baseEnvSchema` of `@relocation/runtime`), PORT (3000), HOST (0.0.0.0),
 * ADMIN_USER and ADMIN_PASSWORD (both or neither; no default), BODY_LIMIT (1048576 bytes),
 * VIEWS_BATCH_MAX (1000). Values are trimmed and an empty one counts as unset. Returns a frozen
 * object; throws a `ConfigError` listing every bad variable at once, one line each.
 */
export function loadConfig(env: Env = process.env): GatewayConfig {
  const e = loadEnv(envSchema, env, {
    check: ({ ADMIN_USER, ADMIN_PASSWORD }) => {
      if ((ADMIN_USER === undefined) === (ADMIN_PASSWORD === undefined)) return [];
      const [missing, set] =
        ADMIN_USER === undefined
          ? ['ADMIN_USER', 'ADMIN_PASSWORD']
          : ['ADMIN_PASSWORD', 'ADMIN_USER'];
      return [
        `${missing}: must be set when ${set} is (set both, or neither to disable admin routes)`,
      ];
    },
  });
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    ...sharedSettings(e),
    admin:
      e.ADMIN_USER !== undefined && e.ADMIN_PASSWORD !== undefined
        ? Object.freeze({ user: e.ADMIN_USER, password: e.ADMIN_PASSWORD })
        : null,
    bodyLimit: e.BODY_LIMIT,
    viewsBatchMax: e.VIEWS_BATCH_MAX,
    tieringHysteresis: e.TIERING_HYSTERESIS,
  });
}
