import { Queue, Worker } from 'bullmq';
import type { Database } from '@relocation/db';
import {
  RELOCATION_QUEUE,
  createWorkerRedis,
  expirePins,
  sweepRates,
  syncCache,
  type ContentCache,
  type RelocationQueue,
  type MoveJournal,
  type RedisConnection,
  type RedisTarget,
} from '@relocation/queue';
import type { ChooseTierOptions } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { sweepCapacity } from './capacity-sweep.ts';
import type { RelocatorMetrics } from './metrics.ts';
import { DRIFT_KINDS, fixDrift, reconcile } from './reconcile.ts';

/** Queue of the relocator's own maintenance jobs (scheduled reconcile runs and cache sweeps). */
export const MAINTENANCE_QUEUE = 'relocation-maintenance';

/** Id of the job scheduler that runs reconcile every `RECONCILE_EVERY`. */
export const RECONCILE_SCHEDULER_ID = 'reconcile';

/** Id of the job scheduler that compares the cache with MySQL every `CACHE_SYNC_EVERY`. */
export const CACHE_SYNC_SCHEDULER_ID = 'cache-sync';

/** Id of the job scheduler that releases expired pins every `PIN_EXPIRY_EVERY`. */
export const PIN_EXPIRY_SCHEDULER_ID = 'pin-expiry';

/** Id of the job scheduler that demotes from tiers above their high watermark every `CAPACITY_SWEEP_EVERY`. */
export const CAPACITY_SWEEP_SCHEDULER_ID = 'capacity-sweep';

/**
 * Id of the job scheduler that queues the demotions decayed view rates call for every
 * `RATE_SWEEP_EVERY` (only with `TIERING_POLICY=rate`).
 */
export const RATE_SWEEP_SCHEDULER_ID = 'rate-sweep';

/** What {@link startReconcileScheduler} needs. */
export interface ReconcileSchedulerDeps {
  redis: RedisConnection;
  /** Where the maintenance worker's own connection goes (the configuration, as a target). */
  redisTarget: RedisTarget;
  prefix: string;
  db: Kysely<Database>;
  cache: ContentCache;
  journal: MoveJournal;
  logger: Logger;
  metrics: RelocatorMetrics;
  /**
   * The tiering options the relocator decides with (stuck contents and decayed rates are judged
   * by them; the rate sweep runs only with `viewRate`).
   */
  tiering: ChooseTierOptions;
}

/** A running scheduler; `close()` stops its worker and queues. */
export interface ReconcileScheduler {
  close(): Promise<void>;
}

/** What a maintenance job does. */
type MaintenanceJob = {
  kind?: 'reconcile' | 'cache-sync' | 'pin-expiry' | 'capacity-sweep' | 'rate-sweep';
  fix: boolean;
};

/**
 * Runs the relocators' maintenance with BullMQ job schedulers on {@link MAINTENANCE_QUEUE}: every
 * replica upserts the same schedulers (idempotent), and each run is one job, taken by one
 * replica. A scheduler whose period is 0 is removed, so turning it off takes effect.
 * - reconcile every `RECONCILE_EVERY` (off by default): logs its counts, sets
 *   `relocator_drift{kind}`, with `fix` queues the fixes;
 * - the cache sweep every `CACHE_SYNC_EVERY` (30 s by default; `syncCache`): corrects cache
 *   entries that disagree with MySQL and publishes the stuck contents, setting
 *   `relocator_cache_drift_total` and `relocator_stuck_contents`;
 * - the pin expiry every `PIN_EXPIRY_EVERY` (30 s by default; `expirePins`): releases the pins
 *   whose `until` has passed (audit `content.pin-expired`, actor `system`) and queues the moves
 *   their counts call for;
 * - the capacity sweep every `CAPACITY_SWEEP_EVERY` (30 s by default; `sweepCapacity`): demotes
 *   the coldest contents of each tier above its high watermark down to its low watermark;
 * - the rate sweep every `RATE_SWEEP_EVERY` (1 m by default; `sweepRates`), only with
 *   `TIERING_POLICY=rate` (removed otherwise): queues a `decay` job for each content whose view
 *   rate, decayed to now, calls for a lower tier while no post comes to notice it, counting them
 *   in `relocator_rate_sweep_queued_total`.
 */
export async function startReconcileScheduler(
  deps: ReconcileSchedulerDeps,
  options: {
    everyMs: number;
    fix: boolean;
    cacheSyncEveryMs: number;
    pinExpiryEveryMs?: number;
    capacitySweepEveryMs?: number;
    rateSweepEveryMs?: number;
  },
): Promise<ReconcileScheduler> {
  const maintenance = new Queue<MaintenanceJob>(MAINTENANCE_QUEUE, {
    connection: deps.redis,
    prefix: deps.prefix,
  });
  maintenance.on('error', (error) => deps.logger.warn({ err: error }, 'maintenance queue error'));
  const keep = { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } };
  if (options.everyMs > 0) {
    await maintenance.upsertJobScheduler(
      RECONCILE_SCHEDULER_ID,
      { every: options.everyMs },
      { name: 'reconcile', data: { kind: 'reconcile', fix: options.fix }, opts: keep },
    );
  } else {
    await maintenance.removeJobScheduler(RECONCILE_SCHEDULER_ID);
  }
  if (options.cacheSyncEveryMs > 0) {
    await maintenance.upsertJobScheduler(
      CACHE_SYNC_SCHEDULER_ID,
      { every: options.cacheSyncEveryMs },
      { name: 'cache-sync', data: { kind: 'cache-sync', fix: true }, opts: keep },
    );
  } else {
    await maintenance.removeJobScheduler(CACHE_SYNC_SCHEDULER_ID);
  }
  const pinExpiryEveryMs = options.pinExpiryEveryMs ?? 0;
  if (pinExpiryEveryMs > 0) {
    await maintenance.upsertJobScheduler(
      PIN_EXPIRY_SCHEDULER_ID,
      { every: pinExpiryEveryMs },
      { name: 'pin-expiry', data: { kind: 'pin-expiry', fix: true }, opts: keep },
    );
  } else {
    await maintenance.removeJobScheduler(PIN_EXPIRY_SCHEDULER_ID);
  }
  const capacitySweepEveryMs = options.capacitySweepEveryMs ?? 0;
  if (capacitySweepEveryMs > 0) {
    await maintenance.upsertJobScheduler(
      CAPACITY_SWEEP_SCHEDULER_ID,
      { every: capacitySweepEveryMs },
      { name: 'capacity-sweep', data: { kind: 'capacity-sweep', fix: true }, opts: keep },
    );
  } else {
    await maintenance.removeJobScheduler(CAPACITY_SWEEP_SCHEDULER_ID);
  }
  // Only a view rate decays with time: with the count policy nothing changes without a post.
  const rateSweepEveryMs = deps.tiering.viewRate ? (options.rateSweepEveryMs ?? 0) : 0;
  if (rateSweepEveryMs > 0) {
    await maintenance.upsertJobScheduler(
      RATE_SWEEP_SCHEDULER_ID,
      { every: rateSweepEveryMs },
      { name: 'rate-sweep', data: { kind: 'rate-sweep', fix: true }, opts: keep },
    );
  } else {
    await maintenance.removeJobScheduler(RATE_SWEEP_SCHEDULER_ID);
  }
  if (
    options.everyMs <= 0 &&
    options.cacheSyncEveryMs <= 0 &&
    pinExpiryEveryMs <= 0 &&
    capacitySweepEveryMs <= 0 &&
    rateSweepEveryMs <= 0
  ) {
    await maintenance.close();
    return { close: () => Promise.resolve() };
  }
  const relocations: RelocationQueue = new Queue(RELOCATION_QUEUE, {
    connection: deps.redis,
    prefix: deps.prefix,
  });
  const connection = createWorkerRedis(deps.redisTarget, {
    connectionName: 'relocator-maintenance',
  });
  connection.on('error', (error: Error) =>
    deps.logger.warn({ err: error }, 'Redis connection error'),
  );
  const worker = new Worker<MaintenanceJob>(
    MAINTENANCE_QUEUE,
    async (job) => {
      if (job.data.kind === 'rate-sweep') {
        const report = await sweepRates({
          db: deps.db,
          cache: deps.cache,
          queue: relocations,
          tiering: deps.tiering,
        });
        deps.metrics.rateSweepQueued.inc(report.queued);
        if (report.queued > 0) {
          deps.logger.info(
            { ...report },
            'rate sweep: queued the demotions of contents whose view rate decayed',
          );
        }
        return report;
      }
      if (job.data.kind === 'capacity-sweep') {
        const report = await sweepCapacity({
          db: deps.db,
          cache: deps.cache,
          queue: relocations,
          logger: deps.logger,
          metrics: deps.metrics,
        });
        return { levels: report };
      }
      if (job.data.kind === 'pin-expiry') {
        const expired = await expirePins({
          db: deps.db,
          queue: relocations,
          cache: deps.cache,
          journal: deps.journal,
          tiering: deps.tiering,
        });
        for (const { pin, jobId } of expired) {
          deps.logger.info(
            { cid: pin.cid, level: pin.level, until: pin.until, jobId },
            'pin expired; released',
          );
        }
        return { released: expired.length };
      }
      if (job.data.kind === 'cache-sync') {
        const report = await syncCache(
          {
            db: deps.db,
            cache: deps.cache,
            tiering: deps.tiering,
            ...(rateSweepEveryMs > 0 ? { rateSweepQueue: relocations } : {}),
          },
          { fix: true },
        );
        deps.metrics.cacheDrift.inc(report.drift.filter((d) => d.fixed).length);
        deps.metrics.stuck.set(report.stuck.length);
        if (report.drift.length > 0) {
          deps.logger.warn(
            { drift: report.drift.slice(0, 20), count: report.drift.length },
            'the cache disagreed with MySQL (changed outside the service); corrected',
          );
        }
        return {
          contents: report.contents,
          drift: report.drift.length,
          stuck: report.stuck.length,
          durationMs: report.durationMs,
        };
      }
      const report = await reconcile({
        db: deps.db,
        queue: relocations,
        journal: deps.journal,
        cache: deps.cache,
        tiering: deps.tiering,
      });
      for (const kind of DRIFT_KINDS) deps.metrics.drift.set({ kind }, report.counts[kind]);
      let fixed = 0;
      if (job.data.fix) {
        const actions = await fixDrift(
          { db: deps.db, queue: relocations, cache: deps.cache, journal: deps.journal },
          report,
        );
        fixed = actions.filter((a) => a.action !== 'skipped').length;
      }
      deps.logger.info(
        { contents: report.contents, files: report.files, drift: report.counts, fixed },
        'reconcile run done',
      );
      return { counts: report.counts, fixed };
    },
    { connection, prefix: deps.prefix, concurrency: 1 },
  );
  worker.on('error', (error) => deps.logger.warn({ err: error }, 'maintenance worker error'));
  return {
    async close() {
      await worker.close();
      await Promise.allSettled([relocations.close(), maintenance.close()]);
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
