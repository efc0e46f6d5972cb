/** Longest tier directory path accepted, in bytes (`PATH_MAX` less room for a file name). */
export const MAX_TIER_PATH_BYTES = 3800;

/**
 * Why `dir` is not a directory a level may name as its tier, or `null` when it is. The one rule
 * `validateLevels` (every level table the service accepts) and the relocator (every move) apply
 * (invariant I8).
 *
 * A tier path is an absolute POSIX path in normal form: it starts with `/`, is not `/` itself,
 * has no empty (`//`), `.` or `..` segment, no NUL or control characters, and is at most
 * {@link MAX_TIER_PATH_BYTES} bytes; one trailing `/` is allowed (the 2018 level table has them)
 * and means the same directory as without it ({@link tierPathKey}). Normal form matters: two
 * spellings of one directory would give one tier two names, and a path with `..` could leave
 * the directory it names.
 */
export function tierPathProblem(dir: unknown): string | null {
  if (typeof dir !== 'string') return 'must be a string';
  if (!dir.startsWith('/')) return "must be an absolute path (starting with '/')";
  if (dir === '/') return 'must not be the root directory';
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(dir)) return 'must not contain NUL or control characters';
  const segments = tierPathKey(dir).slice(1).split('/');
  if (segments.some((s) => s === '')) return "must not contain '//'";
  if (segments.some((s) => s === '.' || s === '..')) return "must not contain '.' or '..' segments";
  if (Buffer.byteLength(dir, 'utf8') > MAX_TIER_PATH_BYTES) {
    return `must be at most ${MAX_TIER_PATH_BYTES} bytes`;
  }
  return null;
}

/** The directory a valid tier path names, without its optional trailing `/` (compare with this). */
export function tierPathKey(dir: string): string {
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}
