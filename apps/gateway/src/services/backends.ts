import type { Redis } from 'ioredis';
import { fromRedis, redisUnavailable } from '../errors.ts';

/**
 * Runs a BullMQ operation on the producer connection. BullMQ waits for a connection that has
 * never been ready instead of failing, so a request would hang while Redis is down at start-up;
 * checking the status first answers 503 at once.
 */
export async function fromQueue<T>(redis: Redis, operation: () => Promise<T>): Promise<T> {
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
