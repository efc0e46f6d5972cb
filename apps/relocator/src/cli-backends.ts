import { createDb, type Database } from '@relocation/db';
import {
  ContentCache,
  MoveJournal,
  RELOCATION_QUEUE,
  bindToDatabase,
  createWorkerRedis,
  type DeploymentBinding,
  type RedisConnection,
  type RelocationQueue,
} from '@relocation/queue';
import { Queue } from 'bullmq';
import type { Kysely } from 'kysely';
import type { RelocatorConfig } from './config.ts';

/** What a one-shot command (`npm run reconcile`, `npm run content`) works with. */
export interface CliBackends {
  db: Kysely<Database>;
  redis: RedisConnection;
  queue: RelocationQueue;
  binding: DeploymentBinding;
  cache: ContentCache;
  journal: MoveJournal;
  /** Closes the queue, Redis and MySQL (never throws). */
  close(): Promise<void>;
}

/**
 * Opens MySQL, Redis and the relocation queue for a one-shot command, bound to this database's
 * state like the apps (refused when another deployment uses the prefix). Commands wait for the
 * Redis connection (offline queue on) and give up after a few retries.
 */
export function openCliBackends(config: RelocatorConfig): CliBackends {
  const db = createDb(config.databaseUrl, { connectionLimit: 2 });
  const redis = createWorkerRedis(config, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  const queue: RelocationQueue = new Queue(RELOCATION_QUEUE, {
    connection: redis,
    prefix: config.queuePrefix,
  });
  queue.on('error', () => undefined);
  const binding = bindToDatabase({
    redis,
    prefix: config.queuePrefix,
    db,
    databaseUrl: config.databaseUrl,
  });
  return {
    db,
    redis,
    queue,
    binding,
    cache: new ContentCache(redis, binding),
    journal: new MoveJournal(redis, binding),
    async close() {
      await queue.close().catch(() => undefined);
      redis.disconnect();
      await db.destroy().catch(() => undefined);
    },
  };
}
