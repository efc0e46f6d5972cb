import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { getContentHistory, listAudit } from '@relocation/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/services.ts';
import { REPO_ROOT, writeSeededFile } from '../relocator/support.ts';
import {
  ADMIN_AUTH,
  buildGateway,
  startRealRelocator,
  type RealRelocator,
  eventually,
  form,
  openServices,
  type Gateway,
  type Services,
} from './support.ts';

type Status = {
  paused: boolean;
  active: number;
  waiting: number;
  delayed: number;
  failed: number;
  replicas: { name: string }[];
  drained?: boolean;
};

/** Pause, resume and drain against a real relocator, on real files. */
describe('pausing, resuming and draining relocations', () => {
  let services: Services;
  let gw: Gateway;
  let real: RealRelocator;

  beforeAll(async () => {
    services = await openServices();
    real = await startRealRelocator(services, { RELOCATOR_COPY_BYTES_PER_SECOND: String(4 << 20) });
    gw = await buildGateway(services);
  });
  afterAll(async () => {
    await real?.close();
    await gw?.app.close();
    await services?.close();
  });

  const admin = { authorization: ADMIN_AUTH };
  const status = async () =>
    (await gw.app.inject({ method: 'GET', url: '/v1/relocations', headers: admin })).json<Status>();
  const history = (cid: number) => getContentHistory(services.database.db, cid);

  it('needs admin credentials', async () => {
    for (const [method, url] of [
      ['GET', '/v1/relocations'],
      ['POST', '/v1/relocations/pause'],
      ['POST', '/v1/relocations/resume'],
    ] as const) {
      const res = await gw.app.inject({ method, url });
      expect(res.statusCode, url).toBe(401);
    }
  });

  it('while paused accepts and queues posts but moves nothing; on resume the latest counts decide, one move per content', async () => {
    const paused = await gw.app.inject({
      method: 'POST',
      url: '/v1/relocations/pause',
      headers: admin,
    });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ paused: true, active: 0, drained: true });

    // cid 7 crosses into silver, then into gold; cid 2 into gold.
    for (const body of ['cid=7&count=1964', 'cid=2&count=2500', 'cid=7&count=2100']) {
      const res = await gw.app.inject(form('/post_sentence', body));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'update' });
    }
    // Relocators are running and see the jobs, and start none of them.
    await eventually(async () => (await status()).replicas.length >= 1, 10_000, 'a replica');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const held = await status();
    expect(held).toMatchObject({ paused: true, active: 0, waiting: 2 });
    expect(held.replicas[0]?.name).toMatch(/:\d+$/);
    expect(await history(7)).toEqual([]);
    expect(await history(2)).toEqual([]);
    // Bull Board shows the same pause (it reads BullMQ's own flag).
    const board = await gw.app.inject({
      method: 'GET',
      url: '/admin/queues/api/queues?activeQueue=relocation&page=1&jobsPerPage=10',
      headers: admin,
    });
    expect(board.json<{ queues: { name: string; isPaused: boolean }[] }>().queues).toContainEqual(
      expect.objectContaining({ name: 'relocation', isPaused: true }),
    );

    const resumed = await gw.app.inject({
      method: 'POST',
      url: '/v1/relocations/resume',
      headers: admin,
    });
    expect(resumed.json()).toMatchObject({ paused: false });
    await eventually(
      async () => (await history(7)).length > 0 && (await history(2)).length > 0,
      15_000,
      'both moves',
    );
    await eventually(async () => (await status()).waiting + (await status()).active === 0);
    expect((await history(7)).map((h) => [h.old_content_level, h.new_content_level])).toEqual([
      ['bronze', 'gold'],
    ]);
    expect((await history(2)).map((h) => [h.old_content_level, h.new_content_level])).toEqual([
      ['bronze', 'gold'],
    ]);
  });

  it('drains: pause?wait answers once the active move has finished', async () => {
    // cid 4 (d.mp4, bronze on disk) to silver (tmpfs): a copy of 8 MiB at 4 MiB/s, about 2 s.
    const bronze = real.dir('bronze');
    await writeSeededFile(path.join(bronze, 'd.mp4'), 8 << 20, 'drain');
    await gw.app.inject(form('/post_sentence', 'cid=4&count=1500'));
    await eventually(async () => (await status()).active === 1, 10_000, 'the move to start');

    const drained = await gw.app.inject({
      method: 'POST',
      url: '/v1/relocations/pause?wait=30',
      headers: admin,
    });
    expect(drained.json()).toMatchObject({ paused: true, active: 0, drained: true });
    expect((await history(4)).map((h) => h.new_content_level)).toEqual(['silver']);

    const bad = await gw.app.inject({
      method: 'POST',
      url: '/v1/relocations/pause?wait=soon',
      headers: admin,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toMatch(/^querystring\/wait: /);
    await gw.app.inject({ method: 'POST', url: '/v1/relocations/resume', headers: admin });
  });

  it('has CLI equivalents: npm run relocations -- status|pause|resume, a table or --json', async () => {
    const run = promisify(execFile);
    const cli = (...args: string[]) =>
      run(
        process.execPath,
        ['--import', 'tsx', 'apps/relocator/src/relocations.main.ts', ...args],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            DATABASE_URL: services.database.url,
            REDIS_URL: redisUrl(),
            QUEUE_PREFIX: services.prefix,
          },
        },
      );
    const paused = JSON.parse((await cli('pause', '--wait', '5', '--json')).stdout) as Status;
    expect(paused).toMatchObject({ paused: true, active: 0, drained: true });
    expect(paused.replicas.length).toBeGreaterThanOrEqual(1);
    expect((await status()).paused).toBe(true);
    const table = (await cli('status')).stdout;
    expect(table).toMatch(/^relocations PAUSED\n {2}active {3}0\n/);
    expect(table).toMatch(/replicas [1-9]/);
    const resumed = JSON.parse((await cli('resume', '--json')).stdout) as Status;
    expect(resumed.paused).toBe(false);
    await expect(cli('stop')).rejects.toMatchObject({ code: 2 });

    // Every pause and resume, over HTTP or from the command line, is in the audit trail.
    const trail = await listAudit(services.database.db, { limit: 100 });
    const actions = trail
      .filter((e) => e.action.startsWith('relocations.'))
      .map((e) => [e.action, e.actor.split(':')[0]]);
    expect(actions.slice(0, 2)).toEqual([
      ['relocations.resume', 'cli'],
      ['relocations.pause', 'cli'],
    ]);
    expect(actions).toContainEqual(['relocations.pause', 'admin']);
  }, 30_000);
});
