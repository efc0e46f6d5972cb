import { checkTier, type TierCheck } from '@relocation/contract';
import type { ContentCache, TierStatus } from '@relocation/queue';
import type { Level } from '@relocation/tiering';
import type { Logger } from 'pino';
import type { RelocatorMetrics } from './metrics.ts';
import { storageFaultOf, type StorageFault } from './relocation-error.ts';

/** Milliseconds a tier found usable is trusted before its directory and marker are checked again. */
export const DEFAULT_TIER_RECHECK_MS = 5000;

/** Milliseconds a tier found unusable is trusted before it is checked again. */
const FAILED_RECHECK_MS = 1000;

/** What {@link TierGuard} needs. */
export interface TierGuardDeps {
  /** The database's identity (`deployment.id`), which every tier marker must name. */
  deployment: () => Promise<string>;
  logger: Logger;
  /** Where tier states are published for the gateway (`GET /v1/levels`); best effort. */
  cache?: ContentCache;
  metrics?: RelocatorMetrics;
  /** Milliseconds between two checks of a usable tier ({@link DEFAULT_TIER_RECHECK_MS}). */
  recheckMs?: number;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

interface TierState {
  path: string;
  check: TierCheck;
  checkedAt: number;
  lastFault: { code: string; message: string; at: number } | null;
  /** The last fault is current: no move has used the tier since it. */
  faulted: boolean;
}

/** A tier that cannot be used now, as readiness reports it. */
export interface UnavailableTier {
  level: string;
  path: string;
  code: string;
  message: string;
}

/**
 * Proves, before a move touches a tier, that the tier's directory is its disk: the directory
 * exists and holds the tier marker naming this level and this database (`@relocation/contract`).
 * A missing directory (an unmounted disk), a missing marker (an empty mount point) or the marker
 * of another level or database is a `TIER_UNAVAILABLE` fault: moves into and out of the tier
 * wait, and nothing is ever written around the disk. Results are cached (usable tiers for
 * `recheckMs`, unusable ones for a second) and dropped when a move meets a storage fault there.
 *
 * It also keeps each tier's last storage fault, publishes every state change to Redis and the
 * `relocator_tier_up` / `relocator_tier_faults_total` metrics, and logs each change once.
 */
export class TierGuard {
  readonly #deps: TierGuardDeps;
  readonly #states = new Map<string, TierState>();
  readonly #now: () => number;
  readonly #recheckMs: number;

  constructor(deps: TierGuardDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#recheckMs = deps.recheckMs ?? DEFAULT_TIER_RECHECK_MS;
  }

  /** The fault that keeps a move from using `level`'s directory now, or `null` when it is usable. */
  async check(level: Level): Promise<StorageFault | null> {
    const at = this.#now();
    const state = this.#states.get(level.name);
    const fresh =
      state !== undefined &&
      state.path === level.path &&
      at - state.checkedAt < (state.check.ok ? this.#recheckMs : FAILED_RECHECK_MS);
    const check = fresh ? state.check : await this.#refresh(level, at);
    return check.ok ? null : faultOf(check);
  }

  /** Checks every level now (the relocator does it on a timer, so readiness is current). */
  async checkAll(levels: readonly Level[]): Promise<void> {
    const at = this.#now();
    await Promise.all(levels.map((level) => this.#refresh(level, at)));
    for (const name of this.#states.keys()) {
      if (!levels.some((l) => l.name === name)) this.#states.delete(name);
    }
  }

  /**
   * Records a storage fault a move met on `level` (counted, published, shown by readiness for
   * a while) and makes the next {@link check} look at the directory again.
   */
  noteFault(level: Level, fault: StorageFault): void {
    const at = this.#now();
    const state = this.#states.get(level.name);
    const lastFault = { code: fault.code, message: fault.message, at };
    this.#deps.metrics?.tierFaults.inc({ level: level.name, code: fault.code });
    if (state) {
      state.lastFault = lastFault;
      state.faulted = true;
      state.checkedAt = 0;
      this.#publish(level.name, state);
    }
  }

  /** Records that a move used `level`'s directory successfully: its last fault is over. */
  noteSuccess(level: Level): void {
    const state = this.#states.get(level.name);
    if (state?.faulted) {
      state.faulted = false;
      this.#deps.logger.info({ tier: level.name }, 'moves succeed on the tier again');
    }
  }

  /**
   * Tiers that cannot be used now: a failed check, or a storage fault in the last minute that no
   * successful move has ended.
   */
  unavailable(): UnavailableTier[] {
    const at = this.#now();
    const out: UnavailableTier[] = [];
    for (const [name, state] of this.#states) {
      if (!state.check.ok) {
        const fault = faultOf(state.check);
        out.push({ level: name, path: state.path, code: fault.code, message: fault.message });
      } else if (state.faulted && state.lastFault && at - state.lastFault.at < 60_000) {
        out.push({ level: name, path: state.path, ...state.lastFault });
      }
    }
    return out;
  }

  async #refresh(level: Level, at: number): Promise<TierCheck> {
    let check: TierCheck;
    try {
      check = await checkTier(level.path, {
        level: level.name,
        deployment: await this.#deps.deployment(),
      });
    } catch (error) {
      // The database's identity cannot be read (MySQL down): the marker cannot be proven.
      check = {
        ok: false,
        problem: 'unreadable',
        message: `tier directory ${level.path} of level "${level.name}" cannot be checked: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    const previous = this.#states.get(level.name);
    const state: TierState = {
      path: level.path,
      check,
      checkedAt: at,
      lastFault: previous?.lastFault ?? null,
      faulted: previous?.faulted ?? false,
    };
    this.#states.set(level.name, state);
    this.#deps.metrics?.tierUp.set({ level: level.name }, check.ok ? 1 : 0);
    const changed =
      previous === undefined ||
      previous.check.ok !== check.ok ||
      previous.path !== level.path ||
      (!check.ok && !previous.check.ok && previous.check.message !== check.message);
    if (changed) {
      if (check.ok) {
        if (previous && !previous.check.ok) {
          this.#deps.logger.info({ tier: level.name, path: level.path }, 'tier is usable again');
        }
      } else {
        this.#deps.logger.warn(
          { tier: level.name, path: level.path, problem: check.problem },
          `tier unavailable: ${check.message}; moves into and out of it wait`,
        );
      }
      this.#publish(level.name, state);
    }
    return check;
  }

  #publish(name: string, state: TierState): void {
    const cache = this.#deps.cache;
    if (!cache) return;
    const fault = state.check.ok ? null : faultOf(state.check);
    const status: TierStatus = {
      ok: state.check.ok,
      code: fault?.code ?? null,
      message: fault?.message ?? null,
      checkedAt: state.checkedAt,
      lastFault: state.lastFault,
    };
    cache.setTierStatus(name, status).catch((error: unknown) => {
      this.#deps.logger.debug({ err: error, tier: name }, 'could not publish the tier state');
    });
  }
}

/** The storage fault a failed check is: the errno's fault when the disk refused, else unavailable. */
function faultOf(check: Extract<TierCheck, { ok: false }>): StorageFault {
  if (check.errno !== undefined) {
    const byErrno = storageFaultOf(Object.assign(new Error(check.message), { code: check.errno }));
    if (byErrno) return { ...byErrno, message: `${byErrno.code}: ${check.message}` };
  }
  return { code: 'TIER_UNAVAILABLE', message: `TIER_UNAVAILABLE: ${check.message}` };
}
