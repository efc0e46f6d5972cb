import { readFileSync } from 'node:fs';
import { getDeploymentId, type Database } from '@relocation/db';
import type { Result } from 'ioredis';
import type { RedisConnection } from './connection.ts';
import type { Kysely } from 'kysely';
import { RelocationKeys, deploymentBase, ownerKey } from './keys.ts';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const CLAIM_OWNER_LUA = lua('claim-owner-1.lua');
const RELEASE_OWNER_LUA = lua('release-owner-1.lua');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    relocationClaimOwner(
      ownerKey: string,
      deployment: string,
      database: string,
      now: string,
      ttlMs: string,
    ): Result<string[], Context>;
    relocationReleaseOwner(ownerKey: string, deployment: string): Result<number, Context>;
  }
}

/** How long a deployment's claim on its prefix lives without renewal, in milliseconds. */
export const OWNER_TTL_MS = 30_000;

/** How often a running app renews its deployment's claim and re-reads the identity. */
export const OWNER_RENEW_MS = 10_000;

/** Another deployment is alive on the same prefix: the app must not use it. */
export class PrefixInUseError extends Error {
  readonly code = 'PREFIX_IN_USE';
  readonly prefix: string;
  readonly other: { deployment: string; database: string; aliveUntil?: number };
  readonly mine: { deployment: string; database: string };

  constructor(
    prefix: string,
    other: { deployment: string; database: string; aliveUntil?: number },
    mine: { deployment: string; database: string },
    now = Date.now(),
  ) {
    // A claim is also left behind by a deployment killed without a clean stop (or whose database
    // was dropped and created again under the same name): say when it lapses.
    const lapse =
      other.aliveUntil !== undefined && other.aliveUntil > now
        ? `; if that deployment is gone (killed or crashed without releasing the prefix), its ` +
          `claim lapses in ${Math.ceil((other.aliveUntil - now) / 1000)} s: start again then`
        : '';
    super(
      `QUEUE_PREFIX "${prefix}" is in use by another deployment (database ${other.database}, ` +
        `identity ${other.deployment}); this one is database ${mine.database} (identity ` +
        `${mine.deployment}). Two deployments must not share a queue: give each its own ` +
        `QUEUE_PREFIX (or its own Redis)${lapse}`,
    );
    this.prefix = prefix;
    this.other = other;
    this.mine = mine;
    this.name = 'PrefixInUseError';
  }
}

/**
 * The database's identity could not be read (MySQL unreachable, or not migrated): the app does
 * not know which deployment's Redis state to use, so it uses none. `cause` is the database error.
 */
export class IdentityUnavailableError extends Error {
  readonly code = 'IDENTITY_UNAVAILABLE';
  constructor(options: { cause: unknown }) {
    super(
      `the database's identity cannot be read (${options.cause instanceof Error ? options.cause.message : String(options.cause)})`,
      options,
    );
    this.name = 'IdentityUnavailableError';
  }
}

/** What happened when a deployment claimed its prefix (see {@link DeploymentBinding}). */
export type ClaimOutcome =
  | { kind: 'mine' | 'claimed' }
  | { kind: 'taken'; previous: { deployment: string; database: string; aliveUntil: number } };

/** What {@link DeploymentBinding} needs. */
export interface DeploymentBindingOptions {
  redis: RedisConnection;
  prefix: string;
  /** Reads the database's identity (`getDeploymentId`); rejects while MySQL is unreachable. */
  loadIdentity: () => Promise<string>;
  /** A label of the database for messages: `host:port/name`, never credentials. */
  database: string;
  queueName?: string;
  /** Told once when a claim took the prefix over from an earlier deployment, or the identity changed. */
  onEvent?: (event: BindingEvent) => void;
  now?: () => number;
}

/** Something an operator should know about, logged once by the app. */
export type BindingEvent =
  | { kind: 'took-over'; previous: { deployment: string; database: string }; removedKeys: number }
  | { kind: 'removed-stale'; deployments: string[]; removedKeys: number }
  | { kind: 'identity-changed'; from: string; to: string };

/**
 * Binds an app's Redis state to the database it serves (invariant I7). The identity of the
 * database (`deployment.id`) is read lazily, so an app can start while MySQL is away; every key
 * of the cache, the journal and the published tables is then built with it
 * ({@link RelocationKeys}), so a fresh database (another identity) never reads what an old one
 * left. On binding, and every {@link OWNER_RENEW_MS} after, the deployment claims the prefix:
 * another deployment alive on it is refused ({@link PrefixInUseError}); one whose claim expired
 * is taken over, its leftover keys are deleted, and the app is told once.
 */
export class DeploymentBinding {
  readonly #options: DeploymentBindingOptions;
  #keys: RelocationKeys | null = null;
  #binding: Promise<RelocationKeys> | null = null;
  #conflict: PrefixInUseError | null = null;

  constructor(options: DeploymentBindingOptions) {
    this.#options = options;
    options.redis.defineCommand('relocationClaimOwner', {
      numberOfKeys: 1,
      lua: CLAIM_OWNER_LUA,
    });
    options.redis.defineCommand('relocationReleaseOwner', {
      numberOfKeys: 1,
      lua: RELEASE_OWNER_LUA,
    });
  }

  /**
   * Gives the prefix up at shutdown (only this deployment's claim), so a recreated database can
   * use it at once; other processes of this deployment claim it again on their next renewal.
   * Never throws.
   */
  async release(): Promise<void> {
    const keys = this.#keys;
    if (!keys) return;
    await this.#options.redis
      .relocationReleaseOwner(ownerKey(this.#options.prefix), keys.deployment)
      .catch(() => undefined);
  }

  /** The keys of the bound deployment, or `null` before the identity was read. */
  get current(): RelocationKeys | null {
    return this.#conflict ? null : this.#keys;
  }

  /**
   * The bound deployment's keys, reading the identity and claiming the prefix first when that
   * has not happened yet. Rejects with {@link IdentityUnavailableError} while MySQL is
   * unreachable and with {@link PrefixInUseError} while another deployment uses the prefix.
   */
  async keys(): Promise<RelocationKeys> {
    if (this.#conflict) throw this.#conflict;
    if (this.#keys) return this.#keys;
    this.#binding ??= this.#bind().finally(() => {
      this.#binding = null;
    });
    return this.#binding;
  }

  /**
   * Re-reads the identity and renews the claim (the apps call it every {@link OWNER_RENEW_MS}):
   * a database recreated under a running app gets a clean cache from then on.
   */
  async renew(): Promise<RelocationKeys> {
    const previous = this.#keys;
    const identity = await this.#loadIdentity();
    if (previous && previous.deployment !== identity) {
      this.#options.onEvent?.({
        kind: 'identity-changed',
        from: previous.deployment,
        to: identity,
      });
    }
    return this.#claim(identity);
  }

  async #bind(): Promise<RelocationKeys> {
    return this.#claim(await this.#loadIdentity());
  }

  async #loadIdentity(): Promise<string> {
    try {
      return await this.#options.loadIdentity();
    } catch (error) {
      throw new IdentityUnavailableError({ cause: error });
    }
  }

  async #claim(identity: string): Promise<RelocationKeys> {
    const { redis, prefix, database } = this.#options;
    // The gateway's connection fails fast (no offline queue): a claim made at start-up, while
    // that connection is still being opened, waits for it instead of failing.
    await opened(redis);
    const now = (this.#options.now ?? Date.now)();
    const reply = await redis.relocationClaimOwner(
      ownerKey(prefix),
      identity,
      database,
      String(now),
      String(OWNER_TTL_MS),
    );
    const [kind, deployment = '', otherDatabase = '', aliveUntil = ''] = reply;
    if (kind === 'conflict') {
      this.#conflict = new PrefixInUseError(
        prefix,
        {
          deployment,
          database: otherDatabase,
          ...(Number(aliveUntil) > 0 ? { aliveUntil: Number(aliveUntil) } : {}),
        },
        { deployment: identity, database },
        now,
      );
      this.#keys = null;
      throw this.#conflict;
    }
    this.#conflict = null;
    const keys = new RelocationKeys({
      prefix,
      deployment: identity,
      ...(this.#options.queueName ? { queueName: this.#options.queueName } : {}),
    });
    this.#keys = keys;
    if (kind === 'taken') {
      const removedKeys = await removeDeploymentState(redis, prefix, deployment);
      this.#options.onEvent?.({
        kind: 'took-over',
        previous: { deployment, database: otherDatabase },
        removedKeys,
      });
    } else if (kind === 'claimed') {
      // Nobody held the prefix: whatever another identity left under it (a database dropped
      // after a graceful stop) can never be used again; this claim keeps any other deployment
      // off the prefix while it is removed.
      const { deployments, removedKeys } = await removeOtherDeployments(redis, prefix, identity);
      if (deployments.length > 0) {
        this.#options.onEvent?.({ kind: 'removed-stale', deployments, removedKeys });
      }
    }
    return keys;
  }
}

/** How long a claim waits for a connection that is being opened, in milliseconds. */
const OPEN_WAIT_MS = 5_000;
const OPEN_EVENTS = ['ready', 'error', 'close', 'end'] as const;

/**
 * Settles once a connection being opened is ready or has failed (at most {@link OPEN_WAIT_MS});
 * at once when it is not being opened (ready, or down: the command then fails as it should).
 */
async function opened(redis: RedisConnection): Promise<void> {
  if (redis.status !== 'connecting' && redis.status !== 'connect') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const event of OPEN_EVENTS) redis.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, OPEN_WAIT_MS);
    for (const event of OPEN_EVENTS) redis.once(event, done);
  });
}

/**
 * Deletes the state every other identity left under `prefix` (SCAN + UNLINK); returns which
 * identities and how many keys.
 */
export async function removeOtherDeployments(
  redis: RedisConnection,
  prefix: string,
  identity: string,
): Promise<{ deployments: string[]; removedKeys: number }> {
  const base = `${deploymentBase(prefix, '')}`;
  const deployments = new Set<string>();
  let removedKeys = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
    cursor = next;
    const stale = keys.filter((key) => {
      const owner = key.slice(base.length).split(':')[0] ?? '';
      if (owner === identity || owner === '') return false;
      deployments.add(owner);
      return true;
    });
    if (stale.length > 0) removedKeys += await redis.unlink(...stale);
  } while (cursor !== '0');
  return { deployments: [...deployments], removedKeys };
}

/** Deletes every key of one deployment's state under `prefix` (SCAN + UNLINK); returns how many. */
export async function removeDeploymentState(
  redis: RedisConnection,
  prefix: string,
  deployment: string,
): Promise<number> {
  const pattern = `${deploymentBase(prefix, deployment)}:*`;
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** `host:port/name` of a database URL, for messages (never its credentials). */
export function databaseLabel(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || '3306'}${url.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

/** The logger calls {@link logBindingEvent} and {@link renewEvery} make (pino's shape). */
export interface BindingLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** Logs a {@link BindingEvent} once, saying what was found and what was done. */
export function logBindingEvent(logger: BindingLogger): (event: BindingEvent) => void {
  return (event) => {
    switch (event.kind) {
      case 'took-over':
        logger.warn(
          { previous: event.previous, removedKeys: event.removedKeys },
          `found Redis state of another database (${event.previous.database}, identity ` +
            `${event.previous.deployment}) under this prefix; it is not used: this deployment ` +
            `starts from a clean cache (${event.removedKeys} stale keys removed)`,
        );
        break;
      case 'removed-stale':
        logger.warn(
          { deployments: event.deployments, removedKeys: event.removedKeys },
          `found Redis state of another database (identity ${event.deployments.join(', ')}) ` +
            `under this prefix; it is not used: this deployment starts from a clean cache ` +
            `(${event.removedKeys} stale keys removed)`,
        );
        break;
      case 'identity-changed':
        logger.warn(
          { from: event.from, to: event.to },
          'the database was replaced (its identity changed): the cache of the old one is no ' +
            'longer used',
        );
        break;
    }
  };
}

/**
 * Renews `binding` every `ms` (re-reads the identity, renews the claim on the prefix); errors are
 * logged (another deployment on the prefix at `error`, MySQL or Redis away at `warn` once per
 * run of failures). Returns the timer (unref'd); clear it on shutdown.
 */
export function renewEvery(
  binding: DeploymentBinding,
  logger: BindingLogger,
  ms = OWNER_RENEW_MS,
): NodeJS.Timeout {
  let failing = false;
  const timer = setInterval(() => {
    binding.renew().then(
      () => {
        failing = false;
      },
      (error: unknown) => {
        if (error instanceof PrefixInUseError) {
          logger.error({ err: error }, error.message);
        } else if (!failing) {
          logger.warn({ err: error }, 'cannot renew the deployment binding yet; will retry');
        }
        failing = true;
      },
    );
  }, ms);
  timer.unref();
  return timer;
}

/**
 * The binding every entry point makes: the identity read from `db` (`getDeploymentId`), the
 * database named by `databaseUrl` in messages, events logged once through `logger`.
 */
export function bindToDatabase(options: {
  redis: RedisConnection;
  prefix: string;
  db: Kysely<Database>;
  databaseUrl: string;
  logger?: BindingLogger;
}): DeploymentBinding {
  return new DeploymentBinding({
    redis: options.redis,
    prefix: options.prefix,
    loadIdentity: () => getDeploymentId(options.db),
    database: databaseLabel(options.databaseUrl),
    ...(options.logger ? { onEvent: logBindingEvent(options.logger) } : {}),
  });
}
