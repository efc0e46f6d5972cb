import { UnrecoverableError } from 'bullmq';
import type { RelocationErrorCode } from './relocation-error.ts';

/**
 * A job failure BullMQ will not retry (it is an `UnrecoverableError`), carrying the code of the
 * {@link RelocationError} behind it; the job's `failedReason` is the operator-facing message.
 */
export class PermanentJobError extends UnrecoverableError {
  readonly code: RelocationErrorCode;

  constructor(code: RelocationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
