import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';

/**
 * The share of a limit one counter round trip reserves: 1 % of it. A gateway may refuse a client
 * at most this many requests early per window (counts it reserved and did not hand out before
 * the window ended, or before the client stopped); limits under 200 are counted one request at a
 * time, exactly as before.
 */
export const RATE_LIMIT_LEASE_SHARE = 0.01;

/** How many counts one round trip reserves under `max` (at least 1). */
export function leaseSize(max: number): number {
  return Math.max(1, Math.floor(max * RATE_LIMIT_LEASE_SHARE));
}

/** What the store answers `@fastify/rate-limit`: the request's number in the window and the time left. */
interface Count {
  current: number;
  ttl: number;
}

type Callback = (error: Error | null, result?: Count) => void;

/** The counts of one key this gateway reserved in Redis and has not handed out yet. */
interface Lease {
  /** The next count to hand out, and the last one reserved. */
  next: number;
  last: number;
  /** The key's total in Redis after the last reservation (what the window has used so far). */
  total: number;
  /** When the key's window ends, epoch milliseconds. */
  windowEndsAt: number;
  /** Requests waiting for the reservation in flight, in arrival order; `null` when none is. */
  waiting: { callback: Callback; max: number }[] | null;
}

/** The Redis commands the store needs (a single server or a cluster: one key per command). */
export type RateLimitRedis = Pick<Redis, 'multi'>;

/** What {@link leasedRedisStore} makes: the store for `@fastify/rate-limit`, and its shortcut. */
export interface LeasedRedisStore {
  /** The store class to pass as `store`. */
  readonly Store: FastifyRateLimitStoreCtor;
  /**
   * The next count of `subject` when this gateway holds one reserved for the current window,
   * handed out synchronously (the common case of a busy client); else `undefined`, and the
   * request goes through `@fastify/rate-limit` as usual.
   */
  take(subject: string, max: number): number | undefined;
}

/**
 * A `@fastify/rate-limit` store counting in Redis like its RedisStore (one counter per key that
 * expires with its window, shared by every gateway on the prefix), but reserving
 * {@link leaseSize} counts per round trip and handing them out locally, in order, until the
 * window ends: a busy client (an API key posting for many players) costs one Redis round trip
 * per 1 % of its limit instead of one per request.
 *
 * Every count handed out is a number Redis issued for that window, so a client never gets more
 * than `max` requests through in a window, across all gateways. Near the limit the reservations
 * shrink to what is left, and past it every request counts in Redis on its own, as before.
 * Requests that arrive while a reservation is in flight wait for it rather than reserving again.
 */
export function leasedRedisStore(redis: RateLimitRedis, namespace: string): LeasedRedisStore {
  const leases = new Map<string, Lease>();

  /** Reserves `size` counts of `key`: `[total after, ms left in the window]`. */
  const reserve = async (
    key: string,
    size: number,
    windowMs: number,
  ): Promise<[number, number]> => {
    const replies = await redis
      .multi()
      .incrby(key, size)
      // Only a new counter (or one that lost its expiry) starts a window.
      .pexpire(key, windowMs, 'NX')
      .pttl(key)
      .exec();
    if (replies === null) throw new Error('the rate-limit counter transaction was aborted');
    const [[incrError, total], , [ttlError, ttl]] = replies as [
      [Error | null, number],
      unknown,
      [Error | null, number],
    ];
    if (incrError !== null) throw incrError;
    if (ttlError !== null) throw ttlError;
    return [total, ttl > 0 ? ttl : windowMs];
  };

  // Leases of ended windows are dropped when the map has doubled since the last sweep.
  let sweepAt = 1024;
  const sweep = (now: number) => {
    for (const [key, lease] of leases) {
      if (lease.waiting === null && lease.windowEndsAt <= now) leases.delete(key);
    }
    sweepAt = Math.max(1024, 2 * leases.size);
  };

  /** Hands out reserved counts to the waiting requests; reserves again for those left. */
  const serve = (key: string, lease: Lease, windowMs: number) => {
    const now = Date.now();
    const waiting = lease.waiting ?? [];
    if (now >= lease.windowEndsAt) {
      // The window ended (Redis dropped the counter): what was left of the lease is void.
      lease.next = 1;
      lease.last = 0;
      lease.total = 0;
    }
    while (waiting.length > 0 && lease.next <= lease.last) {
      const request = waiting.shift();
      request?.callback(null, { current: lease.next, ttl: lease.windowEndsAt - now });
      lease.next += 1;
    }
    if (waiting.length === 0) {
      lease.waiting = null;
      return;
    }
    const max = waiting[0]?.max ?? 1;
    const left = max - lease.total;
    // Never reserve past the limit; once there, each waiting request gets its own number (> max).
    const size = left > 0 ? Math.min(leaseSize(max), left) : waiting.length;
    const sentAt = Date.now();
    reserve(key, size, windowMs).then(
      ([total, ttl]) => {
        lease.next = total - size + 1;
        lease.last = total;
        lease.total = total;
        // Measured from before the round trip: the lease never outlives the counter in Redis.
        lease.windowEndsAt = sentAt + ttl;
        serve(key, lease, windowMs);
      },
      (error: unknown) => {
        lease.waiting = null;
        leases.delete(key);
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const request of waiting) request.callback(failure);
      },
    );
  };

  /** One request counted on its own in Redis, as RedisStore does (limits under 200). */
  const countOne = (key: string, callback: Callback, windowMs: number) => {
    reserve(key, 1, windowMs).then(
      ([current, ttl]) => callback(null, { current, ttl }),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  };

  /** A count of a live lease, handed out; `undefined` when there is none to hand out now. */
  const takeReserved = (key: string, now: number): Count | undefined => {
    const lease = leases.get(key);
    if (lease === undefined || lease.waiting !== null) return undefined;
    if (lease.next > lease.last || now >= lease.windowEndsAt) return undefined;
    const count = { current: lease.next, ttl: lease.windowEndsAt - now };
    lease.next += 1;
    return count;
  };

  class Store implements FastifyRateLimitStore {
    incr(subject: string, callback: Callback, timeWindow: number, max: number): void {
      const key = namespace + subject;
      if (leaseSize(max) === 1) {
        countOne(key, callback, timeWindow);
        return;
      }
      const now = Date.now();
      let lease = leases.get(key);
      if (lease === undefined) {
        if (leases.size >= sweepAt) sweep(now);
        lease = { next: 1, last: 0, total: 0, windowEndsAt: 0, waiting: null };
        leases.set(key, lease);
      }
      if (lease.waiting !== null) {
        lease.waiting.push({ callback, max });
        return;
      }
      const reserved = takeReserved(key, now);
      if (reserved !== undefined) {
        callback(null, reserved);
        return;
      }
      lease.waiting = [{ callback, max }];
      serve(key, lease, timeWindow);
    }

    // Route-level settings are not used (the gateway's limiter has none): one store serves all.
    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return {
    Store,
    take: (subject, max) => {
      if (leaseSize(max) === 1) return undefined;
      return takeReserved(namespace + subject, Date.now())?.current;
    },
  };
}
