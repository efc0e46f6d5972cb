import type { Redis } from 'ioredis';

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
  }

  /** The Redis key of a cid's pending move. */
  key(cid: number): string {
    return `${this.#prefix}:${cid}`;
  }

  /** The cid's pending move, or `null`. */
  async get(cid: number): Promise<PendingMove | null> {
    const h = await this.#redis.hgetall(this.key(cid));
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

  /** Records a move before any file is touched. */
  async begin(cid: number, move: PendingMove): Promise<void> {
    const results = await this.#redis
      .multi()
      .del(this.key(cid))
      .hset(this.key(cid), {
        from: move.from,
        to: move.to,
        filename: move.filename,
        jobId: move.jobId,
        startedAt: String(move.startedAt),
      })
      .exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('recording the pending move failed');
  }

  /**
   * Records a move only when the cid has none pending (atomically); true when it was recorded.
   * Reconcile uses it to hand a repair to the next job of the cid without disturbing a move
   * that a relocator has under way.
   */
  async beginIfAbsent(cid: number, move: PendingMove): Promise<boolean> {
    const created = await this.#redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end redis.call('HSET', KEYS[1], unpack(ARGV)) return 1",
      1,
      this.key(cid),
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
