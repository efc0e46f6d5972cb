import { listLevels, replaceLevels, type AuditContext, type Database } from '@relocation/db';
import type { ContentCache } from '@relocation/queue';
import { assertValidLevels, validateLevels, type Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { fromDatabase, fromRedis } from '../errors.ts';

/** What {@link LevelsStore} needs. */
export interface LevelsStoreDeps {
  db: Kysely<Database>;
  cache: ContentCache;
}

/** A level table and the published version it belongs to. */
export interface LevelsSnapshot {
  readonly levels: readonly Level[];
  /** Version of the table in the shared cache (bumped by every publish). */
  readonly version: number;
}

/**
 * This gateway's copy of the level table. MySQL is the source of truth; the table is published
 * to Redis with a version number, and every post returns the current version in the same round
 * trip as the count, so a replica notices a replaced table on its next post and reloads it from
 * Redis (or from MySQL when Redis lost it) without a restart.
 */
export class LevelsStore {
  readonly #deps: LevelsStoreDeps;
  #snapshot: LevelsSnapshot | null = null;
  #reloading: Promise<LevelsSnapshot> | null = null;

  constructor(deps: LevelsStoreDeps) {
    this.#deps = deps;
  }

  /** The table in use, or `null` before the first load. */
  get current(): LevelsSnapshot | null {
    return this.#snapshot;
  }

  /**
   * Loads the table from MySQL, checks invariant I1 and publishes it. Throws
   * `InvalidLevelsError` for a table that breaks a rule (the gateway refuses to start) and
   * `AppError` (503) when MySQL or Redis is unreachable.
   */
  async loadFromDatabase(): Promise<LevelsSnapshot> {
    const rows = await fromDatabase(() => listLevels(this.#deps.db));
    const levels = assertValidLevels(rows);
    const version = await fromRedis(() => this.#deps.cache.publishLevels(levels));
    return this.#set({ levels, version });
  }

  /**
   * Returns the table for `version` (the version a post just read from Redis): the local copy
   * when it is that version, else the published table, else MySQL's (published again). Concurrent
   * callers share one reload.
   */
  async forVersion(version: number): Promise<LevelsSnapshot> {
    const snapshot = this.#snapshot;
    if (snapshot !== null && snapshot.version === version) return snapshot;
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  /** Returns the currently published table (one Redis read), reloading it when it changed. */
  async latest(): Promise<LevelsSnapshot> {
    const published = await fromRedis(() => this.#deps.cache.readLevels());
    const snapshot = this.#snapshot;
    if (snapshot !== null && published.levels !== null && snapshot.version === published.version) {
      return snapshot;
    }
    return this.forVersion(published.version);
  }

  /**
   * Replaces the table in MySQL atomically (`replaceLevels`: `INVALID_LEVELS`, `LEVEL_IN_USE`),
   * with its audit entry in the same transaction when `audit` says who, then publishes it so
   * every gateway picks it up on its next post.
   */
  async replace(levels: readonly Level[], audit?: AuditContext): Promise<LevelsSnapshot> {
    const stored = await fromDatabase(() => replaceLevels(this.#deps.db, levels, { audit }));
    const valid = assertValidLevels(stored);
    const version = await fromRedis(() => this.#deps.cache.publishLevels(valid));
    return this.#set({ levels: valid, version });
  }

  async #reload(): Promise<LevelsSnapshot> {
    const published = await fromRedis(() => this.#deps.cache.readLevels());
    if (published.levels !== null) {
      const checked = validateLevels(published.levels);
      if (checked.ok) return this.#set({ levels: checked.levels, version: published.version });
    }
    // Nothing (or something unusable) is published, e.g. Redis was flushed: MySQL decides.
    return this.loadFromDatabase();
  }

  #set(snapshot: LevelsSnapshot): LevelsSnapshot {
    // Versions are compared for equality only: after a Redis flush they restart at 1, and a
    // stale copy is corrected by the next post that reads a different version.
    this.#snapshot = snapshot;
    return snapshot;
  }
}
