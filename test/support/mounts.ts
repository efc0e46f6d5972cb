import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Why this process cannot mount file systems (not root, or `mount` refused), or `null` when it
 * can: the storage-fault tests mount small tmpfs file systems for real disk-full, read-only and
 * unmounted-disk faults, and skip with this line where that is not allowed.
 */
export async function cannotMount(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not root: mounting test file systems needs root';
  const probe = path.join(os.tmpdir(), `reloc-mount-probe-${process.pid}`);
  await mkdir(probe, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]);
    await run('umount', [probe]);
    return null;
  } catch (error) {
    return `mount is not allowed here: ${(error as Error).message.split('\n')[0] ?? ''}`;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `sizeMiB` MiB on `dir` (a disk full at that size). */
export async function mountTmpfs(dir: string, sizeMiB: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
}

/** Changes the options of the file system mounted on `dir` (`ro`, `rw`, `size=32m`, …). */
export async function remount(dir: string, options: string): Promise<void> {
  await run('mount', ['-o', `remount,${options}`, dir]);
}

/** Makes `source` appear at `dir` too (a disk mounted at its mount point). */
export async function bindMount(source: string, dir: string): Promise<void> {
  await run('mount', ['--bind', source, dir]);
}

/** Unmounts `dir`; quietly does nothing when nothing is mounted there. */
export async function unmount(dir: string): Promise<void> {
  await run('umount', [dir]).catch(() => undefined);
}
