import { inspect } from 'node:util';

/**
 * Exit status of a process that stopped because of an unexpected error (a bug): 70, `EX_SOFTWARE`
 * of sysexits(3). Distinct from 0 (clean stop), 1 (forced stop, failed start) and 2 (bad
 * configuration), so a supervisor and an operator can tell a bug from the rest.
 */
export const EXIT_SOFTWARE = 70;

/** Default of {@link CrashPolicyOptions.deadlineMs}: 30 s, Kubernetes' default grace period. */
export const DEFAULT_CRASH_DEADLINE_MS = 30_000;

/** The part of a pino (or Fastify) logger the crash policy writes to. */
export interface CrashLogger {
  fatal(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Options of {@link installCrashPolicy}. */
export interface CrashPolicyOptions {
  /** Where the fault and the outcome of the shutdown are logged. */
  logger: CrashLogger;
  /**
   * Stops taking work and finishes or releases what is active, then closes connections. Called
   * at most once by the policy; it may already be running (a signal started it), so it should
   * be safe to call again.
   */
  shutdown: () => Promise<void>;
  /**
   * What was active when the fault happened (for the relocator, the ids and cids of its active
   * jobs); logged with the fault. Must not block; an error it throws is logged instead.
   */
  describeActive?: () => unknown;
  /** Exit status after a fault; {@link EXIT_SOFTWARE} by default. Never 0. */
  exitCode?: number;
  /**
   * Milliseconds the shutdown may take before the process exits anyway;
   * {@link DEFAULT_CRASH_DEADLINE_MS} by default. Make it longer than the shutdown's own timeouts.
   */
  deadlineMs?: number;
}

/** What a fault was: an unhandled promise rejection or an exception nothing caught. */
export type FaultOrigin = 'unhandledRejection' | 'uncaughtException';

/** An installed crash policy, see {@link installCrashPolicy}. */
export interface CrashPolicy {
  /** True once a fault has started the crash shutdown; the process will exit with `exitCode`. */
  readonly faulted: boolean;
  /** The exit status the policy uses. */
  readonly exitCode: number;
  /** Removes the process listeners; a later fault gets Node's default behaviour again. */
  uninstall(): void;
}

/**
 * Makes every `unhandledRejection` and `uncaughtException` of this process fatal in a known way:
 * it logs the error at `fatal` (with its origin and {@link CrashPolicyOptions.describeActive}),
 * runs `shutdown` once, and exits with `exitCode` (70) when the shutdown settles or
 * `deadlineMs` passes, whichever comes first. A second fault while the shutdown runs is logged
 * and exits at once with the same status. The process never keeps running normally after a
 * fault, and no fault is dropped without a log line.
 *
 * Install it once per process, before starting what `shutdown` closes. Signal handlers should
 * check {@link CrashPolicy.faulted}: after a fault the exit is the policy's, not theirs.
 */
export function installCrashPolicy(options: CrashPolicyOptions): CrashPolicy {
  const exitCode = options.exitCode ?? EXIT_SOFTWARE;
  if (!Number.isInteger(exitCode) || exitCode <= 0 || exitCode > 255)
    throw new RangeError(`exitCode must be a whole number from 1 to 255, got ${exitCode}`);
  const deadlineMs = options.deadlineMs ?? DEFAULT_CRASH_DEADLINE_MS;
  const log = guardedLog(options.logger);
  let faulted = false;

  const onFault = (error: unknown, origin: FaultOrigin): void => {
    if (faulted) {
      log(
        'fatal',
        { err: error, origin, exitCode },
        'another unexpected error during the crash shutdown: exiting now',
      );
      process.exit(exitCode);
    }
    faulted = true;
    // Whatever ends the process from here on (even an emptied event loop) reports the fault.
    process.exitCode = exitCode;
    log(
      'fatal',
      { err: error, origin, active: describeSafely(options.describeActive), exitCode, deadlineMs },
      'unexpected error: stopping work, then exiting',
    );
    // The timer keeps the process alive, so a shutdown that never settles still ends in an exit.
    const deadline = setTimeout(() => {
      log(
        'error',
        { deadlineMs, exitCode },
        'the crash shutdown did not finish within its deadline: exiting',
      );
      process.exit(exitCode);
    }, deadlineMs);
    // Through a promise, so a shutdown that throws synchronously is handled like one that rejects.
    Promise.resolve()
      .then(() => options.shutdown())
      .then(
        () => {
          clearTimeout(deadline);
          log('error', { exitCode }, 'stopped after an unexpected error: exiting');
          process.exit(exitCode);
        },
        (shutdownError: unknown) => {
          clearTimeout(deadline);
          log('error', { err: shutdownError, exitCode }, 'the crash shutdown failed: exiting');
          process.exit(exitCode);
        },
      );
  };

  const onRejection = (reason: unknown): void => onFault(reason, 'unhandledRejection');
  const onException = (error: Error): void => onFault(error, 'uncaughtException');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    get faulted() {
      return faulted;
    },
    exitCode,
    uninstall() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

function describeSafely(describeActive: (() => unknown) | undefined): unknown {
  if (!describeActive) return undefined;
  try {
    return describeActive();
  } catch (error) {
    return { describeFailed: error instanceof Error ? error.message : String(error) };
  }
}

/** Logs through `logger`; if that throws (a closed stdout), writes the line to stderr instead. */
function guardedLog(
  logger: CrashLogger,
): (level: 'fatal' | 'error', obj: Record<string, unknown>, msg: string) => void {
  return (level, obj, msg) => {
    try {
      logger[level](obj, msg);
    } catch {
      process.stderr.write(`${level}: ${msg} ${inspect(obj)}\n`);
    }
  };
}
