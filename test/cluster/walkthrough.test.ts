import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig as loadGatewayConfig } from '@relocation/gateway';
import { createDb, dropDatabase, getContentHistory, type Database } from '@relocation/db';
import { RELOCATION_QUEUE } from '@relocation/queue';
import { loadConfig as loadRelocatorConfig } from '@relocation/relocator';
import { ConfigError, EXIT_INVALID_CONFIG } from '@relocation/runtime';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exitOf, npmStart, waitFor, type NpmStart } from '../e2e/support.ts';
import {
  haveRedisClusterTools,
  startRedisCluster,
  type RedisCluster,
} from '../support/redis-cluster.ts';
import { uniqueSuffix } from '../support/services.ts';

const clusterHere = haveRedisClusterTools('cluster/walkthrough.test.ts');

function issuesOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('REDIS_CLUSTER_NODES, read by both apps alike', () => {
  it.each([
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001', QUEUE_PREFIX: '{relocation}' }, []],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000' },
      [expect.stringMatching(/^QUEUE_PREFIX: must contain a hash tag such as \{relocation\}/)],
    ],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1', QUEUE_PREFIX: '{relocation}' },
      [expect.stringMatching(/^REDIS_CLUSTER_NODES: must be a comma-separated list of host:port/)],
    ],
    [
      {
        REDIS_CLUSTER_NODES: '127.0.0.1:7000',
        QUEUE_PREFIX: '{relocation}',
        REDIS_URL: 'redis://127.0.0.1:6379/3',
      },
      [expect.stringMatching(/^REDIS_URL: must not name a database other than 0/)],
    ],
  ])('%j: refused for %j', (env, issues) => {
    expect(issuesOf(() => loadGatewayConfig(env))).toEqual(issues);
    expect(issuesOf(() => loadRelocatorConfig(env))).toEqual(issues);
    if (issues.length === 0) {
      const nodes = [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ];
      expect(loadGatewayConfig(env).redisCluster).toEqual({ nodes, natMap: {} });
      expect(loadRelocatorConfig(env).redisCluster).toEqual({ nodes, natMap: {} });
    }
  });
});

describe.skipIf(!clusterHere)(
  'the seed walk-through against `npm start` on a Redis Cluster',
  () => {
    let cluster: RedisCluster;
    let prefix: string;
    let databaseUrl: string;
    let dataDir: string;
    let db: Kysely<Database> | undefined;
    let service: NpmStart | undefined;

    beforeAll(async () => {
      cluster = await startRedisCluster();
      // Hash-tagged, as a cluster requires; unique, so the run starts from empty keys.
      prefix = `{t-${uniqueSuffix()}}`;
      const url = new URL(inject('databaseUrl'));
      url.pathname = `/reloc_cluster_${uniqueSuffix()}`;
      databaseUrl = url.toString();
      dataDir = path.join(os.tmpdir(), `reloc-cluster-${uniqueSuffix()}`);
    });
    afterAll(async () => {
      if (service?.child.pid !== undefined && service.running()) {
        try {
          process.kill(-service.child.pid, 'SIGKILL');
        } catch {
          // the group is gone already
        }
      }
      await db?.destroy();
      await dropDatabase(databaseUrl);
      await rm(dataDir, { recursive: true, force: true });
      await cluster?.stop();
    });

    it('refuses to start on a cluster without a hash-tagged QUEUE_PREFIX, naming the setting', async () => {
      const started = npmStart({
        REDIS_CLUSTER_NODES: `127.0.0.1:${cluster.nodes[0]?.port}`,
        QUEUE_PREFIX: 'bull',
        DATABASE_URL: databaseUrl,
      });
      expect(await exitOf(started.child)).toBe(EXIT_INVALID_CONFIG);
      expect(started.output()).toMatch(
        /^\s+QUEUE_PREFIX: must contain a hash tag such as \{relocation\}/m,
      );
    }, 60_000);

    it('says which cluster it cannot reach, and how to fix it', async () => {
      const started = npmStart({
        REDIS_CLUSTER_NODES: '127.0.0.1:1',
        QUEUE_PREFIX: prefix,
        DATABASE_URL: databaseUrl,
      });
      expect(await exitOf(started.child)).toBe(1);
      expect(started.output()).toContain('Cannot reach the Redis Cluster of 127.0.0.1:1');
      expect(started.output()).toContain('REDIS_CLUSTER_NODES');
      expect(started.output()).not.toMatch(/\n\s+at /);
    }, 60_000);

    it('named by a node that does not own the queue slot: moves g.mp4 to silver for cid=7&count=1964, one job per cid under concurrent posts', async () => {
      // The issue's failure: a node that answers MOVED for every key of the prefix.
      const queueKey = `${prefix}:${RELOCATION_QUEUE}:meta`;
      const elsewhere = await cluster.notOwnerOf(queueKey);
      expect(elsewhere).not.toBe(await cluster.ownerOf(queueKey));
      service = npmStart({
        REDIS_CLUSTER_NODES: `127.0.0.1:${elsewhere}`,
        // Only its user, password and scheme count on a cluster: this address is never dialled.
        REDIS_URL: 'redis://127.0.0.1:1',
        DATABASE_URL: databaseUrl,
        QUEUE_PREFIX: prefix,
        DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        RELOCATOR_METRICS_PORT: '0',
        ADMIN_USER: '',
        ADMIN_PASSWORD: '',
      });
      const out = service.output;
      const base = await waitFor('the gateway URL in the banner', () => {
        if (!service?.running()) throw new Error(`npm start exited:\n${out()}`);
        return /gateway +(http:\S+)/.exec(out())?.[1];
      });
      db = createDb(databaseUrl);
      const post = async (body: string) => {
        const response = await fetch(`${base}/post_sentence`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        return { status: response.status, body: await response.text() };
      };

      // The seed's own example.
      expect(await post('cid=7&count=1964')).toEqual({
        status: 200,
        body: '{"cid":"7","count":"1964","target":"silver","db_level":"bronze","filename":"g.mp4","worker_id":null,"status":"update"}',
      });
      const history = await waitFor('the history row of cid 7', async () => {
        const rows = await getContentHistory(db!, 7);
        return rows.length > 0 ? rows : undefined;
      });
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({
        old_content_level: 'bronze',
        new_content_level: 'silver',
      });
      expect(await readdir(path.join(dataDir, 'silver'))).toContain('g.mp4');
      expect(await readdir(path.join(dataDir, 'bronze'))).not.toContain('g.mp4');
      const answer = await waitFor('update_sentence to answer 7', async () => {
        const response = await fetch(`${base}/update_sentence`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'cid=7',
        });
        const text = await response.text();
        return text === '7' ? text : undefined;
      });
      expect(answer).toBe('7');

      // Twenty posts of cid 2 at once, each calling for gold: every one answered, one move.
      const answers = await Promise.all(Array.from({ length: 20 }, () => post('cid=2&count=2500')));
      expect(answers.map(({ status }) => status)).toEqual(Array(20).fill(200));
      const moved = await waitFor('the history row of cid 2', async () => {
        const rows = await getContentHistory(db!, 2);
        return rows.length > 0 ? rows : undefined;
      });
      await waitFor('b.mp4 on gold', async () =>
        (await readdir(path.join(dataDir, 'gold'))).includes('b.mp4') ? true : undefined,
      );
      // A post after the move finds cid 2 on gold: nothing more to do, still one history row.
      expect(JSON.parse((await post('cid=2&count=2501')).body)).toMatchObject({ db_level: 'gold' });
      expect(moved).toHaveLength(1);
      expect(await getContentHistory(db, 2)).toHaveLength(1);
      expect(moved[0]).toMatchObject({ old_content_level: 'bronze', new_content_level: 'gold' });

      process.kill(-(service.child.pid ?? 0), 'SIGINT');
      await exitOf(service.child);
      await waitFor('the relocator to stop', () =>
        out().includes('"msg":"relocator stopped"') ? true : undefined,
      );
      expect(out()).not.toContain('MOVED');
      expect(out()).not.toMatch(/"level":(50|60)/);
      expect(out()).not.toContain('shutdown failed');
    }, 120_000);
  },
);
