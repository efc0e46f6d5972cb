import { readFileSync } from 'node:fs';
import type { Level, ViewRateState } from '@relocation/tiering';
import type { Result } from 'ioredis';
import type { RedisConnection } from './connection.ts';
import type { KeySource, RelocationKeys } from './keys.ts';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const RECORD_COUNT_LUA = lua('record-count-3.lua');
const FILL_CONTENT_LUA = lua('fill-content-1.lua');
const SYNC_CONTENT_LUA = lua('sync-content-1.lua');
const SYNC_PIN_LUA = lua('sync-pin-1.lua');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    relocationRecordCount(
      cidKey: string,
      versionKey: string,
      dedupKey: string,
      count: string,
      now: string,
      rateHalfLifeMs: string,
    ): Result<RecordCountReply, Context>;
    relocationFillContent(
      cidKey: string,
      level: string,
      filename: string,
      pin: string,
    ): Result<number, Context>;
    relocationSyncPin(cidKey: string, seenPin: string, pin: string): Result<number, Context>;
    relocationSyncContent(
      cidKey: string,
      seenLevel: string,
      seenFile: string,
      level: string,
      filename: string,
    ): Result<number, Context>;
  }
}

/**
 * `record-count-3.lua`'s answer: level, file name, levels version, job id, pin, and the rate
 * state's rate, count and time.
 */
type RecordCountReply = [
  string | null,
  string | null,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
];

/**
 * The fields of a cid's cache hash that hold its view-rate state (`TIERING_POLICY=rate`), written
 * only by `record-count-3.lua` (as `observeViews` of `@relocation/tiering` computes): the rate in
 * views per hour (absent while warming up), and the count and epoch ms it is as of.
 */
export const RATE_STATE_FIELDS = Object.freeze(['rate', 'rateCount', 'rateAt'] as const);

/**
 * A rate state from the values of {@link RATE_STATE_FIELDS} (`null`/absent: none kept yet), or
 * `null` when the cid has none.
 */
export function parseRateState(
  rate: string | null | undefined,
  count: string | null | undefined,
  at: string | null | undefined,
): ViewRateState | null {
  if (count === null || count === undefined || at === null || at === undefined) return null;
  const state = {
    count: Number(count),
    at: Number(at),
    rate: rate === null || rate === undefined ? null : Number(rate),
  };
  if (!Number.isFinite(state.count) || !Number.isFinite(state.at)) return null;
  if (state.rate !== null && !(Number.isFinite(state.rate) && state.rate >= 0)) return null;
  return state;
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
      /** The level an operator pinned the cid to, if any (MySQL's `content_pin`, cached). */
      pin: string | null;
      /**
       * The cid's view-rate state after this post, when the count was recorded with a half-life
       * (`TIERING_POLICY=rate`); else `null`.
       */
      rateState: ViewRateState | null;
    };

const HOLD_FIELD = 'hold';
const PIN_FIELD = 'pin';

function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function toRecordCountResult([
  level,
  filename,
  version,
  jobId,
  pin,
  rate,
  rateCount,
  rateAt,
]: RecordCountReply): RecordCountResult {
  const levelsVersion = Number(version);
  if (level === null) return { kind: 'miss', levelsVersion };
  return {
    kind: 'hit',
    level,
    filename: filename ?? '',
    levelsVersion,
    pendingJobId: jobId,
    pin: pin ?? null,
    rateState: parseRateState(rate, rateCount, rateAt),
  };
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
  /** The level an operator pinned the cid to, as cached (MySQL's `content_pin` is the truth). */
  pin: string | null;
  /** Its view-rate state (`TIERING_POLICY=rate`), `null` when none is kept. */
  rateState: ViewRateState | null;
}

/**
 * Calls made in one turn of the event loop, sent to Redis together (one pipeline, one round trip):
 * `add` queues a call; once the turn's callbacks have run (`setImmediate`), `send` gets every
 * queued input and answers, in their order, each one's result or its own error. The jobs of one
 * group commit, or jobs fetched together, thus share a round trip.
 */
export class TurnBatch<I, O> {
  readonly #send: (inputs: readonly I[]) => Promise<readonly (O | Error)[]>;
  #queued: { input: I; resolve: (output: O) => void; reject: (error: unknown) => void }[] = [];
  #timer: NodeJS.Immediate | null = null;

  constructor(send: (inputs: readonly I[]) => Promise<readonly (O | Error)[]>) {
    this.#send = send;
  }

  /** Queues `input` for this turn's batch; resolves with its own answer. */
  add(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queued.push({ input, resolve, reject });
      if (this.#timer !== null) return;
      this.#timer = setImmediate(() => {
        this.#timer = null;
        const batch = this.#queued.splice(0);
        this.#send(batch.map((q) => q.input)).then(
          (outputs) => {
            batch.forEach((q, i) => {
              const output = outputs[i];
              if (output instanceof Error) q.reject(output);
              else if (output === undefined) q.reject(new Error('no answer in the batch'));
              else q.resolve(output);
            });
          },
          (error: unknown) => {
            for (const q of batch) q.reject(error);
          },
        );
      });
    });
  }
}

/** The first error of a pipeline's replies `[from, to)`, or `null`. */
export function pipelineError(
  replies: readonly [Error | null, unknown][],
  from: number,
  to: number,
): Error | null {
  for (let i = from; i < to; i++) {
    const error = replies[i]?.[0];
    if (error) return error;
  }
  return replies.length < to ? new Error('the pipeline answered fewer replies than it sent') : null;
}

/** What `ContentCache.settleMove` writes for one cid. */
interface SettleInput {
  cid: number;
  content: { level: string; filename: string };
}

/**
 * The Redis state gateway and relocator share: each cid's current tier and file name (filled
 * from MySQL on a miss, overwritten by the relocator after each commit, corrected by the cache
 * sync when MySQL was changed outside the service), the latest count posted for it, why its
 * move waits, and the level table with a version number that changes when operators replace it.
 * Every key comes from {@link RelocationKeys} of the deployment the app serves, so the cache of
 * one database is never read for another (invariant I7).
 */
export class ContentCache {
  readonly #redis: RedisConnection;
  readonly #source: KeySource;
  /** Settles asked for in one turn of the event loop, sent together (see `settleMove`). */
  readonly #settles = new TurnBatch((batch: readonly SettleInput[]) => this.#settleBatch(batch));

  constructor(redis: RedisConnection, source: KeySource) {
    this.#redis = redis;
    this.#source = source;
    redis.defineCommand('relocationRecordCount', { numberOfKeys: 3, lua: RECORD_COUNT_LUA });
    redis.defineCommand('relocationFillContent', { numberOfKeys: 1, lua: FILL_CONTENT_LUA });
    redis.defineCommand('relocationSyncContent', { numberOfKeys: 1, lua: SYNC_CONTENT_LUA });
    redis.defineCommand('relocationSyncPin', { numberOfKeys: 1, lua: SYNC_PIN_LUA });
  }

  /** The keys of the bound deployment (no await once the identity is known). */
  keys(): Promise<RelocationKeys> | RelocationKeys {
    return this.#source.current ?? this.#source.keys();
  }

  /** The Redis connection the cache uses. */
  get redis(): RedisConnection {
    return this.#redis;
  }

  /**
   * Stores `count` as the cid's latest count (only for a cid already cached) and returns its
   * tier, file name, pending job and the levels version — one round trip. With
   * `rateHalfLifeMs > 0` (`TIERING_POLICY=rate`) the post is also folded into the cid's view-rate
   * state in the same script, which it returns.
   */
  async recordCount(
    cid: number,
    count: number,
    now = Date.now(),
    rateHalfLifeMs = 0,
  ): Promise<RecordCountResult> {
    const k = await this.keys();
    return toRecordCountResult(
      await this.#redis.relocationRecordCount(
        k.cid(cid),
        k.levelsVersion,
        k.dedup(cid),
        String(count),
        String(now),
        String(rateHalfLifeMs),
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
    rateHalfLifeMs = 0,
  ): Promise<RecordCountResult[]> {
    if (reports.length === 0) return [];
    const k = await this.keys();
    const pipeline = this.#redis.pipeline();
    for (const { cid, count } of reports) {
      pipeline.relocationRecordCount(
        k.cid(cid),
        k.levelsVersion,
        k.dedup(cid),
        String(count),
        String(now),
        String(rateHalfLifeMs),
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    return reports.map((_, i) => {
      const reply = replies[i];
      if (!reply) throw new Error('Redis answered fewer replies than the pipeline sent');
      const [error, value] = reply;
      if (error) throw error;
      return toRecordCountResult(value as RecordCountReply);
    });
  }

  /**
   * Fills a cid's entry from a MySQL row (and its pin, `null` when not pinned) unless an entry
   * exists; true when it filled it.
   */
  async fill(
    cid: number,
    content: { level: string; filename: string; pin?: string | null },
  ): Promise<boolean> {
    const k = await this.keys();
    const filled = await this.#redis.relocationFillContent(
      k.cid(cid),
      content.level,
      content.filename,
      content.pin ?? '',
    );
    return filled === 1;
  }

  /**
   * Stores the level a cached cid is pinned to (`null`: not pinned), as MySQL now says after a
   * pin, an unpin or an expiry. With `seen`, only if the cached pin is still `seen` (`null`:
   * none; compare-and-set, for the cache sweep). A cid with no entry is left alone: the next post
   * fills it, pin included, from MySQL. True when written.
   */
  async setPin(cid: number, pin: string | null, seen?: string | null): Promise<boolean> {
    const k = await this.keys();
    const expected = seen === undefined ? '*' : (seen ?? '');
    return (await this.#redis.relocationSyncPin(k.cid(cid), expected, pin ?? '')) === 1;
  }

  /**
   * Corrects a cid's cached tier and file name to MySQL's, unless the entry changed since it was
   * read as `seen` (compare-and-set: a relocator settling a move meanwhile knows better); true
   * when it corrected it.
   */
  async syncContent(
    cid: number,
    seen: { level: string; filename: string },
    mysql: { level: string; filename: string },
  ): Promise<boolean> {
    const k = await this.keys();
    const done = await this.#redis.relocationSyncContent(
      k.cid(cid),
      seen.level,
      seen.filename,
      mysql.level,
      mysql.filename,
    );
    return done === 1;
  }

  /**
   * The cached tier, file name, latest count and pin of many cids in one round trip (`null` for
   * a cid with no entry), in order.
   */
  async peekMany(cids: readonly number[]): Promise<
    ({
      level: string;
      filename: string;
      count: number | null;
      pin: string | null;
      /** Its view-rate state (`TIERING_POLICY=rate`), `null` when none is kept. */
      rateState: ViewRateState | null;
    } | null)[]
  > {
    if (cids.length === 0) return [];
    const k = await this.keys();
    const pipeline = this.#redis.pipeline();
    for (const cid of cids) {
      pipeline.hmget(k.cid(cid), 'level', 'file', 'count', PIN_FIELD, ...RATE_STATE_FIELDS);
    }
    const replies = (await pipeline.exec()) ?? [];
    return cids.map((_, i) => {
      const [error, value] = replies[i] ?? [new Error('missing reply'), null];
      if (error) throw error;
      const [level, file, count, pin, rate, rateCount, rateAt] = value as (string | null)[];
      if (level === null || level === undefined) return null;
      return {
        level,
        filename: file ?? '',
        count: count === null || count === undefined ? null : Number(count),
        pin: pin ?? null,
        rateState: parseRateState(rate, rateCount, rateAt),
      };
    });
  }

  /**
   * Overwrites a cid's tier and file name, and clears its hold (its move is no longer waiting);
   * the relocator calls it after each decision that is not a wait.
   */
  async setContent(cid: number, content: { level: string; filename: string }): Promise<void> {
    const key = (await this.keys()).cid(cid);
    const results = await this.#redis
      .multi()
      .hset(key, 'level', content.level, 'file', content.filename)
      .hdel(key, HOLD_FIELD)
      .exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('updating the content cache failed');
  }

  /**
   * The id of each cid's waiting, delayed or active job (BullMQ's deduplication key), `null` when
   * none, in one round trip, in order.
   */
  async pendingJobs(cids: readonly number[]): Promise<(string | null)[]> {
    if (cids.length === 0) return [];
    const k = await this.keys();
    return this.#redis.mget(...cids.map((cid) => k.dedup(cid)));
  }

  /**
   * Replaces the published list of stuck cids (see `syncCache`): cids stuck before keep the time
   * they were first found stuck, cids no longer stuck leave the list.
   */
  async setStuck(cids: readonly number[], now: number): Promise<void> {
    const k = await this.keys();
    const before = await this.#redis.zrange(k.stuck, 0, -1);
    const current = new Set(cids.map(String));
    const gone = before.filter((cid) => !current.has(cid));
    const pipeline = this.#redis.pipeline();
    if (gone.length > 0) pipeline.zrem(k.stuck, ...gone);
    for (const cid of current) pipeline.zadd(k.stuck, 'NX', now, cid);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null)?.[0];
    if (failed) throw failed;
  }

  /** A page of the published stuck cids (oldest first) with when each was first found stuck. */
  async listStuck(
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: { cid: number; since: number }[] }> {
    const k = await this.keys();
    const [total, flat] = await Promise.all([
      this.#redis.zcard(k.stuck),
      this.#redis.zrange(k.stuck, offset, offset + limit - 1, 'WITHSCORES'),
    ]);
    const items: { cid: number; since: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      items.push({ cid: Number(flat[i]), since: Number(flat[i + 1]) });
    }
    return { total, items };
  }

  /**
   * After a commit: points the cid's entry at its new tier, clears its hold and forgets its
   * pending move (see `MoveJournal.settle`). The settles asked for in one turn of the event loop
   * (the moves of one group commit) travel in one pipeline: one round trip for all of them, each
   * caller told of its own cid's failure.
   */
  settleMove(cid: number, content: { level: string; filename: string }): Promise<void> {
    return this.#settles.add({ cid, content }).then(() => undefined);
  }

  async #settleBatch(batch: readonly SettleInput[]): Promise<(true | Error)[]> {
    const k = await this.keys();
    const pipeline = this.#redis.pipeline();
    for (const { cid, content } of batch) {
      pipeline
        .hset(k.cid(cid), 'level', content.level, 'file', content.filename)
        .hdel(k.cid(cid), HOLD_FIELD)
        .del(k.moving(cid));
    }
    const replies = (await pipeline.exec()) ?? [];
    return batch.map((_, i) => pipelineError(replies, i * 3, i * 3 + 3) ?? true);
  }

  /** Records why a cid's move waits (see {@link MoveHold}). */
  async setHold(cid: number, hold: MoveHold): Promise<void> {
    await this.#redis.hset((await this.keys()).cid(cid), HOLD_FIELD, JSON.stringify(hold));
  }

  /** Forgets a cid's hold (its move goes on, or failed for another reason). */
  async clearHold(cid: number): Promise<void> {
    await this.#redis.hdel((await this.keys()).cid(cid), HOLD_FIELD);
  }

  /** The hash field of a cid's entry that holds its {@link MoveHold} (JSON). */
  get holdField(): string {
    return HOLD_FIELD;
  }

  /** Publishes a tier's state (relocators call it after each check). */
  async setTierStatus(level: string, status: TierStatus): Promise<void> {
    await this.#redis.hset((await this.keys()).tiers, level, JSON.stringify(status));
  }

  /** Every tier's last published state, by level name. */
  async readTierStatus(): Promise<Record<string, TierStatus>> {
    const raw = await this.#redis.hgetall((await this.keys()).tiers);
    const out: Record<string, TierStatus> = {};
    for (const [level, json] of Object.entries(raw)) {
      const parsed = parseJson<TierStatus>(json);
      if (parsed) out[level] = parsed;
    }
    return out;
  }

  /** Records the job that started relocating a cid (for `/update_sentence` and state). */
  async setLastJob(cid: number, jobId: string): Promise<void> {
    await this.#redis.hset((await this.keys()).cid(cid), 'lastJob', jobId);
  }

  /** Reads a cid's entry; `null` when nothing is cached for it. */
  async get(cid: number): Promise<CachedContent | null> {
    const h = await this.#redis.hgetall((await this.keys()).cid(cid));
    if (Object.keys(h).length === 0) return null;
    return {
      level: h.level ?? null,
      filename: h.file ?? null,
      count: h.count === undefined ? null : Number(h.count),
      countAt: h.countAt === undefined ? null : Number(h.countAt),
      lastJobId: h.lastJob ?? null,
      hold: h[HOLD_FIELD] === undefined ? null : parseJson<MoveHold>(h[HOLD_FIELD]),
      pin: h[PIN_FIELD] ?? null,
      rateState: parseRateState(h.rate, h.rateCount, h.rateAt),
    };
  }

  /**
   * What the placement policy decides a cid by, in one read: its latest posted count (`null`
   * when none was recorded) and its view-rate state (`null` when none is kept).
   */
  async latestViews(
    cid: number,
  ): Promise<{ count: number | null; rateState: ViewRateState | null }> {
    const [count, rate, rateCount, rateAt] = await this.#redis.hmget(
      (await this.keys()).cid(cid),
      'count',
      ...RATE_STATE_FIELDS,
    );
    return {
      count: count === null || count === undefined ? null : Number(count),
      rateState: parseRateState(rate, rateCount, rateAt),
    };
  }

  /** The latest count posted for a cid, or `null` when none was recorded. */
  async latestCount(cid: number): Promise<number | null> {
    const value = await this.#redis.hget((await this.keys()).cid(cid), 'count');
    return value === null ? null : Number(value);
  }

  /** Forgets a cid's entry (the next post fills it from MySQL again). */
  async forget(cid: number): Promise<void> {
    await this.#redis.del((await this.keys()).cid(cid));
  }

  /** Publishes a level table: stores it and bumps the version every gateway compares against. */
  async publishLevels(levels: readonly Level[]): Promise<number> {
    const k = await this.keys();
    const results = await this.#redis
      .multi()
      .set(k.levels, JSON.stringify(levels))
      .incr(k.levelsVersion)
      .exec();
    const incr = results?.[1];
    if (!incr || incr[0]) throw incr?.[0] ?? new Error('publishing levels failed');
    return Number(incr[1]);
  }

  /** Reads the published level table and its version; `levels` is null when none is published. */
  async readLevels(): Promise<{ version: number; levels: Level[] | null }> {
    const k = await this.keys();
    const [json, version] = await this.#redis.mget(k.levels, k.levelsVersion);
    return { version: Number(version ?? 0), levels: json ? (JSON.parse(json) as Level[]) : null };
  }
}
