import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectorySync } from './dir-sync.ts';

describe('DirectorySync (group fsync of directories, real folders)', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'dir-sync-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('makes callers that ask while an fsync runs share one fsync queued behind it', async () => {
    const syncs = new DirectorySync();
    const calls = Array.from({ length: 20 }, (_, i) =>
      writeFile(path.join(root, `f${i}`), 'x').then(() => syncs.sync(root)),
    );
    await Promise.all(calls);
    // Every caller waited for an fsync that started after it asked; far fewer than 20 ran.
    expect(syncs.fsyncs).toBeGreaterThanOrEqual(1);
    expect(syncs.fsyncs).toBeLessThan(20);
  });

  it('never lets a caller ride on an fsync that started before it asked', async () => {
    const syncs = new DirectorySync();
    const first = syncs.sync(root);
    // Asked while the first runs: served by a second fsync, after the first.
    const second = syncs.sync(root);
    const third = syncs.sync(root);
    expect(third).toBe(second);
    const order: string[] = [];
    await Promise.all([
      first.then(() => order.push('first')),
      second.then(() => order.push('second')),
    ]);
    expect(order).toEqual(['first', 'second']);
    expect(syncs.fsyncs).toBe(2);
    // Nothing running now: the next caller starts its own.
    await syncs.sync(root);
    expect(syncs.fsyncs).toBe(3);
  });

  it('keeps directories apart', async () => {
    const syncs = new DirectorySync();
    const other = await mkdtemp(path.join(root, 'other-'));
    await Promise.all([syncs.sync(root), syncs.sync(other)]);
    expect(syncs.fsyncs).toBe(2);
  });

  it('gives an fsync error to every caller that shared it, and recovers', async () => {
    const syncs = new DirectorySync();
    const missing = path.join(root, 'missing');
    const results = await Promise.allSettled([
      syncs.sync(missing),
      syncs.sync(missing),
      syncs.sync(missing),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOENT' });
    }
    await expect(syncs.sync(root)).resolves.toBeUndefined();
  });
});
