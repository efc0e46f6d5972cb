import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { getContent, getContentHistory } from '@relocation/db';
import { loadConfig, startRelocator, tempPrefix } from '@relocation/relocator';
import { EXIT_SOFTWARE } from '@relocation/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  SILENT,
  createHarness,
  insertContents,
  jobOutcome,
  killHard,
  list,
  progressReached,
  spawnScript,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from '../relocator/support.ts';
import { redisUrl } from '../support/services.ts';

// The real apps, each with a preloaded module that injects a fault no code handles once the test
// sends SIGUSR2: the crash policy must log it, stop work in a known way and exit 70.

const FAULT = pathToFileURL(path.join(REPO_ROOT, 'test/fixtures/fault-after-start.ts')).href;
const FATAL = 60;
const FATAL_MSG = 'unexpected error: stopping work, then exiting';
const COPY_RATE = String(8 << 20);

let h: Harness;
const children: RelocatorProcess[] = [];

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await Promise.all(children.map((c) => killHard(c)));
  await h?.close();
});

function start(script: string, env: Record<string, string>): RelocatorProcess {
  const child = spawnScript(script, h.env(env), [FAULT]);
  children.push(child);
  return child;
}

function fatalLine(proc: RelocatorProcess): Record<string, unknown> | undefined {
  return proc.logs.find((l) => l.level === FATAL && l.msg === FATAL_MSG);
}

describe('an unexpected error in the relocator', () => {
  it('is logged with the active job, which finishes and commits before the process exits 70', async () => {
    await insertContents(h.t.db, [{ cid: 1, level: 'bronze', filename: 'a.mp4' }]);
    await writeSeededFile(path.join(h.dir('bronze'), 'a.mp4'), 24 << 20, 'a');
    const relocator = start('apps/relocator/src/main.ts', {
      TEST_FAULT: 'rejection',
      RELOCATOR_CONCURRENCY: '1',
      RELOCATOR_COPY_BYTES_PER_SECOND: COPY_RATE,
    });
    const job = await h.post(1, 1500);
    const finished = jobOutcome(h.events, job.id ?? '');
    await progressReached(h.events, job.id ?? '', 5);

    relocator.child.kill('SIGUSR2');
    expect(await relocator.exited).toBe(EXIT_SOFTWARE);
    expect(fatalLine(relocator)).toMatchObject({
      err: { message: 'injected fault (rejection)' },
      origin: 'unhandledRejection',
      active: [{ jobId: job.id, cid: 1 }],
      exitCode: EXIT_SOFTWARE,
    });
    expect(relocator.logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'relocator stopping: no new jobs',
        'relocator stopped',
        'stopped after an unexpected error: exiting',
      ]),
    );
    expect(await finished).toMatchObject({ state: 'completed', result: { outcome: 'moved' } });
    expect((await getContent(h.t.db, 1))?.content_level).toBe('silver');
    expect(await getContentHistory(h.t.db, 1)).toHaveLength(1);
    expect(await list(h.dir('silver'))).toEqual(['a.mp4']);
  });

  it('releases a move that outlasts the shutdown deadline; a fresh relocator completes it', async () => {
    await insertContents(h.t.db, [{ cid: 2, level: 'bronze', filename: 'b.mp4' }]);
    await writeSeededFile(path.join(h.dir('bronze'), 'b.mp4'), 64 << 20, 'b');
    const relocator = start('apps/relocator/src/main.ts', {
      TEST_FAULT: 'exception',
      RELOCATOR_COPY_BYTES_PER_SECOND: COPY_RATE,
      RELOCATOR_SHUTDOWN_TIMEOUT_MS: '300',
    });
    const job = await h.post(2, 1500);
    await progressReached(h.events, job.id ?? '', 2);

    relocator.child.kill('SIGUSR2');
    expect(await relocator.exited).toBe(EXIT_SOFTWARE);
    expect(fatalLine(relocator)).toMatchObject({
      err: { message: 'injected fault (exception)' },
      origin: 'uncaughtException',
      active: [{ jobId: job.id, cid: 2 }],
    });
    expect(relocator.logs.map((l) => l.msg)).toContain(
      'shutdown deadline passed: aborting active moves',
    );
    // Released, not lost: no temp file, the source intact, the job back in the queue.
    expect((await list(h.dir('silver'))).filter((f) => f.startsWith(tempPrefix('b.mp4')))).toEqual(
      [],
    );
    expect((await stat(path.join(h.dir('bronze'), 'b.mp4'))).size).toBe(64 << 20);
    expect((await getContent(h.t.db, 2))?.content_level).toBe('bronze');
    expect(['delayed', 'waiting']).toContain(await job.getState());

    const next = await startRelocator(loadConfig({ ...h.env(), REDIS_URL: redisUrl() }), {
      logger: SILENT,
      db: h.t.db,
    });
    try {
      expect(await jobOutcome(h.events, job.id ?? '')).toMatchObject({ state: 'completed' });
    } finally {
      await next.close();
    }
    expect((await getContent(h.t.db, 2))?.content_level).toBe('silver');
    expect(await getContentHistory(h.t.db, 2)).toHaveLength(1);
  });
});

describe('an unexpected error in the gateway', () => {
  it.each([
    ['rejection', 'unhandledRejection'],
    ['exception', 'uncaughtException'],
  ])(
    '(an unhandled %s) is logged at fatal, the gateway closes and exits 70',
    async (kind, origin) => {
      const gateway = start('apps/gateway/src/main.ts', {
        TEST_FAULT: kind,
        PORT: '0',
        HOST: '127.0.0.1',
      });
      const { url } = (await gateway.waitForLog((l) => l.msg === 'gateway listening')) as {
        url: string;
      };
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      gateway.child.kill('SIGUSR2');
      expect(await gateway.exited).toBe(EXIT_SOFTWARE);
      expect(fatalLine(gateway)).toMatchObject({
        err: { message: `injected fault (${kind})` },
        origin,
        exitCode: EXIT_SOFTWARE,
      });
      expect(gateway.logs.map((l) => l.msg)).toContain(
        'stopped after an unexpected error: exiting',
      );
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    },
  );
});

describe('an unexpected error under `npm start`', () => {
  it('stops the gateway, lets the active move finish, and exits 70', async () => {
    await insertContents(h.t.db, [{ cid: 3, level: 'bronze', filename: 'c.mp4' }]);
    await writeSeededFile(path.join(h.dir('bronze'), 'c.mp4'), 24 << 20, 'c');
    const launcher = start('scripts/start.ts', {
      TEST_FAULT: 'rejection',
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: h.scratch.disk,
      SAMPLE_CONTENTS: 'false',
      RELOCATOR_CONCURRENCY: '1',
      RELOCATOR_COPY_BYTES_PER_SECOND: COPY_RATE,
    });
    await launcher.waitForLog((l) => l.msg === 'Content relocation service is running.');
    const job = await h.post(3, 1500);
    const finished = jobOutcome(h.events, job.id ?? '');
    await progressReached(h.events, job.id ?? '', 5);

    launcher.child.kill('SIGUSR2');
    expect(await launcher.exited).toBe(EXIT_SOFTWARE);
    expect(fatalLine(launcher)).toMatchObject({
      err: { message: 'injected fault (rejection)' },
      active: [{ jobId: job.id, cid: 3 }],
    });
    expect(launcher.logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['relocator stopped', 'stopped after an unexpected error: exiting']),
    );
    expect(await finished).toMatchObject({ state: 'completed', result: { outcome: 'moved' } });
    expect((await getContent(h.t.db, 3))?.content_level).toBe('silver');
  });
});
