import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench directory (where `servers/` lives). */
export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The repository root; children run from here so `--import tsx` and workspaces resolve. */
export const REPO_ROOT = path.resolve(BENCH_DIR, '..');

/** Where `--cpu-prof` writes the children's profiles. */
export const PROFILE_DIR = path.join(BENCH_DIR, 'profiles');

/** A message from a child: `ready` once, then one `reply` per call. */
export type ChildMessage =
  | { type: 'ready'; data: Record<string, unknown> }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

/** A server (or worker) running in a child process, talking to the bench over IPC. */
export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  /** What the child sent with `ready` (e.g. its URL). */
  readonly ready: Record<string, unknown>;
  /** Calls a handler the child registered; rejects with the child's error message. */
  call<T>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines the child wrote (stdout and stderr go to its log file). */
  tail(lines?: number): string;
}

/** What {@link startChild} needs. */
export interface StartChildOptions {
  name: string;
  /** Script under bench/servers, e.g. `gateway.ts`. */
  script: string;
  env: Record<string, string>;
  /** File that receives the child's stdout and stderr. */
  logFile: string;
  cpuProf?: boolean;
  readyTimeoutMs?: number;
}

function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && 'type' in value;
}

/**
 * Starts `node --import tsx bench/servers/<script>` with an IPC channel and waits for its
 * `ready` message. The child exits by itself when the bench goes away (IPC disconnect).
 */
export async function startChild(options: StartChildOptions): Promise<ChildHandle> {
  const args = ['--import', 'tsx'];
  if (options.cpuProf) {
    // One folder per child: the main thread and tsx's loader thread each write a profile there
    // (the main thread's is the big one).
    args.push(
      '--cpu-prof',
      `--cpu-prof-dir=${path.join(PROFILE_DIR, `${options.name}-${Date.now()}`)}`,
    );
  }
  args.push(path.join(BENCH_DIR, 'servers', options.script));
  const log = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', log, log, 'ipc'],
    });
  } finally {
    closeSync(log);
  }
  const pid = child.pid ?? -1;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const waiter of pending.values()) {
        waiter.reject(new Error(`${options.name} exited (${signal ?? code}) during a call`));
      }
      pending.clear();
      resolve();
    });
  });
  const tail = (lines = 20): string => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${options.name} did not get ready in time:\n${tail()}`));
    }, options.readyTimeoutMs ?? 30_000);
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.data);
        return;
      }
      const waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(`${options.name}: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`${options.name} exited (${signal ?? code}) before it was ready:\n${tail()}`),
      );
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });

  return {
    name: options.name,
    pid,
    ready,
    tail,
    call<T>(method: string, params?: unknown, timeoutMs = 300_000): Promise<T> {
      if (exited) return Promise.reject(new Error(`${options.name} has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${options.name}: ${method} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ type: 'call', id, method, params });
      });
    },
    async stop(graceMs = 10_000): Promise<void> {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
