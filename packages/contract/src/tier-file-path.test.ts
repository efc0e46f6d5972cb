import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { filenameProblem } from './file-name.ts';
import { tierDirectory, tierFilePath, tierFileSize } from './tier-file-path.ts';
import { tierPathProblem } from './tier-path.ts';

describe('tierFilePath', () => {
  it.each(['a.mp4', 'movie 1.mp4', 'x', 'ünïcödé.mkv', 'a.b.c', '영상.mp4'])(
    'joins the plain name %j to a direct child of the tier directory',
    (name) => {
      expect(tierFilePath('/srv/tiers/bronze', name)).toEqual({
        ok: true,
        path: `/srv/tiers/bronze/${name}`,
      });
      expect(tierFilePath('/srv/tiers/bronze/', name)).toEqual({
        ok: true,
        path: `/srv/tiers/bronze/${name}`,
      });
    },
  );

  // One name for each clause of the file-name rule, and the traversals the join must never make.
  it.each([
    '',
    'a\uD800b',
    '../../etc/passwd',
    '/etc/passwd',
    'a\\b',
    '..',
    'a..b',
    '.relocation-tier',
    'a\u200Bb.mp4',
    ' a.mp4',
    'é'.repeat(128),
    'x.mp4.relocating-1',
  ])('refuses %j by the file-name rule, saying why and where', (name) => {
    const problem = filenameProblem(name);
    expect(problem).not.toBeNull();
    expect(tierFilePath('/srv/tiers/bronze/', name)).toEqual({
      ok: false,
      rule: 'file-name',
      message: `file name ${JSON.stringify(name)} ${problem}; refusing to touch it under /srv/tiers/bronze`,
    });
  });

  it.each(['relative/dir', '/srv/../etc', '/srv/./x', '/srv//x', '/srv/x\0y', '', '/'])(
    'refuses the tier directory %j by the tier-path rule before looking at the name',
    (dir) => {
      const expected = {
        ok: false,
        rule: 'tier-path',
        message: `tier directory ${JSON.stringify(dir)} ${tierPathProblem(dir)}`,
      };
      expect(tierFilePath(dir, 'a.mp4')).toEqual(expected);
      expect(tierFilePath(dir, '../x')).toEqual(expected);
    },
  );
});

describe('tierDirectory', () => {
  it('names the directory without its trailing slash', () => {
    expect(tierDirectory('/data/gold/')).toEqual({ ok: true, dir: '/data/gold' });
    expect(tierDirectory('/data/gold')).toEqual({ ok: true, dir: '/data/gold' });
  });

  it('refuses what tierFilePath refuses for the directory, with the same message', () => {
    expect(tierDirectory('/data/../etc')).toEqual(tierFilePath('/data/../etc', 'a.mp4'));
    expect(tierDirectory('data')).toMatchObject({ ok: false, rule: 'tier-path' });
  });
});

describe('tierFileSize', () => {
  it('is the size of a regular file in the tier, else null (missing, a link, a directory, a refused name)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tier-size-'));
    try {
      await writeFile(path.join(dir, 'a.mp4'), Buffer.alloc(1234));
      await symlink(path.join(dir, 'a.mp4'), path.join(dir, 'link.mp4'));
      await mkdir(path.join(dir, 'sub'));
      expect(await tierFileSize(dir, 'a.mp4')).toBe(1234);
      expect(await tierFileSize(`${dir}/`, 'a.mp4')).toBe(1234);
      expect(await tierFileSize(dir, 'missing.mp4')).toBeNull();
      expect(await tierFileSize(dir, 'link.mp4')).toBeNull();
      expect(await tierFileSize(dir, 'sub')).toBeNull();
      expect(await tierFileSize(dir, '../a.mp4')).toBeNull();
      expect(await tierFileSize('relative/dir', 'a.mp4')).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
