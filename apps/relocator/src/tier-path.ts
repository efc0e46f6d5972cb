import path from 'node:path';
import { RelocationError } from './relocation-error.ts';

/** Longest file name in bytes most file systems accept (`NAME_MAX`). */
export const MAX_FILENAME_BYTES = 255;

/** Marks the relocator's temporary copies; a content's file name may never contain it. */
export const TEMP_MARKER = '.relocating-';

/**
 * Why `filename` is not a plain base name the relocator may touch, or `null` when it is.
 *
 * Refused: empty, `.`/`..` or any `..`, `/`, `\`, NUL or other control characters, more than
 * {@link MAX_FILENAME_BYTES} bytes, and names containing the temporary-copy marker.
 */
export function filenameProblem(filename: string): string | null {
  if (filename.length === 0) return 'is empty';
  if (filename.includes('..') || filename === '.') return 'contains ".."';
  if (filename.includes('/') || filename.includes('\\')) return 'contains a path separator';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(filename)) return 'contains NUL or a control character';
  if (Buffer.byteLength(filename) > MAX_FILENAME_BYTES) {
    return `is longer than ${MAX_FILENAME_BYTES} bytes`;
  }
  if (filename.includes(TEMP_MARKER)) return `contains "${TEMP_MARKER}" (reserved for copies)`;
  return null;
}

/**
 * Resolves `filename` inside the tier directory `tierDir` and proves the result is a direct child
 * of it. Throws `UNSAFE_PATH` for a tier directory that is not absolute and normalised, and
 * `UNSAFE_FILENAME` for a name that could escape it; touches nothing either way.
 */
export function resolveInTier(tierDir: string, filename: string): string {
  const dir = assertTierDir(tierDir);
  const problem = filenameProblem(filename);
  if (problem !== null) {
    throw new RelocationError(
      'UNSAFE_FILENAME',
      `file name ${JSON.stringify(filename)} ${problem}; refusing to touch it under ${dir}`,
    );
  }
  const resolved = path.resolve(dir, filename);
  if (path.dirname(resolved) !== dir || path.basename(resolved) !== filename) {
    throw new RelocationError(
      'UNSAFE_FILENAME',
      `file name ${JSON.stringify(filename)} resolves to ${resolved}, outside ${dir}`,
    );
  }
  return resolved;
}

/** Checks a tier directory is an absolute, normalised path without NUL; returns it. */
export function assertTierDir(tierDir: string): string {
  const ok =
    path.isAbsolute(tierDir) &&
    !tierDir.includes('\0') &&
    tierDir.split('/').every((segment) => segment !== '..' && segment !== '.');
  if (!ok) {
    throw new RelocationError(
      'UNSAFE_PATH',
      `tier directory ${JSON.stringify(tierDir)} must be an absolute path without "." or ".." segments`,
    );
  }
  const resolved = path.resolve(tierDir);
  return resolved;
}
