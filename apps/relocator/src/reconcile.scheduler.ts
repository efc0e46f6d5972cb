import { Queue, Worker } from 'bullmq';
import type { Database } from '@relocation/db';
import {
  RELOCATION_QUEUE,
  createWorkerRedis,
  type ContentCache,
  type RelocationQueue,
} from '@relocation/queue';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RelocatorMetrics } from './metrics.ts';
import type { MoveJournal } from './move-journal.ts';
import { DRIFT_KINDS, fixDrift, reconcile } from './reconcile.ts';

/** Queue of the relocator's own maintenance jobs (scheduled reconcile runs). */
export const MAINTENANCE_QUEUE = 'relocation-maintenance';

/** Id of the job scheduler that runs reconcile every `RECONCILE_EVERY`. */
export const RECONCILE_SCHEDULER_ID = 'reconcile';

/** What {@link startReconcileScheduler} needs. */
export interface ReconcileSchedulerDeps {
  redis: Redis;
  redisUrl: string;
  prefix: string;
  db: Kysely<Database>;
  cache: ContentCache;
  journal: MoveJournal;
  logger: Logger;
  metrics: RelocatorMetrics;
}

/** A running scheduler; `close()` stops its worker and queues. */
export interface ReconcileScheduler {
  close(): Promise<void>;
}

/**
 * Runs reconcile periodically with a BullMQ job scheduler on {@link MAINTENANCE_QUEUE}: every
 * replica upserts the same scheduler (idempotent), and each run is one job, taken by one replica.
 * With `everyMs` 0 the scheduler is removed, so turning `RECONCILE_EVERY` off takes effect.
 * Each run logs its counts and sets `relocator_drift{kind}`; with `fix` it also queues fixes.
 */
export async function startReconcileScheduler(
  deps: ReconcileSchedulerDeps,
  options: { everyMs: number; fix: boolean },
): Promise<ReconcileScheduler> {
  const maintenance = new Queue(MAINTENANCE_QUEUE, { connection: deps.redis, prefix: deps.prefix });
  maintenance.on('error', (error) => deps.logger.warn({ err: error }, 'maintenance queue error'));
  if (options.everyMs <= 0) {
    await maintenance.removeJobScheduler(RECONCILE_SCHEDULER_ID);
    await maintenance.close();
    return { close: () => Promise.resolve() };
  }
  await maintenance.upsertJobScheduler(
    RECONCILE_SCHEDULER_ID,
    { every: options.everyMs },
    {
      name: 'reconcile',
      data: { fix: options.fix },
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    },
  );
  const relocations: RelocationQueue = new Queue(RELOCATION_QUEUE, {
    connection: deps.redis,
    prefix: deps.prefix,
  });
  const connection = createWorkerRedis(deps.redisUrl, { connectionName: 'relocator-maintenance' });
  connection.on('error', (error: Error) =>
    deps.logger.warn({ err: error }, 'Redis connection error'),
  );
  const worker = new Worker<{ fix: boolean }>(
    MAINTENANCE_QUEUE,
    async (job) => {
      const report = await reconcile({
        db: deps.db,
        queue: relocations,
        journal: deps.journal,
        cache: deps.cache,
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
