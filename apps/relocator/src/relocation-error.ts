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
 * - `FS_DENIED`: the file system refused the name (too long, a path component not a directory).
 * - `INVALID_JOB`: the job's payload does not match the queue contract (`relocationJobDataSchema`).
 *
 * Storage faults ({@link StorageFaultCode}) are not failures: the job waits and tries again.
 * - `TIER_FULL`: no space (`ENOSPC`, `EDQUOT`, or `statfs` says the file cannot fit);
 * - `TIER_READ_ONLY`: the tier's file system is read-only (`EROFS`);
 * - `TIER_DENIED`: permission denied (`EACCES`, `EPERM`);
 * - `TIER_IO_ERROR`: the disk reported an I/O error (`EIO`);
 * - `TIER_UNAVAILABLE`: the tier directory is missing, is not the tier's (its marker is missing
 *   or names another level or database), or its file system is gone (`ENODEV`, `ESTALE`, …).
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
  | 'FS_DENIED'
  | 'INVALID_JOB'
  | StorageFaultCode;

/** Storage faults: a move meeting one of them waits (delayed, with backoff) and never fails. */
export const STORAGE_FAULT_CODES = [
  'TIER_FULL',
  'TIER_READ_ONLY',
  'TIER_DENIED',
  'TIER_IO_ERROR',
  'TIER_UNAVAILABLE',
] as const;

/** A storage fault's code; see {@link RelocationErrorCode}. */
export type StorageFaultCode = (typeof STORAGE_FAULT_CODES)[number];

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
  'INVALID_JOB',
]);

/**
 * An error of the move or the processor with a stable `code`; the message starts with the code
 * and names the paths involved (`FILE_COLLISION: /a/x.mp4 and /b/x.mp4 both exist and differ`).
 */
export class RelocationError extends Error {
  readonly code: RelocationErrorCode;

  constructor(code: RelocationErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.code = code;
    this.name = 'RelocationError';
  }

  /** True when retrying cannot help (see {@link RelocationErrorCode}). */
  get permanent(): boolean {
    return PERMANENT.has(this.code);
  }
}

/** Node error codes that a retry will not fix: the operator has to change the file system. */
const PERMANENT_FS_CODES: ReadonlySet<string> = new Set([
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

/** Node error codes that are storage faults, and the fault each one is. */
const FAULT_BY_ERRNO: Readonly<Record<string, StorageFaultCode>> = Object.freeze({
  ENOSPC: 'TIER_FULL',
  EDQUOT: 'TIER_FULL',
  EROFS: 'TIER_READ_ONLY',
  EACCES: 'TIER_DENIED',
  EPERM: 'TIER_DENIED',
  EIO: 'TIER_IO_ERROR',
  ENODEV: 'TIER_UNAVAILABLE',
  ENXIO: 'TIER_UNAVAILABLE',
  ESTALE: 'TIER_UNAVAILABLE',
  ENOTCONN: 'TIER_UNAVAILABLE',
  EHOSTDOWN: 'TIER_UNAVAILABLE',
});

/** A storage fault as the processor handles it: which fault, and the message to show. */
export interface StorageFault {
  code: StorageFaultCode;
  /** The Node error code behind it (`ENOSPC`, …), if any. */
  errno?: string;
  /** The path the file system named, if any. */
  path?: string;
  /** The second path of a two-path call (`link`, `rename`): the name being created. */
  dest?: string;
  message: string;
}

/**
 * The storage fault `error` is (a {@link RelocationError} with a fault code, or a Node file-system
 * error whose code is one), or `null` for anything else.
 */
export function storageFaultOf(error: unknown): StorageFault | null {
  if (error instanceof RelocationError) {
    return (STORAGE_FAULT_CODES as readonly string[]).includes(error.code)
      ? { code: error.code as StorageFaultCode, message: error.message }
      : null;
  }
  const errno = errnoCode(error);
  const code = errno === undefined ? undefined : FAULT_BY_ERRNO[errno];
  if (code === undefined) return null;
  const { path: file, dest } = error as { path?: unknown; dest?: unknown };
  const message = error instanceof Error ? error.message : String(error);
  return {
    code,
    ...(errno === undefined ? {} : { errno }),
    ...(typeof file === 'string' ? { path: file } : {}),
    ...(typeof dest === 'string' ? { dest } : {}),
    message: `${code}: ${message}`,
  };
}
