import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { createDb, listLevels, readLevelUsage, type Database } from '@relocation/db';
import {
  ContentCache,
  bindToDatabase,
  MoveJournal,
  PrefixInUseError,
  RELOCATION_KEEP_JOBS,
  RELOCATION_QUEUE,
  createWorkerRedis,
  isClusterUnavailableError,
  renewEvery,
  type RELOCATE_JOB,
  type RelocationJobData,
  type RelocationResult,
} from '@relocation/queue';
import { validateLevels } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RelocatorConfig } from './config.ts';
import { createLogger } from './logger.ts';
import {
  createRelocatorMetrics,
  startMetricsServer,
  watchTierUsage,
  type MetricsServer,
  type RelocatorMetrics,
} from './metrics.ts';
import { createRelocateProcessor } from './relocate.processor.ts';
import { startReconcileScheduler, type ReconcileScheduler } from './reconcile.scheduler.ts';
import { RedisBackoff } from './redis-backoff.ts';
import { TierGuard, type UnavailableTier } from './tier-guard.ts';

/** The relocation worker's type. */
export type RelocationWorker = Worker<RelocationJobData, RelocationResult, typeof RELOCATE_JOB>;

/** Optional wiring for {@link startRelocator}; what is passed in is not closed by it. */
export interface StartRelocatorOptions {
  logger?: Logger;
  /** A database to use instead of one opened from `config.databaseUrl`; the caller closes it. */
  db?: Kysely<Database>;
  /** Milliseconds after the shutdown deadline to wait for aborted copies to wind down (5000). */
  abortGraceMs?: number;
  /** Clock in epoch milliseconds for the processor (tests). */
  now?: () => number;
}

/** A running relocator. */
export interface RelocatorHandle {
  readonly worker: RelocationWorker;
  readonly metrics: RelocatorMetrics;
  /** The metrics server's port, or `null` when it is off. */
  readonly metricsPort: number | null;
  /** The jobs this relocator is processing now (what a crash log names). */
  activeJobs(): { jobId: string; cid: number }[];
  /**
   * Stops taking jobs, lets active moves finish within `shutdownTimeoutMs`, then aborts the
   * copies still running (their jobs retry elsewhere) and closes the metrics server, Redis and the
   * database. Safe to call more than once.
   */
  close(): Promise<void>;
}

/**
 * Starts a relocator: a BullMQ worker on the `relocation` queue running
 * {@link createRelocateProcessor} with `config.concurrency` jobs at once, and the metrics server.
 *
 * Locks: a job's lock lives `lockDurationMs` and is renewed every half of it by a timer while the
 * job runs (copies never block the event loop), so a long copy keeps its lock; a worker that dies
 * stops renewing, and within `lockDurationMs` + `stalledIntervalMs` another worker takes the job
 * over. A job whose worker died more than `maxStalledCount` times fails.
 */
export async function startRelocator(
  config: RelocatorConfig,
  options: StartRelocatorOptions = {},
): Promise<RelocatorHandle> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db =
    options.db ?? createDb(config.databaseUrl, { connectionLimit: config.concurrency + 2 });
  const redis = createWorkerRedis(config, { connectionName: 'relocator-cache' });
  const workerRedis = createWorkerRedis(config, { connectionName: 'relocator-worker' });
  for (const connection of [redis, workerRedis]) {
    connection.on('error', (error: Error) => logger.warn({ err: error }, 'Redis connection error'));
  }
  const metrics = createRelocatorMetrics();
  watchTierUsage(
    metrics,
    async () => {
      const levels = await listLevels(db);
      const usage = await readLevelUsage(db, levels);
      return levels.map((level) => {
        const used = usage[level.name];
        return {
          level: level.name,
          files: used?.files ?? 0,
          bytes: used?.bytes ?? 0,
          capacityBytes: used?.capacityBytes ?? null,
          highBytes: used?.highWatermarkBytes ?? null,
        };
      });
    },
    (error) => logger.debug({ err: error }, 'tier usage metrics not refreshed'),
  );
  const binding = bindToDatabase({
    redis,
    prefix: config.queuePrefix,
    db,
    databaseUrl: config.databaseUrl,
    logger,
  });
  const cache = new ContentCache(redis, binding);
  const journal = new MoveJournal(redis, binding);
  const guard = new TierGuard({
    deployment: async () => (await binding.keys()).deployment,
    logger,
    cache,
    metrics,
    recheckMs: config.tierCheckMs,
    ...(options.now ? { now: options.now } : {}),
  });
  const processor = createRelocateProcessor({
    db,
    cache,
    journal,
    guard,
    logger,
    metrics,
    ...(options.now ? { now: options.now } : {}),
    options: {
      tiering: config.tiering,
      verifyChecksum: config.verifyChecksum,
      copyBytesPerSecond: config.copyBytesPerSecond,
      faultRetryMaxMs: config.faultRetryMaxMs,
      commitGroupMs: config.commitGroupMs,
      commitGroupMax: config.commitGroupMax,
    },
  });

  const active = new Map<string, number>();
  let backoff: RedisBackoff | null = null;
  const tracked: typeof processor = async (job, token, signal) => {
    active.set(job.id ?? '', job.data.cid);
    try {
      return await processor(job, token, signal);
    } catch (error) {
      backoff?.note(error);
      throw error;
    } finally {
      active.delete(job.id ?? '');
    }
  };
  const worker: RelocationWorker = new Worker(RELOCATION_QUEUE, tracked, {
    connection: workerRedis,
    prefix: config.queuePrefix,
    ...RELOCATION_KEEP_JOBS,
    concurrency: config.concurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
    ...(config.maxMovesPerSecond > 0
      ? { limiter: { max: config.maxMovesPerSecond, duration: 1000 } }
      : {}),
    autorun: false,
    // Operators see each replica by this name (`GET /v1/relocations`, Bull Board).
    name: `${hostname()}:${process.pid}`,
  });
  backoff = new RedisBackoff({ redis, worker, logger, metrics });
  worker.on('error', (error) => {
    // While Redis refuses writes BullMQ's own calls fail too: one warning (from the back-off)
    // instead of an error per attempt.
    if (backoff?.note(error) && backoff.fault !== null) return;
    // A Redis Cluster switching masters: the connections wait for the new one by themselves.
    if (isClusterUnavailableError(error)) {
      logger.warn({ err: error }, 'worker error: Redis Cluster unavailable (failover?)');
      return;
    }
    logger.error({ err: error }, 'worker error');
  });
  worker.on('lockRenewalFailed', (jobIds) => {
    // Another worker may own these jobs now: stop copying, so two moves of a cid never overlap.
    for (const jobId of jobIds) {
      logger.warn({ jobId }, 'lost the lock of a job; aborting its copy');
      worker.cancelJob(jobId, 'lock lost');
    }
  });
  worker.on('stalled', (jobId) =>
    logger.warn({ jobId }, 'job stalled (its worker died); requeued'),
  );

  let closing: Promise<void> | null = null;
  let server: MetricsServer | null = null;
  let scheduler: ReconcileScheduler | null = null;
  let renewal: NodeJS.Timeout | null = null;
  // Every tier is checked on a timer too, so readiness and `relocator_tier_up` show a lost disk
  // before a move meets it.
  const tierTimer = setInterval(() => {
    listLevels(db)
      .then((levels) => guard.checkAll(levels))
      .catch((error: unknown) => logger.debug({ err: error }, 'tier check skipped'));
  }, config.tierCheckMs);
  tierTimer.unref();
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(tierTimer);
      if (renewal) clearInterval(renewal);
      backoff?.close();
      logger.info({ timeoutMs: config.shutdownTimeoutMs }, 'relocator stopping: no new jobs');
      const closed = worker.close();
      let done = await settledWithin(closed, config.shutdownTimeoutMs);
      if (!done) {
        // worker.close(true) would return the pending close() promise, so abort the copies:
        // their temp files are removed and the jobs retry (on any worker) with backoff.
        logger.warn('shutdown deadline passed: aborting active moves');
        worker.cancelAllJobs('relocator shutting down');
        done = await settledWithin(closed, options.abortGraceMs ?? 5000);
        if (!done)
          logger.error('active jobs did not stop; their locks expire and others take them');
      }
      await scheduler?.close().catch(() => undefined);
      await binding.release();
      await server?.close().catch(() => undefined);
      await Promise.allSettled([quit(redis, done), quit(workerRedis, done)]);
      if (!options.db) await db.destroy();
      logger.info('relocator stopped');
    })();
    return closing;
  };

  try {
    // Two deployments on one prefix would share a queue: refuse to start. A MySQL that cannot be
    // reached yet is fine: the identity is read on first use, and renewed on a timer.
    await binding.keys().catch((error: unknown) => {
      if (error instanceof PrefixInUseError) throw error;
      logger.warn({ err: error }, 'cannot read the database identity yet; will retry');
    });
    renewal = renewEvery(binding, logger);
    await worker.waitUntilReady();
    worker.run().catch((error: unknown) => logger.error({ err: error }, 'worker stopped'));
    scheduler = await startReconcileScheduler(
      {
        redis,
        redisTarget: config,
        prefix: config.queuePrefix,
        db,
        cache,
        journal,
        logger,
        metrics,
        tiering: config.tiering,
      },
      {
        everyMs: config.reconcileEveryMs,
        fix: config.reconcileFix,
        cacheSyncEveryMs: config.cacheSyncEveryMs,
        pinExpiryEveryMs: config.pinExpiryEveryMs,
        capacitySweepEveryMs: config.capacitySweepEveryMs,
        rateSweepEveryMs: config.rateSweepEveryMs,
      },
    );
    if (config.metricsPort > 0) {
      server = await startMetricsServer(metrics.registry, {
        port: config.metricsPort,
        host: config.metricsHost,
        // Paused (backing off from a Redis that refuses writes) is alive: a restart would not help.
        healthy: () => closing === null && (worker.isRunning() || worker.isPaused()),
        ready: () => readiness(guard.unavailable(), backoff?.fault ?? null),
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  void checkLevels(db, logger).then(async () => {
    await guard.checkAll(await listLevels(db)).catch(() => undefined);
  });
  logger.info(
    {
      queue: RELOCATION_QUEUE,
      prefix: config.queuePrefix,
      concurrency: config.concurrency,
      lockDurationMs: config.lockDurationMs,
      stalledIntervalMs: config.stalledIntervalMs,
      metricsPort: server?.port ?? null,
    },
    'relocator started',
  );
  const activeJobs = () => [...active].map(([jobId, cid]) => ({ jobId, cid }));
  return { worker, metrics, metricsPort: server?.port ?? null, activeJobs, close };
}

/**
 * Ready unless a tier cannot be used or Redis refuses writes; the body names each such tier and
 * why, and the Redis condition (`REDIS_FULL`, `REDIS_READONLY` or null).
 */
function readiness(
  tiers: UnavailableTier[],
  redis: string | null,
): { ready: boolean; detail: Record<string, unknown> } {
  return { ready: tiers.length === 0 && redis === null, detail: { tiers, redis } };
}

/** Warns at start-up when MySQL is unreachable or the level table breaks I1 (jobs would fail). */
async function checkLevels(db: Kysely<Database>, logger: Logger): Promise<void> {
  try {
    const result = validateLevels(await listLevels(db));
    if (!result.ok) {
      logger.error(
        { problems: result.errors.map((e) => e.message) },
        'the level table breaks I1; relocation jobs fail until an operator fixes it',
      );
    }
  } catch (error) {
    logger.warn({ err: error }, 'cannot read the level table yet; jobs retry until MySQL answers');
  }
}

async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  const timeout = sleep(ms, false, { signal: ac.signal }).catch(() => false);
  const settled = promise.then(
    () => true,
    () => true,
  );
  const result = await Promise.race([settled, timeout]);
  ac.abort();
  return result;
}

async function quit(
  connection: ReturnType<typeof createWorkerRedis>,
  graceful: boolean,
): Promise<void> {
  if (!graceful || connection.status === 'end') {
    connection.disconnect();
    return;
  }
  await connection.quit().catch(() => connection.disconnect());
}
