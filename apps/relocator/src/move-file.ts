import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import {
  copyFile,
  link,
  lstat,
  open,
  opendir,
  rename,
  rm,
  stat,
  statfs,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { directorySync } from './dir-sync.ts';
import { errnoCode, RelocationError } from './relocation-error.ts';
import { MAX_FILENAME_BYTES, TEMP_MARKER } from '@relocation/contract';
import { resolveInTier } from './tier-path.ts';

/**
 * Bytes read and written per step of a streamed copy (and of a checksum read); memory use stays
 * near two of these, whatever the file size. 256 KiB: two buffers stay in the CPU cache, which
 * measured about twice as fast as 1 MiB buffers from tmpfs to ext4 (bench/README.md, cross-fs).
 */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

/**
 * Most kernel copies (`copyFile`) one process runs at once. Each holds one thread of libuv's pool
 * (4 by default) for the whole file, so the others stay free for the small file-system calls
 * (stat, link, fsync) of the other moves; a copy beyond this many streams instead.
 */
export const MAX_KERNEL_COPIES = 2;

/**
 * Errors of a kernel copy that say the kernel cannot copy between these two files (no bytes are
 * lost or half-written: libuv removes what it created); the copy is then streamed.
 */
const KERNEL_COPY_UNAVAILABLE: ReadonlySet<string> = new Set([
  'ENOSYS',
  'EXDEV',
  'EINVAL',
  'EOPNOTSUPP',
  'ENOTSUP',
]);

/** Shortest time in milliseconds between two progress reports (except the last one). */
export const DEFAULT_PROGRESS_INTERVAL_MS = 250;

const TAG_MAX = 32;

/** Where a copy stands; `percent` is an integer 0–100. */
export interface MoveProgress {
  copiedBytes: number;
  totalBytes: number;
  percent: number;
}

/** What {@link moveFile} needs: two tier directories and the base name of the file to move. */
export interface MoveFileOptions {
  /** Absolute tier directory the file is in (or was in, before an interrupted move). */
  sourceDir: string;
  /**
   * Absolute tier directory the file goes to. It must exist: a move never creates a tier root
   * (a missing one is an unmounted disk, and writing there would write around it).
   */
  destDir: string;
  /** Plain base name, the same in both directories (see `filenameProblem`). */
  filename: string;
  /**
   * Tells this attempt's temporary copy apart from those of earlier attempts (e.g. the job id);
   * `[A-Za-z0-9_-]`, at most 32 characters are kept. A random suffix is always added.
   */
  attemptTag?: string;
  /** Also compare sha256 of the copy (hashed while copying) with the source read again. */
  verifyChecksum?: boolean;
  /**
   * Most bytes per second the copy reads; 0 or absent = unlimited. A limited copy is always
   * streamed (read and write loop); an unlimited one is a kernel copy (see `kernelCopy`).
   */
  bytesPerSecond?: number;
  /**
   * Copy an unthrottled file with the kernel (`copyFile`: `sendfile` from page cache to page
   * cache, no bytes through JavaScript) rather than the read/write loop. Default true; false
   * streams every copy. The kernel copy falls back to streaming when the kernel cannot copy
   * between the two files, and when {@link MAX_KERNEL_COPIES} already run.
   */
  kernelCopy?: boolean;
  /**
   * Called at most every `progressIntervalMs` (and at 0 % and 100 %) while a copy runs. A kernel
   * copy's progress is the size its temporary file has reached.
   */
  onProgress?: (progress: MoveProgress) => void;
  progressIntervalMs?: number;
  /**
   * Aborts a running copy: the call rejects with the signal's reason at once, the source stays
   * and the temporary file is removed (a kernel copy cannot be stopped inside the kernel, so its
   * temporary file is removed as soon as that copy returns; a stale one is also removed by the
   * next attempt).
   */
  signal?: AbortSignal;
  /** Bytes per read and write of a streamed copy, and per read of a checksum ({@link DEFAULT_CHUNK_BYTES}). */
  chunkBytes?: number;
  /**
   * Before a copy, check that the destination's file system has room for the file (`statfs`)
   * and throw `TIER_FULL` without writing a byte when it has not. Default true; a copy that
   * still meets `ENOSPC` (another writer filled the disk) is cleaned up the same way.
   */
  checkFreeSpace?: boolean;
}

/**
 * How the file got to its destination.
 * - `renamed`: one file system; hard-linked into place and unlinked from the source (no clobber).
 * - `copied`: across file systems; copied, flushed, verified, linked into place, source removed.
 * - `already-moved`: the source was gone and the destination present (an earlier attempt moved it).
 * - `duplicate-removed`: both were present and identical; the source copy was removed.
 */
export type MoveOutcome = 'renamed' | 'copied' | 'already-moved' | 'duplicate-removed';

/** The result of {@link moveFile}; `bytes` is the file's size, `durationMs` the whole call. */
export interface MoveFileResult {
  outcome: MoveOutcome;
  source: string;
  dest: string;
  bytes: number;
  durationMs: number;
  /** Temporary copies of earlier, interrupted attempts that were deleted first. */
  staleTempFilesRemoved: number;
  /**
   * For `copied`: how the bytes were copied, by the kernel (`copyFile`) or streamed through two
   * buffers (throttled, or the kernel could not copy these files).
   */
  copy?: 'kernel' | 'stream';
}

/**
 * Moves `filename` from `sourceDir` to `destDir` so that a crash at any instant leaves a state the
 * next call completes, and never overwrites or deletes the only copy of a file (I6).
 *
 * The call is idempotent. Source gone and destination present → `already-moved`; both present and
 * identical (same inode, or same size and sha256) → the source is removed; both present and
 * different → `FILE_COLLISION`, neither touched; neither present → `FILE_MISSING`. A name that
 * could escape its directory → `UNSAFE_FILENAME` before anything is touched.
 *
 * On one file system the file is hard-linked to the destination (`link` fails if the destination
 * exists: no clobber) and unlinked from the source. Across file systems (`EXDEV`) it is copied
 * (by the kernel, or streamed when throttled) to `.<filename>.relocating-<tag>` in the
 * destination directory, fsynced, checked for size (and
 * sha256 with `verifyChecksum`), linked into place, and only then is the source deleted; both
 * directories are fsynced after each change. Temporary files of earlier attempts for the same
 * file name are deleted before a copy starts and when an earlier move is found finished.
 */
export async function moveFile(options: MoveFileOptions): Promise<MoveFileResult> {
  const started = performance.now();
  const source = resolveInTier(options.sourceDir, options.filename);
  const dest = resolveInTier(options.destDir, options.filename);
  const sourceDir = path.dirname(source);
  const destDir = path.dirname(dest);
  let staleTempFilesRemoved = 0;
  const done = (
    outcome: MoveOutcome,
    bytes: number,
    copy?: MoveFileResult['copy'],
  ): MoveFileResult => ({
    outcome,
    source,
    dest,
    bytes,
    durationMs: Math.round(performance.now() - started),
    staleTempFilesRemoved,
    ...(copy === undefined ? {} : { copy }),
  });

  if (sourceDir === destDir) {
    const st = await statRegularFile(source);
    if (!st) throw missing(source, dest);
    return done('already-moved', st.size);
  }

  // A destination that appears between our checks and the no-clobber link sends us back here
  // once, to compare it with the source instead of overwriting it.
  for (let round = 0; ; round++) {
    const [src, dst] = await Promise.all([statRegularFile(source), statRegularFile(dest)]);
    if (!src && dst) {
      staleTempFilesRemoved += await removeStaleTempFiles(destDir, options.filename);
      return done('already-moved', dst.size);
    }
    if (!src) throw missing(source, dest);
    if (dst) {
      if (!(await sameContent(source, src, dest, dst))) {
        throw new RelocationError(
          'FILE_COLLISION',
          `${source} and ${dest} both exist and differ (${src.size} and ${dst.size} bytes); ` +
            'neither was touched: keep the right one and delete the other',
        );
      }
      // Crash window of an earlier attempt: the copy was in place, the source not yet deleted
      // (and perhaps its temporary name not yet removed).
      staleTempFilesRemoved += await removeStaleTempFiles(destDir, options.filename);
      await unlink(source);
      await fsyncDir(sourceDir);
      return done('duplicate-removed', dst.size);
    }
    if (round > 1) throw new Error(`destination ${dest} keeps appearing and vanishing; retrying`);

    const linked = await linkNoClobber(source, dest);
    if (linked === 'exists') continue;
    if (linked === 'linked' || linked === 'renamed') {
      await fsyncDir(destDir);
      // Crash here: both names point at one inode; the next attempt removes the source name.
      if (linked === 'linked') await unlink(source);
      await fsyncDir(sourceDir);
      return done('renamed', src.size);
    }

    staleTempFilesRemoved += await removeStaleTempFiles(destDir, options.filename);
    if (options.checkFreeSpace !== false) await assertRoomFor(destDir, src.size);
    const temp = path.join(destDir, tempPrefix(options.filename) + tempTag(options.attemptTag));
    const copy = await copyVerified(source, src, temp, options);
    let placed: boolean;
    try {
      const result = await linkNoClobber(temp, dest);
      if (result === 'copy-needed') throw new Error(`cannot link ${temp} to ${dest} (EXDEV)`);
      placed = result !== 'exists';
    } catch (error) {
      await discard(temp);
      throw error;
    }
    // Crash before this unlink leaves a stale temp file; the next copy into this directory
    // deletes it, and a finished move is recognised by the comparison above.
    await rm(temp, { force: true });
    if (!placed) continue;
    await fsyncDir(destDir);
    await unlinkKeepingPages(source);
    await fsyncDir(sourceDir);
    return done('copied', src.size, copy);
  }
}

/**
 * Unlinks `file` while a descriptor of it is open, then closes that descriptor without waiting.
 * Unlinking the last name of a big file frees all its pages or blocks before it returns (1 GiB on
 * tmpfs: 0.1–1.5 s of CPU on a busy 2-core machine); with a descriptor open the name goes at once
 * and the pages go at the close, after the move is done. The name's removal is what a crash
 * must see, and that is unchanged (the caller fsyncs the directory).
 */
async function unlinkKeepingPages(file: string): Promise<void> {
  const holder = await open(file, 'r').catch(() => null);
  try {
    await unlink(file);
  } finally {
    holder?.close().catch(() => undefined);
  }
}

/**
 * Deletes the temporary copies of `filename` that interrupted moves left in `dir`; returns how
 * many. Safe while no move of that file name runs (one move per cid at a time, I4).
 */
export async function removeStaleTempFiles(dir: string, filename: string): Promise<number> {
  const prefix = tempPrefix(filename);
  let removed = 0;
  let handle;
  try {
    handle = await opendir(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 0;
    throw error;
  }
  for await (const entry of handle) {
    if (entry.name.startsWith(prefix) && !entry.isDirectory()) {
      await rm(path.join(dir, entry.name), { force: true });
      removed++;
    }
  }
  return removed;
}

/**
 * The fixed beginning of every temporary copy of `filename`: `.<filename>.relocating-`, or a hash
 * of the name when that would not leave room for a tag within NAME_MAX.
 */
export function tempPrefix(filename: string): string {
  const plain = `.${filename}${TEMP_MARKER}`;
  if (Buffer.byteLength(plain) + TAG_MAX + 13 <= MAX_FILENAME_BYTES) return plain;
  const digest = createHash('sha256').update(filename).digest('hex').slice(0, 32);
  return `.${digest}${TEMP_MARKER}`;
}

function tempTag(attemptTag: string | undefined): string {
  const base = (attemptTag ?? '').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, TAG_MAX);
  const random = randomBytes(6).toString('hex');
  return base ? `${base}-${random}` : random;
}

/**
 * Throws `TIER_FULL` when the file system of `dir` has fewer than `bytes` (plus one block)
 * available to this process, so a copy that cannot fit never writes a partial file.
 */
async function assertRoomFor(dir: string, bytes: number): Promise<void> {
  const fs = await statfs(dir);
  const available = fs.bavail * fs.bsize;
  if (available < bytes + fs.bsize) {
    throw new RelocationError(
      'TIER_FULL',
      `${dir} has ${available} bytes free, the file needs ${bytes}; the move waits until space frees up`,
    );
  }
}

/** Removes a temporary copy on a failure path; never throws (the original error matters more). */
async function discard(temp: string): Promise<void> {
  await rm(temp, { force: true }).catch(() => undefined);
}

function missing(source: string, dest: string): RelocationError {
  return new RelocationError(
    'FILE_MISSING',
    `${source} is missing and ${dest} does not exist either; restore the file to ${source}`,
  );
}

/** lstat that answers `null` for a missing file and refuses anything but a regular file. */
async function statRegularFile(file: string): Promise<Stats | null> {
  let st: Stats;
  try {
    st = await lstat(file);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
  if (!st.isFile()) {
    const kind = st.isSymbolicLink()
      ? 'a symbolic link'
      : st.isDirectory()
        ? 'a directory'
        : 'not a regular file';
    throw new RelocationError(
      'NOT_A_FILE',
      `${file} is ${kind}; the relocator only moves regular files`,
    );
  }
  return st;
}

/**
 * Creates `to` as a hard link of `from` unless `to` exists (`from` keeps its name). `'copy-needed'`
 * when they are on different file systems; where hard links are not supported it renames after
 * checking `to` is absent (`'renamed'`: `from` is gone).
 */
async function linkNoClobber(
  from: string,
  to: string,
): Promise<'linked' | 'renamed' | 'exists' | 'copy-needed'> {
  try {
    await link(from, to);
    return 'linked';
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return 'exists';
    if (code === 'EXDEV') return 'copy-needed';
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') {
      throw error;
    }
  }
  // No hard links here (some network and FUSE file systems): rename, after checking the
  // destination is absent right before. The window between the two is the only clobber risk,
  // and I4 keeps every other mover of this file away.
  if (await statRegularFile(to)) return 'exists';
  try {
    await rename(from, to);
  } catch (error) {
    if (errnoCode(error) === 'EXDEV') return 'copy-needed';
    throw error;
  }
  return 'renamed';
}

/** sha256 of the copy and of the source, when the move verifies checksums. */
interface Digests {
  copiedDigest: string | null;
  sourceDigest: string | null;
}

let kernelCopiesRunning = 0;

/**
 * Copies `source` to a new file `temp` (exclusive create), fsyncs it and verifies it (size, and
 * sha256 with `verifyChecksum`). An unthrottled copy is a kernel copy ({@link kernelCopy}); a
 * throttled one, one the kernel cannot do, or one beyond {@link MAX_KERNEL_COPIES} is streamed
 * ({@link streamCopy}). Either way it is abortable, reports progress, and removes `temp` on
 * every failure.
 */
async function copyVerified(
  source: string,
  src: Stats,
  temp: string,
  options: MoveFileOptions,
): Promise<'kernel' | 'stream'> {
  const total = src.size;
  const interval = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  options.signal?.throwIfAborted();
  const report = progressReporter(total, interval, options.onProgress);

  let digests: Digests | null = null;
  const throttled = (options.bytesPerSecond ?? 0) > 0;
  if (!throttled && options.kernelCopy !== false && kernelCopiesRunning < MAX_KERNEL_COPIES) {
    digests = await kernelCopy(source, temp, options, report);
  }
  const copy = digests ? 'kernel' : 'stream';
  digests ??= await streamCopy(source, src, temp, options, report);
  await verifyCopy(source, src, temp, digests);
  report(total, true);
  return copy;
}

/**
 * The kernel copy: `copyFile` with `COPYFILE_EXCL` (libuv tries `copy_file_range`, which Linux
 * refuses between file systems of different types since 5.19, then `sendfile` of the whole file;
 * both move pages inside the kernel), then an fsync. With `verifyChecksum` the source is hashed
 * while the kernel copies (two cores at work) and the copy while it is flushed. Progress is
 * polled from the temporary file's size. `null` when the kernel cannot copy these files (nothing
 * is left behind; the caller streams instead).
 */
async function kernelCopy(
  source: string,
  temp: string,
  options: MoveFileOptions,
  report: (copied: number, force: boolean) => void,
): Promise<Digests | null> {
  const signal = options.signal;
  const chunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  // Opened first so that a source that cannot be read fails as before, naming the source alone
  // (copyFile's errors name both paths, and a fault is placed on the tier of the second).
  kernelCopiesRunning++;
  try {
    await (await open(source, 'r')).close();
  } catch (error) {
    kernelCopiesRunning--;
    throw error;
  }
  const copying = copyFile(source, temp, fsConstants.COPYFILE_EXCL).finally(() => {
    kernelCopiesRunning--;
  });
  // Settles after the copy, whatever happens here; libuv removes `temp` when the copy fails.
  const copied = copying.then(
    () => true,
    () => false,
  );
  const poll = pollFileSize(
    temp,
    options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
    (size) => report(size, false),
  );
  try {
    report(0, true);
    const hashing = options.verifyChecksum ? sha256File(source, chunk, signal) : null;
    hashing?.catch(() => undefined);
    await untilAborted(copying, signal);
    poll.stop();
    const output = await open(temp, 'r');
    // The handle closes when the flush ends (a close waits for it anyway); an abort need not.
    const flushed = Promise.all([
      output.sync(),
      options.verifyChecksum ? sha256File(temp, chunk, signal) : null,
    ]).finally(() => output.close());
    flushed.catch(() => undefined);
    const [, copiedDigest] = await untilAborted(flushed, signal);
    return { copiedDigest, sourceDigest: hashing ? await hashing : null };
  } catch (error) {
    poll.stop();
    const removed = copied.then(() => discard(temp));
    if (signal?.aborted) {
      // The kernel copy runs on to its end; its file goes when it returns (or with the next
      // attempt's stale-file sweep, should the process exit first).
      removed.catch(() => undefined);
      throw error;
    }
    await removed;
    if (!(await copied) && KERNEL_COPY_UNAVAILABLE.has(errnoCode(error) ?? '')) return null;
    throw error;
  }
}

/** Rejects with the signal's reason as soon as it aborts, or settles as `promise` does. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error('aborted', { cause: reason }));
    };
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise
      .then(resolve, reject)
      .finally(() => {
        signal.removeEventListener('abort', onAbort);
      })
      .catch(() => undefined);
  });
}

/**
 * Calls `onSize` with the size of `file` every `intervalMs` (one `stat` at a time, none after
 * `stop`); a missing file is skipped.
 */
function pollFileSize(
  file: string,
  intervalMs: number,
  onSize: (size: number) => void,
): { stop: () => void } {
  let stopped = false;
  let pending = false;
  const timer = setInterval(
    () => {
      if (pending) return;
      pending = true;
      stat(file)
        .then(
          (st) => {
            if (!stopped) onSize(st.size);
          },
          () => undefined,
        )
        .finally(() => {
          pending = false;
        })
        .catch(() => undefined);
    },
    Math.max(1, intervalMs),
  );
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * The streamed copy, through two reused buffers: the next chunk is read while the last one is
 * written, so memory stays at two chunks whatever the size; hashing while copying when asked,
 * throttled when asked, abortable at any chunk; then fsynced while the source is read again for
 * its checksum.
 */
async function streamCopy(
  source: string,
  src: Stats,
  temp: string,
  options: MoveFileOptions,
  report: (copied: number, force: boolean) => void,
): Promise<Digests> {
  const bps = options.bytesPerSecond ?? 0;
  const baseChunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const chunk =
    bps > 0 ? Math.max(64 * 1024, Math.min(baseChunk, Math.floor(bps / 20))) : baseChunk;
  const hash = options.verifyChecksum ? createHash('sha256') : null;
  const signal = options.signal;

  const input = await open(source, 'r');
  let output;
  try {
    output = await open(temp, 'wx', src.mode & 0o777);
  } catch (error) {
    await input.close();
    // `wx` may have created the file before failing (e.g. EIO); never leave it behind.
    await discard(temp);
    throw error;
  }
  let copied = 0;
  let reading: Promise<unknown> = Promise.resolve();
  let writing: Promise<void> = Promise.resolve();
  let sourceDigest: string | null = null;
  try {
    report(0, true);
    const started = performance.now();
    const buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
    let current: 0 | 1 = 0;
    let nextRead = input.read(buffers[0], 0, chunk, 0);
    reading = nextRead;
    for (;;) {
      const { bytesRead } = await nextRead;
      // The other buffer is free once its write is done; only then may the next read fill it.
      await writing;
      if (bytesRead === 0) break;
      const data = buffers[current].subarray(0, bytesRead);
      copied += bytesRead;
      current = current === 0 ? 1 : 0;
      nextRead = input.read(buffers[current], 0, chunk, copied);
      writing = writeAll(output, data);
      // Both run while this loop awaits the other (or sleeps): each gets a handler now, so a
      // write that fails (ENOSPC) while the read is awaited is never an unhandled rejection.
      // Each is still awaited above, which is where its error is thrown.
      reading = nextRead;
      nextRead.catch(() => undefined);
      writing.catch(() => undefined);
      hash?.update(data);
      report(copied, false);
      signal?.throwIfAborted();
      if (bps > 0) {
        const ahead = (copied / bps) * 1000 - (performance.now() - started);
        if (ahead > 1) await sleep(ahead, undefined, { signal });
      }
    }
    // The source is read again while the copy is flushed: the disk and the hash work at once.
    const [, digest] = await Promise.all([
      output.sync(),
      hash ? sha256File(source, chunk, signal) : null,
    ]);
    sourceDigest = digest;
  } catch (error) {
    // Let the read and write in flight settle before their handles close under them.
    await Promise.allSettled([reading, writing]);
    await Promise.allSettled([input.close(), output.close()]);
    await discard(temp);
    throw error;
  }
  await Promise.all([input.close(), output.close()]);
  if (copied !== src.size) {
    await discard(temp);
    throw sourceChanged(source, src.size, copied);
  }
  return { copiedDigest: hash ? hash.digest('hex') : null, sourceDigest };
}

/** Writes all of `data` at the file's current position. */
async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

function sourceChanged(source: string, total: number, now: number | string): RelocationError {
  return new RelocationError(
    'SOURCE_CHANGED',
    `${source} changed while it was copied (${total} → ${now} bytes); the copy was discarded`,
  );
}

/**
 * Checks a finished copy before it may replace the source: the source did not change while it
 * was copied, the copy has its size, and (when digests are given) the same sha256. Removes the
 * copy and throws `SOURCE_CHANGED` or `VERIFY_FAILED` otherwise.
 */
async function verifyCopy(
  source: string,
  src: Stats,
  temp: string,
  digests: Digests,
): Promise<void> {
  const total = src.size;
  try {
    const after = await statRegularFile(source);
    const written = await lstat(temp);
    if (!after || after.size !== total || after.mtimeMs !== src.mtimeMs) {
      throw sourceChanged(source, total, after?.size ?? 'gone');
    }
    if (written.size !== total) {
      throw new RelocationError(
        'VERIFY_FAILED',
        `copy ${temp} has ${written.size} bytes, source ${source} has ${total}; the copy was discarded`,
      );
    }
    if (digests.copiedDigest !== digests.sourceDigest) {
      throw new RelocationError(
        'VERIFY_FAILED',
        `sha256 of the copy of ${source} (${digests.copiedDigest}) differs from the source (${digests.sourceDigest}); the copy was discarded`,
      );
    }
  } catch (error) {
    await discard(temp);
    throw error;
  }
}

/** Calls `onProgress` on integer-percent changes at most every `intervalMs`, and when forced. */
function progressReporter(
  total: number,
  intervalMs: number,
  onProgress: MoveFileOptions['onProgress'],
): (copied: number, force: boolean) => void {
  let lastPercent = -1;
  let lastAt = 0;
  return (copied, force) => {
    if (!onProgress) return;
    const percent = total === 0 ? 100 : Math.min(100, Math.floor((copied / total) * 100));
    const now = performance.now();
    if (!force && (percent === lastPercent || now - lastAt < intervalMs)) return;
    lastPercent = percent;
    lastAt = now;
    onProgress({ copiedBytes: copied, totalBytes: total, percent });
  };
}

/** True when two regular files hold the same bytes: one inode, or equal size and sha256. */
async function sameContent(a: string, aStat: Stats, b: string, bStat: Stats): Promise<boolean> {
  if (aStat.dev === bStat.dev && aStat.ino === bStat.ino) return true;
  if (aStat.size !== bStat.size) return false;
  const [ha, hb] = await Promise.all([sha256File(a), sha256File(b)]);
  return ha === hb;
}

/**
 * sha256 of a file, read through two reused buffers of `chunkBytes` (the next chunk is read while
 * the last one is hashed), so memory stays flat whatever the size; abortable at any chunk.
 */
export async function sha256File(
  file: string,
  chunkBytes = DEFAULT_CHUNK_BYTES,
  signal?: AbortSignal,
): Promise<string> {
  signal?.throwIfAborted();
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  const buffers: [Buffer, Buffer] = [
    Buffer.allocUnsafe(chunkBytes),
    Buffer.allocUnsafe(chunkBytes),
  ];
  let current: 0 | 1 = 0;
  let position = 0;
  let next = handle.read(buffers[0], 0, chunkBytes, 0);
  try {
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const data = buffers[current].subarray(0, bytesRead);
      position += bytesRead;
      current = current === 0 ? 1 : 0;
      next = handle.read(buffers[current], 0, chunkBytes, position);
      // Awaited above on the next turn, or settled below when this one throws.
      next.catch(() => undefined);
      hash.update(data);
      signal?.throwIfAborted();
    }
  } finally {
    // A read still in flight must end before its handle closes.
    await next.then(
      () => undefined,
      () => undefined,
    );
    await handle.close();
  }
  return hash.digest('hex');
}

/** Flushes a directory's entries (a new or removed name) to disk; concurrent moves share fsyncs. */
function fsyncDir(dir: string): Promise<void> {
  return directorySync.sync(dir);
}
