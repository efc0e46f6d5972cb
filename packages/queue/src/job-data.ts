import { HISTORY_REASONS } from '@relocation/db';
import { z } from 'zod';
import { MAX_SAFE_COUNT } from './constants.ts';

/**
 * What a relocation job carries; the relocator validates every job against it when the job
 * starts, and a job that does not match fails at once with `INVALID_JOB`. The processor treats `count` as a hint: it reads the latest
 * count for the cid from the content cache when it starts, so a stale payload never decides.
 */
export const relocationJobDataSchema = z.object({
  cid: z.number().int().min(0).max(MAX_SAFE_COUNT),
  /** Total views posted when the job was requested. */
  count: z.number().int().min(0).max(MAX_SAFE_COUNT),
  /** Tier the gateway computed for `count`; informational (Bull Board shows it). */
  target: z.string().min(1).max(64),
  /** Tier the gateway believed the content was on. */
  from: z.string().min(1).max(64).nullable(),
  /** Epoch milliseconds of the post that asked for the move. */
  requestedAt: z.number().int().min(0),
  /**
   * Identity of the database the job belongs to (`deployment.id`). A relocator serving another
   * database completes such a job without acting on it (I7). Jobs queued before identities
   * existed have none and belong to the database that finds them.
   */
  deployment: z.string().min(1).max(64).optional(),
  /**
   * Why the job was queued: `capacity` for a demotion the capacity sweep asked for (the
   * content's tier is above its high watermark: it goes to `target`, one tier down, whatever its
   * count says); `decay` for a demotion the rate sweep asked for (`TIERING_POLICY=rate`: the
   * content's view rate decayed below its level's demote threshold with no post to notice; the
   * job decides as a post's does, and a demotion it makes is recorded as `decay`); `reconcile`,
   * `admin` and `pin` for a job that reconcile's fixes, an operator's requeue, or a pin, unpin or
   * pin expiry queued (it decides as a post's does; the move's history row names that trigger);
   * absent for a post's job (the latest count or rate, or the pin, decides).
   */
  reason: z
    .enum([
      HISTORY_REASONS.capacity,
      HISTORY_REASONS.decay,
      HISTORY_REASONS.reconcile,
      HISTORY_REASONS.admin,
      HISTORY_REASONS.pin,
    ])
    .optional(),
  /** Request id of the post whose count asked for the move (its history row records it). */
  requestId: z.string().min(1).max(128).optional(),
});

/** A relocation job's payload. */
export type RelocationJobData = z.infer<typeof relocationJobDataSchema>;

/** What a relocation job returns when it completes. */
export type RelocationResult =
  | { outcome: 'moved'; from: string; to: string; bytes: number; durationMs: number; count: number }
  | { outcome: 'already-moved'; from: string; to: string; count: number }
  | { outcome: 'noop'; level: string; count: number; reason: string };
