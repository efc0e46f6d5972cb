/**
 * Issue 9's "done when", end to end against real `npm start` processes: the Redis cache and queue
 * belong to one database (its identity, table `deployment`), a change made to MySQL outside the
 * service reaches the gateway within CACHE_SYNC_EVERY, and two deployments never share a prefix.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createDb,
  dropDatabase,
  getContent,
  getContentHistory,
  getDeploymentId,
  parseDatabaseUrl,
  type Database,
} from '@relocation/db';
import { RelocationKeys, deploymentBase, ownerKey } from '@relocation/queue';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTestRedis, redisUrl, uniqueSuffix, type TestRedis } from '../support/services.ts';
import { exitOf, npmStart, waitFor, type NpmStart } from './support.ts';

const run = promisify(execFile);

/** The seed walk-through's answer while cid 7 (g.mp4) is on bronze: the move is queued. */
const MOVE_QUEUED =
  '{"cid":"7","count":"1964","target":"silver","db_level":"bronze","filename":"g.mp4","worker_id":null,"status":"update"}';

/** What `logBindingEvent` logs when a deployment takes over the Redis state another one left. */
const FOUND_OTHER_STATE = 'found Redis state of another database';

/** Everything one case creates; {@link Scratch.cleanup} removes it, whatever state it is in. */
class Scratch {
  readonly r: TestRedis = createTestRedis();
  readonly #services: NpmStart[] = [];
  readonly #databases: string[] = [];
  readonly #dirs: string[] = [];
  readonly #pools: Kysely<Database>[] = [];

  /** A database URL of this case's own (the database itself is created by `npm start`). */
  databaseUrl(): string {
    const url = new URL(inject('databaseUrl'));
    url.pathname = `/reloc_e2e_${uniqueSuffix()}`;
    this.#databases.push(url.toString());
    return url.toString();
  }

  /** A directory path in the temp dir (not created). */
  dir(label: string): string {
    const dir = path.join(os.tmpdir(), `reloc-e2e-${label}-${uniqueSuffix()}`);
    this.#dirs.push(dir);
    return dir;
  }

  /** A pool on `url`, destroyed at cleanup (or earlier with {@link closeDb}). */
  db(url: string): Kysely<Database> {
    const db = createDb(url, { connectionLimit: 2 });
    this.#pools.push(db);
    return db;
  }

  async closeDb(db: Kysely<Database>): Promise<void> {
    this.#pools.splice(this.#pools.indexOf(db), 1);
    await db.destroy();
  }

  /** `npm start` on this case's Redis prefix (unless `env` sets another), the gateway on port 0. */
  start(options: { databaseUrl: string; dataDir: string; env?: Record<string, string> }): NpmStart {
    const service = npmStart({
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: this.r.prefix,
      DATA_DIR: options.dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      RELOCATOR_METRICS_PORT: '0',
      ADMIN_USER: '',
      ADMIN_PASSWORD: '',
      LOG_LEVEL: 'info',
      ...options.env,
    });
    this.#services.push(service);
    return service;
  }

  async cleanup(): Promise<void> {
    for (const service of this.#services) {
      if (service.child.pid === undefined || !service.running()) continue;
      try {
        process.kill(-service.child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      await service.closed;
    }
    await Promise.allSettled(this.#pools.map((db) => db.destroy()));
    await Promise.allSettled(this.#databases.map((url) => dropDatabase(url)));
    await Promise.allSettled(this.#dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    await this.r.cleanup();
  }
}

/**
 * The gateway's URL once the banner is printed; fails at once if `npm start` exited instead.
 * Both apps bound themselves to the database at start-up: neither warned that it could not
 * (the gateway's claim once failed whenever its Redis connection was still being opened).
 */
async function gatewayUrl(service: NpmStart): Promise<string> {
  const url = await waitFor(
    'the gateway URL in the banner',
    () => {
      const found = /gateway +(http:\S+)/.exec(service.output())?.[1];
      if (found === undefined && !service.running()) {
        throw new Error(`npm start exited before serving:\n${service.output()}`);
      }
      return found;
    },
    45_000,
  );
  expect(service.output()).not.toContain('cannot read the database identity yet');
  return url;
}

/** Ctrl-C: SIGINT to the process group, then waits until every process of it has exited. */
async function interrupt(service: NpmStart): Promise<void> {
  process.kill(-(service.child.pid ?? 0), 'SIGINT');
  await service.closed;
  expect(service.output()).toContain('"msg":"relocator stopped"');
  expect(service.output()).not.toContain('shutdown failed');
}

/** `curl -s <base><route> -d <body>`: the answer's body. */
async function curl(base: string, route: string, body: string): Promise<string> {
  const { stdout } = await run('curl', ['-s', `${base}${route}`, '-d', body]);
  return stdout;
}

/** Waits until `/update_sentence` answers the cid (nothing pending, on its final tier). */
async function settled(base: string, cid: number): Promise<string> {
  return waitFor(`update_sentence to answer ${cid}`, async () => {
    const answer = await curl(base, '/update_sentence', `cid=${cid}`);
    return answer === String(cid) ? answer : undefined;
  });
}

/** The tiers (of `dataDir`) that hold `filename`. */
async function tiersHolding(dataDir: string, filename: string): Promise<string[]> {
  const found: string[] = [];
  for (const tier of ['bronze', 'silver', 'gold']) {
    const names = await readdir(path.join(dataDir, tier)).catch(() => [] as string[]);
    if (names.includes(filename)) found.push(tier);
  }
  return found;
}

/** Waits for cid's first history row (the committed move). */
async function firstMove(db: Kysely<Database>, cid: number) {
  return waitFor(`the history row of cid ${cid}`, async () => {
    const rows = await getContentHistory(db, cid);
    return rows.length > 0 ? rows : undefined;
  });
}

/** Every Redis key under `base` (SCAN). */
async function keysUnder(r: TestRedis, base: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.redis.scan(cursor, 'MATCH', `${base}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** mysql / mysqldump arguments and environment for a database URL (password via MYSQL_PWD). */
function mysqlClient(databaseUrl: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const parts = parseDatabaseUrl(databaseUrl);
  return {
    args: ['-h', parts.host, '-P', String(parts.port), '-u', parts.user, parts.database],
    env: { ...process.env, ...(parts.password ? { MYSQL_PWD: parts.password } : {}) },
  };
}

/** `mysqldump <db> > file`. */
async function dump(databaseUrl: string, file: string): Promise<void> {
  const { args, env } = mysqlClient(databaseUrl);
  const { stdout } = await run('mysqldump', args, { env, maxBuffer: 64 * 1024 * 1024 });
  expect(stdout).toContain('CREATE TABLE `deployment`');
  await writeFile(file, stdout);
}

/** `mysql <db> < file`. */
async function restore(databaseUrl: string, file: string): Promise<void> {
  const { args, env } = mysqlClient(databaseUrl);
  const input = await open(file, 'r');
  try {
    const child = spawn('mysql', args, { env, stdio: [input.fd, 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code, stderr).toBe(0);
  } finally {
    await input.close();
  }
}

describe('the cache and queue belong to one database (issue 9), against `npm start`', () => {
  let s: Scratch;
  beforeEach(() => {
    s = new Scratch();
  });
  afterEach(async () => {
    await s.cleanup();
  });

  it('starting over with a fresh database never believes the old cache: g.mp4 moves again and update_sentence answers 7', async () => {
    const databaseUrl = s.databaseUrl();
    const dataDir = s.dir('data');

    // 1. npm start, the seed's curl (g.mp4 moves to silver), Ctrl-C.
    const first = s.start({ databaseUrl, dataDir });
    const firstBase = await gatewayUrl(first);
    expect(await curl(firstBase, '/post_sentence', 'cid=7&count=1964')).toBe(MOVE_QUEUED);
    let db = s.db(databaseUrl);
    await firstMove(db, 7);
    await settled(firstBase, 7);
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['silver']);
    const oldDeployment = await getDeploymentId(db);
    await interrupt(first);

    // A graceful stop gives the prefix up: the next deployment claims it without a takeover.
    expect(await s.r.redis.exists(ownerKey(s.r.prefix))).toBe(0);
    // What the old deployment left in Redis: its cache entry of cid 7 says silver.
    const oldEntryKey = new RelocationKeys({ prefix: s.r.prefix, deployment: oldDeployment }).cid(
      7,
    );
    const oldEntry = await s.r.redis.hgetall(oldEntryKey);
    expect(oldEntry).toMatchObject({ level: 'silver', count: '1964' });

    // 2. Start over: drop the database, rm -rf the data, npm start (same Redis, same prefix).
    await s.closeDb(db);
    await dropDatabase(databaseUrl);
    await rm(dataDir, { recursive: true, force: true });
    const second = s.start({ databaseUrl, dataDir });
    const base = await gatewayUrl(second);
    db = s.db(databaseUrl);
    const newDeployment = await getDeploymentId(db);
    expect(newDeployment).not.toBe(oldDeployment);
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['bronze']);

    // 3. The same curl answers from the new database (bronze, a move queued), not the old cache.
    expect(await curl(base, '/post_sentence', 'cid=7&count=1964')).toBe(MOVE_QUEUED);
    const history = await firstMove(db, 7);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ old_content_level: 'bronze', new_content_level: 'silver' });
    expect(await settled(base, 7)).toBe('7');
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['silver']);
    expect((await getContent(db, 7))?.content_level).toBe('silver');

    // The old claim was released, so this start claimed a free prefix; it found what the old
    // database left, said so once, and removed it: the old entry is gone, never read.
    expect(second.output().split(FOUND_OTHER_STATE)).toHaveLength(2);
    expect(second.output()).toContain(oldDeployment);
    expect(await s.r.redis.hget(ownerKey(s.r.prefix), 'deployment')).toBe(newDeployment);
    expect(await s.r.redis.exists(oldEntryKey)).toBe(0);
    const newEntryKey = new RelocationKeys({ prefix: s.r.prefix, deployment: newDeployment }).cid(
      7,
    );
    expect(await s.r.redis.hget(newEntryKey, 'level')).toBe('silver');
  }, 90_000);

  it('starting over after a crash: refused while the dead claim lives, then takes over once, logs it and drops the old keys', async () => {
    const databaseUrl = s.databaseUrl();
    const dataDir = s.dir('data');
    const first = s.start({ databaseUrl, dataDir });
    const firstBase = await gatewayUrl(first);
    expect(await curl(firstBase, '/post_sentence', 'cid=7&count=1964')).toBe(MOVE_QUEUED);
    let db = s.db(databaseUrl);
    await firstMove(db, 7);
    await settled(firstBase, 7);
    const oldDeployment = await getDeploymentId(db);

    // A crash (kill -9): nothing releases the claim on the prefix.
    process.kill(-(first.child.pid ?? 0), 'SIGKILL');
    await first.closed;
    const owner = ownerKey(s.r.prefix);
    expect(await s.r.redis.hget(owner, 'deployment')).toBe(oldDeployment);
    const oldBase = deploymentBase(s.r.prefix, oldDeployment);
    expect(await keysUnder(s.r, oldBase)).not.toHaveLength(0);

    // Start over while the dead claim still lives: refused, in one line that says when it lapses.
    await s.closeDb(db);
    await dropDatabase(databaseUrl);
    await rm(dataDir, { recursive: true, force: true });
    const refused = s.start({ databaseUrl, dataDir });
    expect(await exitOf(refused.child)).toBe(1);
    await refused.closed;
    const refusal = refused
      .output()
      .split('\n')
      .filter((line) => line.includes('QUEUE_PREFIX'));
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toMatch(/its claim lapses in \d+ s: start again then$/);
    expect(refused.output()).not.toMatch(/\n\s+at /);

    // The claim lapses 30 s after the last renewal; setting its expiry to the past is that wait.
    await s.r.redis.hset(owner, 'aliveUntil', String(Date.now() - 1));
    const second = s.start({ databaseUrl, dataDir });
    const base = await gatewayUrl(second);
    db = s.db(databaseUrl);
    const newDeployment = await getDeploymentId(db);
    expect(newDeployment).not.toBe(oldDeployment);
    // Told once (by whichever app claimed first; the other finds the prefix its own), and the
    // dead deployment's keys are gone.
    expect(second.output().split(FOUND_OTHER_STATE)).toHaveLength(2);
    expect(second.output()).toContain(`identity ${oldDeployment}`);
    expect(await keysUnder(s.r, oldBase)).toEqual([]);
    expect(await s.r.redis.hget(owner, 'deployment')).toBe(newDeployment);

    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['bronze']);
    expect(await curl(base, '/post_sentence', 'cid=7&count=1964')).toBe(MOVE_QUEUED);
    const history = await firstMove(db, 7);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ old_content_level: 'bronze', new_content_level: 'silver' });
    expect(await settled(base, 7)).toBe('7');
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['silver']);
  }, 90_000);

  it('after restoring a dump taken before the move, the same post converges: g.mp4 in silver, MySQL silver, answers 7', async () => {
    const databaseUrl = s.databaseUrl();
    const dataDir = s.dir('data');
    const dumpFile = path.join(s.dir('dump'), 'before-move.sql');
    await mkdir(path.dirname(dumpFile), { recursive: true });

    const first = s.start({ databaseUrl, dataDir });
    const firstBase = await gatewayUrl(first);
    await dump(databaseUrl, dumpFile);
    expect(await curl(firstBase, '/post_sentence', 'cid=7&count=1964')).toBe(MOVE_QUEUED);
    let db = s.db(databaseUrl);
    await firstMove(db, 7);
    await settled(firstBase, 7);
    const deployment = await getDeploymentId(db);
    await interrupt(first);

    // The restore puts MySQL back to bronze (and no history); it moves no file.
    await s.closeDb(db);
    await restore(databaseUrl, dumpFile);
    db = s.db(databaseUrl);
    expect((await getContent(db, 7))?.content_level).toBe('bronze');
    expect(await getContentHistory(db, 7)).toHaveLength(0);
    // A restored database keeps the identity it was dumped with: its cache is the one that
    // still says silver, so only the cache sweep can correct it.
    expect(await getDeploymentId(db)).toBe(deployment);
    const entryKey = new RelocationKeys({ prefix: s.r.prefix, deployment }).cid(7);
    expect(await s.r.redis.hget(entryKey, 'level')).toBe('silver');
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['silver']);

    const second = s.start({ databaseUrl, dataDir, env: { CACHE_SYNC_EVERY: '1s' } });
    const base = await gatewayUrl(second);
    const started = Date.now();
    // Until the sweep has run the gateway may answer from the stale entry ("silver", "done");
    // within the bound it answers from MySQL's level and queues the move.
    const answers: string[] = [];
    await waitFor(
      'the gateway to answer from the restored level',
      async () => {
        const answer = await curl(base, '/post_sentence', 'cid=7&count=1964');
        answers.push(answer);
        return answer === MOVE_QUEUED ? answer : undefined;
      },
      15_000,
    );
    expect(Date.now() - started).toBeLessThan(1_000 + 9_000);
    for (const answer of answers.slice(0, -1)) {
      expect(answer).toMatch(/"db_level":"silver".*"status":"done"/);
    }
    // The sweep found the entry that disagreed with MySQL (it runs once at start, then every 1 s).
    await waitFor('the sweep to report the drift', () =>
      second.output().includes('the cache disagreed with MySQL') ? true : undefined,
    );

    // The relocator finds g.mp4 already on silver and commits the move MySQL lacks.
    const history = await firstMove(db, 7);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ old_content_level: 'bronze', new_content_level: 'silver' });
    expect(await settled(base, 7)).toBe('7');
    expect((await getContent(db, 7))?.content_level).toBe('silver');
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['silver']);
  }, 90_000);

  it('a manual UPDATE of content_level reaches the gateway within CACHE_SYNC_EVERY', async () => {
    const syncEveryMs = 2_000;
    const databaseUrl = s.databaseUrl();
    const dataDir = s.dir('data');
    // With a hysteresis of 100, a count of 2050 stays on silver and on gold alike: polling with
    // it queues no job, so only the cache sweep can change what the gateway answers.
    const service = s.start({
      databaseUrl,
      dataDir,
      env: { CACHE_SYNC_EVERY: `${syncEveryMs / 1000}s`, TIERING_HYSTERESIS: '100' },
    });
    const base = await gatewayUrl(service);
    expect(await curl(base, '/post_sentence', 'cid=7&count=1964')).toBe(MOVE_QUEUED);
    const db = s.db(databaseUrl);
    await firstMove(db, 7);
    await settled(base, 7);
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['silver']);
    expect(await curl(base, '/post_sentence', 'cid=7&count=2050')).toBe(
      '{"cid":"7","count":"2050","target":"silver","db_level":"silver","filename":"g.mp4","worker_id":null,"status":"done"}',
    );

    // An operator moves the file by hand and records it with SQL, outside the service.
    await rename(path.join(dataDir, 'silver', 'g.mp4'), path.join(dataDir, 'gold', 'g.mp4'));
    await sql`UPDATE contents SET content_level = 'gold' WHERE cid = 7`.execute(db);
    const updated = Date.now();
    const answer = await waitFor(
      'the gateway to answer gold',
      async () => {
        const posted = await curl(base, '/post_sentence', 'cid=7&count=2050');
        expect(posted).toMatch(/"worker_id":null,"status":"done"}$/);
        return posted.includes('"db_level":"gold"') ? posted : undefined;
      },
      15_000,
    );
    const elapsed = Date.now() - updated;
    expect(answer).toBe(
      '{"cid":"7","count":"2050","target":"gold","db_level":"gold","filename":"g.mp4","worker_id":null,"status":"done"}',
    );
    expect(elapsed).toBeLessThan(syncEveryMs + 5_000);
    // The sweep corrected the entry (it logs once its whole pass is done).
    await waitFor('the sweep to report the drift', () =>
      service.output().includes('the cache disagreed with MySQL') ? true : undefined,
    );

    expect(await curl(base, '/post_sentence', 'cid=7&count=2500')).toBe(
      '{"cid":"7","count":"2500","target":"gold","db_level":"gold","filename":"g.mp4","worker_id":null,"status":"done"}',
    );
    expect(await curl(base, '/update_sentence', 'cid=7')).toBe('7');
    expect(await tiersHolding(dataDir, 'g.mp4')).toEqual(['gold']);
    expect((await getContent(db, 7))?.content_level).toBe('gold');
    expect(await getContentHistory(db, 7)).toHaveLength(1);
  }, 90_000);

  it('a second deployment on the same Redis and prefix refuses to start, naming both databases; the first keeps serving', async () => {
    const urlA = s.databaseUrl();
    const urlB = s.databaseUrl();
    const dataA = s.dir('a');
    const dataB = s.dir('b');
    const a = s.start({ databaseUrl: urlA, dataDir: dataA });
    const base = await gatewayUrl(a);

    const b = s.start({ databaseUrl: urlB, dataDir: dataB });
    expect(await exitOf(b.child)).toBe(1);
    await b.closed;
    const nameA = parseDatabaseUrl(urlA).database;
    const nameB = parseDatabaseUrl(urlB).database;
    const lines = b.output().split('\n');
    const refusal = lines.filter((line) => line.includes('QUEUE_PREFIX'));
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toContain(`/${nameA}`);
    expect(refusal[0]).toContain(`/${nameB}`);
    expect(refusal[0]).toContain(`QUEUE_PREFIX "${s.r.prefix}" is in use`);
    expect(refusal[0]).toContain('give each its own QUEUE_PREFIX');
    expect(b.output()).not.toMatch(/\n\s+at /);
    expect(b.output()).not.toContain('"stack"');
    expect(b.output()).not.toContain('Content relocation service is running');

    // The first deployment still owns the prefix and still moves contents.
    expect(await s.r.redis.hget(ownerKey(s.r.prefix), 'database')).toContain(`/${nameA}`);
    expect(a.running()).toBe(true);
    expect(await curl(base, '/post_sentence', 'cid=7&count=1964')).toBe(MOVE_QUEUED);
    const db = s.db(urlA);
    const history = await firstMove(db, 7);
    expect(history[0]).toMatchObject({ old_content_level: 'bronze', new_content_level: 'silver' });
    expect(await settled(base, 7)).toBe('7');
    expect(await tiersHolding(dataA, 'g.mp4')).toEqual(['silver']);
    expect(await tiersHolding(dataB, 'g.mp4')).toEqual(['bronze']);
  }, 90_000);
});
