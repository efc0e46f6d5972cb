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
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
  it('copies 300 MB byte for byte with flat memory, reports progress, then removes the source', async () => {
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
    expect(result).toMatchObject({ outcome: 'copied', bytes: size });
    expect(await list(dirs.a)).toEqual([]);
    expect(await list(dirs.c)).toEqual(['big.mp4']);
    expect((await stat(path.join(dirs.c, 'big.mp4'))).size).toBe(size);
    expect(await sha256File(path.join(dirs.c, 'big.mp4'))).toBe(digest);

    expect(progress[0]).toMatchObject({ copiedBytes: 0, percent: 0, totalBytes: size });
    expect(progress.at(-1)).toMatchObject({ copiedBytes: size, percent: 100 });
    expect(progress.length).toBeGreaterThan(3);
    const percents = progress.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((x, y) => x - y));
    // Memory stays flat: far below the file's size (two reused 1 MiB buffers).
    expect(rssPeak - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('verifies the sha256 of the copy against the source when asked', async () => {
    const digest = await writeSeededFile(path.join(dirs.a, 'v.mp4'), 3 * 1024 * 1024 + 7, 'v');
    const result = await moveFile({
      sourceDir: dirs.a,
      destDir: dirs.c,
      filename: 'v.mp4',
      verifyChecksum: true,
    });
    expect(result.outcome).toBe('copied');
    expect(await sha256File(path.join(dirs.c, 'v.mp4'))).toBe(digest);
  });

  it('copies an empty file', async () => {
    await writeFile(path.join(dirs.a, 'empty.mp4'), '');
    const progress: number[] = [];
    const result = await moveFile({
      sourceDir: dirs.a,
      destDir: dirs.c,
      filename: 'empty.mp4',
      onProgress: (p) => progress.push(p.percent),
    });
    expect(result).toMatchObject({ outcome: 'copied', bytes: 0 });
    expect(progress.at(-1)).toBe(100);
    expect(await list(dirs.c)).toEqual(['empty.mp4']);
  });

  it('keeps to the bandwidth limit', async () => {
    await writeSeededFile(path.join(dirs.a, 'slow.mp4'), 2 * 1024 * 1024, 'slow');
    const started = performance.now();
    await moveFile({
      sourceDir: dirs.a,
      destDir: dirs.c,
      filename: 'slow.mp4',
      bytesPerSecond: 8 * 1024 * 1024,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(230);
  });

  it('keeps the source and removes its copy when aborted mid-copy', async () => {
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

  it('never overwrites a destination that appears during the copy', async () => {
    await writeSeededFile(path.join(dirs.a, 'x.mp4'), 2 * 1024 * 1024, 'race');
    const intruder = path.join(dirs.c, 'x.mp4');
    let wrote = false;
    const error = await errorOf(
      moveFile({
        sourceDir: dirs.a,
        destDir: dirs.c,
        filename: 'x.mp4',
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

  it('discards the copy and retries later when the source changes during the copy', async () => {
    const source = path.join(dirs.a, 'x.mp4');
    await writeSeededFile(source, 2 * 1024 * 1024, 'grow');
    let appended = false;
    const error = await errorOf(
      moveFile({
        sourceDir: dirs.a,
        destDir: dirs.c,
        filename: 'x.mp4',
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
