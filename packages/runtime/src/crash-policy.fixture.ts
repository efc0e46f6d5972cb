/**
 * A tiny program for `crash-policy.test.ts`: installs the crash policy (the policy exits the
 * process, so it is tested in a child), then causes the fault the scenario in `argv[2]` names.
 * Log lines are JSON on stdout, like pino's.
 */
import { installCrashPolicy, type CrashLogger, type CrashPolicyOptions } from './crash-policy.ts';

const scenario = process.argv[2] ?? '';

function line(level: string, obj: object, msg: string): void {
  const fields: Record<string, unknown> = { ...obj };
  if (fields.err instanceof Error) fields.err = { message: fields.err.message };
  process.stdout.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
}
const logger: CrashLogger = {
  fatal: (obj, msg) => line('fatal', obj, msg),
  error: (obj, msg) => line('error', obj, msg),
};
const never = () => new Promise<void>(() => undefined);
const stopAfter = (ms: number) => async () => {
  line('info', {}, 'shutdown started');
  await new Promise((resolve) => setTimeout(resolve, ms));
  line('info', {}, 'shutdown finished');
};

const scenarios: Record<string, { options: Partial<CrashPolicyOptions>; fault: () => void }> = {
  rejection: {
    options: { shutdown: stopAfter(50), describeActive: () => [{ jobId: '7', cid: 7 }] },
    fault: () => void Promise.reject(new Error('boom (rejection)')),
  },
  exception: {
    options: { shutdown: stopAfter(50), describeActive: () => [{ jobId: '7', cid: 7 }] },
    fault: () => {
      throw new Error('boom (exception)');
    },
  },
  'non-error': {
    options: { shutdown: stopAfter(0) },
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a bug may do
    fault: () => void Promise.reject('a bare string'),
  },
  hang: {
    options: { shutdown: never, deadlineMs: 300 },
    fault: () => void Promise.reject(new Error('boom (hang)')),
  },
  'shutdown-fails': {
    options: { shutdown: () => Promise.reject(new Error('close failed')) },
    fault: () => void Promise.reject(new Error('boom (shutdown-fails)')),
  },
  'shutdown-throws': {
    options: {
      shutdown: () => {
        throw new Error('close threw');
      },
    },
    fault: () => void Promise.reject(new Error('boom (shutdown-throws)')),
  },
  'second-fault': {
    options: { shutdown: never, deadlineMs: 10_000 },
    fault: () => {
      setTimeout(() => {
        throw new Error('boom (second)');
      }, 100);
      void Promise.reject(new Error('boom (first)'));
    },
  },
  'exit-code': {
    options: { shutdown: stopAfter(0), exitCode: 3 },
    fault: () => void Promise.reject(new Error('boom (exit-code)')),
  },
  'describe-throws': {
    options: {
      shutdown: stopAfter(0),
      describeActive: () => {
        throw new Error('cannot describe');
      },
    },
    fault: () => void Promise.reject(new Error('boom (describe-throws)')),
  },
  uninstalled: {
    options: { shutdown: stopAfter(0) },
    fault: () => {
      policy.uninstall();
      throw new Error('boom (uninstalled)');
    },
  },
};

const chosen = scenarios[scenario];
if (!chosen) throw new Error(`unknown scenario ${scenario}`);
const policy = installCrashPolicy({ logger, shutdown: stopAfter(0), ...chosen.options });
// Keeps the process alive like a server would, until the policy exits it.
setInterval(() => undefined, 1000);
setTimeout(chosen.fault, 10);
