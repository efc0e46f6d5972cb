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

/**
 * The hold code of a move that waits because its target tier would go above its high watermark
 * (not a fault: the tier is as full as its operator allows). `GET /v1/contents/:cid` shows such
 * a move as `waiting-for-space`; every other hold is a storage fault (`waiting`).
 */
export const CAPACITY_HOLD_CODE = 'TIER_AT_HIGH_WATERMARK';

/**
 * Hold codes of a move the placement policy holds back (not a fault, not a full tier): its
 * minimum residence has not elapsed, or its flap budget is spent. `GET /v1/contents/:cid` shows
 * such a move as `held`, with the time it may move.
 */
export const POLICY_HOLD_CODES = Object.freeze({
  residence: 'HELD_BY_RESIDENCE',
  'flap-budget': 'HELD_BY_FLAP_BUDGET',
} as const);

/** True for a hold code of {@link POLICY_HOLD_CODES}. */
export function isPolicyHold(code: string): boolean {
  return Object.values(POLICY_HOLD_CODES).includes(code as never);
}
