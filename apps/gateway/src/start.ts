import { createDb } from '@relocation/db';
import {
  ContentCache,
  bindToDatabase,
  PrefixInUseError,
  RELOCATION_QUEUE,
  createProducerRedis,
  renewEvery,
  type RelocationQueue,
} from '@relocation/queue';
import { Queue } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { buildApp, type GatewayApp } from './app.ts';
import type { GatewayConfig } from './config.ts';

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  /** Logger to use; defaults to pino JSON logs at the configured LOG_LEVEL. */
  logger?: FastifyBaseLogger;
}

/** A running gateway. */
export interface GatewayHandle {
  app: GatewayApp;
  /** Base URL it listens on, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Stops accepting requests, waits for in-flight ones, closes queue, Redis and the pool. */
  close(): Promise<void>;
}

/**
 * Opens the gateway's connections (producer Redis, relocation queue, MySQL pool), builds the app
 * and listens on HOST:PORT. Rejects (after closing what it opened) when the level table is
 * invalid or the port cannot be bound; an unreachable Redis or MySQL does not stop the start.
 */
export async function startGateway(
  config: GatewayConfig,
  options: StartGatewayOptions = {},
): Promise<GatewayHandle> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const redis = createProducerRedis(config);
  // Until the app adds its own listeners, an early connection error must not crash the process.
  const early = (error: Error) => logger.warn({ err: error }, 'redis connection error');
  redis.on('error', early);
  const queue: RelocationQueue = new Queue(RELOCATION_QUEUE, {
    connection: redis,
    prefix: config.queuePrefix,
    // The version check runs once at connect; if it failed the queue would stay broken.
    skipVersionCheck: true,
  });
  queue.on('error', early);
  const db = createDb(config.databaseUrl);
  const binding = bindToDatabase({
    redis,
    prefix: config.queuePrefix,
    db,
    databaseUrl: config.databaseUrl,
    logger,
  });
  const cache = new ContentCache(redis, binding);
  let renewal: NodeJS.Timeout | null = null;

  let app: GatewayApp | undefined;
  try {
    // Two deployments on one prefix would share a queue: refuse to start. A MySQL that cannot be
    // reached yet is fine: the identity is read on first use, and renewed on a timer.
    await binding.keys().catch((error: unknown) => {
      if (error instanceof PrefixInUseError) throw error;
      logger.warn({ err: error }, 'cannot read the database identity yet; will retry');
    });
    renewal = renewEvery(binding, logger);
    app = await buildApp({ config, db, redis, queue, cache, logger });
    redis.off('error', early);
    queue.off('error', early);
    const address = await app.listen({ port: config.port, host: config.host });
    const built = app;
    const timer = renewal;
    return {
      app: built,
      url: address,
      close: async () => {
        clearInterval(timer);
        await binding.release();
        await built.close();
      },
    };
  } catch (error) {
    if (renewal) clearInterval(renewal);
    if (app !== undefined) {
      await app.close();
    } else {
      await queue.close().catch(() => undefined);
      redis.disconnect();
      await db.destroy().catch(() => undefined);
    }
    throw error;
  }
}
