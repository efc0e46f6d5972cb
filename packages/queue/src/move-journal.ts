import { readFileSync } from 'node:fs';
import type { ViewRateState } from '@relocation/tiering';
import type { Result } from 'ioredis';
import type { RedisConnection } from './connection.ts';
import {
  TurnBatch,
  parseRateState,
  pipelineError,
  type ContentCache,
  type MoveHold,
} from './content-cache.ts';
import type { KeySource, RelocationKeys } from './keys.ts';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const JOB_START_LUA = lua('start-job-3.lua');
const BEGIN_LUA = lua('begin-move-1.lua');
const BEGIN_IF_ABSENT_LUA = lua('begin-move-if-absent-1.lua');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    relocatorStartJob(
      cidKey: string,
      versionKey: string,
      journalKey: string,
      jobId: string,
      holdField: string,
    ): Result<
      [
        string | null,
        string,
        string[],
        string | null,
        [string | null, string | null, string | null],
      ],
      Context
    >;
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
  /** What triggered the move, when not a post's count (`pin`, `capacity`): its history reason. */
  reason?: string;
}

/**
 * Remembers, per cid, the move a relocator is making until its commit is done, so that the next
 * job for that cid — a retry, the same job after its worker died, or a later job that chose a
 * different target from a newer count — finishes that move before it decides anything else.
 * Without it a job that re-decides after a crash could leave a copy in the tier the crashed
 * attempt was moving to (I2, I6).
 *
 * Key: {@link RelocationKeys.moving} (a hash per cid), in the deployment's own key space.
 */
export class MoveJournal {
  readonly #redis: RedisConnection;
  readonly #source: KeySource;
  /** Job starts of one turn of the event loop, sent together (see {@link startJob}). */
  readonly #starts = new TurnBatch((batch: readonly StartInput[]) => this.#startBatch(batch));
  /** Pending moves recorded in one turn, sent together (see {@link begin}). */
  readonly #begins = new TurnBatch((batch: readonly BeginInput[]) => this.#beginBatch(batch));

  constructor(redis: RedisConnection, source: KeySource) {
    this.#redis = redis;
    this.#source = source;
    // Defined commands go out as EVALSHA (the script body is sent once, not with every call).
    redis.defineCommand('relocatorStartJob', { numberOfKeys: 3, lua: JOB_START_LUA });
    redis.defineCommand('relocatorBeginMove', { numberOfKeys: 1, lua: BEGIN_LUA });
    redis.defineCommand('relocatorBeginMoveIfAbsent', {
      numberOfKeys: 1,
      lua: BEGIN_IF_ABSENT_LUA,
    });
  }

  #keys(): Promise<RelocationKeys> | RelocationKeys {
    return this.#source.current ?? this.#source.keys();
  }

  /** The cid's pending move, or `null`. */
  async get(cid: number): Promise<PendingMove | null> {
    return parsePendingMove(await this.#redis.hgetall((await this.#keys()).moving(cid)));
  }

  /**
   * What a job needs from Redis when it starts, in one round trip: records `jobId` as the cid's
   * last job, and reads the cid's latest posted count, the published levels' version, the cid's
   * pending move and its hold (why an earlier attempt waited, if one did).
   * The starts of one turn of the event loop share that round trip (a {@link TurnBatch}).
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
    /** The cid's view-rate state (`TIERING_POLICY=rate`), `null` when none is kept. */
    rateState: ViewRateState | null;
  }> {
    const [count, version, flat, holdJson, rate] = await this.#starts.add({
      cid,
      jobId,
      holdField: cache.holdField,
    });
    const h: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] ?? ''] = flat[i + 1] ?? '';
    return {
      latestCount: count === null ? null : Number(count),
      levelsVersion: Number(version),
      pending: parsePendingMove(h),
      hold: holdJson === null ? null : parseHold(holdJson),
      rateState: parseRateState(rate[0], rate[1], rate[2]),
    };
  }

  async #startBatch(batch: readonly StartInput[]): Promise<(StartReply | Error)[]> {
    const k = await this.#keys();
    const [only] = batch;
    if (batch.length === 1 && only) {
      // One call costs less as itself than as a pipeline.
      const { cid, jobId, holdField } = only;
      return [
        await this.#redis
          .relocatorStartJob(k.cid(cid), k.levelsVersion, k.moving(cid), jobId, holdField)
          .catch((error: unknown) => asError(error)),
      ];
    }
    const pipeline = this.#redis.pipeline();
    for (const { cid, jobId, holdField } of batch) {
      pipeline.relocatorStartJob(k.cid(cid), k.levelsVersion, k.moving(cid), jobId, holdField);
    }
    const replies = (await pipeline.exec()) ?? [];
    return batch.map((_, i) => pipelineError(replies, i, i + 1) ?? (replies[i]?.[1] as StartReply));
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
    await cache.settleMove(cid, content);
  }

  /**
   * Records a move before any file is touched (replacing whatever was recorded); the records of
   * one turn of the event loop share a round trip.
   */
  async begin(cid: number, move: PendingMove): Promise<void> {
    await this.#begins.add({ cid, move });
  }

  async #beginBatch(batch: readonly BeginInput[]): Promise<(true | Error)[]> {
    const k = await this.#keys();
    const [only] = batch;
    if (batch.length === 1 && only) {
      return [
        await this.#redis
          .relocatorBeginMove(k.moving(only.cid), ...pendingMoveFields(only.move))
          .then(
            () => true as const,
            (error: unknown) => asError(error),
          ),
      ];
    }
    const pipeline = this.#redis.pipeline();
    for (const { cid, move } of batch) {
      pipeline.relocatorBeginMove(k.moving(cid), ...pendingMoveFields(move));
    }
    const replies = (await pipeline.exec()) ?? [];
    return batch.map((_, i) => pipelineError(replies, i, i + 1) ?? true);
  }

  /**
   * Records a move only when the cid has none pending (atomically); true when it was recorded.
   * Reconcile uses it to hand a repair to the next job of the cid without disturbing a move
   * that a relocator has under way.
   */
  async beginIfAbsent(cid: number, move: PendingMove): Promise<boolean> {
    const created = await this.#redis.relocatorBeginMoveIfAbsent(
      (await this.#keys()).moving(cid),
      ...pendingMoveFields(move),
    );
    return created === 1;
  }

  /** Records that the file reached the destination, so a retry can commit the real figures. */
  async markMoved(cid: number, moved: { bytes: number; durationMs: number }): Promise<void> {
    await this.#redis.hset((await this.#keys()).moving(cid), {
      movedBytes: String(moved.bytes),
      movedDurationMs: String(moved.durationMs),
    });
  }

  /** Forgets the cid's pending move once it is committed (or known never to have touched a file). */
  async end(cid: number): Promise<void> {
    await this.#redis.del((await this.#keys()).moving(cid));
  }

  /**
   * Every pending move of the deployment, by ascending cid: SCANs its `moving:<cid>` keys (never
   * `KEYS`, so Redis keeps serving meanwhile) and reads them in pipelines of one batch each. For
   * admin checks, not for the hot path: it visits every pending move.
   */
  async pendingMoves(): Promise<{ cid: number; move: PendingMove }[]> {
    const k = await this.#keys();
    // The pattern and the cids come from the one builder of the key (`RelocationKeys.moving`).
    const stem = k.moving(0).slice(0, -1);
    const pattern = `${stem.replace(/[*?[\]\\]/g, '\\$&')}*`;
    const found: { cid: number; move: PendingMove }[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const cids = keys
        .map((key) => Number(key.slice(stem.length)))
        .filter((cid) => Number.isSafeInteger(cid) && cid >= 0);
      if (cids.length === 0) continue;
      const pipeline = this.#redis.pipeline();
      for (const cid of cids) pipeline.hgetall(k.moving(cid));
      const replies = (await pipeline.exec()) ?? [];
      cids.forEach((cid, i) => {
        const [error, hash] = replies[i] ?? [new Error('missing reply'), null];
        if (error) throw error;
        const move = parsePendingMove(hash as Record<string, string>);
        if (move) found.push({ cid, move });
      });
    } while (cursor !== '0');
    return found.sort((a, b) => a.cid - b.cid);
  }

  /** The pending moves from or to any of `levels` (see {@link pendingMoves}), by ascending cid. */
  async pendingMovesUsing(
    levels: readonly string[],
  ): Promise<{ cid: number; move: PendingMove }[]> {
    if (levels.length === 0) return [];
    const all = await this.pendingMoves();
    return all.filter(({ move }) => levels.includes(move.from) || levels.includes(move.to));
  }

  /**
   * A journal on the connection and the deployment of `cache` (the gateway's admin commands use
   * it): the keys are those the cache is bound to, read when first needed.
   */
  static forCache(cache: ContentCache): MoveJournal {
    return new MoveJournal(cache.redis, {
      current: null,
      keys: async () => cache.keys(),
    });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** One job start of a {@link TurnBatch}. */
interface StartInput {
  cid: number;
  jobId: string;
  holdField: string;
}

/** What start-job-3.lua answers. */
type StartReply = [
  string | null,
  string,
  string[],
  string | null,
  [string | null, string | null, string | null],
];

/** One pending move to record, of a {@link TurnBatch}. */
interface BeginInput {
  cid: number;
  move: PendingMove;
}

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
    ...(move.reason === undefined ? [] : ['reason', move.reason]),
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
  if (h.reason !== undefined) move.reason = h.reason;
  if (h.movedBytes !== undefined) {
    move.moved = { bytes: Number(h.movedBytes), durationMs: Number(h.movedDurationMs ?? 0) };
  }
  return move;
}
