import type { Database } from '@relocation/db';
import { readRedisCondition, type RedisCondition, type RedisConnection } from '@relocation/queue';
import { sql, type Kysely } from 'kysely';
import { fromRedis, redisUnavailable } from '../errors.ts';

/** How long a probe of a dependency (`/readyz`, `gateway_backend_up`) waits, in milliseconds. */
export const READY_TIMEOUT_MS = 2000;

/** What a dependency answered within {@link READY_TIMEOUT_MS}, or why it did not. */
export type Probed<T> = { answer: T } | { down: string };

/** Runs `probe` with the {@link READY_TIMEOUT_MS} limit; a failure or a timeout is `down`. */
export async function probe<T>(run: () => Promise<T>): Promise<Probed<T>> {
  try {
    const answer = await withTimeout(
      run(),
      READY_TIMEOUT_MS,
      () => new Error(`no answer within ${READY_TIMEOUT_MS} ms`),
    );
    return { answer };
  } catch (error) {
    return { down: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Redis's condition by one INFO round trip (it answers, and whether it takes writes); `down` at
 * once while the connection is not ready (a command would wait for it).
 */
export function probeRedis(redis: RedisConnection): Promise<Probed<RedisCondition>> {
  if (redis.status !== 'ready') {
    return Promise.resolve({ down: `the connection is ${redis.status}` });
  }
  return probe(() => readRedisCondition(redis));
}

/** MySQL's answer to `select 1`. */
export function probeMysql(db: Kysely<Database>): Promise<Probed<unknown>> {
  return probe(() => sql`select 1`.execute(db));
}

/**
 * Runs a BullMQ operation on the producer connection. BullMQ waits for a connection that has
 * never been ready instead of failing, so a request would hang while Redis is down at start-up;
 * checking the status first answers 503 at once.
 */
export async function fromQueue<T>(
  redis: RedisConnection,
  operation: () => Promise<T>,
): Promise<T> {
  if (redis.status !== 'ready') {
    throw redisUnavailable(new Error(`Redis connection is ${redis.status}`));
  }
  return fromRedis(operation);
}

/** Rejects with `error()` when `promise` has not settled within `ms` milliseconds. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  error: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
