import type { Database } from '@relocation/db';
import {
  MoveJournal,
  type ContentCache,
  type RelocationQueue,
  type RedisConnection,
} from '@relocation/queue';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { GatewayConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { LevelsStore } from '../services/levels-store.ts';
import type { PostViewsDeps } from '../services/post-views.ts';

/** The connections the gateway works with; `buildApp` receives them, `startGateway` opens them. */
export interface InfrastructureDeps {
  config: GatewayConfig;
  /** Kysely over a mysql2 pool. */
  db: Kysely<Database>;
  /** The producer connection (`createProducerRedis`): fails fast while Redis is down. */
  redis: RedisConnection;
  /** The relocation queue, on `redis`, with the configured prefix. */
  queue: RelocationQueue;
  /** The shared content cache, on `redis`, with the configured prefix. */
  cache: ContentCache;
  /** Close queue, Redis and pool when the app closes (default true). */
  closeConnections?: boolean;
}

/** What routes reach through `app.gateway`. */
export interface GatewayContext extends Omit<PostViewsDeps, 'now'> {
  config: GatewayConfig;
  /** The relocators' move journal, on the cache's deployment (the admin content commands read it). */
  journal: MoveJournal;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's connections and level table. */
    gateway: GatewayContext;
  }
}

async function closeQuietly(app: FastifyInstance, what: string, close: () => Promise<unknown>) {
  try {
    await close();
  } catch (error) {
    app.log.warn({ err: error }, `closing ${what} failed`);
  }
}

async function closeRedis(redis: RedisConnection): Promise<void> {
  if (redis.status !== 'ready') {
    // Not connected: stop reconnecting (no 'end' event follows while a retry is pending).
    redis.disconnect();
    return;
  }
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      redis.disconnect();
      resolve();
    }, 2000);
    redis.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  // QUIT lets in-flight commands finish; the connection ends once Redis answers it.
  await redis.quit().catch(() => redis.disconnect());
  await ended;
}

/** How long start-up waits for the first Redis connection before going on without it. */
export const STARTUP_REDIS_WAIT_MS = 5000;

/** Resolves once `redis` is ready, reports an error, or `ms` passed, whichever is first. */
function redisSettled(redis: RedisConnection, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
    redis.once('error', done);
  });
}

function infrastructure(app: FastifyInstance, deps: InfrastructureDeps, done: () => void): void {
  const { config, db, redis, queue, cache } = deps;
  const levels = new LevelsStore({ db, cache });
  app.decorate('gateway', {
    config,
    db,
    redis,
    queue,
    cache,
    levels,
    tiering: config.tiering,
    journal: MoveJournal.forCache(cache),
  });

  // Without these listeners an outage would crash the process (EventEmitter 'error'); with them
  // requests answer 503 and ioredis keeps reconnecting in the background.
  redis.on('error', (error: Error) => app.log.warn({ err: error }, 'redis connection error'));
  queue.on('error', (error: Error) => app.log.warn({ err: error }, 'relocation queue error'));

  app.addHook('onReady', async () => {
    // The producer connection fails commands until it is connected; give it a moment.
    await redisSettled(redis, STARTUP_REDIS_WAIT_MS);
    try {
      const { levels: table, version } = await levels.loadFromDatabase();
      app.log.info(
        { levels: table.map((l) => l.name), version },
        'level table loaded and published',
      );
    } catch (error) {
      // An invalid table stops the start (InvalidLevelsError propagates). An unreachable MySQL or
      // Redis does not: the gateway answers 503 until they are back and loads the table then.
      if (!(error instanceof AppError) || error.statusCode !== 503) throw error;
      app.log.warn({ err: error }, 'level table not loaded yet; will load it on first use');
    }
  });

  app.addHook('onClose', async () => {
    if (deps.closeConnections !== false) {
      await closeQuietly(app, 'relocation queue', () => queue.close());
      await closeQuietly(app, 'redis', () => closeRedis(redis));
      await closeQuietly(app, 'mysql pool', () => db.destroy());
    }
    // The error listeners stay: a late error on a closing connection must not crash the process.
  });
  done();
}

/**
 * Decorates the app with its connections (`app.gateway`), loads and publishes the level table
 * when the app becomes ready (refusing to start on an invalid table) and closes the queue, Redis
 * and the MySQL pool when the app closes.
 */
export const infrastructurePlugin = fp(infrastructure, { name: 'gateway-infrastructure' });
