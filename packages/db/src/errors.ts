/** Stable codes for the db package's domain errors. */
export type DbErrorCode =
  'CONTENT_EXISTS' | 'FILENAME_EXISTS' | 'NO_DEFAULT_LEVEL' | 'LEVEL_IN_USE' | 'INVALID_LEVELS';

/** A domain error from the db package: a stable `code` callers map to HTTP statuses. */
export class DbError extends Error {
  readonly code: DbErrorCode;

  constructor(code: DbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'DbError';
  }
}

/** True when `error` is mysql2's duplicate-key error. */
export function isDuplicateKeyError(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && 'code' in error && error.code === 'ER_DUP_ENTRY'
  );
}
