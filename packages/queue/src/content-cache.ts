import { readFileSync } from 'node:fs';
import type { Level } from '@relocation/tiering';
import type { Redis, Result } from 'ioredis';
import { RELOCATION_QUEUE, dedupId } from './constants.ts';

const RECORD_COUNT_LUA = readFileSync(new URL('./lua/record-count.lua', import.meta.url), 'utf8');
const FILL_CONTENT_LUA = readFileSync(new URL('./lua/fill-content.lua', import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    relocationRecordCount(
      cidKey: string,
      versionKey: string,
      dedupKey: string,
      count: string,
      now: string,
    ): Result<[string | null, string | null, string, string | null], Context>;
    relocationFillContent(cidKey: string, level: string, filename: string): Result<number, Context>;
  }
}

/** What the gateway learns from {@link ContentCache.recordCount}. */
export type RecordCountResult =
  | { kind: 'miss'; levelsVersion: number }
  | {
      kind: 'hit';
      level: string;
      filename: string;
      levelsVersion: number;
      /** Id of the cid's waiting or active relocation job, if any. */
      pendingJobId: string | null;
    };

const HOLD_FIELD = 'hold';

function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function toRecordCountResult([level, filename, version, jobId]: [
  string | null,
  string | null,
  string,
  string | null,
]): RecordCountResult {
  const levelsVersion = Number(version);
  if (level === null) return { kind: 'miss', levelsVersion };
  return { kind: 'hit', level, filename: filename ?? '', levelsVersion, pendingJobId: jobId };
}

/**
 * Why a cid's move is waiting instead of running: a storage fault (a full, read-only, missing or
 * failing tier disk). The relocator records it when it delays the job and clears it when the
 * move goes on; the gateway shows it in `GET /v1/contents/:cid`.
 */
export interface MoveHold {
  /** `TIER_FULL`, `TIER_READ_ONLY`, `TIER_DENIED`, `TIER_IO_ERROR` or `TIER_UNAVAILABLE`. */
  code: string;
  /** What is wrong and what frees the move, for an operator. */
  message: string;
  /** The level whose disk is at fault, when known. */
  level: string | null;
  /** Epoch ms of the first wait of this run of faults. */
  since: number;
  /** Epoch ms at which the job tries again. */
  retryAt: number;
}

/** A tier directory's state as the relocators last saw it (`GET /v1/levels` shows it). */
export interface TierStatus {
  /** True while the directory is present, marked for this level and database, and usable. */
  ok: boolean;
  /** Fault code when not ok (`TIER_UNAVAILABLE`, …). */
  code: string | null;
  message: string | null;
  /** Epoch ms of the check. */
  checkedAt: number;
  /** The last storage fault a move met on this tier, if any. */
  lastFault: { code: string; message: string; at: number } | null;
}

/** A cid's cache entry. */
export interface CachedContent {
  level: string | null;
  filename: string | null;
  /** Latest total views posted for the cid, if any. */
  count: number | null;
  /** Epoch ms of that post. */
  countAt: number | null;
  /** Id of the last relocation job that started for the cid. */
  lastJobId: string | null;
  /** Why its move waits, while it does. */
  hold: MoveHold | null;
}

/**
 * The Redis state gateway and relocator share: each cid's current tier and file name (filled
 * from MySQL on a miss, overwritten by the relocator after each commit), the latest count posted
 * for it, and the level table with a version number that changes when operators replace it.
 *
 * Keys: `<prefix>:relocation-cache:cid:<cid>` (hash: level, file, count, countAt, lastJob, hold),
 * `<prefix>:relocation-cache:levels` (JSON), `…:levels:v` (integer) and `…:tiers` (hash: level →
 * {@link TierStatus} JSON). With a hash-tag prefix
 * such as `{relocation}` every key of a post lives in one Redis Cluster slot.
 */
export class ContentCache {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #dedupPrefix: string;

  constructor(redis: Redis, options: { prefix: string; queueName?: string }) {
    this.#redis = redis;
    this.#prefix = `${options.prefix}:relocation-cache`;
    this.#dedupPrefix = `${options.prefix}:${options.queueName ?? RELOCATION_QUEUE}:de:`;
    redis.defineCommand('relocationRecordCount', { numberOfKeys: 3, lua: RECORD_COUNT_LUA });
    redis.defineCommand('relocationFillContent', { numberOfKeys: 1, lua: FILL_CONTENT_LUA });
  }

  /** The Redis key of a cid's entry. */
  cidKey(cid: number): string {
    return `${this.#prefix}:cid:${cid}`;
  }

  get #levelsKey(): string {
    return `${this.#prefix}:levels`;
  }

  /** The Redis key of the published levels' version (an integer bumped on every change). */
  get levelsVersionKey(): string {
    return `${this.#prefix}:levels:v`;
  }

  /**
   * Stores `count` as the cid's latest count (only for a cid already cached) and returns its
   * tier, file name, pending job and the levels version — one round trip.
   */
  async recordCount(cid: number, count: number, now = Date.now()): Promise<RecordCountResult> {
    return toRecordCountResult(
      await this.#redis.relocationRecordCount(
        this.cidKey(cid),
        this.levelsVersionKey,
        this.#dedupPrefix + dedupId(cid),
        String(count),
        String(now),
      ),
    );
  }

  /**
   * {@link recordCount} for many reports in one round trip (a pipeline), in order: reports of one
   * cid are recorded one after another, so the last one is the cid's latest count. Throws the
   * first Redis error.
   */
  async recordCounts(
    reports: readonly { cid: number; count: number }[],
    now = Date.now(),
  ): Promise<RecordCountResult[]> {
    if (reports.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const { cid, count } of reports) {
      pipeline.relocationRecordCount(
        this.cidKey(cid),
        this.levelsVersionKey,
        this.#dedupPrefix + dedupId(cid),
        String(count),
        String(now),
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    return reports.map((_, i) => {
      const reply = replies[i];
      if (!reply) throw new Error('Redis answered fewer replies than the pipeline sent');
      const [error, value] = reply;
      if (error) throw error;
      return toRecordCountResult(value as [string | null, string | null, string, string | null]);
    });
  }

  /** Fills a cid's entry from a MySQL row unless an entry exists; true when it filled it. */
  async fill(cid: number, content: { level: string; filename: string }): Promise<boolean> {
    const filled = await this.#redis.relocationFillContent(
      this.cidKey(cid),
      content.level,
      content.filename,
    );
    return filled === 1;
  }

  /**
   * Overwrites a cid's tier and file name, and clears its hold (its move is no longer waiting);
   * the relocator calls it after each decision that is not a wait.
   */
  async setContent(cid: number, content: { level: string; filename: string }): Promise<void> {
    const key = this.cidKey(cid);
    const results = await this.#redis
      .multi()
      .hset(key, 'level', content.level, 'file', content.filename)
      .hdel(key, HOLD_FIELD)
      .exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('updating the content cache failed');
  }

  /** Records why a cid's move waits (see {@link MoveHold}). */
  async setHold(cid: number, hold: MoveHold): Promise<void> {
    await this.#redis.hset(this.cidKey(cid), HOLD_FIELD, JSON.stringify(hold));
  }

  /** Forgets a cid's hold (its move goes on, or failed for another reason). */
  async clearHold(cid: number): Promise<void> {
    await this.#redis.hdel(this.cidKey(cid), HOLD_FIELD);
  }

  /** The hash field of a cid's entry that holds its {@link MoveHold} (JSON). */
  get holdField(): string {
    return HOLD_FIELD;
  }

  get #tiersKey(): string {
    return `${this.#prefix}:tiers`;
  }

  /** Publishes a tier's state (relocators call it after each check). */
  async setTierStatus(level: string, status: TierStatus): Promise<void> {
    await this.#redis.hset(this.#tiersKey, level, JSON.stringify(status));
  }

  /** Every tier's last published state, by level name. */
  async readTierStatus(): Promise<Record<string, TierStatus>> {
    const raw = await this.#redis.hgetall(this.#tiersKey);
    const out: Record<string, TierStatus> = {};
    for (const [level, json] of Object.entries(raw)) {
      const parsed = parseJson<TierStatus>(json);
      if (parsed) out[level] = parsed;
    }
    return out;
  }

  /** Records the job that started relocating a cid (for `/update_sentence` and state). */
  async setLastJob(cid: number, jobId: string): Promise<void> {
    await this.#redis.hset(this.cidKey(cid), 'lastJob', jobId);
  }

  /** Reads a cid's entry; `null` when nothing is cached for it. */
  async get(cid: number): Promise<CachedContent | null> {
    const h = await this.#redis.hgetall(this.cidKey(cid));
    if (Object.keys(h).length === 0) return null;
    return {
      level: h.level ?? null,
      filename: h.file ?? null,
      count: h.count === undefined ? null : Number(h.count),
      countAt: h.countAt === undefined ? null : Number(h.countAt),
      lastJobId: h.lastJob ?? null,
      hold: h[HOLD_FIELD] === undefined ? null : parseJson<MoveHold>(h[HOLD_FIELD]),
    };
  }

  /** The latest count posted for a cid, or `null` when none was recorded. */
  async latestCount(cid: number): Promise<number | null> {
    const value = await this.#redis.hget(this.cidKey(cid), 'count');
    return value === null ? null : Number(value);
  }

  /** Forgets a cid's entry (the next post fills it from MySQL again). */
  async forget(cid: number): Promise<void> {
    await this.#redis.del(this.cidKey(cid));
  }

  /** Publishes a level table: stores it and bumps the version every gateway compares against. */
  async publishLevels(levels: readonly Level[]): Promise<number> {
    const results = await this.#redis
      .multi()
      .set(this.#levelsKey, JSON.stringify(levels))
      .incr(this.levelsVersionKey)
      .exec();
    const incr = results?.[1];
    if (!incr || incr[0]) throw incr?.[0] ?? new Error('publishing levels failed');
    return Number(incr[1]);
  }

  /** Reads the published level table and its version; `levels` is null when none is published. */
  async readLevels(): Promise<{ version: number; levels: Level[] | null }> {
    const [json, version] = await this.#redis.mget(this.#levelsKey, this.levelsVersionKey);
    return { version: Number(version ?? 0), levels: json ? (JSON.parse(json) as Level[]) : null };
  }
}
