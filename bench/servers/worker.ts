// Workers of the relocator-throughput benchmark. For each `drain` call it starts a BullMQ Worker
// on the relocation queue with the given concurrency, runs it until `expected` jobs finished,
// and answers the elapsed time, measured from worker.run() to the last `completed` event.
// Kinds: `noop` (baseline a), `rename-tx` (baseline b: one rename + one MySQL transaction that
// updates the content row and inserts its history row) and `relocator` (the real processor,
// createRelocateProcessor). Every kind gets the Worker options startRelocator uses, read from a
// relocator started once (on a prefix of its own) when this child starts.
// Env: REDIS_URL, DATABASE_URL, BENCH_PREFIX, and REDIS_CLUSTER_NODES for a Redis Cluster.
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createDb, getDeploymentId, listLevels, type Database } from '@relocation/db';
import {
  ContentCache,
  RelocationKeys,
  RELOCATION_QUEUE,
  createWorkerRedis,
  type RelocationJobData,
} from '@relocation/queue';
import {
  MoveJournal,
  TierGuard,
  createLogger,
  createRelocateProcessor,
  createRelocatorMetrics,
  loadConfig,
  startRelocator,
} from '@relocation/relocator';
import { Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import { pino } from 'pino';
import { sql, type Kysely } from 'kysely';
import { requireEnv, serveBench, signalReady } from './ipc.ts';

/** What the bench asks for. */
interface DrainParams {
  kind: 'noop' | 'rename-tx' | 'relocator';
  concurrency: number;
  expected: number;
}

const redisUrl = requireEnv('REDIS_URL');
const databaseUrl = requireEnv('DATABASE_URL');
const prefix = requireEnv('BENCH_PREFIX');
/** The relocator's Redis settings (REDIS_URL, or REDIS_CLUSTER_NODES when the bench sets it). */
const redisEnv = {
  REDIS_URL: redisUrl,
  ...(process.env.REDIS_CLUSTER_NODES
    ? { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES }
    : {}),
};
// The relocator's own logger (JSON lines on stdout, which goes to the child's log file) at the
// production default level: whatever it writes per job is part of what the real relocator costs.
const logger = createLogger('info');

/**
 * The options startRelocator gives its Worker (lock, stall and keep-jobs settings, whatever they
 * are now), minus what each drain sets itself: connection, prefix, concurrency, autorun.
 */
async function relocatorWorkerOptions(): Promise<Partial<WorkerOptions>> {
  const probe = await startRelocator(
    loadConfig({
      ...redisEnv,
      DATABASE_URL: databaseUrl,
      QUEUE_PREFIX: `${prefix}-probe`,
      RELOCATOR_METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
    }),
    { logger: pino({ level: 'silent' }) },
  );
  const rest: Partial<WorkerOptions> = { ...probe.worker.opts };
  delete rest.connection;
  delete rest.prefix;
  delete rest.concurrency;
  delete rest.autorun;
  await probe.close();
  return rest;
}

const workerOptions = await relocatorWorkerOptions();
// Where the relocator's connections go: the server of REDIS_URL, or the cluster.
const redisTarget = loadConfig({
  ...redisEnv,
  DATABASE_URL: databaseUrl,
  QUEUE_PREFIX: prefix,
  RELOCATOR_METRICS_PORT: '0',
});
logger.info({ workerOptions }, 'bench worker options (from startRelocator)');

/** The file name every bench content uses (see dataset.ts). */
function filenameOf(cid: number): string {
  return `c${cid}.mp4`;
}

function renameTxProcessor(db: Kysely<Database>, dirs: Map<string, string>): Processor {
  return async (job: Job<RelocationJobData>) => {
    const { cid, target, from } = job.data;
    const fromDir = dirs.get(from ?? '');
    const toDir = dirs.get(target);
    if (fromDir === undefined || toDir === undefined) throw new Error(`unknown level for ${cid}`);
    await rename(path.join(fromDir, filenameOf(cid)), path.join(toDir, filenameOf(cid)));
    const now = new Date();
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('contents')
        .set({ content_level: target, update_time: now })
        .where('cid', '=', cid)
        .execute();
      await trx
        .insertInto('update_history')
        .values({
          cid,
          old_updated_date: now,
          old_content_level: from ?? '',
          new_updated_date: now,
          new_content_level: target,
          view_count: job.data.count,
          job_id: job.id ?? null,
          bytes: null,
          duration_ms: null,
        })
        .execute();
    });
    return {};
  };
}

async function drain(raw: unknown): Promise<unknown> {
  const params = raw as DrainParams;
  const { kind, concurrency, expected } = params;
  const db = kind === 'noop' ? null : createDb(databaseUrl, { connectionLimit: concurrency + 2 });
  const cacheRedis = createWorkerRedis(redisTarget, { connectionName: 'bench-relocator-cache' });
  const workerRedis = createWorkerRedis(redisTarget, {
    connectionName: 'bench-relocator-worker',
  });
  try {
    let processor: Processor;
    const metrics = createRelocatorMetrics();
    if (db === null) {
      processor = () => Promise.resolve({});
    } else {
      // Open the pool's connections before timing, for every kind that uses MySQL.
      await Promise.all(Array.from({ length: concurrency }, () => sql`select 1`.execute(db)));
      if (kind === 'rename-tx') {
        const levels = await listLevels(db);
        processor = renameTxProcessor(db, new Map(levels.map((l) => [l.name, l.path])));
      } else {
        const keys = new RelocationKeys({ prefix, deployment: await getDeploymentId(db) });
        processor = createRelocateProcessor({
          db,
          cache: new ContentCache(cacheRedis, keys),
          journal: new MoveJournal(cacheRedis, keys),
          guard: new TierGuard({ deployment: () => Promise.resolve(keys.deployment), logger }),
          logger,
          metrics,
          options: {
            tiering: {},
            verifyChecksum: false,
            copyBytesPerSecond: 0,
          },
        }) as Processor;
      }
    }
    await cacheRedis.ping();
    // The options startRelocator uses (RELOCATOR_* defaults), for every kind.
    const worker = new Worker(RELOCATION_QUEUE, processor, {
      ...workerOptions,
      connection: workerRedis,
      prefix,
      concurrency,
      autorun: false,
    });
    worker.on('error', (error) => logger.error({ err: error }, 'bench worker error'));
    let completed = 0;
    let failed = 0;
    let firstError: string | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      const check = () => {
        if (completed + failed >= expected) resolve();
      };
      worker.on('completed', () => {
        completed++;
        check();
      });
      worker.on('failed', (_job, error) => {
        failed++;
        firstError ??= error.message;
        check();
      });
      setTimeout(
        () => reject(new Error(`drain of ${expected} ${kind} jobs timed out`)),
        240_000,
      ).unref();
    });
    await worker.waitUntilReady();
    const started = performance.now();
    worker.run().catch((error: unknown) => logger.error({ err: error }, 'bench worker stopped'));
    let elapsedMs: number;
    try {
      await finished;
      elapsedMs = performance.now() - started;
    } finally {
      await worker.close();
    }
    // Moves per group commit (the real processor only): the histogram's sum over its count.
    const groups = (await metrics.commitGroupSize.get()).values;
    const moves = groups.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const commits = groups.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const movesPerCommit = commits > 0 ? moves / commits : null;
    return { elapsedMs, completed, failed, firstError, movesPerCommit };
  } finally {
    await Promise.allSettled([cacheRedis.quit(), workerRedis.quit()]);
    await db?.destroy();
  }
}

serveBench({ drain }, () => Promise.resolve());
signalReady();
