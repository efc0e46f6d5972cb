import { describe, expect, it } from 'vitest';
import { RelocationError } from './relocation-error.ts';
import { resolveInTier } from './tier-path.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof RelocationError) return error.code;
    throw error;
  }
  return undefined;
}

describe('resolveInTier', () => {
  it.each(['a.mp4', 'movie 1.mp4', 'x', 'ünïcödé.mkv', 'a.b.c'])(
    'resolves the plain name %j to a direct child of the tier directory',
    (name) => {
      expect(resolveInTier('/srv/tiers/bronze', name)).toBe(`/srv/tiers/bronze/${name}`);
      expect(resolveInTier('/srv/tiers/bronze/', name)).toBe(`/srv/tiers/bronze/${name}`);
    },
  );

  it.each([
    ['empty', ''],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['parent traversal', '../x'],
    ['deep traversal', '../../etc/passwd'],
    ['absolute path', '/etc/passwd'],
    ['subdirectory', 'a/b'],
    ['backslash', 'a\\b'],
    ['windows traversal', '..\\x'],
    ['NUL', 'a\0b'],
    ['newline', 'a\nb'],
    ['DEL', 'a\u007fb'],
    ['embedded dot-dot', 'a..b'],
    ['temp marker', 'x.mp4.relocating-1'],
    ['too long', 'x'.repeat(256)],
    ['too long in bytes', 'é'.repeat(128)],
    ['hidden', '.hidden'],
    ['bidi override', 'a\u202Eb.mp4'],
  ])('refuses a %s name with UNSAFE_FILENAME', (_label, name) => {
    expect(codeOf(() => resolveInTier('/srv/tiers/bronze', name))).toBe('UNSAFE_FILENAME');
  });

  it.each(['relative/dir', 'srv/x', '/srv/../etc', '/srv/./x', '/srv//x', '/srv/x\0y', '', '/'])(
    'refuses the tier directory %j with UNSAFE_PATH',
    (dir) => {
      expect(codeOf(() => resolveInTier(dir, 'a.mp4'))).toBe('UNSAFE_PATH');
    },
  );
});
