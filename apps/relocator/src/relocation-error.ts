/**
 * Stable codes of the relocator's own errors.
 *
 * - `UNSAFE_FILENAME`: the content's file name could escape its tier directory; nothing touched.
 * - `UNSAFE_PATH`: a tier directory is not an absolute, normalised path; nothing touched.
 * - `NOT_A_FILE`: the source or destination is a directory, symlink or other non-regular file.
 * - `FILE_COLLISION`: source and destination both exist and differ; neither touched.
 * - `FILE_MISSING`: neither source nor destination exists.
 * - `VERIFY_FAILED`: the copy does not match the source (size or sha256); the copy is removed.
 * - `SOURCE_CHANGED`: the source changed while it was copied; the copy is removed (retried).
 * - `CONTENT_NOT_FOUND`: the cid has no row in MySQL.
 * - `LEVEL_NOT_FOUND`: the content's level (or the target) is not in the level table.
 * - `INVALID_LEVELS`: the level table breaks I1.
 * - `STALE_COMMIT`: MySQL moved the content elsewhere while the file moved.
 * - `FS_DENIED`: the file system refused (permissions, read-only, name too long).
 */
export type RelocationErrorCode =
  | 'UNSAFE_FILENAME'
  | 'UNSAFE_PATH'
  | 'NOT_A_FILE'
  | 'FILE_COLLISION'
  | 'FILE_MISSING'
  | 'VERIFY_FAILED'
  | 'SOURCE_CHANGED'
  | 'CONTENT_NOT_FOUND'
  | 'LEVEL_NOT_FOUND'
  | 'INVALID_LEVELS'
  | 'STALE_COMMIT'
  | 'FS_DENIED';

/** Codes whose jobs can never succeed by retrying: an operator has to act first. */
const PERMANENT: ReadonlySet<RelocationErrorCode> = new Set<RelocationErrorCode>([
  'UNSAFE_FILENAME',
  'UNSAFE_PATH',
  'NOT_A_FILE',
  'FILE_COLLISION',
  'FILE_MISSING',
  'CONTENT_NOT_FOUND',
  'LEVEL_NOT_FOUND',
  'INVALID_LEVELS',
  'STALE_COMMIT',
  'FS_DENIED',
]);

/**
 * An error of the move or the processor with a stable `code`; the message starts with the code
 * and names the paths involved (`FILE_COLLISION: /a/x.mp4 and /b/x.mp4 both exist and differ`).
 */
export class RelocationError extends Error {
  constructor(
    readonly code: RelocationErrorCode,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options);
    this.name = 'RelocationError';
  }

  /** True when retrying cannot help (see {@link RelocationErrorCode}). */
  get permanent(): boolean {
    return PERMANENT.has(this.code);
  }
}

/** Node error codes that a retry will not fix: the operator has to change the file system. */
const PERMANENT_FS_CODES: ReadonlySet<string> = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENAMETOOLONG',
  'ENOTDIR',
  'EISDIR',
  'ELOOP',
]);

/** The `code` of a Node system error, if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** True for Node file-system errors a retry cannot fix (permissions, read-only, bad names). */
export function isPermanentFsError(error: unknown): boolean {
  const code = errnoCode(error);
  return code !== undefined && PERMANENT_FS_CODES.has(code);
}
