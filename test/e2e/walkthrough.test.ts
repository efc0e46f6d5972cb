import { execFile } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDb, dropDatabase, getContentHistory, type Database } from '@relocation/db';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, redisUrl, uniqueSuffix, type TestRedis } from '../support/services.ts';
import { inject } from 'vitest';
import { exitOf, npmStart, waitFor } from './support.ts';

const run = promisify(execFile);

describe('the seed walk-through against `npm start`', () => {
  let r: TestRedis;
  let databaseUrl: string;
  let dataDir: string;
  let db: Kysely<Database>;
  let service: ReturnType<typeof npmStart> | undefined;

  beforeAll(() => {
    r = createTestRedis();
    const url = new URL(inject('databaseUrl'));
    url.pathname = `/reloc_e2e_${uniqueSuffix()}`;
    databaseUrl = url.toString();
    dataDir = path.join(os.tmpdir(), `reloc-e2e-${uniqueSuffix()}`);
  });
  afterAll(async () => {
    if (service?.child.pid !== undefined) {
      try {
        process.kill(-service.child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
    await db?.destroy();
    await dropDatabase(databaseUrl);
    await rm(dataDir, { recursive: true, force: true });
    await r.cleanup();
  });

  it('moves g.mp4 to silver for cid=7&count=1964 and answers 7 afterwards', async () => {
    service = npmStart({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: r.prefix,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      RELOCATOR_METRICS_PORT: '0',
      ADMIN_USER: '',
      ADMIN_PASSWORD: '',
    });
    const out = service.output;
    const base = await waitFor(
      'the gateway URL in the banner',
      () => /gateway +(http:\S+)/.exec(out())?.[1],
    );
    expect(out()).toMatch(/Bull Board +http:\S+\/admin\/queues/);
    expect(out()).toMatch(/user "admin", password "\S{12,}" \(generated for this run/);
    expect(out()).toMatch(/access +open: no API keys are configured/);
    db = createDb(databaseUrl);

    // The seed's own example, with the host changed to where the service listens.
    const { stdout: posted } = await run('curl', [
      '-s',
      `${base}/post_sentence`,
      '-d',
      'cid=7&count=1964',
    ]);
    expect(posted).toBe(
      '{"cid":"7","count":"1964","target":"silver","db_level":"bronze","filename":"g.mp4","worker_id":null,"status":"update"}',
    );

    const history = await waitFor('the history row', async () => {
      const rows = await getContentHistory(db, 7);
      return rows.length > 0 ? rows : undefined;
    });
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ old_content_level: 'bronze', new_content_level: 'silver' });
    expect(await readdir(path.join(dataDir, 'silver'))).toContain('g.mp4');
    expect(await readdir(path.join(dataDir, 'bronze'))).not.toContain('g.mp4');

    const answer = await waitFor('update_sentence to answer 7', async () => {
      const { stdout } = await run('curl', ['-s', `${base}/update_sentence`, '-d', 'cid=7']);
      return stdout === '7' ? stdout : undefined;
    });
    expect(answer).toBe('7');
    const { stdout: pending } = await run('curl', ['-s', `${base}/update_sentence`, '-d', 'cid=8']);
    // cid 8 has nothing pending and sits on its final tier: the answer is its cid.
    expect(pending).toBe('8');

    // Ctrl-C reaches the whole process group: both apps stop gracefully. npm itself reports
    // the interrupt (it dies of SIGINT), so the launcher's own logs tell that it closed cleanly.
    process.kill(-(service.child.pid ?? 0), 'SIGINT');
    await exitOf(service.child);
    await waitFor('the relocator to stop', () =>
      out().includes('"msg":"relocator stopped"') ? true : undefined,
    );
    expect(out()).toContain('stopping: gateway first');
    expect(out()).not.toContain('shutdown failed');
  }, 90_000);

  it('says which service it cannot reach, where, and how to start it', async () => {
    const redisDown = npmStart({ REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: databaseUrl });
    expect(await exitOf(redisDown.child)).toBe(1);
    expect(redisDown.output()).toContain('Cannot reach Redis at 127.0.0.1:1');
    expect(redisDown.output()).toContain('redis-server');
    expect(redisDown.output()).not.toMatch(/\n\s+at /);

    const mysqlDown = npmStart({
      REDIS_URL: redisUrl(),
      DATABASE_URL: 'mysql://root@127.0.0.1:1/x',
    });
    expect(await exitOf(mysqlDown.child)).toBe(1);
    expect(mysqlDown.output()).toContain('Cannot reach MySQL at 127.0.0.1:1');
    expect(mysqlDown.output()).not.toMatch(/\n\s+at /);
  }, 60_000);
});
