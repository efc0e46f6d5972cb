import {
  baseEnvSchema,
  flag,
  loadEnv,
  sharedSettings,
  text,
  wholeNumber,
  type Env,
  type SharedSettings,
} from '@relocation/runtime';
import { z } from 'zod';
import {
  OPEN_ACCESS,
  readAccessSettings,
  type AccessSettings,
  type ReadKeysFile,
} from './services/access-settings.ts';
import type { TrustProxy } from './services/networks.ts';

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
  /**
   * PUBLIC_URL: where clients reach this gateway (`http://host:port`, or a proxy's URL, with a
   * path prefix but no trailing `/`), the OpenAPI document's `servers` entry. Unset: derived from
   * HOST and PORT by {@link localUrl}.
   */
  readonly publicUrl: string;
  /** `null` when ADMIN_USER / ADMIN_PASSWORD are unset: admin routes then answer 503. */
  readonly admin: AdminCredentials | null;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** Most items one `POST /v1/views` batch may carry. */
  readonly viewsBatchMax: number;
  /** Requests per minute and client on the write routes; see {@link RateLimits}. */
  readonly rateLimits: RateLimits;
  /** API keys and the legacy endpoints' restrictions (API_KEYS, LEGACY_ALLOW, …). */
  readonly access: AccessSettings;
  /** TRUST_PROXY: which proxies' `X-Forwarded-For` gives the client address (`false`: none). */
  readonly trustProxy: TrustProxy;
  /**
   * VIEW_LOG_FILE: the file every accepted view report is appended to, one NDJSON line
   * `{"cid","count","at"}` (what `npm run replay -- --views` reads); `null`: no view log.
   */
  readonly viewLogFile: string | null;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Reads API_KEYS_FILE; defaults to the file system (the one read besides `env`). */
  readonly readKeysFile?: ReadKeysFile;
}

/**
 * Requests per minute one client (an API key, else a client address) may send, counted in Redis
 * across every gateway on the prefix; `0` turns a limit off. A `POST /v1/views` batch counts as
 * one request.
 */
export interface RateLimits {
  /** View reports: `POST /post_sentence` and `POST /v1/views` share one counter per client. */
  readonly postsPerMinute: number;
  /**
   * Every other write (registration, the admin writes): each route has its own counter per
   * client, so a catalogue import never locks an operator out of the admin routes.
   */
  readonly writesPerMinute: number;
}

/** Default BODY_LIMIT: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Default VIEWS_BATCH_MAX. */
export const DEFAULT_VIEWS_BATCH_MAX = 1000;

/**
 * Default RATE_LIMIT_POSTS_PER_MINUTE: 6000 (100 a second on average). A player reports per
 * content, and a CDN edge or a carrier NAT puts thousands of players behind one address, so the
 * default only stops a runaway script; one gateway takes several thousand posts a second.
 */
export const DEFAULT_RATE_LIMIT_POSTS_PER_MINUTE = 6000;

/**
 * Default RATE_LIMIT_WRITES_PER_MINUTE: 600 (10 a second), far above what an operator or a
 * catalogue import needs, well below what would keep the tier disks or MySQL busy.
 */
export const DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE = 600;

/** A PUBLIC_URL's problem, or `null` when it is an http(s) URL without credentials, query or fragment. */
function publicUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http(s) URL such as https://relocation.example.com';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'must start with http:// or https://';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.search !== '' || url.hash !== '') return 'must not have a query or a fragment';
  return null;
}

/**
 * The URL a client on this machine reaches the gateway at: `http://localhost:<port>` when it
 * listens on every address (`0.0.0.0`, `::`), else `http://<host>:<port>` (IPv6 in brackets).
 */
function localUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

const envSchema = baseEnvSchema.extend({
  PORT: wholeNumber({ min: 0, max: 65535, fallback: 3000 }),
  HOST: text('0.0.0.0'),
  PUBLIC_URL: z
    .string()
    .optional()
    .superRefine((raw, ctx) => {
      const problem = raw === undefined ? null : publicUrlProblem(raw);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    }),
  // Basic auth sends `user:password`, so a `:` in the user name could never match.
  ADMIN_USER: z
    .string()
    .regex(/^[^:]*$/, 'must not contain ":"')
    .optional(),
  ADMIN_PASSWORD: z.string().optional(),
  BODY_LIMIT: wholeNumber({ min: 1024, max: 100 * 1024 * 1024, fallback: DEFAULT_BODY_LIMIT }),
  VIEWS_BATCH_MAX: wholeNumber({ min: 1, max: 100_000, fallback: DEFAULT_VIEWS_BATCH_MAX }),
  RATE_LIMIT_POSTS_PER_MINUTE: wholeNumber({
    min: 0,
    max: 10_000_000,
    fallback: DEFAULT_RATE_LIMIT_POSTS_PER_MINUTE,
  }),
  RATE_LIMIT_WRITES_PER_MINUTE: wholeNumber({
    min: 0,
    max: 10_000_000,
    fallback: DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE,
  }),
  // Parsed by readAccessSettings (one issue line per bad entry, never echoing a hash).
  API_KEYS: z.string().optional(),
  API_KEYS_FILE: z.string().optional(),
  LEGACY_ALLOW: z.string().optional(),
  LEGACY_REQUIRE_KEY: flag(false),
  TRUST_PROXY: z.string().optional(),
  VIEW_LOG_FILE: z.string().optional(),
});

function adminProblems({
  ADMIN_USER,
  ADMIN_PASSWORD,
}: {
  ADMIN_USER?: string;
  ADMIN_PASSWORD?: string;
}): string[] {
  if ((ADMIN_USER === undefined) === (ADMIN_PASSWORD === undefined)) return [];
  const [missing, set] =
    ADMIN_USER === undefined ? ['ADMIN_USER', 'ADMIN_PASSWORD'] : ['ADMIN_PASSWORD', 'ADMIN_USER'];
  return [`${missing}: must be set when ${set} is (set both, or neither to disable admin routes)`];
}

/**
 * Reads the gateway's configuration from `env`.
 *
 * Variables: the shared ones (REDIS_URL, DATABASE_URL, QUEUE_PREFIX, LOG_LEVEL and the
 * placement policy's TIERING_*; see `baseEnvSchema` of `@relocation/runtime`), PORT (3000), HOST (0.0.0.0),
 * PUBLIC_URL (an http(s) URL; unset: {@link localUrl} of HOST and PORT),
 * ADMIN_USER and ADMIN_PASSWORD (both or neither; no default), BODY_LIMIT (1048576 bytes),
 * VIEWS_BATCH_MAX (1000), RATE_LIMIT_POSTS_PER_MINUTE (6000) and RATE_LIMIT_WRITES_PER_MINUTE
 * (600; both `0` = off), API_KEYS and API_KEYS_FILE (`name:role:sha256hex` entries; none = the
 * API is open as before), LEGACY_ALLOW (addresses and CIDR blocks), LEGACY_REQUIRE_KEY (false),
 * TRUST_PROXY (false) and VIEW_LOG_FILE (unset: no view log). Values are trimmed and an empty one
 * counts as unset. Besides `env`, only the file API_KEYS_FILE names is read (VIEW_LOG_FILE is
 * opened by the app, not here). Returns a frozen object; throws a `ConfigError`
 * listing every bad variable at once, one line each (one per bad key entry).
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): GatewayConfig {
  // Read in the check, so that bad key entries are reported with every other bad variable.
  let read: ReturnType<typeof readAccessSettings> = {
    access: OPEN_ACCESS,
    trustProxy: false,
    problems: [],
  };
  const e = loadEnv(envSchema, env, {
    check: (values) => {
      read = readAccessSettings(values, options.readKeysFile);
      return [...adminProblems(values), ...read.problems];
    },
  });
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    // The URL as written, less a trailing `/` (paths are appended to it).
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, '') ?? localUrl(e.HOST, e.PORT),
    ...sharedSettings(e),
    admin:
      e.ADMIN_USER !== undefined && e.ADMIN_PASSWORD !== undefined
        ? Object.freeze({ user: e.ADMIN_USER, password: e.ADMIN_PASSWORD })
        : null,
    bodyLimit: e.BODY_LIMIT,
    viewsBatchMax: e.VIEWS_BATCH_MAX,
    rateLimits: Object.freeze({
      postsPerMinute: e.RATE_LIMIT_POSTS_PER_MINUTE,
      writesPerMinute: e.RATE_LIMIT_WRITES_PER_MINUTE,
    }),
    access: read.access,
    trustProxy: read.trustProxy,
    viewLogFile: e.VIEW_LOG_FILE ?? null,
  });
}
