import { setTimeout as sleep } from 'node:timers/promises';
import { AUDIT_ACTIONS, recordAudit, type Database } from '@relocation/db';
import type { Kysely } from 'kysely';
import type { RelocationQueue } from './enqueue.ts';

/** A relocator replica as BullMQ sees it (a worker connection on the relocation queue). */
export interface RelocatorReplica {
  /** The worker's name (`<host>:<pid>` for our relocators), or its client id. */
  name: string;
  /** Its address as Redis sees it. */
  addr: string;
  /** Seconds since it connected. */
  ageSeconds: number;
  /** Seconds since it last sent a command. */
  idleSeconds: number;
}

/** Where relocations stand, for operators (`GET /v1/relocations`, `npm run relocations`). */
export interface RelocationsStatus {
  /** True while relocators start no new move (BullMQ's own pause flag, which Bull Board shows). */
  paused: boolean;
  active: number;
  waiting: number;
  delayed: number;
  failed: number;
  /** The relocator replicas connected to the queue now. */
  replicas: RelocatorReplica[];
}

/** The status of the relocation queue: paused or not, job counts, replicas. */
export async function relocationsStatus(queue: RelocationQueue): Promise<RelocationsStatus> {
  const [paused, counts, workers] = await Promise.all([
    queue.isPaused(),
    queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed', 'failed'),
    queue.getWorkers(),
  ]);
  return {
    paused,
    active: counts.active ?? 0,
    waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    replicas: workers.map((w) => ({
      name: workerName(w.rawname ?? w.name ?? '', w.id ?? ''),
      addr: w.addr ?? '',
      ageSeconds: Number(w.age ?? 0),
      idleSeconds: Number(w.idle ?? 0),
    })),
  };
}

/**
 * Stops every relocator (all replicas) from starting new moves: BullMQ's queue-wide pause, so
 * active moves finish and posts are still accepted and queued. With `waitMs` > 0 it then waits
 * until no move is active (a drain, for maintenance of a tier's disk) or the time is up, polling.
 * Idempotent. Answers the status at the end; `drained` says whether nothing is active.
 */
export async function pauseRelocations(
  queue: RelocationQueue,
  options: { waitMs?: number; pollMs?: number; audit?: RelocationsAudit } = {},
): Promise<RelocationsStatus & { drained: boolean }> {
  const wasPaused = await queue.isPaused();
  await queue.pause();
  if (options.audit) {
    await recordAudit(options.audit.db, {
      actor: options.audit.actor,
      action: AUDIT_ACTIONS.pauseRelocations,
      target: 'relocations',
      before: { paused: wasPaused },
      after: { paused: true, waitMs: options.waitMs ?? 0 },
    });
  }
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const status = await relocationsStatus(queue);
    if (status.active === 0 || Date.now() >= deadline) {
      return { ...status, drained: status.active === 0 };
    }
    await sleep(Math.min(options.pollMs ?? 250, Math.max(1, deadline - Date.now())));
  }
}

/** Lets relocators start moves again; the latest counts decide what moves. Idempotent. */
export async function resumeRelocations(
  queue: RelocationQueue,
  options: { audit?: RelocationsAudit } = {},
): Promise<RelocationsStatus> {
  const wasPaused = await queue.isPaused();
  await queue.resume();
  if (options.audit) {
    await recordAudit(options.audit.db, {
      actor: options.audit.actor,
      action: AUDIT_ACTIONS.resumeRelocations,
      target: 'relocations',
      before: { paused: wasPaused },
      after: { paused: false },
    });
  }
  return relocationsStatus(queue);
}

/** Who paused or resumed, recorded in the audit trail right after the change. */
export interface RelocationsAudit {
  db: Kysely<Database>;
  actor: string;
}

/** Our relocators name their worker `<host>:<pid>`; BullMQ puts it after `:w:` in the client name. */
function workerName(clientName: string, id: string): string {
  const marker = ':w:';
  const at = clientName.indexOf(marker);
  return at >= 0 ? clientName.slice(at + marker.length) : clientName || id;
}
