import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createDb,
  dropDatabase,
  ensureDatabase,
  getDeploymentId,
  listLevels,
  migrateToLatest,
  seedIfEmpty,
  type Database,
} from '@relocation/db';
import { writeTierMarker } from '@relocation/contract';
import {
  ContentCache,
  bindToDatabase,
  RELOCATION_QUEUE,
  createWorkerRedis,
  type RedisConnection,
  type RelocationQueue,
} from '@relocation/queue';
import type { Level } from '@relocation/tiering';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import type { Kysely } from 'kysely';
import type { BenchArgs } from './args.ts';
import { startChild, type ChildHandle } from './children.ts';
import {
  INGEST_CONTENTS,
  LATENCY_CID_BASE,
  cidRange,
  ingestLevel,
  insertContents,
  restingCount,
  writeSmallFiles,
  type View,
} from './dataset.ts';
import { postJson } from './http.ts';
import type { Plan } from './plan.ts';

/** Redis when REDIS_URL is unset. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The MySQL server when DATABASE_URL is unset (the bench creates its own database on it). */
export const DEFAULT_DATABASE_URL = 'mysql://root@127.0.0.1:3306';

/** Decision-latency contents the run needs: 10 % of the paced posts, plus a margin. */
export function latencyContents(plan: Plan, rate: number): number {
  return Math.ceil(rate * (plan.latencyWarmupSec + plan.rounds * plan.latencySec) * 0.1 * 1.3);
}

/**
 * Everything a benchmark needs, created for this run only and removed by {@link cleanup}: a
 * database `reloc_bench_<random>` (migrated, the seed's levels pointing into a scratch folder),
 * a Redis key prefix `reloc-bench-<random>` (the BullMQ prefix and the cache prefix), a scratch
 * folder on disk and one on /dev/shm, and the server children.
 */
export class BenchContext {
  readonly args: BenchArgs;
  readonly plan: Plan;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly scratch: string;
  readonly shm: string;
  readonly logDir: string;
  /** A Redis Cluster's nodes (`host:port,…`) when this context runs on one, else null. */
  readonly clusterNodes: string | null;
  readonly redis: RedisConnection;
  readonly db: Kysely<Database>;
  readonly cache: ContentCache;
  readonly queue: RelocationQueue;
  /** Things the reader of the results must know (quick-mode sizes, skipped parts, …). */
  readonly notes: string[] = [];
  levels: Level[] = [];
  /**
   * The rounds of the figures `--cluster` compares (e.g. `ingest.v1-views.throughput`), by
   * figure name, as the benchmarks measured them on this context's Redis.
   */
  readonly rounds = new Map<string, number[]>();

  readonly #started = performance.now();
  readonly #children = new Set<ChildHandle>();
  readonly #shared = new Map<string, Promise<ChildHandle>>();
  readonly #seeded = new Set<string>();
  #cleaned: Promise<void> | null = null;
  readonly #atCleanup: { what: string; fn: () => Promise<unknown> }[] = [];

  private constructor(
    args: BenchArgs,
    plan: Plan,
    env: NodeJS.ProcessEnv,
    clusterNodes: string | null,
  ) {
    this.args = args;
    this.plan = plan;
    const id = randomBytes(4).toString('hex');
    this.clusterNodes = clusterNodes;
    this.redisUrl = clusterNodes ? DEFAULT_REDIS_URL : env.REDIS_URL || DEFAULT_REDIS_URL;
    const dbUrl = new URL(env.DATABASE_URL || DEFAULT_DATABASE_URL);
    dbUrl.pathname = `/reloc_bench_${id}`;
    this.databaseUrl = dbUrl.toString();
    // On a cluster every key of the run must share one slot: the prefix is a hash tag.
    this.prefix = clusterNodes ? `{reloc-bench-${id}}` : `reloc-bench-${id}`;
    this.scratch = path.join(os.tmpdir(), `reloc-bench-${id}`);
    this.shm = path.join('/dev/shm', `reloc-bench-${id}`);
    this.logDir = path.join(this.scratch, 'logs');
    this.redis = createWorkerRedis(
      {
        redisUrl: this.redisUrl,
        redisCluster: clusterNodes
          ? {
              nodes: clusterNodes.split(',').map((node) => {
                const [host = '127.0.0.1', port = '6379'] = node.split(':');
                return { host, port: Number(port) };
              }),
              natMap: {},
            }
          : null,
      },
      { connectionName: 'bench-parent' },
    );
    this.db = createDb(this.databaseUrl, { connectionLimit: 8 });
    this.cache = new ContentCache(
      this.redis,
      bindToDatabase({
        redis: this.redis,
        prefix: this.prefix,
        db: this.db,
        databaseUrl: this.databaseUrl,
      }),
    );
    this.queue = new Queue(RELOCATION_QUEUE, { connection: this.redis, prefix: this.prefix });
    this.queue.on('error', (error) => this.log(`queue error: ${error.message}`));
  }

  /**
   * Creates the database, the key prefix's client and the scratch folders. With `clusterNodes`
   * (`host:port,…`) the run's Redis is that Redis Cluster and its prefix a hash tag.
   */
  static async create(
    args: BenchArgs,
    plan: Plan,
    env = process.env,
    clusterNodes: string | null = null,
  ): Promise<BenchContext> {
    const ctx = new BenchContext(args, plan, env, clusterNodes);
    try {
      await ctx.redis.ping();
      await mkdir(ctx.logDir, { recursive: true });
      await mkdir(ctx.shm, { recursive: true });
      await ensureDatabase(ctx.databaseUrl);
      await migrateToLatest(ctx.db);
      // Tier folders on disk (like production); BENCH_TIERS=shm puts them on tmpfs, where
      // fsync costs nothing, to see what the relocator's fsyncs cost.
      const onShm = env.BENCH_TIERS === 'shm';
      if (onShm) ctx.note('BENCH_TIERS=shm: tier folders are on /dev/shm (fsync is free there)');
      const tiers = path.join(onShm ? ctx.shm : ctx.scratch, 'tiers');
      await seedIfEmpty(ctx.db, { dataDir: tiers, contents: [] });
      ctx.levels = await listLevels(ctx.db);
      const deployment = await getDeploymentId(ctx.db);
      for (const level of ctx.levels) {
        await writeTierMarker(
          level.path,
          { level: level.name, deployment },
          { createDirectory: true },
        );
      }
    } catch (error) {
      await ctx.cleanup();
      throw error;
    }
    return ctx;
  }

  /** Seconds since the run started. */
  elapsedSec(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /** A progress line on stderr. */
  log(message: string): void {
    process.stderr.write(`[${this.elapsedSec().toFixed(1).padStart(6)}s] ${message}\n`);
  }

  /** Records a note for results.json and the table, and prints it. */
  note(message: string): void {
    this.notes.push(message);
    this.log(`note: ${message}`);
  }

  /** The directory of a tier. */
  levelDir(name: string): string {
    const level = this.levels.find((l) => l.name === name);
    if (!level) throw new Error(`no level ${name}`);
    return level.path;
  }

  /** Environment every child gets: this run's Redis, database and prefix. */
  childEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      REDIS_URL: this.redisUrl,
      DATABASE_URL: this.databaseUrl,
      QUEUE_PREFIX: this.prefix,
      BENCH_PREFIX: this.prefix,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      RELOCATOR_METRICS_PORT: '0',
      // Every bench request comes from one address: limits this high never refuse one, yet the
      // limiter still runs, so its cost (one Redis round trip per write) is in the figures.
      RATE_LIMIT_POSTS_PER_MINUTE: '10000000',
      RATE_LIMIT_WRITES_PER_MINUTE: '10000000',
      ...(this.clusterNodes ? { REDIS_CLUSTER_NODES: this.clusterNodes } : {}),
      ...extra,
    };
  }

  /** Starts a child that {@link cleanup} stops. */
  async startChild(
    name: string,
    script: string,
    env: Record<string, string> = {},
  ): Promise<ChildHandle> {
    const child = await startChild({
      name,
      script,
      env: this.childEnv(env),
      logFile: path.join(this.logDir, `${name}.log`),
      cpuProf: this.args.cpuProf,
    });
    this.#children.add(child);
    return child;
  }

  /** Stops a child started with {@link startChild}. */
  async stopChild(child: ChildHandle): Promise<void> {
    await child.stop();
    this.#children.delete(child);
  }

  /** The gateway child, started once and shared by the HTTP benchmarks. */
  gateway(): Promise<ChildHandle> {
    return this.#sharedChild('gateway', 'gateway.ts');
  }

  /** The bare-Fastify baseline child, started once and shared. */
  bare(): Promise<ChildHandle> {
    return this.#sharedChild('bare', 'bare.ts');
  }

  #sharedChild(name: string, script: string): Promise<ChildHandle> {
    let child = this.#shared.get(name);
    if (!child) {
      child = this.startChild(name, script);
      this.#shared.set(name, child);
      child.catch(() => this.#shared.delete(name));
    }
    return child;
  }

  /** The base URL a child listens on. */
  static urlOf(child: ChildHandle): string {
    const url = child.ready.url;
    if (typeof url !== 'string') throw new Error(`${child.name} sent no URL`);
    return url;
  }

  /**
   * Seeds the 10,000 ingest contents in MySQL in bulk and warms the gateway's cache with them
   * (one batched post per 1,000 contents, each with a count inside its tier: no job is queued).
   */
  async ensureIngestContents(): Promise<void> {
    if (this.#seeded.has('ingest')) return;
    const cids = cidRange(0, INGEST_CONTENTS);
    await insertContents(
      this.db,
      cids.map((cid) => ({
        cid,
        level: ingestLevel(cid),
        viewCount: restingCount(ingestLevel(cid)),
      })),
    );
    await this.#warm(cids.map((cid) => ({ cid, count: restingCount(ingestLevel(cid)) })));
    this.#seeded.add('ingest');
  }

  /** Seeds `count` decision-latency contents on bronze, with their files, and warms them. */
  async ensureLatencyContents(count: number): Promise<number[]> {
    const cids = cidRange(LATENCY_CID_BASE, count);
    if (this.#seeded.has('latency')) return cids;
    await insertContents(
      this.db,
      cids.map((cid) => ({ cid, level: 'bronze', viewCount: restingCount('bronze') })),
    );
    await writeSmallFiles(this.levelDir('bronze'), cids);
    await this.#warm(cids.map((cid) => ({ cid, count: restingCount('bronze') })));
    this.#seeded.add('latency');
    return cids;
  }

  async #warm(views: readonly View[]): Promise<void> {
    const url = BenchContext.urlOf(await this.gateway());
    for (let i = 0; i < views.length; i += 1000) {
      const { status, body } = await postJson(`${url}/v1/views`, views.slice(i, i + 1000));
      const items = (body as { items?: { status: string }[] }).items ?? [];
      if (status !== 200 || items.some((item) => item.status !== 'done')) {
        throw new Error(
          `warming the gateway cache failed: ${status} ${JSON.stringify(body).slice(0, 300)}`,
        );
      }
    }
  }

  /** Removes every job of the relocation queue (no worker may be running). */
  async resetQueue(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  /** Deletes every key under `prefix` (default: this run's prefix); returns how many. */
  async deleteKeys(prefix = this.prefix): Promise<number> {
    let deleted = 0;
    // A cluster's keys are on its masters; SCAN runs on one node at a time.
    for (const node of this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis]) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await node.del(...keys);
      } while (cursor !== '0');
    }
    return deleted;
  }

  /**
   * Has {@link cleanup} also run `fn` (after its own steps; the last registered first), e.g. to
   * stop a Redis Cluster the run started. Runs it at once when the clean-up already started.
   */
  atCleanup(what: string, fn: () => Promise<unknown>): void {
    if (this.#cleaned) void this.#cleaned.then(fn);
    else this.#atCleanup.push({ what, fn });
  }

  /**
   * Stops every child, deletes the run's Redis keys, drops its database and removes its
   * folders. Safe to call more than once and after a partial start; never throws.
   */
  cleanup(): Promise<void> {
    this.#cleaned ??= (async () => {
      const step = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (error) {
          process.stderr.write(`cleanup: ${what} failed: ${(error as Error).message}\n`);
        }
      };
      await Promise.all([...this.#children].map((c) => step(`stopping ${c.name}`, () => c.stop())));
      await step('closing the queue', () => this.queue.close());
      if (this.redis.status === 'ready') {
        await step('deleting Redis keys', () => this.deleteKeys());
      }
      await step('closing Redis', async () => {
        if (this.redis.status === 'ready') await this.redis.quit();
        else this.redis.disconnect();
      });
      await step('closing MySQL', () => this.db.destroy());
      await step('dropping the database', () => dropDatabase(this.databaseUrl));
      await step('removing the scratch folder', () =>
        rm(this.scratch, { recursive: true, force: true }),
      );
      await step('removing the /dev/shm folder', () =>
        rm(this.shm, { recursive: true, force: true }),
      );
      for (const { what, fn } of [...this.#atCleanup].reverse()) await step(what, fn);
    })();
    return this.#cleaned;
  }

  /** True when `a` and `b` are on different file systems. */
  static async differentDevices(a: string, b: string): Promise<boolean> {
    const [sa, sb] = await Promise.all([stat(a), stat(b)]);
    return sa.dev !== sb.dev;
  }
}
