import { parseDatabaseUrl } from '@relocation/db';
import type { RedisTarget } from '@relocation/queue';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'PROTOCOL_CONNECTION_LOST',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  // AggregateError from a dual-stack connect: the first inner code tells.
  if (Array.isArray(errors)) return errorCode(errors[0]);
  return undefined;
}

/** Shown with a MySQL/MariaDB connection failure: how to start one on a developer machine. */
export const START_MYSQL_HINT =
  'start MariaDB (`start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`, or `sudo systemctl start mariadb`) or set DATABASE_URL';

/** Shown with a Redis connection failure. */
export const START_REDIS_HINT =
  'start Redis (`redis-server --daemonize yes --port 6379`, or `sudo systemctl start redis-server`) or set REDIS_URL';

/** Shown with a Redis Cluster connection failure. */
export const START_REDIS_CLUSTER_HINT =
  'start the cluster (every node, then `redis-cli --cluster create …` once) or set REDIS_CLUSTER_NODES to nodes of a running cluster (unset it for a single Redis at REDIS_URL)';

/**
 * Turns a connection error into one line naming the service, its address and how to start it;
 * `null` when the error is not about reaching the service.
 */
export function describeUnreachable(
  service: 'MySQL' | 'Redis',
  url: string,
  error: unknown,
): string | null {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const access = code === 'ER_ACCESS_DENIED_ERROR';
  if (
    !access &&
    !(code && CONNECTION_CODES.has(code)) &&
    !/connect|Connection is closed/i.test(message)
  ) {
    return null;
  }
  let address = url;
  try {
    if (service === 'MySQL') {
      const p = parseDatabaseUrl(url);
      address = `${p.host}:${p.port} (user ${p.user})`;
    } else {
      const u = new URL(url);
      address = `${u.hostname}:${u.port || 6379}`;
    }
  } catch {
    // keep the raw URL
  }
  const hint = service === 'MySQL' ? START_MYSQL_HINT : START_REDIS_HINT;
  const why = access ? 'access denied' : (code ?? message);
  return `Cannot reach ${service} at ${address}: ${why}. To fix it, ${hint}.`;
}

/** Where a Redis target points, for messages: `host:port`, or the cluster's listed nodes. */
export function redisAddress(target: RedisTarget): string {
  if (target.redisCluster !== null) {
    const nodes = target.redisCluster.nodes.map(({ host, port }) => `${host}:${port}`);
    return `the Redis Cluster of ${nodes.join(', ')}`;
  }
  try {
    const u = new URL(target.redisUrl);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return target.redisUrl;
  }
}

// ioredis's Cluster gives up with these when no listed node answers (no error code to read).
const CLUSTER_UNREACHABLE = /None of startup nodes is available|Failed to refresh slots cache/i;

/**
 * {@link describeUnreachable} for a Redis target: a single server by its URL, a cluster by its
 * listed nodes with the cluster's hint; `null` when the error is not about reaching it.
 */
export function describeUnreachableRedis(target: RedisTarget, error: unknown): string | null {
  if (target.redisCluster === null) return describeUnreachable('Redis', target.redisUrl, error);
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (
    !(code && CONNECTION_CODES.has(code)) &&
    !CLUSTER_UNREACHABLE.test(message) &&
    !/connect|Connection is closed/i.test(message)
  ) {
    return null;
  }
  return `Cannot reach ${redisAddress(target)}: ${code ?? message}. To fix it, ${START_REDIS_CLUSTER_HINT}.`;
}
