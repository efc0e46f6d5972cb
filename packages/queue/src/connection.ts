import { Redis, type RedisOptions } from 'ioredis';

/**
 * Opens a Redis connection for a producer (the gateway): commands fail fast while Redis is
 * away instead of queueing in memory, so requests answer 503 and the process keeps running.
 */
export function createProducerRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...options,
  });
}

/**
 * Opens a Redis connection for a worker: BullMQ requires `maxRetriesPerRequest: null` so its
 * blocking commands wait for Redis to come back instead of failing.
 */
export function createWorkerRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...options,
  });
}
