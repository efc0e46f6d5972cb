import {
  commitRelocation,
  commitRelocations,
  type CommitResult,
  type Database,
  type RelocationCommit,
} from '@relocation/db';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RelocatorMetrics } from './metrics.ts';

/** Default longest milliseconds a finished move waits for others to share its commit. */
export const DEFAULT_COMMIT_GROUP_MS = 2;

/** Default most moves committed in one MySQL transaction. */
export const DEFAULT_COMMIT_GROUP_MAX = 32;

/** How moves are grouped; see the settings table in the README. */
export interface CommitBatcherOptions {
  /** Longest milliseconds a move waits for others to join its group; 0 = every move alone. */
  windowMs: number;
  /** Most moves in one group (one transaction); 1 = every move alone. */
  maxMoves: number;
}

/** What {@link CommitBatcher} needs. */
export interface CommitBatcherDeps {
  db: Kysely<Database>;
  logger: Logger;
  metrics?: RelocatorMetrics | undefined;
  /**
   * How many moves may still ask to commit now (the jobs running in this process): a group is
   * written as soon as every one of them waits in it, so a lone job never waits for the window.
   */
  inFlight?: () => number;
}

interface Waiting {
  move: RelocationCommit;
  resolve: (result: CommitResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of finished moves: collects the commits of moves that finish within
 * `windowMs` (or until `maxMoves`, or until every running job waits, or until the group being
 * written ends) and writes them with {@link commitRelocations} in one MySQL transaction; each
 * caller gets its own move's outcome.
 *
 * A group whose transaction fails as a whole (deadlock, lost connection) is committed again one
 * move at a time, each caller getting its own result or error. That is safe whatever the first
 * try did: a move already written answers `already-committed`, never a second history row (I3).
 * The files are in place before a move asks to commit and its pending move stays in the journal
 * until the caller settles it, so a crash while moves wait here loses nothing: the next attempt
 * of each job finds its pending move and commits it.
 */
export class CommitBatcher {
  readonly #deps: CommitBatcherDeps;
  readonly #options: CommitBatcherOptions;
  #waiting: Waiting[] = [];
  #timer: NodeJS.Timeout | null = null;
  /** Moves whose group is being written now (they cannot join another). */
  #writing = 0;
  readonly #flushes = new Set<Promise<void>>();
  /** Groups written and groups that fell back to one move at a time (tests, logs). */
  readonly stats = { groups: 0, moves: 0, fallbacks: 0 };

  constructor(deps: CommitBatcherDeps, options: CommitBatcherOptions) {
    this.#deps = deps;
    this.#options = {
      windowMs: Math.max(0, options.windowMs),
      maxMoves: Math.max(1, Math.floor(options.maxMoves)),
    };
  }

  /** Commits `move`, alone or in a group; resolves with its own outcome. */
  commit(move: RelocationCommit): Promise<CommitResult> {
    return new Promise<CommitResult>((resolve, reject) => {
      this.#waiting.push({ move, resolve, reject });
      const { windowMs, maxMoves } = this.#options;
      const waiting = this.#waiting.length;
      const couldJoin = (this.#deps.inFlight?.() ?? Number.POSITIVE_INFINITY) - this.#writing;
      // While a group is being written the next one fills up, and is written when that one ends
      // (or when its window closes, so a slow group never holds the next one for long).
      const idle = this.#writing === 0;
      if (windowMs === 0 || waiting >= maxMoves || (idle && waiting >= couldJoin)) {
        this.#flush();
      } else {
        this.#timer ??= setTimeout(() => this.#flush(), windowMs);
      }
    });
  }

  /** Writes every waiting move now and resolves once every group under way is written. */
  async drain(): Promise<void> {
    while (this.#waiting.length > 0) this.#flush();
    await Promise.allSettled([...this.#flushes]);
  }

  #flush(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    while (this.#waiting.length > 0) {
      const group = this.#waiting.splice(0, this.#options.maxMoves);
      const written = this.#write(group).finally(() => this.#flushes.delete(written));
      this.#flushes.add(written);
    }
  }

  async #write(group: Waiting[]): Promise<void> {
    this.#writing += group.length;
    try {
      let results: CommitResult[];
      try {
        results = await commitRelocations(
          this.#deps.db,
          group.map((w) => w.move),
        );
      } catch (error) {
        if (group.length === 1) {
          group[0]?.reject(error);
          return;
        }
        this.stats.fallbacks++;
        this.#deps.metrics?.commitGroupFallbacks.inc();
        this.#deps.logger.warn(
          { err: error, moves: group.length },
          'group commit failed; committing its moves one at a time',
        );
        // One at a time, in the group's order: each job gets its own result or its own error.
        for (const w of group) {
          await commitRelocation(this.#deps.db, w.move).then(w.resolve, w.reject);
        }
        return;
      }
      this.stats.groups++;
      this.stats.moves += group.length;
      this.#deps.metrics?.commitGroupSize.observe(group.length);
      group.forEach((w, i) => {
        const result = results[i];
        if (result) w.resolve(result);
        else w.reject(new Error(`group commit answered no result for content ${w.move.cid}`));
      });
    } finally {
      this.#writing -= group.length;
      if (this.#writing === 0 && this.#waiting.length > 0) this.#flush();
    }
  }
}
