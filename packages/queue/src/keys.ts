import { QueueKeys } from 'bullmq';
import { RELOCATION_QUEUE, dedupId } from './constants.ts';

/**
 * Where the keys of the deployment an app serves come from: fixed {@link RelocationKeys}, or a
 * `DeploymentBinding` that reads the database's identity lazily.
 */
export interface KeySource {
  /** The keys when already known (no await on the hot path), else `null`. */
  readonly current: RelocationKeys | null;
  /** The keys, reading the database's identity first when needed. */
  keys(): Promise<RelocationKeys>;
}

/**
 * Every Redis key the gateway and the relocator share, built in one place (as BullMQ's
 * `QueueKeys` does for its own): nothing else concatenates a key.
 *
 * The state of one deployment lives under `<prefix>:relocation-cache:<deployment>:…`, where
 * `deployment` is the identity of the database it belongs to (table `deployment`). A fresh or
 * other database has another identity, so it never reads what an old one left (invariant I7):
 * - `…:cid:<cid>` hash: level, file, count, countAt, lastJob, hold (the content cache);
 * - `…:levels` (JSON) and `…:levels:v` (integer): the published level table and its version;
 * - `…:tiers` hash: level → tier state (JSON), as relocators last checked it;
 * - `…:moving:<cid>` hash: the cid's pending move (the relocator's journal);
 * - `…:stuck` sorted set: cids whose latest count calls for another tier with nothing queued.
 *
 * One key is shared by every deployment on the prefix: `<prefix>:relocation-owner`, the
 * heartbeat of the deployment that uses the prefix (two deployments may not share one). The
 * gateways' rate-limit counters live under `<prefix>:relocation-rate-limit:` (see
 * {@link rateLimitNamespace}), with a TTL of their window; their failed-login counters are
 * `<prefix>:relocation-login-failures:<address>` (see {@link loginFailuresKey}).
 * BullMQ's own keys (`<prefix>:relocation:…`) come from BullMQ's `QueueKeys`; the one we read in
 * our scripts is a cid's deduplication key (`de:<dedupId>`), through which the hot path learns
 * the cid's pending job in the same round trip.
 *
 * With a hash-tag prefix such as `{relocation}` every key lives in one Redis Cluster slot.
 */
export class RelocationKeys implements KeySource {
  readonly prefix: string;
  readonly deployment: string;
  readonly #base: string;
  readonly #dedupBase: string;

  constructor(options: { prefix: string; deployment: string; queueName?: string }) {
    this.prefix = options.prefix;
    this.deployment = options.deployment;
    this.#base = deploymentBase(options.prefix, options.deployment);
    this.#dedupBase = new QueueKeys(options.prefix).toKey(
      options.queueName ?? RELOCATION_QUEUE,
      'de',
    );
  }

  /** Itself ({@link KeySource}: fixed keys, e.g. in tests and one-shot commands). */
  get current(): RelocationKeys {
    return this;
  }

  /** Itself ({@link KeySource}). */
  keys(): Promise<RelocationKeys> {
    return Promise.resolve(this);
  }

  /** A cid's cache hash. */
  cid(cid: number): string {
    return `${this.#base}:cid:${cid}`;
  }

  /** Pattern that matches every cid's cache hash (for SCAN). */
  get cidPattern(): string {
    return `${this.#base}:cid:*`;
  }

  /** The cid of a key matched by {@link cidPattern}, or `null`. */
  cidOf(key: string): number | null {
    const prefix = `${this.#base}:cid:`;
    if (!key.startsWith(prefix)) return null;
    const cid = Number(key.slice(prefix.length));
    return Number.isSafeInteger(cid) && cid >= 0 ? cid : null;
  }

  /** The published level table (JSON). */
  get levels(): string {
    return `${this.#base}:levels`;
  }

  /** The published level table's version (an integer bumped on every change). */
  get levelsVersion(): string {
    return `${this.#base}:levels:v`;
  }

  /** Tier states by level name. */
  get tiers(): string {
    return `${this.#base}:tiers`;
  }

  /** A cid's pending move. */
  moving(cid: number): string {
    return `${this.#base}:moving:${cid}`;
  }

  /** Stuck cids, scored by when they were found stuck (epoch ms). */
  get stuck(): string {
    return `${this.#base}:stuck`;
  }

  /** A cid's BullMQ deduplication key (holds the id of its waiting, delayed or active job). */
  dedup(cid: number): string {
    return `${this.#dedupBase}:${dedupId(cid)}`;
  }

  /** The owner heartbeat of the prefix (shared by every deployment that might use it). */
  get owner(): string {
    return ownerKey(this.prefix);
  }
}

/** `<prefix>:relocation-cache:<deployment>`: under it lives everything of one deployment. */
export function deploymentBase(prefix: string, deployment: string): string {
  return `${prefix}:relocation-cache:${deployment}`;
}

/** The owner heartbeat key of a prefix. */
export function ownerKey(prefix: string): string {
  return `${prefix}:relocation-owner`;
}

/** Who a rate-limit counter counts: an API key's name, or a client address. */
export type RateLimitClient = { readonly key: string } | { readonly address: string };

/**
 * `<prefix>:relocation-rate-limit:`: the namespace of the gateways' rate-limit counters
 * (`@fastify/rate-limit` appends the subject, see {@link rateLimitSubject}). Counters are shared
 * by every gateway on the prefix, so a limit holds across gateways; each expires with its window,
 * so nothing is left to clean up.
 */
export function rateLimitNamespace(prefix: string): string {
  return `${prefix}:relocation-rate-limit:`;
}

/**
 * The part of a rate-limit counter's key after {@link rateLimitNamespace}: `<group>:key:<name>`
 * for a client that sent an API key, `<group>:ip:<address>` otherwise (so a key named like an
 * address never shares a counter with that address).
 */
export function rateLimitSubject(group: string, client: RateLimitClient): string {
  return 'key' in client ? `${group}:key:${client.key}` : `${group}:ip:${client.address}`;
}

/**
 * `<prefix>:relocation-login-failures:<address>`: how many logins (a wrong password or an unknown
 * API key) failed from one client address in the current window, a counter that expires with
 * the window. Shared by every gateway on the prefix, so the throttle holds across gateways.
 */
export function loginFailuresKey(prefix: string, address: string): string {
  return `${prefix}:relocation-login-failures:${address}`;
}
