import { appendFileSync, writeFileSync } from 'node:fs';
import { link, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  RelocationError,
  errnoCode,
  moveFile,
  storageFaultOf,
  sha256File,
  tempPrefix,
  type MoveProgress,
} from '@relocation/relocator';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cannotMount, mountTmpfs, unmount } from '../support/mounts.ts';
import {
  createScratch,
  crossesFilesystems,
  list,
  writeSeededFile,
  type Scratch,
} from './support.ts';

let scratch: Scratch;
let n = 0;
/** Fresh directories for one test: `disk/a`, `disk/b` (one file system) and `shm/c` (another). */
let dirs: { a: string; b: string; c: string; outsideDisk: string; outsideShm: string };

beforeAll(async () => {
  scratch = await createScratch();
});
afterAll(async () => {
  await scratch.cleanup();
});
beforeEach(async () => {
  n++;
  const diskRoot = path.join(scratch.disk, `t${n}`);
  const shmRoot = path.join(scratch.shm, `t${n}`);
  dirs = {
    a: path.join(diskRoot, 'tiers', 'a'),
    b: path.join(diskRoot, 'tiers', 'b'),
    c: path.join(shmRoot, 'tiers', 'c'),
    outsideDisk: diskRoot,
    outsideShm: shmRoot,
  };
  for (const dir of [dirs.a, dirs.b, dirs.c]) await mkdir(dir, { recursive: true });
});
afterEach(() => {
  expect(crossesFilesystems(dirs.a, dirs.c)).toBe(true);
});

async function errorOf(promise: Promise<unknown>): Promise<RelocationError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof RelocationError))
    throw new Error(`expected a RelocationError, got ${String(error)}`);
  return error;
}

describe('moveFile on one file system', () => {
  it('renames the file (same inode) and leaves no temporary file', async () => {
    await writeFile(path.join(dirs.a, 'x.mp4'), 'video bytes');
    const before = await stat(path.join(dirs.a, 'x.mp4'));
    const result = await moveFile({ sourceDir: dirs.a, destDir: dirs.b, filename: 'x.mp4' });
    expect(result).toMatchObject({
      outcome: 'renamed',
      bytes: 11,
      source: path.join(dirs.a, 'x.mp4'),
      dest: path.join(dirs.b, 'x.mp4'),
    });
    expect((await stat(path.join(dirs.b, 'x.mp4'))).ino).toBe(before.ino);
    expect(await list(dirs.a)).toEqual([]);
    expect(await list(dirs.b)).toEqual(['x.mp4']);
  });

  it('never creates a missing destination tier directory (an unmounted disk is not written around)', async () => {
    await writeFile(path.join(dirs.a, 'x.mp4'), 'v');
    const dest = path.join(dirs.outsideDisk, 'tiers', 'new-tier');
    await expect(moveFile({ sourceDir: dirs.a, destDir: dest, filename: 'x.mp4' })).rejects.toThrow(
      /ENOENT/,
    );
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
    expect(await list(dirs.a)).toEqual(['x.mp4']);
  });

  it('finishes a move that crashed between link and unlink (one inode, two names)', async () => {
    await writeFile(path.join(dirs.a, 'x.mp4'), 'same inode');
    await link(path.join(dirs.a, 'x.mp4'), path.join(dirs.b, 'x.mp4'));
    const result = await moveFile({ sourceDir: dirs.a, destDir: dirs.b, filename: 'x.mp4' });
    expect(result.outcome).toBe('duplicate-removed');
    expect(await list(dirs.a)).toEqual([]);
    expect(await readFile(path.join(dirs.b, 'x.mp4'), 'utf8')).toBe('same inode');
  });
});

describe('moveFile across file systems', () => {
  it('copies 300 MB byte for byte by the kernel with flat memory, reports progress, then removes the source', async () => {
    const size = 300 * 1024 * 1024;
    const source = path.join(dirs.a, 'big.mp4');
    const digest = await writeSeededFile(source, size, 'big-300');
    const progress: MoveProgress[] = [];
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const result = await moveFile({
      sourceDir: dirs.a,
      destDir: dirs.c,
      filename: 'big.mp4',
      attemptTag: 'j1',
      progressIntervalMs: 20,
      onProgress: (p) => {
        progress.push(p);
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      },
    });
    expect(result).toMatchObject({ outcome: 'copied', bytes: size, copy: 'kernel' });
    expect(await list(dirs.a)).toEqual([]);
    expect(await list(dirs.c)).toEqual(['big.mp4']);
    expect((await stat(path.join(dirs.c, 'big.mp4'))).size).toBe(size);
    expect(await sha256File(path.join(dirs.c, 'big.mp4'))).toBe(digest);

    // 0 % when the copy starts, the copy's size as it grows (as often as the kernel is slow
    // enough to be seen), 100 % when verified.
    expect(progress[0]).toMatchObject({ copiedBytes: 0, percent: 0, totalBytes: size });
    expect(progress.at(-1)).toMatchObject({ copiedBytes: size, percent: 100 });
    const percents = progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((x, y) => x - y));
    // Memory stays flat: far below the file's size (no bytes pass through JavaScript).
    expect(rssPeak - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('streams 64 MB through two small buffers with flat memory and progress along the way when the kernel copy is off', async () => {
    const size = 64 * 1024 * 1024;
    const digest = await writeSeededFile(path.join(dirs.c, 's.mp4'), size, 'stream-64');
    const progress: MoveProgress[] = [];
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const result = await moveFile({
      sourceDir: dirs.c,
      destDir: dirs.a,
      filename: 's.mp4',
      kernelCopy: false,
      progressIntervalMs: 0,
      onProgress: (p) => {
        progress.push(p);
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      },
    });
    expect(result).toMatchObject({ outcome: 'copied', bytes: size, copy: 'stream' });
    expect(await list(dirs.c)).toEqual([]);
    expect(await sha256File(path.join(dirs.a, 's.mp4'))).toBe(digest);
    // Every percent is reported, in order (interval 0): the loop reports per chunk (and 100 % once
    // more when the copy is verified).
    expect([...new Set(progress.map((p) => p.percent))]).toEqual(
      Array.from({ length: 101 }, (_, i) => i),
    );
    expect(rssPeak - rssBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it.each([
    ['by the kernel', 'disk → tmpfs', true],
    ['by the kernel', 'tmpfs → disk', true],
    ['streamed', 'disk → tmpfs', false],
    ['streamed', 'tmpfs → disk', false],
  ] as const)(
    'copies %s and verifies the sha256 of the copy against the source when asked (%s)',
    async (_label, direction, kernelCopy) => {
      const [from, to] = direction === 'disk → tmpfs' ? [dirs.a, dirs.c] : [dirs.c, dirs.a];
      const size = 3 * 1024 * 1024 + 7;
      const digest = await writeSeededFile(path.join(from, 'v.mp4'), size, `v-${direction}`);
      const result = await moveFile({
        sourceDir: from,
        destDir: to,
        filename: 'v.mp4',
        verifyChecksum: true,
        kernelCopy,
      });
      expect(result).toMatchObject({
        outcome: 'copied',
        bytes: size,
        copy: kernelCopy ? 'kernel' : 'stream',
      });
      expect(await list(from)).toEqual([]);
      expect(await list(to)).toEqual(['v.mp4']);
      expect(await sha256File(path.join(to, 'v.mp4'))).toBe(digest);
    },
  );

  it.each([true, false])('copies an empty file (kernel copy %s)', async (kernelCopy) => {
    await writeFile(path.join(dirs.a, 'empty.mp4'), '');
    const progress: number[] = [];
    const result = await moveFile({
      sourceDir: dirs.a,
      destDir: dirs.c,
      filename: 'empty.mp4',
      kernelCopy,
      onProgress: (p) => progress.push(p.percent),
    });
    expect(result).toMatchObject({ outcome: 'copied', bytes: 0 });
    expect(progress.at(-1)).toBe(100);
    expect(await list(dirs.c)).toEqual(['empty.mp4']);
  });

  it('streams a throttled copy and keeps to the bandwidth limit', async () => {
    await writeSeededFile(path.join(dirs.a, 'slow.mp4'), 2 * 1024 * 1024, 'slow');
    const started = performance.now();
    const result = await moveFile({
      sourceDir: dirs.a,
      destDir: dirs.c,
      filename: 'slow.mp4',
      bytesPerSecond: 8 * 1024 * 1024,
    });
    expect(result).toMatchObject({ outcome: 'copied', copy: 'stream' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(230);
  });

  it('keeps the source and removes its copy when a streamed copy is aborted mid-copy', async () => {
    const digest = await writeSeededFile(path.join(dirs.a, 'x.mp4'), 4 * 1024 * 1024, 'abort');
    const controller = new AbortController();
    const moving = moveFile({
      sourceDir: dirs.a,
      destDir: dirs.c,
      filename: 'x.mp4',
      bytesPerSecond: 4 * 1024 * 1024,
      progressIntervalMs: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.percent >= 10) controller.abort();
      },
    });
    await expect(moving).rejects.toThrow(/abort/i);
    expect(await list(dirs.c)).toEqual([]);
    expect(await sha256File(path.join(dirs.a, 'x.mp4'))).toBe(digest);
  });

  it.each([
    ['disk → tmpfs', 'a', 'c'],
    ['tmpfs → disk', 'c', 'a'],
  ] as const)(
    'keeps the source and removes its copy when aborted during a kernel copy (%s)',
    async (_label, fromKey, toKey) => {
      const [from, to] = [dirs[fromKey], dirs[toKey]];
      const size = 128 * 1024 * 1024;
      const digest = await writeSeededFile(path.join(from, 'x.mp4'), size, `abort-${fromKey}`);
      const controller = new AbortController();
      const progress: MoveProgress[] = [];
      const moving = moveFile({
        sourceDir: from,
        destDir: to,
        filename: 'x.mp4',
        verifyChecksum: true,
        signal: controller.signal,
        // The 0 % report comes once the kernel copy is under way: abort right in it.
        onProgress: (p) => {
          progress.push(p);
          controller.abort();
        },
      });
      await expect(moving).rejects.toThrow(/abort/i);
      expect(progress).toEqual([{ copiedBytes: 0, totalBytes: size, percent: 0 }]);
      expect(await list(from)).toEqual(['x.mp4']);
      expect(await sha256File(path.join(from, 'x.mp4'))).toBe(digest);
      // The kernel copy cannot be stopped inside the kernel: its temporary file goes when it ends.
      await vi.waitFor(async () => expect(await list(to)).toEqual([]), {
        timeout: 30_000,
        interval: 20,
      });
      // A later attempt copies the file as if nothing had happened.
      const result = await moveFile({ sourceDir: from, destDir: to, filename: 'x.mp4' });
      expect(result).toMatchObject({ outcome: 'copied', copy: 'kernel' });
      expect(await sha256File(path.join(to, 'x.mp4'))).toBe(digest);
    },
  );

  it('discards a kernel copy when the source changes while it is copied', async () => {
    const source = path.join(dirs.c, 'x.mp4');
    await writeSeededFile(source, 16 * 1024 * 1024, 'grow-kernel');
    let appended = false;
    const error = await errorOf(
      moveFile({
        sourceDir: dirs.c,
        destDir: dirs.a,
        filename: 'x.mp4',
        onProgress: () => {
          if (!appended) {
            appended = true;
            appendFileSync(source, 'more');
          }
        },
      }),
    );
    expect(appended).toBe(true);
    expect(error.code).toBe('SOURCE_CHANGED');
    expect(await list(dirs.a)).toEqual([]);
    expect((await stat(source)).size).toBe(16 * 1024 * 1024 + 4);
  });

  it('never overwrites a destination that appears during the copy', async () => {
    await writeSeededFile(path.join(dirs.a, 'x.mp4'), 2 * 1024 * 1024, 'race');
    const intruder = path.join(dirs.c, 'x.mp4');
    let wrote = false;
    const error = await errorOf(
      moveFile({
        sourceDir: dirs.a,
        destDir: dirs.c,
        filename: 'x.mp4',
        kernelCopy: false,
        chunkBytes: 256 * 1024,
        progressIntervalMs: 0,
        onProgress: (p) => {
          if (!wrote && p.percent >= 50) {
            wrote = true;
            // Synchronous on purpose: the file exists before the copy goes on.
            writeFileSync(intruder, 'someone else');
          }
        },
      }),
    );
    expect(error.code).toBe('FILE_COLLISION');
    expect(await readFile(intruder, 'utf8')).toBe('someone else');
    expect(await list(dirs.a)).toEqual(['x.mp4']);
    expect(await list(dirs.c)).toEqual(['x.mp4']);
  });

  it('discards a streamed copy and retries later when the source changes during the copy', async () => {
    const source = path.join(dirs.a, 'x.mp4');
    await writeSeededFile(source, 2 * 1024 * 1024, 'grow');
    let appended = false;
    const error = await errorOf(
      moveFile({
        sourceDir: dirs.a,
        destDir: dirs.c,
        filename: 'x.mp4',
        kernelCopy: false,
        chunkBytes: 256 * 1024,
        progressIntervalMs: 0,
        onProgress: (p) => {
          if (!appended && p.percent >= 50) {
            appended = true;
            appendFileSync(source, 'more');
          }
        },
      }),
    );
    expect(error.code).toBe('SOURCE_CHANGED');
    expect(error.permanent).toBe(false);
    expect(await list(dirs.c)).toEqual([]);
    expect((await stat(source)).size).toBe(2 * 1024 * 1024 + 4);
  });
});

describe('moveFile after an interrupted attempt', () => {
  it('treats source gone and destination present as already moved', async () => {
    await writeFile(path.join(dirs.c, 'x.mp4'), 'moved before the crash');
    const result = await moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: 'x.mp4' });
    expect(result).toMatchObject({ outcome: 'already-moved', bytes: 22 });
    expect(await readFile(path.join(dirs.c, 'x.mp4'), 'utf8')).toBe('moved before the crash');
  });

  it('removes the source when both copies are identical', async () => {
    const digest = await writeSeededFile(path.join(dirs.a, 'x.mp4'), 1024 * 1024, 'same');
    await writeSeededFile(path.join(dirs.c, 'x.mp4'), 1024 * 1024, 'same');
    const result = await moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: 'x.mp4' });
    expect(result.outcome).toBe('duplicate-removed');
    expect(await list(dirs.a)).toEqual([]);
    expect(await sha256File(path.join(dirs.c, 'x.mp4'))).toBe(digest);
  });

  it.each([
    ['different sizes', 'one', 'three'],
    ['same size, different bytes', 'abc', 'abd'],
  ])('refuses to touch either file when both exist with %s', async (_label, a, c) => {
    await writeFile(path.join(dirs.a, 'x.mp4'), a);
    await writeFile(path.join(dirs.c, 'x.mp4'), c);
    const error = await errorOf(
      moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: 'x.mp4' }),
    );
    expect(error.code).toBe('FILE_COLLISION');
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(path.join(dirs.a, 'x.mp4'));
    expect(error.message).toContain(path.join(dirs.c, 'x.mp4'));
    expect(await readFile(path.join(dirs.a, 'x.mp4'), 'utf8')).toBe(a);
    expect(await readFile(path.join(dirs.c, 'x.mp4'), 'utf8')).toBe(c);
  });

  it('fails as FILE_MISSING naming the path when neither exists', async () => {
    const error = await errorOf(
      moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: 'x.mp4' }),
    );
    expect(error.code).toBe('FILE_MISSING');
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(path.join(dirs.a, 'x.mp4'));
    expect(await list(dirs.c)).toEqual([]);
  });

  it('removes stale temporary copies of this file name first, and only those', async () => {
    await writeSeededFile(path.join(dirs.a, 'x.mp4'), 512 * 1024, 'fresh');
    const stale = `${tempPrefix('x.mp4')}j41-abcdef`;
    const other = `${tempPrefix('y.mp4')}j42-abcdef`;
    await writeFile(path.join(dirs.c, stale), 'half a copy');
    await writeFile(path.join(dirs.c, other), 'another file in flight');
    const result = await moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: 'x.mp4' });
    expect(result).toMatchObject({ outcome: 'copied', staleTempFilesRemoved: 1 });
    expect(await list(dirs.c)).toEqual([other, 'x.mp4'].sort());
  });

  it('completes a copy that crashed after placing it but before removing the source', async () => {
    await writeSeededFile(path.join(dirs.a, 'x.mp4'), 256 * 1024, 'placed');
    await writeSeededFile(path.join(dirs.c, 'x.mp4'), 256 * 1024, 'placed');
    await writeFile(path.join(dirs.c, `${tempPrefix('x.mp4')}j7-000000`), 'left behind');
    const result = await moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: 'x.mp4' });
    expect(result).toMatchObject({ outcome: 'duplicate-removed', staleTempFilesRemoved: 1 });
    expect(await list(dirs.a)).toEqual([]);
    expect(await list(dirs.c)).toEqual(['x.mp4']);
  });

  it('uses a hashed temporary name for very long file names', async () => {
    const name = `${'n'.repeat(240)}.mp4`;
    await writeFile(path.join(dirs.a, name), 'long');
    expect(Buffer.byteLength(tempPrefix(name))).toBeLessThan(60);
    const result = await moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: name });
    expect(result.outcome).toBe('copied');
    expect(await list(dirs.c)).toEqual([name]);
  });
});

describe('moveFile refuses what it must not touch', () => {
  it.each([
    ['../x', 'parent traversal'],
    ['../../x', 'deep traversal'],
    ['..', 'the parent itself'],
    ['/etc/hostname', 'an absolute path'],
    ['a/b', 'a subdirectory'],
    ['a\\b', 'a backslash'],
    ['x\0.mp4', 'NUL'],
    ['', 'an empty name'],
  ])('refuses %j (%s) with UNSAFE_FILENAME and touches nothing', async (name) => {
    // Bait outside the tier directories where a traversal would land.
    await writeFile(path.join(dirs.outsideDisk, 'tiers', 'x'), 'outside a');
    await writeFile(path.join(dirs.outsideDisk, 'x'), 'outside b');
    await mkdir(path.join(dirs.a, 'a'), { recursive: true });
    await writeFile(path.join(dirs.a, 'a', 'b'), 'inside a subdirectory');
    const before = {
      tiers: await list(path.join(dirs.outsideDisk, 'tiers')),
      root: await list(dirs.outsideDisk),
      shm: await list(path.join(dirs.outsideShm, 'tiers')),
      c: await list(dirs.c),
    };
    for (const [sourceDir, destDir] of [
      [dirs.a, dirs.c],
      [dirs.a, dirs.b],
    ] as const) {
      const error = await errorOf(moveFile({ sourceDir, destDir, filename: name }));
      expect(error.code).toBe('UNSAFE_FILENAME');
      expect(error.permanent).toBe(true);
    }
    expect(await readFile(path.join(dirs.outsideDisk, 'tiers', 'x'), 'utf8')).toBe('outside a');
    expect(await readFile(path.join(dirs.outsideDisk, 'x'), 'utf8')).toBe('outside b');
    expect(await readFile(path.join(dirs.a, 'a', 'b'), 'utf8')).toBe('inside a subdirectory');
    expect({
      tiers: await list(path.join(dirs.outsideDisk, 'tiers')),
      root: await list(dirs.outsideDisk),
      shm: await list(path.join(dirs.outsideShm, 'tiers')),
      c: await list(dirs.c),
    }).toEqual(before);
  });

  it('refuses a relative tier directory with UNSAFE_PATH', async () => {
    const error = await errorOf(
      moveFile({ sourceDir: 'tiers/a', destDir: dirs.c, filename: 'x.mp4' }),
    );
    expect(error.code).toBe('UNSAFE_PATH');
  });

  it('refuses to move a symbolic link (NOT_A_FILE) and leaves it and its target alone', async () => {
    const target = path.join(dirs.outsideDisk, 'secret');
    await writeFile(target, 'secret');
    await symlink(target, path.join(dirs.a, 'x.mp4'));
    const error = await errorOf(
      moveFile({ sourceDir: dirs.a, destDir: dirs.c, filename: 'x.mp4' }),
    );
    expect(error.code).toBe('NOT_A_FILE');
    expect(await readFile(target, 'utf8')).toBe('secret');
    expect(await list(dirs.a)).toEqual(['x.mp4']);
    expect(await list(dirs.c)).toEqual([]);
  });
});

const mountSkip = await cannotMount();

describe.skipIf(mountSkip !== null)('moveFile into a full disk', () => {
  let full: string;
  beforeEach(async () => {
    full = path.join(dirs.outsideShm, 'small');
    await mountTmpfs(full, 4);
  });
  afterEach(async () => {
    await unmount(full);
  });

  it('rejects with ENOSPC when a write fails mid-copy, removes its temporary file and keeps the source (no unhandled rejection)', async () => {
    const source = path.join(dirs.a, 'd.mp4');
    const digest = await writeSeededFile(source, 10 * 1024 * 1024, 'enospc');
    // Without the free-space check the copy loop itself meets ENOSPC: a write fails while the
    // next read is awaited, which once crashed the process with an unhandled rejection.
    const error = await moveFile({
      sourceDir: dirs.a,
      destDir: full,
      filename: 'd.mp4',
      checkFreeSpace: false,
      chunkBytes: 256 * 1024,
      // Throttled, so the loop sleeps while a write is in flight: the failing write settles
      // while nothing awaits it, every time.
      bytesPerSecond: 40 * 1024 * 1024,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(errnoCode(error)).toBe('ENOSPC');
    expect(storageFaultOf(error)).toMatchObject({ code: 'TIER_FULL', errno: 'ENOSPC' });
    expect(await list(full)).toEqual([]);
    expect(await sha256File(source)).toBe(digest);
  });

  it('rejects a kernel copy that meets ENOSPC as TIER_FULL on the destination, removes its temporary file and keeps the source', async () => {
    const source = path.join(dirs.a, 'd.mp4');
    const digest = await writeSeededFile(source, 10 * 1024 * 1024, 'enospc-kernel');
    const error = await moveFile({
      sourceDir: dirs.a,
      destDir: full,
      filename: 'd.mp4',
      checkFreeSpace: false,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(errnoCode(error)).toBe('ENOSPC');
    const fault = storageFaultOf(error);
    expect(fault).toMatchObject({ code: 'TIER_FULL', errno: 'ENOSPC' });
    // The processor puts the fault on the tier of `dest ?? path`: the destination here.
    expect(fault?.dest ?? fault?.path).toContain(full);
    expect(await list(full)).toEqual([]);
    expect(await sha256File(source)).toBe(digest);
  });

  it('refuses up front with TIER_FULL, writing nothing, when the file cannot fit', async () => {
    const source = path.join(dirs.a, 'd.mp4');
    const digest = await writeSeededFile(source, 10 * 1024 * 1024, 'enospc');
    const error = await errorOf(moveFile({ sourceDir: dirs.a, destDir: full, filename: 'd.mp4' }));
    expect(error.code).toBe('TIER_FULL');
    expect(error.message).toMatch(/bytes free, the file needs 10485760/);
    expect(storageFaultOf(error)).toMatchObject({ code: 'TIER_FULL' });
    expect(await list(full)).toEqual([]);
    expect(await sha256File(source)).toBe(digest);
  });
});
