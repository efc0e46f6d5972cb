import type { TestProject } from 'vitest/node';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server-level MySQL/MariaDB URL; each test file creates its own database on it. */
    databaseUrl: string;
    /** Redis URL; each test file uses its own key prefix. */
    redisUrl: string;
  }
}

const HOW_TO =
  'set DATABASE_URL (e.g. mysql://root@127.0.0.1:3306/relocation) and REDIS_URL (e.g. redis://127.0.0.1:6379), or start a Docker engine so Testcontainers can run MariaDB and Redis';

function oneLine(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}

async function checkMysql(url: string): Promise<void> {
  const u = new URL(url);
  const conn = await createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    connectTimeout: 5000,
  });
  await conn.end();
}

async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

/** Finds MySQL and Redis for the integration tests: the URLs in the environment, else Testcontainers. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<unknown>)[] = [];
  let databaseUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;

  if (!databaseUrl || !redisUrl) {
    try {
      const { MariaDbContainer } = await import('@testcontainers/mariadb');
      const { RedisContainer } = await import('@testcontainers/redis');
      if (!databaseUrl) {
        const mariadb = await new MariaDbContainer('mariadb:10.11')
          .withUserPassword('root')
          .start();
        stops.push(() => mariadb.stop());
        databaseUrl = `mysql://root:root@${mariadb.getHost()}:${mariadb.getPort()}/relocation`;
      }
      if (!redisUrl) {
        const redis = await new RedisContainer('redis:7').start();
        stops.push(() => redis.stop());
        redisUrl = redis.getConnectionUrl();
      }
    } catch (error) {
      await Promise.allSettled(stops.map((stop) => stop()));
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw oneLine(
        `Integration tests need MySQL and Redis: ${HOW_TO} (Testcontainers: ${reason})`,
      );
    }
  }

  try {
    await checkMysql(databaseUrl);
  } catch (error) {
    throw oneLine(`Cannot reach MySQL at ${databaseUrl}: ${(error as Error).message}; ${HOW_TO}`);
  }
  try {
    await checkRedis(redisUrl);
  } catch (error) {
    throw oneLine(`Cannot reach Redis at ${redisUrl}: ${(error as Error).message}; ${HOW_TO}`);
  }

  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  return async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
  };
}
