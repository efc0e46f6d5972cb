import { describe, expect, it } from 'vitest';
import { tierPathKey, tierPathProblem } from './tier-path.ts';

describe('tierPathProblem', () => {
  it.each(['/data/gold', '/data/gold/', '/srv/redis_project/silver/', '/mnt/tier 2', '/a'])(
    'accepts %j',
    (dir) => {
      expect(tierPathProblem(dir)).toBeNull();
    },
  );

  it.each([
    ['relative', 'data/gold', /absolute/],
    ['empty', '', /absolute/],
    ['root', '/', /root directory/],
    ['"." segment', '/data/./gold', /'\.' or '\.\.' segments/],
    ['".." segment', '/data/../etc', /'\.' or '\.\.' segments/],
    ['trailing "."', '/data/gold/.', /'\.' or '\.\.' segments/],
    ['double slash', '/data//gold', /'\/\/'/],
    ['two trailing slashes', '/data/gold//', /'\/\/'/],
    ['NUL', '/data/go\0ld', /control/],
    ['newline', '/data/go\nld', /control/],
    ['too long', `/${'x'.repeat(4000)}`, /at most/],
  ])('refuses a %s path', (_label, dir, message) => {
    expect(tierPathProblem(dir)).toMatch(message);
  });

  it('refuses what is not a string', () => {
    expect(tierPathProblem(42)).toMatch(/string/);
    expect(tierPathProblem(null)).toMatch(/string/);
  });

  it('names one directory whether or not a trailing slash is given', () => {
    expect(tierPathKey('/data/gold/')).toBe('/data/gold');
    expect(tierPathKey('/data/gold')).toBe('/data/gold');
  });
});
