import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

/** The repository root, where `npm start` runs. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** A running `npm start` (see {@link npmStart}). */
export interface NpmStart {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output: () => string;
  /**
   * Settles when the whole process tree is gone: npm, its shell and the service all held the
   * output pipes, so they are closed only once the last of them exits (npm itself dies of
   * SIGINT at once, before the service has finished its graceful shutdown).
   */
  closed: Promise<void>;
  /** True until {@link NpmStart.closed} has settled. */
  running: () => boolean;
}

/** `npm start` in its own process group (so a signal reaches the whole tree, like Ctrl-C). */
export function npmStart(env: Record<string, string>): NpmStart {
  let output = '';
  const child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let running = true;
  const closed = new Promise<void>((resolve) => {
    const done = () => {
      running = false;
      resolve();
    };
    child.once('close', done);
    child.once('error', done);
  });
  return { child, output: () => output, closed, running: () => running };
}

/** Polls `fn` every 100 ms until it returns something other than `undefined`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The exit code of `child` (null when a signal ended it), once it has exited. */
export async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}
