import type { ContentCache, MoveHold } from '@relocation/queue';
import type { Redis, Result } from 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    relocatorStartJob(
      cidKey: string,
      versionKey: string,
      journalKey: string,
      jobId: string,
      holdField: string,
    ): Result<[string | null, string, string[], string | null], Context>;
    relocatorBeginMove(journalKey: string, ...fields: string[]): Result<number, Context>;
    relocatorBeginMoveIfAbsent(journalKey: string, ...fields: string[]): Result<number, Context>;
  }
}

/** A move that started (files may have changed) but whose MySQL commit is not known to be done. */
export interface PendingMove {
  from: string;
  to: string;
  filename: string;
  /** The job that started it. */
  jobId: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Set once the file is at the destination: its size and how long the move took. */
  moved?: { bytes: number; durationMs: number };
}

/**
 * Remembers, per cid, the move a relocator is making until its commit is done, so that the next
 * job for that cid — a retry, the same job after its worker died, or a later job that chose a
 * different target from a newer count — finishes that move before it decides anything else.
 * Without it a job that re-decides after a crash could leave a copy in the tier the crashed
 * attempt was moving to (I2, I6).
 *
 * Key: `<prefix>:relocator:moving:<cid>` (a hash), next to the queue's keys.
 */
export class MoveJournal {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, options: { prefix: string }) {
    this.#redis = redis;
    this.#prefix = `${options.prefix}:relocator:moving`;
    // Defined commands go out as EVALSHA (the script body is sent once, not with every call).
    redis.defineCommand('relocatorStartJob', { numberOfKeys: 3, lua: JOB_START_LUA });
    redis.defineCommand('relocatorBeginMove', { numberOfKeys: 1, lua: BEGIN_LUA });
    redis.defineCommand('relocatorBeginMoveIfAbsent', {
      numberOfKeys: 1,
      lua: BEGIN_IF_ABSENT_LUA,
    });
  }

  /** The Redis key of a cid's pending move. */
  key(cid: number): string {
    return `${this.#prefix}:${cid}`;
  }

  /** The cid's pending move, or `null`. */
  async get(cid: number): Promise<PendingMove | null> {
    return parsePendingMove(await this.#redis.hgetall(this.key(cid)));
  }

  /**
   * What a job needs from Redis when it starts, in one round trip: records `jobId` as the cid's
   * last job, and reads the cid's latest posted count, the published levels' version, the cid's
   * pending move and its hold (why an earlier attempt waited, if one did).
   */
  async startJob(
    cid: number,
    jobId: string,
    cache: ContentCache,
  ): Promise<{
    latestCount: number | null;
    levelsVersion: number;
    pending: PendingMove | null;
    hold: MoveHold | null;
  }> {
    const [count, version, flat, holdJson] = await this.#redis.relocatorStartJob(
      cache.cidKey(cid),
      cache.levelsVersionKey,
      this.key(cid),
      jobId,
      cache.holdField,
    );
    const h: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] ?? ''] = flat[i + 1] ?? '';
    return {
      latestCount: count === null ? null : Number(count),
      levelsVersion: Number(version),
      pending: parsePendingMove(h),
      hold: holdJson === null ? null : parseHold(holdJson),
    };
  }

  /**
   * After a commit: points the gateway's cache at the cid's new tier, clears its hold and forgets
   * the pending move, in one round trip (cache first: a crash in between leaves a pending move
   * that the next job finds already committed and clears).
   */
  async settle(
    cid: number,
    cache: ContentCache,
    content: { level: string; filename: string },
  ): Promise<void> {
    const results = await this.#redis
      .pipeline()
      .hset(cache.cidKey(cid), 'level', content.level, 'file', content.filename)
      .hdel(cache.cidKey(cid), cache.holdField)
      .del(this.key(cid))
      .exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('settling the move in Redis failed');
  }

  /** Records a move before any file is touched (replacing whatever was recorded). */
  async begin(cid: number, move: PendingMove): Promise<void> {
    await this.#redis.relocatorBeginMove(this.key(cid), ...pendingMoveFields(move));
  }

  /**
   * Records a move only when the cid has none pending (atomically); true when it was recorded.
   * Reconcile uses it to hand a repair to the next job of the cid without disturbing a move
   * that a relocator has under way.
   */
  async beginIfAbsent(cid: number, move: PendingMove): Promise<boolean> {
    const created = await this.#redis.relocatorBeginMoveIfAbsent(
      this.key(cid),
      ...pendingMoveFields(move),
    );
    return created === 1;
  }

  /** Records that the file reached the destination, so a retry can commit the real figures. */
  async markMoved(cid: number, moved: { bytes: number; durationMs: number }): Promise<void> {
    await this.#redis.hset(this.key(cid), {
      movedBytes: String(moved.bytes),
      movedDurationMs: String(moved.durationMs),
    });
  }

  /** Forgets the cid's pending move once it is committed (or known never to have touched a file). */
  async end(cid: number): Promise<void> {
    await this.#redis.del(this.key(cid));
  }
}

const JOB_START_LUA = `
redis.call('HSET', KEYS[1], 'lastJob', ARGV[1])
local count = redis.call('HGET', KEYS[1], 'count')
local hold = redis.call('HGET', KEYS[1], ARGV[2])
local version = redis.call('GET', KEYS[2]) or '0'
return { count or false, version, redis.call('HGETALL', KEYS[3]), hold or false }
`;

const BEGIN_LUA = "redis.call('DEL', KEYS[1]) redis.call('HSET', KEYS[1], unpack(ARGV)) return 1";

const BEGIN_IF_ABSENT_LUA =
  "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end redis.call('HSET', KEYS[1], unpack(ARGV)) return 1";

/** The hash fields a pending move is stored as. */
function pendingMoveFields(move: PendingMove): string[] {
  return [
    'from',
    move.from,
    'to',
    move.to,
    'filename',
    move.filename,
    'jobId',
    move.jobId,
    'startedAt',
    String(move.startedAt),
  ];
}

function parseHold(json: string): MoveHold | null {
  try {
    return JSON.parse(json) as MoveHold;
  } catch {
    return null;
  }
}

/** Reads a pending move from its hash (`HGETALL` as an object); `null` when there is none. */
export function parsePendingMove(h: Record<string, string>): PendingMove | null {
  if (!h.from || !h.to || h.filename === undefined) return null;
  const move: PendingMove = {
    from: h.from,
    to: h.to,
    filename: h.filename,
    jobId: h.jobId ?? '',
    startedAt: Number(h.startedAt ?? 0),
  };
  if (h.movedBytes !== undefined) {
    move.moved = { bytes: Number(h.movedBytes), durationMs: Number(h.movedDurationMs ?? 0) };
  }
  return move;
}
