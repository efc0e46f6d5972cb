import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_SOFTWARE, installCrashPolicy } from './crash-policy.ts';

const FIXTURE = path.join(import.meta.dirname, 'crash-policy.fixture.ts');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  logs: Record<string, unknown>[];
  stderr: string;
  ms: number;
}

/** Runs the fixture with a scenario in a child process (the policy exits its process). */
function run(scenario: string): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, scenario], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
  child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr += data));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`scenario ${scenario} did not exit: ${stdout}${stderr}`));
    }, 15_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const logs = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, logs, stderr, ms: Date.now() - started });
    });
  });
}

const messages = (r: Run) => r.logs.map((l) => l.msg);

describe('installCrashPolicy', () => {
  it.each(['rejection', 'exception'])(
    'on an unhandled %s logs it at fatal with the active work, shuts down, and exits 70',
    async (kind) => {
      const r = await run(kind);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(EXIT_SOFTWARE);
      expect(r.logs[0]).toMatchObject({
        level: 'fatal',
        msg: 'unexpected error: stopping work, then exiting',
        err: { message: `boom (${kind})` },
        origin: kind === 'rejection' ? 'unhandledRejection' : 'uncaughtException',
        active: [{ jobId: '7', cid: 7 }],
        exitCode: 70,
      });
      expect(messages(r).slice(1)).toEqual([
        'shutdown started',
        'shutdown finished',
        'stopped after an unexpected error: exiting',
      ]);
    },
  );

  it('logs a rejection with a value that is not an Error', async () => {
    const r = await run('non-error');
    expect(r.code).toBe(EXIT_SOFTWARE);
    expect(r.logs[0]).toMatchObject({ level: 'fatal', err: 'a bare string' });
  });

  it('exits 70 when the shutdown outlasts its deadline', async () => {
    const r = await run('hang');
    expect(r.code).toBe(EXIT_SOFTWARE);
    expect(messages(r)).toEqual([
      'unexpected error: stopping work, then exiting',
      'the crash shutdown did not finish within its deadline: exiting',
    ]);
    expect(r.logs[1]).toMatchObject({ deadlineMs: 300 });
  });

  it.each([
    ['shutdown-fails', 'close failed'],
    ['shutdown-throws', 'close threw'],
  ])('exits 70 and logs why when the shutdown fails (%s)', async (scenario, reason) => {
    const r = await run(scenario);
    expect(r.code).toBe(EXIT_SOFTWARE);
    expect(r.logs[1]).toMatchObject({
      level: 'error',
      msg: 'the crash shutdown failed: exiting',
      err: { message: reason },
    });
  });

  it('exits at once on a second fault during the shutdown', async () => {
    const r = await run('second-fault');
    expect(r.code).toBe(EXIT_SOFTWARE);
    // The deadline is 10 s; the second fault comes 100 ms after the first.
    expect(r.ms).toBeLessThan(5000);
    expect(r.logs).toMatchObject([
      { level: 'fatal', err: { message: 'boom (first)' } },
      {
        level: 'fatal',
        msg: 'another unexpected error during the crash shutdown: exiting now',
        err: { message: 'boom (second)' },
        origin: 'uncaughtException',
      },
    ]);
  });

  it('uses the exit code it is given', async () => {
    expect((await run('exit-code')).code).toBe(3);
  });

  it('still logs the fault and exits when describing the active work throws', async () => {
    const r = await run('describe-throws');
    expect(r.code).toBe(EXIT_SOFTWARE);
    expect(r.logs[0]).toMatchObject({
      err: { message: 'boom (describe-throws)' },
      active: { describeFailed: 'cannot describe' },
    });
  });

  it("after uninstall leaves a fault to Node's default (exit 1, stack on stderr)", async () => {
    const r = await run('uninstalled');
    expect(r.code).toBe(1);
    expect(r.logs).toEqual([]);
    expect(r.stderr).toContain('boom (uninstalled)');
  });

  it.each([0, -1, 1.5, 256])('refuses exit code %s', (exitCode) => {
    expect(() =>
      installCrashPolicy({
        logger: { fatal: () => undefined, error: () => undefined },
        shutdown: () => Promise.resolve(),
        exitCode,
      }),
    ).toThrow(RangeError);
  });
});
