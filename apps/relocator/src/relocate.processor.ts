import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import {
  getContentsWithPin,
  HISTORY_REASONS,
  listLevels,
  recentMoves,
  releaseTierSpace,
  reserveTierSpace,
  type ContentWithPin,
  type Database,
  type HistoryReason,
} from '@relocation/db';
import {
  CAPACITY_HOLD_CODE,
  POLICY_HOLD_CODES,
  relocationJobDataSchema,
  TurnBatch,
  type ContentCache,
  type MoveHold,
  type MoveJournal,
  type PendingMove,
  type RELOCATE_JOB,
  type RelocationJobData,
  type RelocationResult,
} from '@relocation/queue';
import {
  chooseTier,
  explainMove,
  movesInWindow,
  tierCapacity,
  type ChooseTierInput,
  type ChooseTierOptions,
  type MoveDecision,
  type MoveExplanation,
  validateLevels,
  type Level,
  type TierCapacity,
} from '@relocation/tiering';
import { durationText } from '@relocation/runtime';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import {
  CommitBatcher,
  DEFAULT_COMMIT_GROUP_MAX,
  DEFAULT_COMMIT_GROUP_MS,
} from './commit-batcher.ts';
import { moveFile, type MoveFileOptions, type MoveFileResult } from './move-file.ts';
import type { MoveMetricOutcome, RelocatorMetrics } from './metrics.ts';
import { PermanentJobError } from './permanent-job-error.ts';
import {
  RelocationError,
  isPermanentFsError,
  storageFaultOf,
  type StorageFault,
} from './relocation-error.ts';
import type { TierGuard } from './tier-guard.ts';
import { resolveInTier } from './tier-path.ts';

/** Longest milliseconds a job trusts the level table it read for an earlier job. */
export const LEVELS_MAX_AGE_MS = 5000;

/** Shortest wait, in milliseconds, of a move held by a storage fault. */
export const FAULT_RETRY_MIN_MS = 1000;

/** Default longest wait, in milliseconds, between two tries of a move held by a storage fault. */
export const DEFAULT_FAULT_RETRY_MAX_MS = 60_000;

/** File errors after which both files are as they were: a pending move is void. */
const VOIDING_CODES: readonly string[] = [
  'FILE_COLLISION',
  'FILE_MISSING',
  'NOT_A_FILE',
  'UNSAFE_FILENAME',
];

/** A relocation job as the worker sees it. */
export type RelocateJob = Job<RelocationJobData, RelocationResult, typeof RELOCATE_JOB>;

/** The processor function BullMQ calls (`signal` aborts a running copy). */
export type RelocateProcessor = (
  job: RelocateJob,
  token?: string,
  signal?: AbortSignal,
) => Promise<RelocationResult>;

/** Tuning of the processor; see the settings table in the README. */
export interface RelocateOptions {
  /**
   * The placement policy's settings (`TIERING_*`: hysteresis, minimum residence, flap budget),
   * the same object the gateway, the plan and the replay decide with.
   */
  tiering: ChooseTierOptions;
  /** Compare sha256 of source and copy on cross-filesystem moves. */
  verifyChecksum: boolean;
  /** Bytes per second one copy may read; 0 = unlimited. */
  copyBytesPerSecond: number;
  /** Shortest milliseconds between two progress updates of a job. */
  progressIntervalMs?: number;
  /**
   * Longest milliseconds between two tries of a move held by a storage fault
   * ({@link DEFAULT_FAULT_RETRY_MAX_MS}); the wait starts at a second and doubles.
   */
  faultRetryMaxMs?: number;
  /**
   * Longest milliseconds a finished move waits for others to share its MySQL transaction
   * ({@link DEFAULT_COMMIT_GROUP_MS}); 0 = every move commits alone. See {@link CommitBatcher}.
   */
  commitGroupMs?: number;
  /** Most moves in one MySQL transaction ({@link DEFAULT_COMMIT_GROUP_MAX}). */
  commitGroupMax?: number;
}

/** What {@link createRelocateProcessor} needs. */
export interface RelocateProcessorDeps {
  /** MySQL: the content, the level table (authoritative) and the commit. */
  db: Kysely<Database>;
  /** The cache the gateway reads: latest count in, tier and file out after each commit. */
  cache: ContentCache;
  journal: MoveJournal;
  /** Proves each tier directory is its disk before a move touches it. */
  guard: TierGuard;
  logger: Logger;
  metrics?: RelocatorMetrics;
  options: RelocateOptions;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

/** A move a job is about to make. */
interface PlannedMove {
  cid: number;
  from: string;
  to: string;
  filename: string;
  viewCount: number;
  /** What triggered it (its history row's reason); a post's count when absent. */
  reason?: HistoryReason | undefined;
  /** The decision's inputs, for the history row. */
  decision?: MoveExplanation | object | null;
  /** Version of the level table decided with. */
  levelsVersion?: number | null;
  /** Request id of the post behind it. */
  requestId?: string | null;
}

/** A move this job made or completed, before it becomes the job's result. */
interface MoveSummary {
  from: string;
  to: string;
  count: number;
  bytes: number;
  durationMs: number;
  /** This job's commit changed the level (and wrote the history row). */
  committed: boolean;
}

/**
 * A move that met a storage fault (a full, read-only, missing or failing tier disk) or whose
 * target tier is at its high watermark ({@link CAPACITY_HOLD_CODE}): the job waits and tries
 * again, it never fails for it. Files are as the fault left them, which is always a state the
 * next attempt completes (the temporary copy is removed, the source kept).
 */
class StorageWait extends Error {
  readonly level: Level | null;
  readonly fault: Pick<StorageFault, 'message'> & { code: string };

  constructor(
    level: Level | null,
    fault: Pick<StorageFault, 'message'> & { code: string },
    options?: { cause?: unknown },
  ) {
    super(fault.message, options);
    this.level = level;
    this.fault = fault;
    this.name = 'StorageWait';
  }
}

/** The `DelayedError` of a job put to wait by a storage fault (counted as `waiting`). */
class HeldError extends DelayedError {}

/**
 * Builds the BullMQ processor of `relocate` jobs. Every step is safe to repeat after a crash:
 *
 * 1. record the job as the cid's last job; read the content and the level table from MySQL;
 * 2. finish the cid's pending move first, if an earlier attempt left one (see {@link MoveJournal});
 * 3. choose the target from the latest count (`cache.latestCount`, else the job's count), or
 *    the content's pin in MySQL, which overrides the count;
 *    `stay` → `noop` (no file touched, no history); `wait` → the job is delayed until the
 *    minimum residence has passed;
 * 4. `move`: check both paths, note the pending move, {@link moveFile}, `commitRelocation`
 *    (one transaction: level + history row), refresh the gateway's cache, forget the pending move.
 *
 * Counts posted while the job is active are not lost: BullMQ's `keepLastIfActive` deduplication
 * adds one follow-up job when this one completes or fails, and that job reads the latest count.
 * Permanent problems (unsafe name, collision, missing file, stale commit, …) throw a
 * {@link PermanentJobError} (an `UnrecoverableError`) whose message starts with its code;
 * everything else is rethrown so BullMQ retries with exponential backoff.
 */
export function createRelocateProcessor(deps: RelocateProcessorDeps): RelocateProcessor {
  const now = deps.now ?? Date.now;
  let levelsCache: { version: number; at: number; levels: readonly Level[] } | null = null;
  /**
   * Jobs between the start of their move's checks and the end of its commit: the only ones that
   * may ask to commit soon. A group is written once every one of them waits in it; jobs still
   * reading (Redis, MySQL) are a file move away from asking, longer than the group's window.
   */
  let moving = 0;
  /** The content reads of one turn of the event loop (jobs fetched together): one statement. */
  const contentReads = new TurnBatch<number, ContentWithPin | null>(async (cids) => {
    const found = await getContentsWithPin(deps.db, cids);
    return cids.map((cid) => found.get(cid) ?? null);
  });
  const commits = new CommitBatcher(
    { db: deps.db, logger: deps.logger, metrics: deps.metrics, inFlight: () => moving },
    {
      windowMs: deps.options.commitGroupMs ?? DEFAULT_COMMIT_GROUP_MS,
      maxMoves: deps.options.commitGroupMax ?? DEFAULT_COMMIT_GROUP_MAX,
    },
  );

  return async (job, token, signal) => {
    const jobId = job.id ?? '';
    const cid = job.data.cid;
    // A child logger costs on every job; it is made only when a line is written (the outcome of
    // a job is a metric and a debug line: MySQL's history is the record of every move).
    let child: Logger | null = null;
    const log: JobLog = () => (child ??= deps.logger.child({ jobId, cid }));
    deps.metrics?.activeJobs.inc();
    try {
      const result = await run(job, jobId, token, signal, log);
      const { from, to } = resultTiers(result);
      deps.metrics?.moves.inc({ outcome: result.outcome, from, to });
      if (deps.logger.isLevelEnabled('debug')) {
        log().debug(
          {
            from,
            to,
            outcome: result.outcome,
            bytes: result.outcome === 'moved' ? result.bytes : 0,
            durationMs: result.outcome === 'moved' ? result.durationMs : 0,
            count: result.count,
          },
          `relocation ${result.outcome}`,
        );
      }
      return result;
    } catch (error) {
      if (error instanceof DelayedError) {
        count(error instanceof HeldError ? 'waiting' : 'delayed', job);
        throw error;
      }
      const permanent = asPermanent(error);
      count(permanent ? 'failed' : 'retry', job);
      if (permanent) {
        const code = permanent instanceof PermanentJobError ? permanent.code : undefined;
        log().error({ outcome: 'failed', code, err: error }, permanent.message);
        throw permanent;
      }
      log().warn(
        { outcome: 'retry', attempt: job.attemptsMade + 1, err: error },
        `relocation attempt failed, will retry: ${(error as Error).message}`,
      );
      throw error;
    } finally {
      deps.metrics?.activeJobs.dec();
    }
  };

  function count(outcome: MoveMetricOutcome, job: RelocateJob): void {
    deps.metrics?.moves.inc({ outcome, from: job.data.from ?? '', to: job.data.target });
  }

  async function run(
    job: RelocateJob,
    jobId: string,
    token: string | undefined,
    signal: AbortSignal | undefined,
    log: JobLog,
  ): Promise<RelocationResult> {
    // The queue contract is checked before anything else: a malformed job can only fail.
    const parsed = relocationJobDataSchema.safeParse(job.data);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`)
        .join('; ');
      throw new RelocationError(
        'INVALID_JOB',
        `job ${jobId} does not match the relocation job contract (${problems}); it was not queued by this service's gateway or reconcile`,
      );
    }
    const cid = parsed.data.cid;
    const { deployment } = await deps.cache.keys();
    if (parsed.data.deployment !== undefined && parsed.data.deployment !== deployment) {
      // Left in the queue by another database's gateway (the prefix changed hands): its cid and
      // count mean nothing here (I7).
      log().warn(
        { jobDeployment: parsed.data.deployment, deployment },
        'job belongs to another database; completed without acting on it',
      );
      return {
        outcome: 'noop',
        level: parsed.data.from ?? parsed.data.target,
        count: parsed.data.count,
        reason: `the job belongs to another database (identity ${parsed.data.deployment})`,
      };
    }
    // One Redis round trip: record this job, read the latest count, the levels' version and an
    // interrupted move. Counts posted after this read get a follow-up job (keepLastIfActive).
    // The content is read from MySQL while the start travels to Redis: both are reads before the
    // decision (the commit's locked read checks the level again). A failed read is thrown only
    // once the start has ended, as if they had run one after the other.
    const read = loadContent(cid).then(
      (content) => ({ content }),
      (error: unknown) => ({ error }),
    );
    const start = await deps.journal.startJob(cid, jobId, deps.cache);
    try {
      return await decideAndMove(job, start, read, token, signal, log);
    } catch (error) {
      if (error instanceof StorageWait) return await hold(job, token, start.hold, error, log);
      if (start.hold && asPermanent(error)) {
        // The job fails for another reason now: its status shows that failure, not the old wait.
        await deps.cache.clearHold(cid).catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * Puts a job that met a storage fault to wait: records why on the cid (the gateway shows it)
   * and delays the job by a backoff that starts at {@link FAULT_RETRY_MIN_MS} and doubles up to
   * `faultRetryMaxMs` while the fault lasts. The job keeps its attempts: a fault never fails it.
   */
  async function hold(
    job: RelocateJob,
    token: string | undefined,
    previous: MoveHold | null,
    wait: StorageWait,
    log: JobLog,
  ): Promise<never> {
    if (!token) throw new Error('cannot delay a job without its lock token');
    const at = now();
    const since = previous?.since ?? at;
    const maxMs = deps.options.faultRetryMaxMs ?? DEFAULT_FAULT_RETRY_MAX_MS;
    const delay = Math.min(maxMs, Math.max(FAULT_RETRY_MIN_MS, at - since));
    const retryAt = at + delay;
    const level = wait.level?.name ?? null;
    await deps.cache.setHold(job.data.cid, {
      code: wait.fault.code,
      message: wait.fault.message,
      level,
      since,
      retryAt,
    });
    deps.metrics?.waits.inc({ code: wait.fault.code, level: level ?? '' });
    log().warn(
      { code: wait.fault.code, tier: level, retryAt, waitingSinceMs: at - since },
      `relocation waits: ${wait.fault.message}`,
    );
    await job.moveToDelayed(retryAt, token);
    throw new HeldError(`cid ${job.data.cid} waits for ${level ?? 'a tier'}: ${wait.fault.code}`);
  }

  async function decideAndMove(
    job: RelocateJob,
    start: Awaited<ReturnType<MoveJournal['startJob']>>,
    read: Promise<{ content: ContentWithPin } | { error: unknown }>,
    token: string | undefined,
    signal: AbortSignal | undefined,
    log: JobLog,
  ): Promise<RelocationResult> {
    const cid = job.data.cid;
    const first = await read;
    if ('error' in first) throw first.error;
    let content = first.content;
    const levels = await levelsFor(start.levelsVersion);
    const viewCount = start.latestCount ?? job.data.count;

    let resumed: MoveSummary | null = null;
    if (start.pending) {
      resumed = await finishPending(start.pending, content, levels, viewCount, job, signal, log);
      content = await loadContent(cid);
    }

    // The pin is read from MySQL (the truth, with the content), not the cache: it overrides
    // the count.
    const pin = content.pinLevel === null ? null : { level: content.pinLevel };
    if (job.data.reason === 'capacity') {
      return demoteForCapacity(
        job,
        content,
        levels,
        viewCount,
        pin?.level ?? null,
        resumed,
        signal,
      );
    }
    const tiering = deps.options.tiering;
    let input: ChooseTierInput = {
      count: viewCount,
      levels,
      current: content.content_level,
      options: tiering,
      now: now(),
      lastMovedAt: content.update_time.getTime(),
      pin: pin?.level ?? null,
      // With TIERING_POLICY=rate: the rate state the gateways keep, decayed to now.
      rateState: start.rateState,
    };
    let decision = chooseTier(input);
    // The flap budget needs the content's recent moves (MySQL's history): read only when the
    // count calls for a move the budget could hold.
    const budget = tiering.flapBudget ?? null;
    if (decision.kind === 'move' && budget !== null && decision.reason !== 'pinned') {
      const since = new Date((input.now ?? now()) - budget.windowMs);
      input = { ...input, recentMoves: await recentMoves(deps.db, cid, since) };
      decision = chooseTier(input);
    }

    switch (decision.kind) {
      case 'wait': {
        if (!token) throw new Error('cannot delay a job without its lock token');
        const at = input.now ?? now();
        const until = new Date(decision.allowedAt).toISOString();
        const code = POLICY_HOLD_CODES[decision.rule];
        let message: string;
        if (decision.rule === 'flap-budget' && budget !== null) {
          const used = movesInWindow(budget, input.recentMoves ?? [], at);
          message =
            `it changed tier ${used} times in the last ${durationText(budget.windowMs)} (flap budget: ` +
            `${budget.moves} per ${durationText(budget.windowMs)}, the last one a promotion); it stays on ` +
            `${decision.from} and may move to ${decision.to} at ${until}`;
        } else {
          message = `it stays on ${decision.from} for its minimum residence; it may move to ${decision.to} at ${until}`;
        }
        await deps.cache.setHold(cid, {
          code,
          message,
          level: decision.from,
          since: start.hold?.code === code ? start.hold.since : at,
          retryAt: decision.allowedAt,
        });
        deps.metrics?.policyHolds.inc({ rule: decision.rule });
        log().info(
          {
            from: decision.from,
            to: decision.to,
            allowedAt: decision.allowedAt,
            rule: decision.rule,
          },
          `relocation held by the placement policy: ${message}`,
        );
        await job.moveToDelayed(decision.allowedAt, token);
        throw new DelayedError(`cid ${cid} stays on ${decision.from} until ${decision.allowedAt}`);
      }
      case 'stay': {
        await deps.cache.setContent(cid, {
          level: content.content_level,
          filename: content.filename,
        });
        // A move that waited for space and is no longer wanted gives back the space the
        // capacity sweep may have earmarked for it.
        if (start.hold?.code === CAPACITY_HOLD_CODE) await releaseTierSpace(deps.db, cid);
        if (resumed) return summaryResult(resumed);
        return {
          outcome: 'noop',
          level: decision.level,
          count: viewCount,
          reason: decision.reason,
        };
      }
      case 'move': {
        if (decision.from === null) {
          throw new RelocationError('LEVEL_NOT_FOUND', `content ${cid} has no level`);
        }
        const move = await performMove(
          {
            cid,
            from: decision.from,
            to: decision.to,
            filename: content.filename,
            viewCount,
            reason: moveReason(job, decision, pin?.level ?? null),
            decision: explainMove(input, decision.to),
            levelsVersion: start.levelsVersion,
            requestId: job.data.requestId ?? null,
          },
          levels,
          job,
          signal,
        );
        return summaryResult(move);
      }
    }
  }

  /**
   * A `capacity` job: moves the content one tier down if it is still on the tier the capacity
   * sweep chose it on, that tier still has a capacity and the content is not pinned; otherwise
   * nothing (the sweep looks again). The history row says `capacity`.
   */
  async function demoteForCapacity(
    job: RelocateJob,
    content: ContentWithPin,
    levels: readonly Level[],
    viewCount: number,
    pin: string | null,
    resumed: MoveSummary | null,
    signal: AbortSignal | undefined,
  ): Promise<RelocationResult> {
    const index = levels.findIndex((l) => l.name === content.content_level);
    const from = levels[index];
    const below = index > 0 ? levels[index - 1] : undefined;
    const capacity = from ? tierCapacity(from) : null;
    let skip: string | null = null;
    if (pin !== null) skip = `pinned to ${pin}: a pinned content is never demoted for capacity`;
    else if (content.content_level !== job.data.from) {
      skip = `it is on ${content.content_level} now, not on ${job.data.from ?? 'the tier the sweep saw'}`;
    } else if (!from || !capacity) skip = `${content.content_level} has no capacity any more`;
    else if (!below) skip = `${from.name} is the lowest tier`;
    if (skip !== null || !from || !below) {
      await deps.cache.setContent(content.cid, {
        level: content.content_level,
        filename: content.filename,
      });
      if (resumed) return summaryResult(resumed);
      return {
        outcome: 'noop',
        level: content.content_level,
        count: viewCount,
        reason: skip ?? 'nothing to demote',
      };
    }
    const move = await performMove(
      {
        cid: content.cid,
        from: from.name,
        to: below.name,
        filename: content.filename,
        viewCount,
        reason: HISTORY_REASONS.capacity,
        decision: {
          count: viewCount,
          boundary: null,
          capacity: { level: from.name, ...tierCapacity(from) },
        },
      },
      levels,
      job,
      signal,
    );
    return summaryResult(move);
  }

  async function loadContent(cid: number): Promise<ContentWithPin> {
    const content = await contentReads.add(cid);
    if (!content) {
      throw new RelocationError('CONTENT_NOT_FOUND', `content ${cid} does not exist in MySQL`);
    }
    return content;
  }

  /**
   * The level table from MySQL (authoritative), read again when the gateway published a new
   * version or the copy in memory is older than {@link LEVELS_MAX_AGE_MS} (an operator may change
   * the table in MySQL directly). Checked against I1 once per read.
   */
  async function levelsFor(version: number): Promise<readonly Level[]> {
    const at = now();
    if (levelsCache && levelsCache.version === version && at - levelsCache.at < LEVELS_MAX_AGE_MS) {
      return levelsCache.levels;
    }
    const levels = await listLevels(deps.db);
    const checked = validateLevels(levels);
    if (!checked.ok) {
      levelsCache = null;
      const reasons = checked.errors.map((v) => v.message).join('; ');
      throw new RelocationError('INVALID_LEVELS', `the level table breaks I1: ${reasons}`);
    }
    levelsCache = { version, at, levels: checked.levels };
    return checked.levels;
  }

  /**
   * Completes the move an earlier attempt started: committed already → make sure no copy is
   * left at the source; still on its from-level → move (idempotent) and commit.
   */
  async function finishPending(
    pending: PendingMove,
    content: ContentWithPin,
    levels: readonly Level[],
    viewCount: number,
    job: RelocateJob,
    signal: AbortSignal | undefined,
    log: JobLog,
  ): Promise<MoveSummary | null> {
    const cid = content.cid;
    log().warn({ pending }, `finishing the interrupted move of job ${pending.jobId}`);
    const gone = [pending.from, pending.to].filter((name) => !levels.some((l) => l.name === name));
    if (gone.length > 0) {
      // The level table changed under the move: nothing can finish it, so it must not block
      // every later job of this cid. End it and fail this job with what to check.
      await deps.journal.end(cid);
      throw new RelocationError(
        'LEVEL_NOT_FOUND',
        `an interrupted move of content ${cid} (${pending.filename}) from ${pending.from} to ` +
          `${pending.to} cannot be finished: level ${gone.map((n) => `"${n}"`).join(' and ')} ` +
          `is no longer in the level table. The pending move was cleared; check where the file ` +
          `is (\`npm run reconcile\`), record it with \`npm run content -- set-level ${cid} <level>\` ` +
          `if it is not where MySQL says, then \`npm run content -- requeue ${cid}\``,
      );
    }
    if (content.content_level === pending.from) {
      return performMove(
        { cid, from: pending.from, to: pending.to, filename: pending.filename, viewCount },
        levels,
        job,
        signal,
        pending,
      );
    }
    if (content.content_level === pending.to) {
      const [from, to] = [findLevel(levels, pending.from), findLevel(levels, pending.to)];
      await ensureTiers(from, to);
      try {
        await moveFile(moveOptions(from, to, pending.filename, job, signal));
      } catch (error) {
        // Both files stay as they are (collision) or there is nothing to move: the pending
        // move is void, so later jobs of this cid are not blocked by it; the job fails.
        if (error instanceof RelocationError && VOIDING_CODES.includes(error.code)) {
          await deps.journal.end(cid);
        }
        throw asStorageWait(error, from, to);
      }
      await deps.cache.setContent(cid, { level: pending.to, filename: pending.filename });
      await deps.journal.end(cid);
      return null;
    }
    await deps.journal.end(cid);
    throw new RelocationError(
      'STALE_COMMIT',
      `an interrupted move of content ${cid} (${pending.filename}) from ${pending.from} to ` +
        `${pending.to} conflicts with MySQL, which says ${content.content_level}; check where ` +
        `the file is, then record it with \`npm run content -- set-level ${cid} <level>\` (or ` +
        `\`PUT /v1/contents/${cid}/level\`)`,
    );
  }

  /** Throws {@link StorageWait} when either tier's directory is not proven to be its disk. */
  async function ensureTiers(from: Level, to: Level): Promise<void> {
    for (const level of [from, to]) {
      const fault = await deps.guard.check(level);
      if (fault) throw new StorageWait(level, fault);
    }
  }

  /**
   * A storage fault met by a move becomes a {@link StorageWait} on the tier it hit: the tier of
   * the name being created (`link`, `rename`), else of the path the file system named, else the
   * destination (a full disk names none); anything else is returned as it is.
   */
  function asStorageWait(error: unknown, from: Level, to: Level): unknown {
    const fault = storageFaultOf(error);
    if (!fault) return error;
    const named = fault.dest ?? fault.path;
    const level = named !== undefined && isInside(named, from.path) ? from : to;
    deps.guard.noteFault(level, fault);
    return new StorageWait(level, fault, { cause: error });
  }

  /** The options of every move a job makes: the same checks and limits whichever path runs it. */
  function moveOptions(
    from: Level,
    to: Level,
    filename: string,
    job: RelocateJob,
    signal: AbortSignal | undefined,
  ): MoveFileOptions {
    const jobId = job.id ?? '';
    return {
      sourceDir: from.path,
      destDir: to.path,
      filename,
      attemptTag: `j${jobId}-${randomBytes(2).toString('hex')}`,
      verifyChecksum: deps.options.verifyChecksum,
      bytesPerSecond: deps.options.copyBytesPerSecond,
      ...(deps.options.progressIntervalMs === undefined
        ? {}
        : { progressIntervalMs: deps.options.progressIntervalMs }),
      ...(signal === undefined ? {} : { signal }),
      onProgress: (p) => {
        job.updateProgress(p.percent).catch((error: unknown) => {
          deps.logger.debug({ cid: job.data.cid, jobId, err: error }, 'progress update failed');
        });
      },
    };
  }

  /**
   * Reserves the file's bytes in a tier with a capacity, or puts the job to wait
   * ({@link CAPACITY_HOLD_CODE}) when they would take the tier above its high watermark. A file
   * whose size cannot be read is let through: the move itself reports the missing file.
   */
  async function admit(
    cid: number,
    source: string,
    to: Level,
    capacity: TierCapacity,
  ): Promise<void> {
    const size = await lstat(source).then(
      (st) => (st.isFile() ? st.size : null),
      () => null,
    );
    if (size === null) return;
    const answer = await reserveTierSpace(deps.db, {
      cid,
      level: to.name,
      bytes: size,
      limitBytes: capacity.highBytes,
    });
    if (answer.reserved) return;
    const never =
      size > capacity.highBytes
        ? ` The file alone is larger than the high watermark: raise ${to.name}'s capacity or watermark (PUT /v1/levels).`
        : '';
    throw new StorageWait(to, {
      code: CAPACITY_HOLD_CODE,
      message:
        `${to.name} holds ${answer.usedBytes} bytes (and ${answer.reservedBytes} reserved by moves under way) ` +
        `of the ${capacity.highBytes} its high watermark allows (${capacity.highWatermark}% of ` +
        `${capacity.capacityBytes}); this ${size}-byte file waits until demotions or other moves free space.${never}`,
    });
  }

  async function performMove(
    move: PlannedMove,
    levels: readonly Level[],
    job: RelocateJob,
    signal: AbortSignal | undefined,
    resumed?: PendingMove,
  ): Promise<MoveSummary> {
    moving++;
    try {
      return await moveAndCommit(move, levels, job, signal, resumed);
    } finally {
      moving--;
    }
  }

  async function moveAndCommit(
    move: PlannedMove,
    levels: readonly Level[],
    job: RelocateJob,
    signal: AbortSignal | undefined,
    resumed?: PendingMove,
  ): Promise<MoveSummary> {
    const { cid, from, to, filename, viewCount } = move;
    const reason = move.reason ?? (resumed?.reason as HistoryReason | undefined);
    const jobId = job.id ?? '';
    const fromLevel = findLevel(levels, from);
    const toLevel = findLevel(levels, to);
    // Both paths are checked before anything is written, so an unsafe name touches nothing; both
    // tiers are proven to be their disks, so a missing disk is waited out, never written around.
    const source = resolveInTier(fromLevel.path, filename);
    resolveInTier(toLevel.path, filename);
    await ensureTiers(fromLevel, toLevel);
    // A tier with a capacity admits the file only below its high watermark; a resumed move
    // reserved its space before the crash and may already have its copy there.
    const capacity = tierCapacity(toLevel);
    if (capacity && !resumed) await admit(cid, source, toLevel, capacity);

    if (!resumed) {
      await deps.journal.begin(cid, {
        from,
        to,
        filename,
        jobId,
        startedAt: now(),
        ...(reason === undefined || reason === HISTORY_REASONS.post ? {} : { reason }),
      });
    }
    let file: MoveFileResult;
    try {
      file = await moveFile(moveOptions(fromLevel, toLevel, filename, job, signal));
    } catch (error) {
      // These failures leave both files as they were: the pending move is void, and a later
      // job may decide afresh. Anything else keeps it, so the next attempt finishes this move
      // (a storage fault too: the job waits, then finishes it).
      if (error instanceof RelocationError && VOIDING_CODES.includes(error.code)) {
        await deps.journal.end(cid);
        if (capacity) await releaseTierSpace(deps.db, cid).catch(() => undefined);
        if (error.code === 'FILE_MISSING') throw await withWhereabouts(error, levels, filename);
      }
      throw asStorageWait(error, fromLevel, toLevel);
    }
    deps.guard.noteSuccess(fromLevel);
    deps.guard.noteSuccess(toLevel);
    let figures = resumed?.moved ?? { bytes: file.bytes, durationMs: file.durationMs };
    if (file.outcome === 'renamed' || file.outcome === 'copied') {
      figures = { bytes: file.bytes, durationMs: file.durationMs };
      // A rename is instant, so only a copy's figures are worth a round trip before the commit.
      if (file.outcome === 'copied') await deps.journal.markMoved(cid, figures);
      deps.metrics?.bytesMoved.inc(file.bytes);
      deps.metrics?.moveDuration.observe(file.durationMs / 1000);
    }

    // The file is in place. If this commit throws (MySQL down), the job retries: the retry finds
    // the pending move, sees source gone + destination present, and commits (one history row).
    // Committed in a group with the moves that finish about now (one transaction), each keeping
    // its own outcome.
    const commit = await commits.commit({
      cid,
      fromLevel: from,
      toLevel: to,
      viewCount,
      jobId,
      bytes: figures.bytes,
      durationMs: figures.durationMs,
      reason: reason ?? HISTORY_REASONS.post,
      decision: move.decision ?? null,
      levelsVersion: move.levelsVersion ?? null,
      requestId: move.requestId ?? null,
      releaseReservation: capacity !== null,
    });
    switch (commit.kind) {
      case 'committed':
      case 'already-committed':
        break;
      case 'stale':
        await deps.journal.end(cid);
        throw new RelocationError(
          'STALE_COMMIT',
          `content ${cid} moved to ${commit.actualLevel} in MySQL while its file moved from ` +
            `${from} to ${to}; the file is at ${file.dest} and was left there: move it to the ` +
            `${commit.actualLevel} directory, or record it where it is with \`npm run content -- ` +
            `set-level ${cid} ${to}\` (or \`PUT /v1/contents/${cid}/level\`)`,
        );
      case 'not-found':
        throw new RelocationError(
          'CONTENT_NOT_FOUND',
          `content ${cid} was deleted from MySQL while its file moved to ${file.dest}`,
        );
    }
    await deps.journal.settle(cid, deps.cache, { level: to, filename });
    return {
      from,
      to,
      count: viewCount,
      bytes: figures.bytes,
      durationMs: figures.durationMs,
      committed: commit.kind === 'committed',
    };
  }
}

/** The job's logger, made on first use. */
type JobLog = () => Logger;

/** Adds to a FILE_MISSING error the tier directories that do hold the file, if any. */
async function withWhereabouts(
  error: RelocationError,
  levels: readonly Level[],
  filename: string,
): Promise<RelocationError> {
  const found: string[] = [];
  for (const level of levels) {
    const file = resolveInTier(level.path, filename);
    if (
      await lstat(file).then(
        (st) => st.isFile(),
        () => false,
      )
    ) {
      found.push(file);
    }
  }
  if (found.length === 0) return error;
  const detail = `${error.message.replace(/^FILE_MISSING: /, '')}; the file is at ${found.join(' and ')}, so MySQL and the tier directories disagree: if it belongs there, record it with \`npm run content -- set-level <cid> <level>\` (or \`PUT /v1/contents/<cid>/level\`), else move it back`;
  return new RelocationError('FILE_MISSING', detail, { cause: error });
}

/** True when `file` is `dir` or lies under it. */
function isInside(file: string, dir: string): boolean {
  const base = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return file === base || file.startsWith(`${base}/`);
}

function findLevel(levels: readonly Level[], name: string): Level {
  const level = levels.find((l) => l.name === name);
  if (!level) {
    throw new RelocationError(
      'LEVEL_NOT_FOUND',
      `level ${JSON.stringify(name)} is not in the level table`,
    );
  }
  return level;
}

/**
 * The history reason of a move a job decided by the count or rate (`undefined`: a post's): `pin`
 * when it goes to the content's pin, `decay` when the rate sweep's job demotes it (a job the
 * sweep queued may find the rate risen since, and then promotes it like a post's would).
 */
function moveReason(
  job: RelocateJob,
  decision: MoveDecision,
  pin: string | null,
): HistoryReason | undefined {
  if (pin !== null && pin === decision.to) return HISTORY_REASONS.pin;
  switch (job.data.reason) {
    case 'decay':
      return decision.reason === 'demote' ? HISTORY_REASONS.decay : undefined;
    case 'reconcile':
      return HISTORY_REASONS.reconcile;
    case 'admin':
      return HISTORY_REASONS.admin;
    case 'pin':
      return HISTORY_REASONS.pin;
    // A capacity job never decides here (demoteForCapacity records it); a post's job has none.
    case 'capacity':
    case undefined:
      return undefined;
  }
}

function summaryResult(move: MoveSummary): RelocationResult {
  if (!move.committed) {
    return { outcome: 'already-moved', from: move.from, to: move.to, count: move.count };
  }
  return {
    outcome: 'moved',
    from: move.from,
    to: move.to,
    bytes: move.bytes,
    durationMs: move.durationMs,
    count: move.count,
  };
}

function resultTiers(result: RelocationResult): { from: string; to: string } {
  switch (result.outcome) {
    case 'noop':
      return { from: result.level, to: result.level };
    case 'moved':
    case 'already-moved':
      return { from: result.from, to: result.to };
  }
}

/** The job failure BullMQ must not retry, or `null` when a retry may help. */
function asPermanent(error: unknown): UnrecoverableError | null {
  if (error instanceof UnrecoverableError) return error;
  if (error instanceof RelocationError) {
    return error.permanent
      ? new PermanentJobError(error.code, error.message, { cause: error })
      : null;
  }
  if (isPermanentFsError(error)) {
    const message = `FS_DENIED: ${(error as Error).message}; fix the tier directory's permissions or mount`;
    return new PermanentJobError('FS_DENIED', message, { cause: error });
  }
  return null;
}
