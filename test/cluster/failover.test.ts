import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getContent, getContentHistory, getDeploymentId, replaceLevels } from '@relocation/db';
import {
  ContentCache,
  createProducerRedis,
  createWorkerRedis,
  readRedisCondition,
  RELOCATION_QUEUE,
  RelocationKeys,
  type RedisConnection,
  type RedisTarget,
} from '@relocation/queue';
import { tempPrefix } from '@relocation/relocator';
import { targetLevel, type Level } from '@relocation/tiering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScratch,
  insertContents,
  killHard,
  list,
  makeTierDirs,
  spawnRelocator,
  spawnScript,
  tiersIn,
  until,
  type RelocatorProcess,
  type Scratch,
} from '../relocator/support.ts';
import {
  haveRedisClusterTools,
  startRedisCluster,
  type RedisCluster,
} from '../support/redis-cluster.ts';
import { createTestDatabase, uniqueSuffix, type TestDatabase } from '../support/services.ts';

const clusterHere = haveRedisClusterTools('cluster/failover.test.ts');

/** Contents posted: a third stop posting at the kill, a third move twice, a third move after. */
const CIDS = Array.from({ length: 24 }, (_, i) => 101 + i);
type Group = 'until-kill' | 'through' | 'after';
const groupOf = (cid: number): Group =>
  (['until-kill', 'through', 'after'] as const)[cid % 3] ?? 'after';

/** Each file: 512 KiB copied at 1 MiB/s, so a bronze → silver copy lasts half a second. */
const FILE_BYTES = 512 * 1024;
const COPY_BYTES_PER_SECOND = 1024 * 1024;

/** One post of the paced client and how it was answered. */
interface Post {
  cid: number;
  count: number;
  sentAt: number;
  answeredAt: number;
  status: number | null;
  code: string | null;
  /** The fetch failed without an answer (a reset connection). */
  error: string | null;
}

// In CI this test runs only with RELOCATION_FAILOVER_TEST=1 for now: it passed every run alone
// (Node 20 and 24) but timed out once in a full CI run on Node 24 (issue 13 keeps it open).
const failoverHere =
  clusterHere && (process.env.CI !== 'true' || process.env.RELOCATION_FAILOVER_TEST === '1');

describe.skipIf(!failoverHere)('a Redis Cluster master killed under load', () => {
  let cluster: RedisCluster;
  let t: TestDatabase;
  let scratch: Scratch;
  let levels: Level[];
  let prefix: string;
  let target: RedisTarget;
  let redis: RedisConnection | undefined;
  const children: RelocatorProcess[] = [];

  beforeAll(async () => {
    // A low node timeout: the replica takes over within a few seconds of the kill.
    cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 2000 });
    prefix = `{t-${uniqueSuffix()}}`;
    t = await createTestDatabase();
    scratch = await createScratch();
    levels = tiersIn(scratch);
    await replaceLevels(t.db, levels);
    await makeTierDirs(levels, await getDeploymentId(t.db));
    await insertContents(
      t.db,
      CIDS.map((cid) => ({ cid, level: 'bronze', filename: `f${cid}.mp4` })),
    );
    const bronze = levels[0]?.path ?? '';
    for (const cid of CIDS) {
      await writeFile(path.join(bronze, `f${cid}.mp4`), Buffer.alloc(FILE_BYTES, cid));
    }
    target = {
      redisUrl: 'redis://127.0.0.1:1',
      // Named by a node that does not own the prefix's slot (nor is its replica, so it survives).
      redisCluster: {
        nodes: [{ host: '127.0.0.1', port: await cluster.notOwnerOf(prefix) }],
        natMap: {},
      },
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all(children.map((child) => killHard(child)));
    redis?.disconnect();
    await t?.drop();
    await scratch?.cleanup();
    await cluster?.stop();
  });

  it('answers 200 or, during the switch only, 503; loses no post answered 200; moves every file once; the relocator reconnects by itself', async () => {
    const nodes = target.redisCluster?.nodes.map((n) => `${n.host}:${n.port}`).join(',') ?? '';
    const env = {
      DATABASE_URL: t.url,
      REDIS_CLUSTER_NODES: nodes,
      REDIS_URL: target.redisUrl,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
    };
    const gateway = spawnScript('apps/gateway/src/main.ts', {
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      RATE_LIMIT_POSTS_PER_MINUTE: '0',
      ADMIN_USER: '',
      ADMIN_PASSWORD: '',
    });
    children.push(gateway);
    const relocator = spawnRelocator({
      ...env,
      RELOCATOR_METRICS_PORT: '0',
      RELOCATOR_CONCURRENCY: '4',
      RELOCATOR_COPY_BYTES_PER_SECOND: String(COPY_BYTES_PER_SECOND),
      RELOCATOR_LOCK_DURATION_MS: '4000',
      RELOCATOR_STALLED_INTERVAL_MS: '2000',
      // The recovery of writes the old master acknowledged but never passed to its replica: the
      // cache sweep corrects a cache entry from MySQL, reconcile re-queues a content left stuck.
      CACHE_SYNC_EVERY: '2s',
      RECONCILE_EVERY: '3s',
      RECONCILE_FIX: 'true',
    });
    children.push(relocator);
    const listening = await gateway.waitForLog((l) => l.msg === 'gateway listening', 60_000);
    const base = String(listening.url);
    await relocator.waitForLog((l) => l.msg === 'relocator started', 60_000);
    const relocatorPid = relocator.child.pid;

    // The paced client: one post at a time per loop, four loops, each count higher than the
    // cid's last one (a count is a total of views).
    const posts: Post[] = [];
    const counts = new Map(CIDS.map((cid) => [cid, 0]));
    let phase: 'before' | 'after' = 'before';
    let posting = true;
    const countFor = (cid: number): number | null => {
      const group = groupOf(cid);
      if (phase === 'after' && group === 'until-kill') return null;
      // before: silver (1000…) but for `after`, bronze; after: gold for `through`, silver for `after`.
      const floor =
        phase === 'before' ? (group === 'after' ? 0 : 1000) : group === 'through' ? 2000 : 1000;
      const next = Math.max(floor, (counts.get(cid) ?? 0) + 1);
      counts.set(cid, next);
      return next;
    };
    const postOnce = async (cid: number, count: number): Promise<void> => {
      const sentAt = Date.now();
      const post: Post = {
        cid,
        count,
        sentAt,
        answeredAt: 0,
        status: null,
        code: null,
        error: null,
      };
      try {
        const response = await fetch(`${base}/post_sentence`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `cid=${cid}&count=${count}`,
          signal: AbortSignal.timeout(20_000),
        });
        post.status = response.status;
        const text = await response.text();
        if (response.status !== 200) post.code = (JSON.parse(text) as { code?: string }).code ?? '';
      } catch (error) {
        post.error = String(error);
      }
      post.answeredAt = Date.now();
      posts.push(post);
    };
    const loop = async (mine: readonly number[]): Promise<void> => {
      for (let i = 0; posting; i++) {
        const cid = mine[i % mine.length] ?? 0;
        const count = countFor(cid);
        if (count !== null) await postOnce(cid, count);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    let killedAt = 0;
    let promotedAt = 0;
    let promoted = 0;
    const loops = [0, 1, 2, 3].map((k) => loop(CIDS.filter((_, i) => i % 4 === k)));

    // Kill the master of the prefix's slot once every content has been posted, while copies are
    // under way (a temp file in silver).
    const queueKey = `${prefix}:${RELOCATION_QUEUE}:meta`;
    const owner = await cluster.ownerOf(queueKey);
    const silver = levels[1]?.path ?? '';
    await until(
      () => CIDS.every((cid) => posts.some((p) => p.cid === cid && p.status === 200)),
      30_000,
      'a post of every content answered',
    );
    await until(
      async () => {
        const files = await list(silver);
        return CIDS.some((cid) => files.some((f) => f.startsWith(tempPrefix(`f${cid}.mp4`))));
      },
      30_000,
      'a copy into silver under way',
      10,
    );
    // Readiness asks the masters that serve the slots (not a random node): ok before the kill,
    // unavailable until a replica took over, ok again after.
    const probe = createProducerRedis(target);
    probe.on('error', () => undefined);
    try {
      if (probe.status !== 'ready') await once(probe, 'ready');
      expect(await readRedisCondition(probe)).toEqual({ kind: 'ok' });
      phase = 'after';
      killedAt = Date.now();
      await cluster.kill(owner);
      // The cluster notices after cluster-node-timeout (2 s): the dead master still owns the slot.
      await expect(readRedisCondition(probe)).rejects.toThrow();
      const notReady = await fetch(`${base}/readyz`);
      expect(await cluster.ownerOf(queueKey)).toBe(owner);
      expect(notReady.status).toBe(503);
      expect(await notReady.text()).toMatch(/redis is down/);
      promoted = await cluster.promotedFrom(owner, queueKey, 30_000);
      promotedAt = Date.now();
      expect(promoted).not.toBe(owner);
      await until(
        async () => (await readRedisCondition(probe).catch(() => null))?.kind === 'ok',
        20_000,
        'readiness after the promotion',
      );
      await until(
        async () => (await fetch(`${base}/readyz`)).status === 200,
        20_000,
        "the gateway's /readyz after the promotion",
      );
    } finally {
      probe.disconnect();
    }

    // Post on until 30 posts in a row answered 200 after the promotion, then 2 s more.
    let settledAt = 0;
    await until(
      () => {
        const recent = posts.filter((p) => p.sentAt > killedAt).slice(-30);
        if (recent.length === 30 && recent.every((p) => p.status === 200)) {
          settledAt = recent[0]?.sentAt ?? 0;
          return true;
        }
        return false;
      },
      30_000,
      'posts answered 200 again after the failover',
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    posting = false;
    await Promise.all(loops);

    // Every post answered: 200, or 503 REDIS_UNAVAILABLE during the switch; no 500, no reset.
    expect(posts.filter((p) => p.error !== null)).toEqual([]);
    const failed = posts.filter((p) => p.status !== 200);
    expect(failed.filter((p) => p.status !== 503 || p.code !== 'REDIS_UNAVAILABLE')).toEqual([]);
    expect(failed.filter((p) => p.answeredAt < killedAt || p.sentAt >= settledAt)).toEqual([]);
    expect(posts.filter((p) => p.sentAt < killedAt && p.status === 200).length).toBeGreaterThan(0);
    expect(posts.filter((p) => p.sentAt > settledAt && p.status === 200).length).toBeGreaterThan(0);

    // Every count answered 200 is counted: the cid's latest count is that one or a later one, and
    // it leads to its move. Writes the old master acknowledged but never passed on are recovered
    // by the sweeps within a bounded wait.
    const lastOk = new Map<number, number>();
    for (const p of posts) {
      if (p.status === 200) lastOk.set(p.cid, Math.max(lastOk.get(p.cid) ?? 0, p.count));
    }
    redis = createWorkerRedis(target);
    redis.on('error', () => undefined);
    const cache = new ContentCache(
      redis,
      new RelocationKeys({ prefix, deployment: await getDeploymentId(t.db) }),
    );
    const stateOf = async (cid: number) => {
      const response = await fetch(`${base}/v1/contents/${cid}`);
      return (await response.json()) as { level: string; viewCount: number; settled: boolean };
    };
    const unsettled = async () => {
      const left: unknown[] = [];
      for (const cid of CIDS) {
        const state = await stateOf(cid);
        const cached = (await cache.get(cid))?.level;
        const wanted = targetLevel(state.viewCount, levels).name;
        // A content never posted has no cache entry, which is as right as MySQL's.
        const cacheAgrees = cached === undefined || cached === state.level;
        if (!state.settled || state.level !== wanted || !cacheAgrees) {
          left.push({ ...state, cached, wanted });
        }
      }
      return left;
    };
    await until(
      async () => (await unsettled()).length === 0,
      45_000,
      'every content on the tier of its latest count, cache and MySQL agreeing',
      250,
    ).catch(async (error: unknown) => {
      const warnings = relocator.logs.filter((l) => Number(l.level) >= 40);
      throw new Error(
        `${String(error)}\n${JSON.stringify(await unsettled(), null, 1)}\n${JSON.stringify(warnings.slice(-30), null, 1)}`,
      );
    });
    const names = levels.map((l) => l.name);
    for (const cid of CIDS) {
      const filename = `f${cid}.mp4`;
      const state = await stateOf(cid);
      expect({ cid, count: state.viewCount >= (lastOk.get(cid) ?? 0) }).toEqual({
        cid,
        count: true,
      });
      const content = await getContent(t.db, cid);
      const level = content?.content_level ?? '';
      expect({ cid, level }).toEqual({ cid, level: targetLevel(state.viewCount, levels).name });
      // The file is on MySQL's tier and nowhere else.
      for (const l of levels) {
        const files = (await list(l.path)).filter((f) => f.includes(filename));
        expect({ cid, tier: l.name, files }).toEqual({
          cid,
          tier: l.name,
          files: l.name === level ? [filename] : [],
        });
      }
      // One history row per level change, each leaving the level the previous one reached.
      const history = (await getContentHistory(t.db, cid)).reverse();
      const path_ = ['bronze', ...history.map((h) => h.new_content_level)];
      expect({ cid, from: history.map((h) => h.old_content_level) }).toEqual({
        cid,
        from: path_.slice(0, -1),
      });
      expect(path_.at(-1)).toBe(level);
      // Counts only grow here: every move goes up a tier, so no level is reached twice.
      const ranks = path_.map((name) => names.indexOf(name));
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      expect(new Set(ranks).size).toBe(ranks.length);
    }
    // Moves were in flight at the kill and after it: a `through` content went up twice or
    // straight to gold; the `after` ones moved only once the new master served the queue.
    expect(
      (await getContentHistory(t.db, CIDS.find((c) => groupOf(c) === 'after') ?? 0)).length,
    ).toBe(1);

    if (process.env.FAILOVER_REPORT) {
      const relative = (ms: number) => ms - killedAt;
      console.info(
        JSON.stringify({
          posts: posts.length,
          failed: failed.length,
          promotedMs: relative(promotedAt),
          settledMs: relative(settledAt),
          first503Ms: failed.length ? relative(Math.min(...failed.map((p) => p.answeredAt))) : null,
          last503Ms: failed.length ? relative(Math.max(...failed.map((p) => p.answeredAt))) : null,
          historyRows: (await Promise.all(CIDS.map((c) => getContentHistory(t.db, c)))).flat()
            .length,
          relocatorWarnings: relocator.logs.filter((l) => Number(l.level) >= 40).map((l) => l.msg),
          sweeps: relocator.logs
            .filter((l) => /reconcile|drift|stuck|cache/i.test(String(l.msg)))
            .map((l) => ({ ...l, time: undefined, pid: undefined, service: undefined })),
          gatewayErrors: gateway.logs.filter((l) => Number(l.level) >= 50).map((l) => l.msg),
        }),
      );
    }

    // The same relocator and gateway processes, never restarted, still up; they stop cleanly.
    expect(relocator.child.pid).toBe(relocatorPid);
    // Its jobs' Redis commands waited for the new master: no attempt failed for the switch.
    expect(
      relocator.logs.filter((l) => String(l.msg).startsWith('relocation attempt failed')),
    ).toEqual([]);
    expect(relocator.child.exitCode).toBeNull();
    expect(gateway.child.exitCode).toBeNull();
    relocator.child.kill('SIGTERM');
    gateway.child.kill('SIGTERM');
    expect(await relocator.exited).toBe(0);
    expect(await gateway.exited).toBe(0);
  }, 150_000);
});
