/** Name of the BullMQ queue that carries relocations. */
export const RELOCATION_QUEUE = 'relocation';

/** Name given to every relocation job (Bull Board shows it). */
export const RELOCATE_JOB = 'relocate';

/** Default BullMQ key prefix; use a hash tag such as `{relocation}` on Redis Cluster. */
export const DEFAULT_QUEUE_PREFIX = 'bull';

/** Largest cid or count accepted anywhere: counts and ids stay exact as JavaScript numbers. */
export const MAX_SAFE_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * The deduplication id of a cid's relocation jobs. BullMQ refuses integer job ids and ids with
 * `:`, so the key is `cid-<n>`; it is used as a `deduplication` id, never as a `jobId`.
 */
export function dedupId(cid: number): string {
  return `cid-${cid}`;
}
