import { loginFailuresKey, type RedisConnection } from '@relocation/queue';

/** Failed logins one client address may make in a window before it is throttled. */
export const LOGIN_FAILURE_LIMIT = 10;

/** The throttle's window, in milliseconds: it starts at an address's first failed login. */
export const LOGIN_FAILURE_WINDOW_MS = 60_000;

/** Options of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failed logins allowed per window; the next attempt is throttled. */
  readonly limit?: number;
  readonly windowMs?: number;
}

/** An address's failed logins in its current window. */
export interface LoginFailures {
  readonly count: number;
  /** Milliseconds until the window ends (and the count starts again at 0). */
  readonly resetInMs: number;
  /** The address made {@link LoginThrottleOptions.limit} failed logins or more: refuse it. */
  readonly throttled: boolean;
}

/**
 * Counts failed logins per client address in Redis (a fixed window that starts at the first
 * failure), so the count holds across gateways: after `limit` failures within `windowMs`, further
 * logins from that address are throttled until the window ends.
 */
export class LoginThrottle {
  readonly limit: number;
  readonly windowMs: number;
  readonly #redis: RedisConnection;
  readonly #prefix: string;

  constructor(redis: RedisConnection, prefix: string, options: LoginThrottleOptions = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.limit = options.limit ?? LOGIN_FAILURE_LIMIT;
    this.windowMs = options.windowMs ?? LOGIN_FAILURE_WINDOW_MS;
  }

  /** The address's failures so far in its window (none when it has no window open). */
  async failures(address: string): Promise<LoginFailures> {
    const key = loginFailuresKey(this.#prefix, address);
    const replies = await this.#redis.multi().get(key).pttl(key).exec();
    const count = Number(reply(replies, 0) ?? 0);
    return this.#describe(count, Number(reply(replies, 1)));
  }

  /** Records one failed login of `address` and returns its failures, this one included. */
  async recordFailure(address: string): Promise<LoginFailures> {
    const key = loginFailuresKey(this.#prefix, address);
    // SET NX opens the window with its TTL only when none is open; INCR keeps the TTL. In one
    // MULTI, so no counter is ever left without an expiry.
    const replies = await this.#redis
      .multi()
      .set(key, 0, 'PX', this.windowMs, 'NX')
      .incr(key)
      .pttl(key)
      .exec();
    return this.#describe(Number(reply(replies, 1)), Number(reply(replies, 2)));
  }

  #describe(count: number, pttl: number): LoginFailures {
    const resetInMs = pttl > 0 ? pttl : 0;
    return { count, resetInMs, throttled: count >= this.limit && resetInMs > 0 };
  }
}

/** The reply of command `index` of a MULTI, throwing the command's own error. */
function reply(replies: [Error | null, unknown][] | null, index: number): unknown {
  // `exec` answers null when the transaction was aborted (never here: nothing is WATCHed).
  const entry = replies?.[index];
  if (entry === undefined) throw new Error('Redis aborted the login-failure transaction');
  const [error, value] = entry;
  if (error) throw error;
  return value;
}
