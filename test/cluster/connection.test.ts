import { once } from 'node:events';
import {
  createProducerRedis,
  createWorkerRedis,
  hashTagOf,
  isClusterUnavailableError,
  type RedisConnection,
  type RedisTarget,
} from '@relocation/queue';
import { Queue, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  haveRedisClusterTools,
  startRedisCluster,
  type RedisCluster,
} from '../support/redis-cluster.ts';
import { uniqueSuffix } from '../support/services.ts';

const clusterHere = haveRedisClusterTools('cluster/connection.test.ts');

describe('hashTagOf', () => {
  it.each([
    ['{relocation}', 'relocation'],
    ['{relocation}:relocation-cache:x:cid:*', 'relocation'],
    ['app{r}', 'r'],
    ['{a}{b}', 'a'],
    ['x}{y}', 'y'],
    ['{}', null],
    ['{}{a}', null],
    ['{relocation', null],
    ['bull', null],
    ['', null],
  ])('%j → %j', (text, tag) => {
    expect(hashTagOf(text)).toBe(tag);
  });
});

describe.skipIf(!clusterHere)('connections to a Redis Cluster', () => {
  // Characters a URL must escape: the password reaches every node percent-decoded.
  const PASSWORD = 'p@ss:w/rd%';
  let cluster: RedisCluster;
  let prefix: string;
  let target: RedisTarget;
  const opened: RedisConnection[] = [];
  const open = <T extends RedisConnection>(connection: T): T => {
    connection.on('error', () => undefined);
    opened.push(connection);
    return connection;
  };
  const ready = async (connection: RedisConnection) => {
    if (connection.status !== 'ready') await once(connection, 'ready');
  };

  beforeAll(async () => {
    cluster = await startRedisCluster({ password: PASSWORD });
    prefix = `{t-${uniqueSuffix()}}`;
    // Named by a node that does not own the prefix's slot; REDIS_URL's host is never dialled.
    target = {
      redisUrl: `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:1`,
      redisCluster: {
        nodes: [{ host: '127.0.0.1', port: await cluster.notOwnerOf(prefix) }],
        natMap: {},
      },
    };
  });
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.disconnect();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('opens a Cluster with the password of REDIS_URL and reaches keys on every master', async () => {
    const redis = open(createProducerRedis(target));
    expect(redis).toBeInstanceOf(Cluster);
    await ready(redis);
    // Untagged keys spread over the masters: each is reached through a redirection or directly.
    const run = uniqueSuffix();
    const keys = Array.from({ length: 30 }, (_, i) => `spread-${run}-${i}`);
    for (const key of keys) await redis.set(key, key);
    expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual(keys);
    const owners = new Set(await Promise.all(keys.map((key) => cluster.ownerOf(key))));
    expect(owners.size).toBe(3);
  });

  it("sends SCAN to the master of its pattern's hash tag, and refuses a pattern without one", async () => {
    const redis = open(createWorkerRedis(target));
    await ready(redis);
    const keys = Array.from({ length: 25 }, (_, i) => `${prefix}:scan:${i}`);
    for (const key of keys) await redis.set(key, '1');
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:scan:*`, 'COUNT', 10);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    expect(found.sort()).toEqual([...keys].sort());
    await expect(redis.scan('0', 'MATCH', 'no-tag:*')).rejects.toThrow(
      /SCAN on a Redis Cluster needs a MATCH pattern that starts with a hash tag/,
    );
  });

  it('a producer without the password fails its commands instead of queueing them', async () => {
    const redis = open(
      createProducerRedis({ ...target, redisUrl: 'redis://127.0.0.1:1' }, { lazyConnect: true }),
    );
    redis.connect().catch(() => undefined);
    const error: unknown = await redis.get(`${prefix}:x`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(isClusterUnavailableError(error)).toBe(true);
  });

  it('BullMQ runs a job with the worker connection and the producer on a hash-tagged prefix', async () => {
    const producer = open(createProducerRedis(target));
    await ready(producer);
    const queue = new Queue('cluster-check', { connection: producer, prefix });
    const worker = new Worker(
      'cluster-check',
      (job) => Promise.resolve((job.data as { n: number }).n * 2),
      {
        connection: open(createWorkerRedis(target)),
        prefix,
        autorun: false,
      },
    );
    queue.on('error', () => undefined);
    worker.on('error', () => undefined);
    try {
      const completed = once(worker, 'completed');
      void worker.run();
      await queue.add('double', { n: 21 });
      const [job] = (await completed) as [{ returnvalue: number }];
      expect(job.returnvalue).toBe(42);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  // Last: it leaves the cluster without one of its masters.
  it('tells a cluster that lost the master of a slot from a bad command', async () => {
    const redis = open(createProducerRedis(target));
    await ready(redis);
    const key = `${prefix}:failover`;
    await redis.set(key, '1');
    const bad: unknown = await redis.call('NO-SUCH-COMMAND', key).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Error);
    expect(isClusterUnavailableError(bad)).toBe(false);
    const port = await cluster.ownerOf(key);
    const master = cluster.nodes.find((node) => node.port === port);
    if (master === undefined) throw new Error(`no node on ${port}`);
    const exited = once(master.child, 'exit');
    master.child.kill('SIGKILL');
    await exited;
    const lost: unknown = await redis.get(key).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(Error);
    expect(isClusterUnavailableError(lost)).toBe(true);
  });
});
