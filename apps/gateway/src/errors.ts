import { STATUS_CODES } from 'node:http';
import { DbError } from '@relocation/db';
import {
  ContentAdminError,
  IdentityUnavailableError,
  isClusterUnavailableError,
  redisFaultOf,
  type RedisFault,
} from '@relocation/queue';
import { InvalidLevelsError } from '@relocation/tiering';

/** Every error code the gateway answers with, and its HTTP status. */
export const ERROR_STATUS = Object.freeze({
  /** A field is missing or malformed; the message names it. */
  INVALID_INPUT: 400,
  /** The body is not valid JSON (or empty) while the content type says JSON. */
  INVALID_JSON: 400,
  /** A `POST /v1/views` batch has more items than VIEWS_BATCH_MAX. */
  BATCH_TOO_LARGE: 400,
  /** A level table breaks a rule (invariant I1); the message names each level and rule. */
  INVALID_LEVELS: 400,
  /** Any other malformed request Fastify rejects (e.g. a wrong Content-Length). */
  BAD_REQUEST: 400,
  /** `PUT /v1/contents/:cid/level` or `/pin` names a level that is not in the level table. */
  UNKNOWN_LEVEL: 400,
  /** `PUT /v1/contents/:cid/pin`: `until` is not in the future, or the reason is empty. */
  INVALID_PIN: 400,
  /**
   * Credentials missing, or wrong (an unknown API key, a wrong admin password). Has
   * `WWW-Authenticate`: `Bearer` when API keys are configured, `Basic` when the admin login is.
   */
  UNAUTHORIZED: 401,
  /** A valid API key whose role may not do this; the message names the role needed. */
  FORBIDDEN: 403,
  /** A legacy endpoint called from an address outside LEGACY_ALLOW; the message names it. */
  ADDRESS_NOT_ALLOWED: 403,
  /** No content has this cid. */
  CONTENT_NOT_FOUND: 404,
  /** No route matches the method and URL. */
  NOT_FOUND: 404,
  /** `DELETE /v1/contents/:cid/pending-move`: no move is pending for the content. */
  NO_PENDING_MOVE: 404,
  /** A content with this cid exists already. */
  CONTENT_EXISTS: 409,
  /** Another content already uses this file name (tier directories are shared). */
  FILENAME_EXISTS: 409,
  /**
   * A level that contents still sit on, or that a pending move goes from or to, cannot be removed;
   * the message names the levels and, for pending moves, the cids.
   */
  LEVEL_IN_USE: 409,
  /**
   * A level's directory is not its tier: missing or unmarked (retry with `?create=true` for a
   * new tier), or marked for another level or database (`npm run setup -- --claim-tiers`). The
   * admin content commands answer it too, for a tier they must look into.
   */
  TIER_UNAVAILABLE: 409,
  /**
   * `PUT /v1/contents/:cid/level`: the content's file is not a regular file in that level's
   * directory; the message says what each tier holds under its name.
   */
  FILE_NOT_ON_TIER: 409,
  /** An admin content command: a relocation job of the content is running; wait for it. */
  RELOCATION_ACTIVE: 409,
  /**
   * `PUT /v1/contents/:cid/level`: a move of the content is pending; requeue it (the next job
   * finishes it) or check the files and clear it (`DELETE /v1/contents/:cid/pending-move`).
   */
  MOVE_PENDING: 409,
  /** `PUT /v1/contents/:cid/level`: MySQL changed the content's level while the files were checked. */
  CONTENT_CHANGED: 409,
  /**
   * `DELETE /v1/contents/:cid/pending-move`: the file is on both tiers of the move (a collision)
   * or on neither (missing), or something else is in the way; an operator must look.
   */
  PENDING_MOVE_CONFLICT: 409,
  /** The content's file name in MySQL breaks the file-name rule; the service never touches it. */
  UNSAFE_FILENAME: 409,
  /** No level starts at 0, so a new content has no default tier. */
  NO_DEFAULT_LEVEL: 409,
  /** The body is larger than BODY_LIMIT. */
  BODY_TOO_LARGE: 413,
  /** The body is neither JSON nor `application/x-www-form-urlencoded`. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /**
   * The client (its API key, else its address) sent more view reports or writes this minute than
   * RATE_LIMIT_POSTS_PER_MINUTE / RATE_LIMIT_WRITES_PER_MINUTE allow. Has `Retry-After`: the
   * seconds until its window ends.
   */
  RATE_LIMITED: 429,
  /**
   * The client address made too many failed logins (10 a minute): logins from it are refused
   * unchecked until its window ends. Has `Retry-After`: the seconds until then.
   */
  TOO_MANY_FAILED_LOGINS: 429,
  /** Any other client error Fastify reports. */
  REQUEST_ERROR: 400,
  /** A bug or an unexpected failure; details are in the logs, never in the response. */
  INTERNAL_ERROR: 500,
  /** ADMIN_USER / ADMIN_PASSWORD are not configured, so admin routes are off. */
  ADMIN_DISABLED: 503,
  /** Redis cannot be reached. */
  REDIS_UNAVAILABLE: 503,
  /** Redis refuses writes: its used memory reached `maxmemory` (`-OOM` replies). Has `Retry-After`. */
  REDIS_FULL: 503,
  /** Redis refuses writes: it is a replica, e.g. after a failover (`-READONLY` replies). Has `Retry-After`. */
  REDIS_READONLY: 503,
  /** MySQL cannot be reached. */
  DATABASE_UNAVAILABLE: 503,
  /**
   * Another deployment (another database) uses this QUEUE_PREFIX on this Redis: this gateway does
   * not touch the shared queue until the prefix is fixed (the message names both databases).
   */
  PREFIX_IN_USE: 503,
  /** `/readyz`: a dependency is down, or Redis is full or read-only. */
  NOT_READY: 503,
});

/** A stable error code of the gateway's HTTP API. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The `Retry-After` (seconds) the error handler sends with these codes. A full Redis needs an
 * operator or finished jobs to age out, so clients wait longer; a failover settles in seconds.
 */
export const RETRY_AFTER_SECONDS = Object.freeze({
  REDIS_FULL: 5,
  REDIS_READONLY: 2,
} satisfies Partial<Record<ErrorCode, number>>);

/** The `Retry-After` in seconds to answer `code` with, if it has one. */
export function retryAfterSeconds(code: ErrorCode): number | undefined {
  return (RETRY_AFTER_SECONDS as Partial<Record<ErrorCode, number>>)[code];
}

/** The JSON body of every error response. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  /** The HTTP reason phrase of `statusCode`. */
  error: string;
  /** What went wrong, naming the field or dependency; never a stack trace. */
  message: string;
}

/** An error the gateway answers with: a stable `code`, an HTTP status and an optional cause. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; statusCode?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = options.statusCode ?? ERROR_STATUS[code];
  }

  /** The response body for this error. */
  toBody(): ErrorBody {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: STATUS_CODES[this.statusCode] ?? 'Error',
      message: this.message,
    };
  }
}

/** A content id that no content has. */
export function contentNotFound(cid: number): AppError {
  return new AppError('CONTENT_NOT_FOUND', `no content has cid ${cid}`);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ioredis with `enableOfflineQueue: false` rejects commands at once while disconnected; commands
// in flight when the connection drops fail with "Connection is closed" or, after the retry,
// MaxRetriesPerRequestError.
const REDIS_DOWN_MESSAGES = [
  /Stream isn't writeable/i,
  /Connection is closed/i,
  /Reached the max retries per request limit/i,
  /Redis is unavailable/i,
];

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** True when `error` says Redis is unreachable (as opposed to a bad command or a script bug). */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  // A Redis Cluster not connected yet, or without a master for the slot (during a failover).
  if (isClusterUnavailableError(error)) return true;
  const code = errorCode(error);
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  return REDIS_DOWN_MESSAGES.some((pattern) => pattern.test(error.message));
}

// mysql2 connection-level failures, plus a pool that is closed or a database that is gone: every
// one means "MySQL is not usable right now", never "the request was wrong".
const DATABASE_DOWN_CODES = new Set([
  ...NETWORK_CODES,
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'PROTOCOL_ENQUEUE_HANDSHAKE_TWICE',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_BAD_DB_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_HOST_IS_BLOCKED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_LOCK_WAIT_TIMEOUT',
]);

const DATABASE_DOWN_MESSAGES = [
  /Pool is closed/i,
  /driver has already been destroyed/i,
  /connection is in closed state/i,
  /Can't add new command when connection is in closed state/i,
];

/** True when `error` says MySQL is unreachable or unusable (connection, pool or database gone). */
export function isDatabaseUnavailableError(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && DATABASE_DOWN_CODES.has(code)) return true;
  if (error instanceof Error && 'fatal' in error && error.fatal === true) return true;
  return DATABASE_DOWN_MESSAGES.some((pattern) => pattern.test(errorMessage(error)));
}

/** Wraps a Redis failure as `REDIS_UNAVAILABLE` (503), keeping the original as `cause`. */
export function redisUnavailable(cause: unknown): AppError {
  return new AppError(
    'REDIS_UNAVAILABLE',
    `Redis is unavailable: ${errorMessage(cause)}; try again shortly`,
    { cause },
  );
}

const REDIS_FAULT_MESSAGES: Readonly<Record<RedisFault, string>> = Object.freeze({
  REDIS_FULL:
    'Redis is full: its used memory reached maxmemory and it refuses writes; raise maxmemory or free memory (e.g. remove kept failed jobs)',
  REDIS_READONLY:
    'Redis is read-only: the gateway is connected to a replica (e.g. the old primary after a failover); check the failover and point REDIS_URL at the primary',
});

/**
 * Wraps a write Redis refused (`-OOM` or `-READONLY`, see `redisFaultOf`) as `REDIS_FULL` or
 * `REDIS_READONLY` (503, with `Retry-After`), keeping the reply as `cause`.
 */
export function redisFault(fault: RedisFault, cause: unknown): AppError {
  const message = `${REDIS_FAULT_MESSAGES[fault]}; try again in ${RETRY_AFTER_SECONDS[fault]} s`;
  return new AppError(fault, message, { cause });
}

/** Wraps a MySQL failure as `DATABASE_UNAVAILABLE` (503), keeping the original as `cause`. */
export function databaseUnavailable(cause: unknown): AppError {
  return new AppError(
    'DATABASE_UNAVAILABLE',
    `MySQL is unavailable: ${errorMessage(cause)}; try again shortly`,
    { cause },
  );
}

/**
 * Runs a Redis operation and turns a connection failure into `REDIS_UNAVAILABLE` and a refused
 * write into `REDIS_FULL` / `REDIS_READONLY`. Other errors pass through unchanged (they are bugs,
 * answered as 500 and logged).
 */
export async function fromRedis<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof AppError) throw error;
    // The cache's keys need the database's identity: MySQL, not Redis, is what is missing.
    if (error instanceof IdentityUnavailableError) throw databaseUnavailable(error.cause);
    const fault = redisFaultOf(error);
    if (fault !== null) throw redisFault(fault, error);
    if (isRedisUnavailableError(error)) throw redisUnavailable(error);
    throw error;
  }
}

/**
 * Runs a MySQL operation and turns a connection failure into `DATABASE_UNAVAILABLE` and the db
 * package's domain errors into their HTTP codes. Other errors pass through unchanged.
 */
export async function fromDatabase<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toDatabaseAppError(error);
  }
}

/** An `INVALID_LEVELS` error whose message names every offending level and the rule it breaks. */
export function invalidLevels(error: InvalidLevelsError): AppError {
  const problems = error.violations.map((v) => `${v.message} (rule: ${v.rule})`);
  return new AppError('INVALID_LEVELS', `invalid level table: ${problems.join('; ')}`, {
    cause: error,
  });
}

function fromDbError(error: DbError): AppError {
  if (error.cause instanceof InvalidLevelsError) return invalidLevels(error.cause);
  return new AppError(error.code, error.message, { cause: error });
}

/** An admin command's refusal (`@relocation/queue`'s `ContentAdminError`), with its code. */
export function contentAdminError(error: ContentAdminError): AppError {
  return new AppError(error.code, error.message, { cause: error });
}

function toDatabaseAppError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof DbError) return fromDbError(error);
  if (isDatabaseUnavailableError(error)) return databaseUnavailable(error);
  return error;
}

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

/**
 * Maps anything thrown while handling a request to an {@link AppError}. Fastify's own client
 * errors keep their status; backend outages become 503; anything unknown becomes a 500 whose
 * message gives no detail (the caller logs the cause).
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof DbError) return fromDbError(error);
  if (error instanceof ContentAdminError) return contentAdminError(error);
  if (error instanceof InvalidLevelsError) return invalidLevels(error);
  if (error instanceof IdentityUnavailableError) return databaseUnavailable(error.cause);
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError;
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        'unsupported content type: send application/json or application/x-www-form-urlencoded',
        { cause: error },
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('BODY_TOO_LARGE', 'request body is larger than BODY_LIMIT', {
        cause: error,
      });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('INVALID_JSON', `body: ${String(e.message)}`, { cause: error });
    case 'PREFIX_IN_USE':
      return new AppError('PREFIX_IN_USE', String(e.message), { cause: error });
    case 'FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER':
      return new AppError('UNAUTHORIZED', 'admin credentials required (HTTP basic auth)', {
        cause: error,
      });
    default:
      break;
  }
  const fault = redisFaultOf(error);
  if (fault !== null) return redisFault(fault, error);
  if (isRedisUnavailableError(error)) return redisUnavailable(error);
  if (isDatabaseUnavailableError(error)) return databaseUnavailable(error);
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 401)
    return new AppError('UNAUTHORIZED', 'invalid admin credentials', { cause: error });
  if (status >= 400 && status < 500) {
    const code: ErrorCode = status === 400 ? 'BAD_REQUEST' : 'REQUEST_ERROR';
    const message = typeof e.message === 'string' ? e.message : (STATUS_CODES[status] ?? 'error');
    return new AppError(code, message, {
      cause: error,
      statusCode: status,
    });
  }
  return new AppError('INTERNAL_ERROR', 'internal error; the gateway logged the details', {
    cause: error,
  });
}
