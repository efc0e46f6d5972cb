import {
  readRedisCondition,
  redisFaultOf,
  type RedisFault,
  type RedisConnection,
} from '@relocation/queue';
import type { Logger } from 'pino';
import type { RelocatorMetrics } from './metrics.ts';

/** What {@link RedisBackoff} pauses and resumes: the relocator's BullMQ worker. */
export interface PausableWorker {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): Promise<void>;
}

/** What {@link RedisBackoff} needs. */
export interface RedisBackoffDeps {
  /** A connection to ask `INFO` on (it writes nothing). */
  redis: RedisConnection;
  worker: PausableWorker;
  logger: Logger;
  metrics?: RelocatorMetrics;
  /** First wait before Redis is asked again, in milliseconds (1000); doubles up to `maxMs`. */
  minMs?: number;
  /** Longest wait between two checks, in milliseconds (10 000). */
  maxMs?: number;
}

/**
 * Backs the relocator off while Redis refuses writes (`OOM` at `maxmemory`, `READONLY` on a
 * replica after a failover): on the first such error it stops taking new jobs (the worker is
 * paused locally; other relocators do the same on their own errors), then asks Redis with `INFO`,
 * at growing intervals, whether it accepts writes again, and resumes. No job is failed for it:
 * BullMQ cannot record a state change while Redis refuses writes, so a job active at the time
 * keeps its attempts and is taken over (stalled) or retried once Redis is back; every step of a
 * move is safe to repeat. One warning when it starts, one line when it ends, a metric
 * (`relocator_redis_condition`) and the readiness answer in between.
 */
export class RedisBackoff {
  readonly #deps: RedisBackoffDeps;
  #fault: RedisFault | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(deps: RedisBackoffDeps) {
    this.#deps = deps;
  }

  /** The fault Redis is in now, as far as this process knows, or `null`. */
  get fault(): RedisFault | null {
    return this.#fault;
  }

  /**
   * Looks at an error of a job or of the worker: a Redis fault starts the back-off (once).
   * Returns true when it was one.
   */
  note(error: unknown): boolean {
    const fault = redisFaultOf(error);
    if (fault === null) return false;
    if (this.#fault !== null || this.#closed) return true;
    this.#fault = fault;
    this.#deps.metrics?.redisCondition.set({ condition: conditionLabel(fault) }, 1);
    this.#deps.logger.warn(
      { code: fault },
      fault === 'REDIS_FULL'
        ? 'Redis is full (maxmemory reached): taking no new jobs until it accepts writes again; raise maxmemory or free memory'
        : 'Redis is read-only (a replica): taking no new jobs until it accepts writes again; point REDIS_URL at the primary',
    );
    this.#deps.worker.pause(true).catch((pauseError: unknown) => {
      this.#deps.logger.debug({ err: pauseError }, 'pausing the worker failed');
    });
    this.#schedule(this.#deps.minMs ?? 1000);
    return true;
  }

  /** Stops checking (shutdown). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#check(delayMs), delayMs);
    this.#timer.unref();
  }

  async #check(lastDelayMs: number): Promise<void> {
    let writable = false;
    try {
      writable = (await readRedisCondition(this.#deps.redis)).kind === 'ok';
    } catch {
      writable = false; // unreachable: keep waiting; the connection retries by itself
    }
    if (this.#closed) return;
    if (!writable) {
      this.#schedule(Math.min(this.#deps.maxMs ?? 10_000, lastDelayMs * 2));
      return;
    }
    const fault = this.#fault;
    this.#fault = null;
    this.#timer = null;
    if (fault) this.#deps.metrics?.redisCondition.set({ condition: conditionLabel(fault) }, 0);
    this.#deps.logger.info({ code: fault }, 'Redis accepts writes again: taking jobs again');
    await this.#deps.worker.resume();
  }
}

function conditionLabel(fault: RedisFault): 'full' | 'readonly' {
  return fault === 'REDIS_FULL' ? 'full' : 'readonly';
}
