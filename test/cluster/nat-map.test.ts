import { once } from 'node:events';
import { createWorkerRedis, type RedisConnection } from '@relocation/queue';
import { loadConfig } from '@relocation/relocator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  announcedHost,
  haveRedisClusterTools,
  startRedisCluster,
  type RedisCluster,
} from '../support/redis-cluster.ts';

const clusterHere = haveRedisClusterTools('cluster/nat-map.test.ts');

// As in containers: every node announces a name that resolves only inside its own network.
describe.skipIf(!clusterHere)('a Redis Cluster whose nodes announce unreachable names', () => {
  let cluster: RedisCluster;
  let env: Record<string, string>;
  const opened: RedisConnection[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({ announceHostnames: true });
    env = {
      REDIS_CLUSTER_NODES: `127.0.0.1:${cluster.nodes[0]?.port}`,
      QUEUE_PREFIX: '{relocation}',
    };
  });
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.disconnect();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Connects, without retrying, with the relocator's configuration and `extra` variables. */
  function connect(extra: Record<string, string>): RedisConnection {
    const redis = createWorkerRedis(loadConfig({ ...env, ...extra }), {
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    opened.push(redis);
    return redis;
  }

  it('cannot be used without REDIS_CLUSTER_NAT_MAP', async () => {
    const redis = connect({});
    // The listed node answers, then every announced name fails to resolve: the client gives up.
    await once(redis, 'end');
    expect(redis.status).toBe('end');
  });

  it('is reached on every master through REDIS_CLUSTER_NAT_MAP', async () => {
    const natMap = cluster.nodes
      .map(({ port }) => `${announcedHost(port)}:${port}=127.0.0.1:${port}`)
      .join(',');
    const redis = connect({ REDIS_CLUSTER_NAT_MAP: natMap });
    await once(redis, 'ready');
    const keys = Array.from({ length: 30 }, (_, i) => `nat-${i}`);
    for (const key of keys) await redis.set(key, key);
    expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual(keys);
    expect(new Set(await Promise.all(keys.map((key) => cluster.ownerOf(key)))).size).toBe(3);
  });
});
