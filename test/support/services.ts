import { randomBytes } from 'node:crypto';
import {
  createDb,
  dropDatabase,
  ensureDatabase,
  migrateToLatest,
  seedIfEmpty,
  type Database,
} from '@relocation/db';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { inject } from 'vitest';

/** A short random suffix that keeps test databases and key prefixes apart. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** The Redis URL the global setup found. */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A database of this test file's own, migrated, with a `drop()` that removes it. */
export interface TestDatabase {
  url: string;
  name: string;
  db: Kysely<Database>;
  /**
   * Empties the content tables (contents, their history, pins, tier usage and reservations, the
   * level table) and seeds the 2018 level table again with no contents (`/srv/tiers`).
   */
  reseed(): Promise<void>;
  drop(): Promise<void>;
}

/** The tables {@link TestDatabase.reseed} empties, each before the ones it refers to. */
const CONTENT_TABLES = [
  'tier_reservation',
  'tier_usage',
  'content_pin',
  'update_history',
  'contents',
  'level',
] as const;

/** Creates and migrates a fresh database for one test file; call `drop()` in `afterAll`. */
export async function createTestDatabase(
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const base = new URL(inject('databaseUrl'));
  const name = `reloc_t_${uniqueSuffix()}`;
  base.pathname = `/${name}`;
  const url = base.toString();
  await ensureDatabase(url);
  const db = createDb(url, { connectionLimit: 20 });
  if (options.migrate !== false) await migrateToLatest(db);
  return {
    url,
    name,
    db,
    async reseed() {
      for (const table of CONTENT_TABLES) await db.deleteFrom(table).execute();
      await seedIfEmpty(db, { dataDir: '/srv/tiers', contents: [] });
    },
    async drop() {
      await db.destroy();
      await dropDatabase(url);
    },
  };
}

/** A Redis client and a key prefix of this test file's own; `cleanup()` deletes the prefix's keys. */
export interface TestRedis {
  redis: Redis;
  prefix: string;
  cleanup(): Promise<void>;
}

/** Connects to the test Redis with a unique prefix. */
export function createTestRedis(): TestRedis {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const prefix = `t-${uniqueSuffix()}`;
  return {
    redis,
    prefix,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}
