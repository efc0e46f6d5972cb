import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './net.ts';

const run = promisify(execFile);

/** How long the cluster may take to start, be created and agree (`cluster_state:ok`). */
const START_TIMEOUT_MS = 60_000;

/**
 * Whether `redis-server` and `redis-cli` are on PATH for `file`'s cluster tests. In CI they are
 * part of the machine (`.ci/run` starts Redis with them): their absence throws instead of
 * skipping; elsewhere the file is skipped with a warning.
 */
export function haveRedisClusterTools(file: string): boolean {
  const missing = ['redis-server', 'redis-cli'].filter(
    (tool) => spawnSync(tool, ['--version']).status !== 0,
  );
  if (missing.length === 0) return true;
  const why = `no ${missing.join(' or ')} on PATH (apt-get install redis-server)`;
  if (process.env.CI) throw new Error(`${file}: ${why}`);
  console.warn(`${file}: skipped, ${why}`);
  return false;
}

/** One `redis-server` of a {@link RedisCluster}. */
export interface ClusterNodeProcess {
  port: number;
  child: ChildProcess;
  /** A plain connection to this node only (CLUSTER INFO, CLUSTER KEYSLOT…). */
  client: Redis;
}

/** A local Redis Cluster started by {@link startRedisCluster}. */
export interface RedisCluster {
  /** Every node, masters first (as `redis-cli --cluster create` was given them). */
  nodes: readonly ClusterNodeProcess[];
  /** The port of the master that owns `key`'s slot now. */
  ownerOf(key: string): Promise<number>;
  /** The port of a master that does not own `key`'s slot (a redirection away from it). */
  notOwnerOf(key: string): Promise<number>;
  /**
   * SIGKILLs the node on `port` (a crash: nothing flushed, no goodbye to the cluster) and
   * resolves once its process has exited. The other nodes notice after `nodeTimeoutMs`.
   */
  kill(port: number): Promise<void>;
  /**
   * Resolves with the port of the master that serves `key`'s slot once it is no longer `port`
   * and every live node says `cluster_state:ok` (the cluster promoted a replica); rejects after
   * `timeoutMs`.
   */
  promotedFrom(port: number, key: string, timeoutMs?: number): Promise<number>;
  /** Kills every node and removes their directory (safe to call twice). */
  stop(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters (3, the least `redis-cli --cluster create` accepts). */
  masters?: number;
  /** Replicas per master (0). */
  replicas?: 0 | 1;
  /** A password every node requires (`requirepass`, and `masterauth` for replicas); none when unset. */
  password?: string;
  /**
   * Each node announces itself to clients as `node-<port>.invalid` instead of 127.0.0.1 (as
   * containers announce a name only their own network resolves), so a client reaches the
   * nodes only through a NAT map (`REDIS_CLUSTER_NAT_MAP`).
   */
  announceHostnames?: boolean;
  /**
   * `cluster-node-timeout` in milliseconds (2000): how long a master may be unreachable before
   * the others mark it failed and its replica takes over. A failover test sets it low.
   */
  nodeTimeoutMs?: number;
}

/** The name a node on `port` announces with `announceHostnames` (it resolves nowhere). */
export function announcedHost(port: number): string {
  return `node-${port}.invalid`;
}

function startNode(
  port: number,
  busPort: number,
  dir: string,
  options: RedisClusterOptions,
): ClusterNodeProcess {
  const { password, announceHostnames = false, nodeTimeoutMs = 2000 } = options;
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      // The bus port is chosen free too (the default, port + 10000, may be taken or above 65535).
      '--cluster-port',
      String(busPort),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      String(nodeTimeoutMs),
      '--dir',
      dir,
      '--logfile',
      `redis-${port}.log`,
      '--save',
      '',
      '--appendonly',
      'no',
      // A replica's first sync starts at once (Redis waits 5 s by default to batch replicas).
      '--repl-diskless-sync-delay',
      '0',
      '--bind',
      '127.0.0.1',
      ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
      ...(announceHostnames
        ? [
            '--cluster-announce-hostname',
            announcedHost(port),
            '--cluster-preferred-endpoint-type',
            'hostname',
          ]
        : []),
    ],
    { stdio: 'ignore' },
  );
  // Reconnects every 50 ms until the node listens.
  const client = new Redis({
    port,
    host: '127.0.0.1',
    ...(password === undefined ? {} : { password }),
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  client.on('error', () => undefined);
  return { port, child, client };
}

async function waitUntil(
  what: string,
  nodes: readonly ClusterNodeProcess[],
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await check().catch(() => false))) {
    const dead = nodes.find(({ child }) => child.exitCode !== null || child.signalCode !== null);
    if (dead) throw new Error(`Redis Cluster: node ${dead.port} exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The master port serving each slot range, from CLUSTER SLOTS as `node` sees it. */
async function slotOwners(node: Redis): Promise<{ from: number; to: number; port: number }[]> {
  const reply = (await node.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return reply.map(([from, to, [, port]]) => ({ from, to, port }));
}

/**
 * Starts a local Redis Cluster: `masters` (3) `redis-server --cluster-enabled yes` on free ports
 * with nothing persisted, each with `replicas` (0) replicas, in a fresh temporary directory;
 * creates it with `redis-cli --cluster create … --cluster-yes` and resolves once every node says
 * `cluster_state:ok` and every replica has synced with its master (so it can take over).
 * Whatever fails on the way, what was started is torn down before the error is thrown; call
 * `stop()` in `afterAll` for the rest.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reloc-cluster-'));
  const nodes: ClusterNodeProcess[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killAll);
    for (const node of nodes) node.client.disconnect();
    await Promise.all(
      nodes.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  // A test process that ends without `stop()` still takes its servers with it.
  const killAll = () => {
    for (const { child } of nodes) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      nodes.push(startNode(await freePort(), await freePort(), dir, options));
    }
    for (const node of nodes) {
      await waitUntil(`port ${node.port} to answer`, nodes, async () => {
        return (await node.client.ping()) === 'PONG';
      });
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map(({ port }) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
        ...(options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning']),
      ],
      { timeout: START_TIMEOUT_MS },
    );
    for (const node of nodes) {
      await waitUntil(`cluster_state:ok on ${node.port}`, nodes, async () => {
        const info = (await node.client.call('CLUSTER', 'INFO')) as string;
        return /^cluster_state:ok\r?$/m.test(info);
      });
    }
    // A replica that has not finished its first sync holds no data and refuses to take over
    // (its data counts as too old), so a failover test could wait forever: wait for every link.
    await waitUntil(`${masters * replicas} replicas to sync`, nodes, async () => {
      const infos = await Promise.all(nodes.map(({ client }) => client.info('replication')));
      const synced = infos.filter((info) => /^master_link_status:up\r?$/m.test(info));
      return synced.length === masters * replicas;
    });
  } catch (error) {
    // The end of each node's log says why a node would not start or join.
    const logs = await Promise.all(
      nodes.map(async ({ port }) => {
        const log = await readFile(path.join(dir, `redis-${port}.log`), 'utf8').catch(() => '');
        return `--- redis-${port}.log\n${log.split('\n').slice(-5).join('\n')}`;
      }),
    );
    await stop();
    throw new Error(`${(error as Error).message}\n${logs.join('\n')}`, { cause: error });
  }
  const alive = () =>
    nodes.filter(({ child }) => child.exitCode === null && child.signalCode === null);
  // Any live node answers CLUSTER KEYSLOT and CLUSTER SLOTS (the first may have been killed).
  const anyLive = (): Redis => {
    const node = alive()[0];
    if (node === undefined) throw new Error('Redis Cluster: no live node');
    return node.client;
  };
  const slotOf = async (key: string) => Number(await anyLive().call('CLUSTER', 'KEYSLOT', key));
  const ownerSeenBy = async (node: Redis, key: string): Promise<number> => {
    const slot = await slotOf(key);
    const owner = (await slotOwners(node)).find((r) => r.from <= slot && slot <= r.to);
    if (owner === undefined) throw new Error(`Redis Cluster: slot ${slot} has no master`);
    return owner.port;
  };
  const ownerOf = (key: string): Promise<number> => ownerSeenBy(anyLive(), key);
  return {
    nodes,
    ownerOf,
    async notOwnerOf(key) {
      const owner = await ownerOf(key);
      const other = (await slotOwners(anyLive())).find((r) => r.port !== owner);
      if (other === undefined) throw new Error('Redis Cluster: one master only');
      return other.port;
    },
    async kill(port) {
      const node = nodes.find((n) => n.port === port);
      if (node === undefined) throw new Error(`Redis Cluster: no node on ${port}`);
      node.client.disconnect();
      if (node.child.exitCode !== null || node.child.signalCode !== null) return;
      const exited = once(node.child, 'exit');
      node.child.kill('SIGKILL');
      await exited;
    },
    async promotedFrom(port, key, timeoutMs = START_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = alive();
        const owners = await Promise.all(
          live.map(async ({ client }) => {
            const info = (await client.call('CLUSTER', 'INFO')) as string;
            if (!/^cluster_state:ok\r?$/m.test(info)) return null;
            return ownerSeenBy(client, key);
          }),
        ).catch(() => [null]);
        const [first] = owners;
        // Every live node agrees on one new master for the slot.
        if (first != null && first !== port && owners.every((owner) => owner === first)) {
          return first;
        }
        if (Date.now() > deadline) {
          // What the nodes think, and the end of each live node's log, say why.
          const view = (await anyLive()
            .call('CLUSTER', 'NODES')
            .catch((e: unknown) => String(e))) as string;
          const logs = await Promise.all(
            live.map(async (n) => {
              const log = await readFile(path.join(dir, `redis-${n.port}.log`), 'utf8').catch(
                () => '',
              );
              return `--- redis-${n.port}.log\n${log.split('\n').slice(-12).join('\n')}`;
            }),
          );
          throw new Error(
            `Redis Cluster: no replica took over from ${port} within ${timeoutMs} ms\n${view}\n${logs.join('\n')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    stop,
  };
}
