import {
  Cluster,
  Command,
  Redis,
  type ClusterOptions,
  type DNSLookupFunction,
  type NatMap,
  type RedisOptions,
} from 'ioredis';

/** One node of a Redis Cluster, as `REDIS_CLUSTER_NODES` names it. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** A Redis Cluster as the apps reach it (`REDIS_CLUSTER_NODES`, `REDIS_CLUSTER_NAT_MAP`). */
export interface RedisClusterTarget {
  /** Any nodes of the cluster, to discover the others from. */
  readonly nodes: readonly RedisNode[];
  /**
   * Where to dial a node the cluster announces as `host:port` (its key) when that address is not
   * reachable from here, e.g. a container's name or internal address; empty for none.
   */
  readonly natMap: Readonly<Record<string, RedisNode>>;
}

/**
 * Where the apps' Redis is: one server (`REDIS_URL`, the default), or a Redis Cluster reached
 * through any of its nodes (`REDIS_CLUSTER_NODES`). With a cluster, only the user, the password
 * and the scheme (`rediss:` = TLS) of `redisUrl` count, for every node; its host, port and
 * database are not used (a cluster has database 0 only). The apps' configurations carry both
 * fields, so a configuration is a target as it is.
 */
export interface RedisTarget {
  readonly redisUrl: string;
  /** The cluster, or `null` for the single server of `redisUrl`. */
  readonly redisCluster: RedisClusterTarget | null;
}

/** A connection the apps work with: a single server's, or a Redis Cluster's. */
export type RedisConnection = Redis | Cluster;

/**
 * The hash tag of a key or prefix as Redis Cluster reads it: the text between the first `{` and
 * the first `}` after it, when not empty; `null` when there is none (then the whole key decides
 * the slot). Every key holding the same tag lives in the same slot.
 */
export function hashTagOf(text: string): string | null {
  const open = text.indexOf('{');
  if (open < 0) return null;
  const close = text.indexOf('}', open + 1);
  return close > open + 1 ? text.slice(open + 1, close) : null;
}

// ioredis's Cluster gives these conditions no error code, only a message, so they are recognised
// here, in one place: the client is not connected to the cluster (yet), no listed node answers,
// or a command gave up after following redirections (the slot's master went away, the slot has
// no master, or it is being migrated).
const CLUSTER_UNAVAILABLE_MESSAGES = [
  /^Cluster isn't ready and enableOfflineQueue options is false$/,
  /^None of startup nodes is available$/,
  // Redirected until it gave up: no node serves the slot now (MOVED to a dead master, CLUSTERDOWN).
  /^Too many Cluster redirections\b/,
];

// Error replies of a cluster that cannot serve a slot right now (RESP error codes).
const CLUSTER_UNAVAILABLE_REPLY = /^(?:CLUSTERDOWN|TRYAGAIN|MASTERDOWN)\b/;

/**
 * True when `error` says a Redis Cluster cannot serve the command right now, as opposed to a bad
 * command or a script bug: the client is not connected to the cluster yet (a producer fails at
 * once then), no listed node answers (`ClusterAllFailedError`), or a slot has no master
 * (`CLUSTERDOWN`, during a failover), is being migrated (`TRYAGAIN`) or lost its node. Callers
 * answer it as Redis being unavailable (HTTP 503), as for a single server that is down.
 */
export function isClusterUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ClusterAllFailedError') return true;
  if (CLUSTER_UNAVAILABLE_REPLY.test(error.message)) return true;
  return CLUSTER_UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
}

const CONNECT_TIMEOUT_MS = 5000;

/**
 * How a producer's cluster client rides out a failover (ioredis's defaults, stated): a command
 * whose master went away, or that met `CLUSTERDOWN` / `TRYAGAIN`, is tried again every 100 ms, 16
 * times at most, so about 1.6 s, then fails and the request answers 503: a client retries a post
 * sooner than a held request would time out.
 */
const PRODUCER_FAILOVER: ClusterOptions = Object.freeze({
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  maxRedirections: 16,
});

/**
 * How a worker's cluster client rides out a failover: tried again every 500 ms, 60 times at most,
 * so about 30 s, longer than a replica takes to be promoted with Redis's default
 * `cluster-node-timeout` (15 s, then an election of about a second). A job's Redis commands then
 * wait for the new master instead of failing the attempt (a job has 8; each failed attempt
 * delays the move by its backoff). A `MOVED` is followed at once, as before.
 */
const WORKER_FAILOVER: ClusterOptions = Object.freeze({
  retryDelayOnFailover: 500,
  retryDelayOnClusterDown: 500,
  retryDelayOnTryAgain: 500,
  maxRedirections: 60,
});

function retryDelayMs(times: number): number {
  return Math.min(times * 200, 2000);
}

/**
 * Opens a Redis connection for a producer (the gateway): commands fail fast while Redis is
 * away instead of queueing in memory, so requests answer 503 and the process keeps running.
 * A URL opens a single server; a {@link RedisTarget} with cluster nodes opens a `Cluster` (same
 * semantics: no offline queue, one retry per command, redirections followed).
 */
export function createProducerRedis(url: string, options?: RedisOptions): Redis;
export function createProducerRedis(
  target: RedisTarget | string,
  options?: RedisOptions,
): RedisConnection;
export function createProducerRedis(
  target: RedisTarget | string,
  options: RedisOptions = {},
): RedisConnection {
  return openRedis(
    target,
    {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: retryDelayMs,
      ...options,
    },
    PRODUCER_FAILOVER,
  );
}

/**
 * Opens a Redis connection for a worker: BullMQ requires `maxRetriesPerRequest: null` so its
 * blocking commands wait for Redis to come back instead of failing. A URL opens a single
 * server; a {@link RedisTarget} with cluster nodes opens a `Cluster` (BullMQ reads the option
 * from the cluster's `redisOptions`, where it is set).
 */
export function createWorkerRedis(url: string, options?: RedisOptions): Redis;
export function createWorkerRedis(
  target: RedisTarget | string,
  options?: RedisOptions,
): RedisConnection;
export function createWorkerRedis(
  target: RedisTarget | string,
  options: RedisOptions = {},
): RedisConnection {
  return openRedis(
    target,
    {
      maxRetriesPerRequest: null,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: retryDelayMs,
      ...options,
    },
    WORKER_FAILOVER,
  );
}

function openRedis(
  target: RedisTarget | string,
  options: RedisOptions,
  failover: ClusterOptions,
): RedisConnection {
  if (typeof target === 'string') return new Redis(target, options);
  if (target.redisCluster === null) return new Redis(target.redisUrl, options);
  return openCluster(target.redisUrl, target.redisCluster, options, failover);
}

/** The per-node options a Redis URL carries in cluster mode: user, password and TLS. */
function nodeOptionsOf(url: string): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = {};
  // As ioredis reads a URL: both parts percent-decoded, the user alone means no password.
  if (parsed.username !== '' || parsed.password !== '') {
    options.username = decodeURIComponent(parsed.username);
    options.password = decodeURIComponent(parsed.password);
  }
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}

// With TLS the nodes are connected by name, so the certificate is checked against the name the
// operator wrote (ioredis's advice for managed clusters such as ElastiCache).
const KEEP_HOST_NAME: DNSLookupFunction = (address, callback) => callback(null, address);

function natMapOf(natMap: Readonly<Record<string, RedisNode>>): NatMap {
  return Object.fromEntries(
    Object.entries(natMap).map(([announced, { host, port }]) => [announced, { host, port }]),
  );
}

function openCluster(
  url: string,
  { nodes, natMap }: RedisClusterTarget,
  options: RedisOptions,
  failover: ClusterOptions,
): Cluster {
  // Reconnection, the offline queue and the ready check belong to the cluster, not its nodes.
  const { retryStrategy, enableOfflineQueue, enableReadyCheck, lazyConnect, ...perNode } = options;
  const nodeOptions = nodeOptionsOf(url);
  const clusterOptions: ClusterOptions = {
    ...failover,
    redisOptions: { ...nodeOptions, ...perNode },
    ...(nodeOptions.tls === undefined ? {} : { dnsLookup: KEEP_HOST_NAME }),
    ...(Object.keys(natMap).length === 0 ? {} : { natMap: natMapOf(natMap) }),
  };
  // Only the options given: an `undefined` would override ioredis's default.
  if (retryStrategy !== undefined) clusterOptions.clusterRetryStrategy = retryStrategy;
  if (enableOfflineQueue !== undefined) clusterOptions.enableOfflineQueue = enableOfflineQueue;
  if (enableReadyCheck !== undefined) clusterOptions.enableReadyCheck = enableReadyCheck;
  if (lazyConnect !== undefined) clusterOptions.lazyConnect = lazyConnect;
  return new SlotScanCluster(
    nodes.map(({ host, port }) => ({ host, port })),
    clusterOptions,
  );
}

/** The slot whose keys a SCAN `MATCH` pattern can match, when its hash tag is fixed; else null. */
function scanSlot(args: readonly unknown[]): number | null {
  const at = args.findIndex((arg) => typeof arg === 'string' && arg.toUpperCase() === 'MATCH');
  const pattern = args[at + 1];
  if (at < 0 || typeof pattern !== 'string') return null;
  const tag = hashTagOf(pattern);
  if (tag === null) return null;
  // The tag decides only when it is written literally: no glob before its closing brace.
  const tagged = pattern.slice(0, pattern.indexOf('}') + 1);
  if (/[*?[\\]/.test(tagged)) return null;
  return new Command('exists', [`{${tag}}`]).getSlot();
}

/**
 * A `Cluster` whose SCAN goes to the master of the slot its `MATCH` pattern's hash tag names.
 * ioredis sends a command without keys, such as SCAN, to a random node, where a scan of our keys
 * (all under the hash-tagged prefix, so in one slot) would silently find nothing. A SCAN without
 * a hash-tagged pattern is refused: on a cluster it could only ever see one node's keys.
 */
class SlotScanCluster extends Cluster {
  override sendCommand(
    command: Command,
    stream?: Parameters<Cluster['sendCommand']>[1],
    node?: unknown,
  ): unknown {
    if (node === undefined && command.name === 'scan') {
      const slot = scanSlot(command.args);
      if (slot === null) {
        command.reject(
          new Error(
            'SCAN on a Redis Cluster needs a MATCH pattern that starts with a hash tag such as {relocation}',
          ),
        );
        return command.promise;
      }
      return super.sendCommand(command, stream, { slot });
    }
    return super.sendCommand(command, stream, node);
  }
}
