import { Cluster, type Redis } from 'ioredis';
import type { RedisConnection } from './connection.ts';

/**
 * A state in which Redis answers but refuses writes: `REDIS_FULL` (used memory reached
 * `maxmemory`, so a write is answered `-OOM …`) or `REDIS_READONLY` (the server is a replica, e.g.
 * the old primary after a failover, so a write is answered `-READONLY …`).
 */
export type RedisFault = 'REDIS_FULL' | 'REDIS_READONLY';

// The first word of a Redis error reply is its error code (RESP `-OOM command not allowed …`,
// `-READONLY You can't write …`); ioredis keeps the reply without the `-` as the message. Redis 7
// keeps that code for a write refused inside a Lua script (BullMQ's scripts, our cache scripts)
// and appends ` script: <sha>, on @user_script:<line>.`.
const FAULT_BY_ERROR_CODE: ReadonlyMap<string, RedisFault> = new Map([
  ['OOM', 'REDIS_FULL'],
  ['READONLY', 'REDIS_READONLY'],
]);

const ERROR_CODE = /^([A-Z]+)(?:\s|$)/;

// Causes are followed this deep at most (a cause chain can be circular).
const MAX_DEPTH = 4;

/**
 * Which {@link RedisFault} an error reports, or `null` for any other error (a connection failure,
 * a script bug, a non-error value).
 *
 * Recognises an error reply by its leading error code (`OOM`, `READONLY`), never by a phrase
 * somewhere in the message. Looks through what wraps the reply: `cause` (errors wrapped by us or
 * by BullMQ), and `previousErrors` (a `MULTI` whose queued commands were refused fails as a whole
 * with `EXECABORT` and lists the refusals there). The first fault found wins.
 */
export function redisFaultOf(error: unknown): RedisFault | null {
  return faultOf(error, 0);
}

function faultOf(error: unknown, depth: number): RedisFault | null {
  if (!(error instanceof Error) || depth > MAX_DEPTH) return null;
  const code = ERROR_CODE.exec(error.message)?.[1];
  const own = code === undefined ? undefined : FAULT_BY_ERROR_CODE.get(code);
  if (own !== undefined) return own;
  if ('previousErrors' in error && Array.isArray(error.previousErrors)) {
    for (const previous of error.previousErrors as unknown[]) {
      const fault = faultOf(previous, depth + 1);
      if (fault !== null) return fault;
    }
  }
  return faultOf(error.cause, depth + 1);
}

/**
 * Whether Redis accepts writes right now, as its `INFO` tells: `ok`, `full` (with the memory it
 * counts against `maxmemory` and the limit, in bytes) or `readonly` (a replica).
 */
export type RedisCondition =
  | { kind: 'ok' }
  | { kind: 'full'; usedMemoryBytes: number; maxmemoryBytes: number }
  | { kind: 'readonly'; role: string };

function infoFields(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (line.startsWith('#') || colon <= 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

function bytes(fields: Map<string, string>, name: string): number {
  const value = Number(fields.get(name) ?? '0');
  return Number.isFinite(value) ? value : 0;
}

/**
 * Reads a {@link RedisCondition} from the text of `INFO memory replication`.
 *
 * Read-only: `role:slave` (Redis says `slave`; `replica` is accepted too). A replica is reported
 * whether or not `replica-read-only` is set: writes to it would be lost at the next sync anyway.
 *
 * Full: `maxmemory` is set and `maxmemory_policy` is `noeviction` (the policy the README asks
 * for) and the memory Redis counts against the limit — `used_memory` less
 * `mem_not_counted_for_evict` (replication and AOF buffers), as Redis itself computes it before
 * refusing a write — is at or above `maxmemory`. Under an evicting policy Redis sits at the limit
 * and frees keys instead, so being at the limit says nothing there; writes it still refuses are
 * answered `REDIS_FULL` all the same.
 */
export function redisConditionOf(info: string): RedisCondition {
  const fields = infoFields(info);
  const role = fields.get('role');
  if (role === 'slave' || role === 'replica') return { kind: 'readonly', role };
  const maxmemoryBytes = bytes(fields, 'maxmemory');
  const usedMemoryBytes = bytes(fields, 'used_memory') - bytes(fields, 'mem_not_counted_for_evict');
  if (
    maxmemoryBytes > 0 &&
    fields.get('maxmemory_policy') === 'noeviction' &&
    usedMemoryBytes >= maxmemoryBytes
  ) {
    return { kind: 'full', usedMemoryBytes, maxmemoryBytes };
  }
  return { kind: 'ok' };
}

/** The worst of several conditions: the first that is not `ok` (a replica, then a full master). */
function worstOf(conditions: readonly RedisCondition[]): RedisCondition {
  return (
    conditions.find((c) => c.kind === 'readonly') ??
    conditions.find((c) => c.kind === 'full') ?? { kind: 'ok' }
  );
}

/**
 * The connection to every master that serves a slot, as the cluster client's slot table says;
 * throws when a slot's master is not connected (it died and no replica has taken over yet),
 * after asking the client to read the slot table again. Slots no master was ever given are not
 * ours to judge (a cluster may run without full coverage).
 */
function slotMasters(cluster: Cluster): Redis[] {
  const byKey = new Map(
    cluster.nodes('all').map((node) => [`${node.options.host}:${node.options.port}`, node]),
  );
  const masters = new Map<string, Redis>();
  for (const [slot, nodeKeys] of cluster.slots.entries()) {
    const key = nodeKeys?.[0];
    if (key === undefined || masters.has(key)) continue;
    const node = byKey.get(key);
    if (node === undefined) {
      cluster.refreshSlotsCache();
      throw new Error(`Redis Cluster: the master of slot ${slot} (${key}) is not connected`);
    }
    masters.set(key, node);
  }
  if (masters.size === 0) throw new Error('Redis Cluster: not connected (no slot is served yet)');
  return [...masters.values()];
}

/**
 * Asks Redis whether it accepts writes: one `INFO memory replication` round trip (Redis ≥ 7
 * takes several sections), which writes nothing. Rejects when Redis cannot be reached.
 *
 * On a Redis Cluster it asks every master that serves a slot (as the client's slot table says),
 * not a random node: the master of the prefix's slot is among them however the keys are spread,
 * and the worst answer counts. It rejects while a slot's master is not connected (killed, and
 * no replica promoted yet), as a single Redis that is down would.
 *
 * Reading the condition rather than probing with a write: a probe would need memory to succeed,
 * would leave a key behind on success, and its failure tells no more than INFO does; and INFO
 * reports the condition as it is now, so readiness comes back the moment an operator raises
 * `maxmemory` or points the gateway at the new primary.
 */
export async function readRedisCondition(redis: RedisConnection): Promise<RedisCondition> {
  if (!(redis instanceof Cluster))
    return redisConditionOf(await redis.info('memory', 'replication'));
  const infos = await Promise.all(
    slotMasters(redis).map((node) => node.info('memory', 'replication')),
  );
  return worstOf(infos.map(redisConditionOf));
}
