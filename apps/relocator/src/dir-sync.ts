import { open } from 'node:fs/promises';

/** One directory's fsyncs: the one running, and the one queued behind it. */
interface DirState {
  running: Promise<void>;
  /** An fsync that starts when `running` ends; every caller since `running` started shares it. */
  queued: Promise<void> | null;
}

/**
 * Group fsync of directories. `sync(dir)` resolves once an fsync of `dir` that *started after the
 * call* has finished, so every change made to `dir` before the call is durable. Callers that ask
 * while an fsync of the same directory runs share one fsync queued behind it, instead of one each:
 * concurrent moves through one tier directory pay one journal commit per round, not one per move.
 * An fsync's error reaches every caller that shared it.
 */
export class DirectorySync {
  readonly #dirs = new Map<string, DirState>();
  #fsyncs = 0;

  /** fsync calls made so far (tests, diagnostics). */
  get fsyncs(): number {
    return this.#fsyncs;
  }

  sync(dir: string): Promise<void> {
    const state = this.#dirs.get(dir);
    if (state === undefined) return this.#start(dir);
    // The queued fsync has not started yet, so it covers this caller's changes too.
    if (state.queued !== null) return state.queued;
    const queued = state.running.then(
      () => this.#start(dir),
      () => this.#start(dir),
    );
    state.queued = queued;
    return queued;
  }

  #start(dir: string): Promise<void> {
    const running = this.#fsync(dir).finally(() => {
      const state = this.#dirs.get(dir);
      if (state?.running !== running) return;
      if (state.queued === null) this.#dirs.delete(dir);
    });
    const state = this.#dirs.get(dir);
    if (state === undefined) this.#dirs.set(dir, { running, queued: null });
    else {
      state.running = running;
      state.queued = null;
    }
    return running;
  }

  async #fsync(dir: string): Promise<void> {
    this.#fsyncs += 1;
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** The process's directory syncs: every move of this process shares them. */
export const directorySync = new DirectorySync();
