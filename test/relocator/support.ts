import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { TIER_MARKER_FILE, writeTierMarker } from '@relocation/contract';
import { getContent, getDeploymentId, replaceLevels, type Database } from '@relocation/db';
import {
  ContentCache,
  RelocationKeys,
  RELOCATION_QUEUE,
  enqueueRelocation,
  type RelocationJobData,
  type RelocationQueue,
  type RelocationResult,
} from '@relocation/queue';
import { MoveJournal } from '@relocation/relocator';
import { targetLevel, type Level } from '@relocation/tiering';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { pino, type Logger } from 'pino';
import {
  createTestDatabase,
  createTestRedis,
  redisUrl,
  uniqueSuffix,
  type TestDatabase,
  type TestRedis,
} from '../support/services.ts';

/** The repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A logger that writes nothing (tests assert outcomes, not log lines). */
export const SILENT: Logger = pino({ level: 'silent' });

/** Two scratch directories on different file systems (tmpfs and disk) and a cleanup. */
export interface Scratch {
  /** On /dev/shm (tmpfs). */
  shm: string;
  /** On a disk-backed file system. */
  disk: string;
  cleanup(): Promise<void>;
}

/**
 * Creates `/dev/shm/reloc-<unique>` and a directory on disk whose `stat().dev` differs, so moves
 * between them cross file systems. Throws when the machine has no such pair.
 */
export async function createScratch(): Promise<Scratch> {
  const name = `reloc-${uniqueSuffix()}`;
  const shm = path.join('/dev/shm', name);
  await mkdir(shm, { recursive: true });
  const shmDev = (await stat(shm)).dev;
  const candidates = [os.tmpdir(), '/var/tmp', path.join(REPO_ROOT, 'node_modules', '.cache')];
  for (const base of candidates) {
    try {
      await mkdir(base, { recursive: true });
      if ((await stat(base)).dev === shmDev) continue;
      const disk = path.join(base, name);
      await mkdir(disk, { recursive: true });
      return {
        shm,
        disk,
        async cleanup() {
          await rm(shm, { recursive: true, force: true });
          await rm(disk, { recursive: true, force: true });
        },
      };
    } catch {
      // try the next candidate
    }
  }
  await rm(shm, { recursive: true, force: true });
  throw new Error('no disk-backed directory with a device different from /dev/shm');
}

/** Runs every cleanup step even when one fails; throws the first failure afterwards. */
export async function runAll(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** True when two paths are on different file systems. */
export function crossesFilesystems(a: string, b: string): boolean {
  return statSync(a).dev !== statSync(b).dev;
}

/**
 * Writes `bytes` pseudo-random bytes derived from `seed` (AES-CTR over zeros, so fast and the
 * same for the same seed) to `file` with a stream; returns their sha256.
 */
export async function writeSeededFile(file: string, bytes: number, seed: string): Promise<string> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const zeros = Buffer.alloc(1024 * 1024);
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, zeros.length);
    const chunk = cipher.update(zeros.subarray(0, n));
    hash.update(chunk);
    left -= n;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

/** Names in a directory (sorted) but its tier marker, `[]` when it does not exist. */
export async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name !== TIER_MARKER_FILE).sort();
  } catch {
    return [];
  }
}

/** Three tiers: bronze on disk, silver on tmpfs, gold on disk (bronze ↔ gold is a rename). */
export function tiersIn(scratch: Scratch): Level[] {
  return [
    { name: 'bronze', minCount: 0, maxCount: 999, path: path.join(scratch.disk, 'bronze') },
    { name: 'silver', minCount: 1000, maxCount: 1999, path: path.join(scratch.shm, 'silver') },
    { name: 'gold', minCount: 2000, maxCount: null, path: path.join(scratch.disk, 'gold') },
  ];
}

/**
 * Creates every tier directory with its marker for database `deployment` (what `npm run setup`
 * and `PUT /v1/levels?create=true` do), so the relocator accepts the directories as the tiers.
 */
export async function makeTierDirs(levels: readonly Level[], deployment: string): Promise<void> {
  for (const level of levels) {
    await writeTierMarker(level.path, { level: level.name, deployment }, { createDirectory: true });
  }
}

/** Inserts contents straight into MySQL (no validation: tests also store hostile names). */
export async function insertContents(
  db: Kysely<Database>,
  rows: readonly {
    cid: number;
    level: string;
    filename: string;
    viewCount?: number;
    updateTime?: Date;
  }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('contents')
    .values(
      rows.map((r) => ({
        cid: r.cid,
        content_level: r.level,
        filename: r.filename,
        view_count: r.viewCount ?? 0,
        ...(r.updateTime ? { update_time: r.updateTime } : {}),
      })),
    )
    .execute();
}

/** Queue events on the test prefix; close it in afterAll. */
export async function openQueueEvents(prefix: string): Promise<QueueEvents> {
  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const events = new QueueEvents(RELOCATION_QUEUE, { connection, prefix });
  eventConnections.set(events, connection);
  await events.waitUntilReady();
  return events;
}

const eventConnections = new WeakMap<QueueEvents, Redis>();

/** Closes queue events and the connection it was given. */
export async function closeQueueEvents(events: QueueEvents): Promise<void> {
  await events.close();
  eventConnections.get(events)?.disconnect();
}

/** Settles with a job's result once it completes, or rejects with its failed reason. */
export function jobOutcome(
  events: QueueEvents,
  jobId: string,
  timeoutMs = 20_000,
): Promise<{ state: 'completed'; result: RelocationResult } | { state: 'failed'; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`job ${jobId} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    const onCompleted = (args: { jobId: string; returnvalue: unknown }) => {
      if (args.jobId !== jobId) return;
      cleanup();
      const value = args.returnvalue;
      resolve({
        state: 'completed',
        result: (typeof value === 'string' ? JSON.parse(value) : value) as RelocationResult,
      });
    };
    const onFailed = (args: { jobId: string; failedReason: string; prev?: string }) => {
      if (args.jobId !== jobId) return;
      cleanup();
      resolve({ state: 'failed', reason: args.failedReason });
    };
    function cleanup() {
      clearTimeout(timer);
      events.off('completed', onCompleted);
      events.off('failed', onFailed);
    }
    events.on('completed', onCompleted);
    events.on('failed', onFailed);
  });
}

/** Resolves when `predicate()` holds, checking every `intervalMs`; rejects after `timeoutMs`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A relocator running as a child process (`node --import tsx apps/relocator/src/main.ts`). */
export interface RelocatorProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  /** Exit code (or the signal's name) once it exits. */
  readonly exited: Promise<number | string>;
  /** Resolves when a log line matching `predicate` appears. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

/** Another user for a child process (`spawn`'s `uid` and `gid`), e.g. a non-root relocator. */
export interface SpawnUser {
  uid: number;
  gid: number;
}

/**
 * Starts a relocator child process with `env` on top of the test's environment; `preload` adds
 * modules to load first (`--import`), e.g. a fault injector; `user` runs it as another user.
 */
export function spawnRelocator(
  env: Record<string, string>,
  preload: readonly string[] = [],
  user?: SpawnUser,
): RelocatorProcess {
  return spawnScript('apps/relocator/src/main.ts', env, preload, user);
}

/**
 * Runs `node --import tsx [--import <preload>…] <script>` (relative to the repository root) with
 * `env` on top of the test's environment (as `user` when given), collecting its JSON log lines
 * from stdout.
 */
export function spawnScript(
  script: string,
  env: Record<string, string>,
  preload: readonly string[] = [],
  user?: SpawnUser,
): RelocatorProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      ...preload.flatMap((module) => ['--import', module]),
      path.join(REPO_ROOT, script),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (data: string) => {
    buffer += data;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const wake of waiters) wake();
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (data: string) => (stderr += data));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      if (code !== 0 && stderr) process.stderr.write(`${script} child stderr:\n${stderr}\n`);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  return {
    child,
    logs,
    exited,
    waitForLog(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find(predicate);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Sends SIGKILL to a child if it still runs and waits for it to exit. */
export async function killHard(proc: RelocatorProcess): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}

/** Everything a relocator test file needs: MySQL, Redis, tier directories, queue and cache. */
export interface Harness {
  t: TestDatabase;
  r: TestRedis;
  scratch: Scratch;
  levels: Level[];
  queue: RelocationQueue;
  events: QueueEvents;
  cache: ContentCache;
  journal: MoveJournal;
  /** A tier's directory. */
  dir(level: string): string;
  /** What the gateway does for a post: cache the content, record the count, ask for a move. */
  post(cid: number, count: number): Promise<Job<RelocationJobData, RelocationResult>>;
  /** Environment for a relocator child process on this database and prefix. */
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** Sets up a {@link Harness} with bronze (disk), silver (tmpfs) and gold (disk) tiers. */
export async function createHarness(): Promise<Harness> {
  const t = await createTestDatabase();
  const r = createTestRedis();
  const scratch = await createScratch();
  const levels = tiersIn(scratch);
  await replaceLevels(t.db, levels);
  await makeTierDirs(levels, await getDeploymentId(t.db));
  const queue: RelocationQueue = new Queue(RELOCATION_QUEUE, {
    connection: r.redis,
    prefix: r.prefix,
  });
  const events = await openQueueEvents(r.prefix);
  const keys = new RelocationKeys({ prefix: r.prefix, deployment: await getDeploymentId(t.db) });
  const cache = new ContentCache(r.redis, keys);
  const journal = new MoveJournal(r.redis, keys);
  return {
    t,
    r,
    scratch,
    levels,
    queue,
    events,
    cache,
    journal,
    dir(level) {
      const found = levels.find((l) => l.name === level);
      if (!found) throw new Error(`no level ${level}`);
      return found.path;
    },
    async post(cid, count) {
      const content = await getContent(t.db, cid);
      if (!content) throw new Error(`no content ${cid}`);
      await cache.fill(cid, { level: content.content_level, filename: content.filename });
      await cache.recordCount(cid, count);
      return enqueueRelocation(queue, {
        cid,
        count,
        target: targetLevel(count, levels).name,
        from: content.content_level,
        requestedAt: Date.now(),
      });
    },
    env(extra = {}) {
      return {
        DATABASE_URL: t.url,
        REDIS_URL: redisUrl(),
        QUEUE_PREFIX: r.prefix,
        // debug: a line per job (outcome, from, to), which some tests read to see who ran what.
        LOG_LEVEL: 'debug',
        RELOCATOR_METRICS_PORT: '0',
        RELOCATOR_LOCK_DURATION_MS: '2000',
        RELOCATOR_STALLED_INTERVAL_MS: '1000',
        ...extra,
      };
    },
    async close() {
      await runAll([
        () => closeQueueEvents(events),
        () => queue.obliterate({ force: true }),
        () => queue.close(),
        () => r.cleanup(),
        () => t.drop(),
        () => scratch.cleanup(),
      ]);
    },
  };
}

/** Resolves with the first `progress` event of `jobId` whose percentage reaches `percent`. */
export function progressReached(
  events: QueueEvents,
  jobId: string,
  percent: number,
  timeoutMs = 15_000,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off('progress', onProgress);
      reject(new Error(`job ${jobId} did not reach ${percent} % within ${timeoutMs} ms`));
    }, timeoutMs);
    const onProgress = (args: { jobId: string; data: unknown }) => {
      if (args.jobId !== jobId || typeof args.data !== 'number' || args.data < percent) return;
      clearTimeout(timer);
      events.off('progress', onProgress);
      resolve(args.data);
    };
    events.on('progress', onProgress);
  });
}

/** Most half-open [processedOn, finishedOn) intervals of `jobs` that overlap at one instant. */
export function maxOverlap(jobs: readonly Job[]): number {
  const points = jobs.flatMap((j) => [
    [j.processedOn ?? 0, 1],
    [j.finishedOn ?? 0, -1],
  ]);
  points.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0));
  let current = 0;
  let max = 0;
  for (const [, delta] of points) {
    current += delta ?? 0;
    max = Math.max(max, current);
  }
  return max;
}
