import { execFile } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeTierMarker } from '@relocation/contract';
import { getContent, getContentHistory, getDeploymentId } from '@relocation/db';
import { MoveJournal, RelocationKeys, type RelocationQueue } from '@relocation/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, uniqueSuffix } from '../support/services.ts';
import {
  ADMIN,
  ADMIN_AUTH,
  addContent,
  buildGateway,
  eventually,
  gate,
  json,
  openQueueEvents,
  openServices,
  jobCompleted,
  startTestWorker,
  type Gateway,
  type Services,
} from './support.ts';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** This file's tier directories (the seeded levels point here), each with its marker. */
const ROOT = path.join(os.tmpdir(), `reloc-content-admin-${uniqueSuffix()}`);
const dir = (level: string) => path.join(ROOT, level);
const LEVELS = ['bronze', 'silver', 'gold'] as const;

function withAuth<T extends { headers?: Record<string, string> }>(request: T): T {
  return { ...request, headers: { ...request.headers, authorization: ADMIN_AUTH } };
}

function setLevel(cid: number, level: string, auth = true) {
  const request = json(`/v1/contents/${cid}/level`, { level }, 'PUT');
  return auth ? withAuth(request) : request;
}

function requeue(cid: number, auth = true) {
  const request = { method: 'POST' as const, url: `/v1/contents/${cid}/requeue`, headers: {} };
  return auth ? withAuth(request) : request;
}

function clearPending(cid: number, auth = true) {
  const request = {
    method: 'DELETE' as const,
    url: `/v1/contents/${cid}/pending-move`,
    headers: {},
  };
  return auth ? withAuth(request) : request;
}

describe('admin content commands: set a level, requeue, clear a pending move', () => {
  let services: Services;
  let gw: Gateway;
  let queue: RelocationQueue;
  let journal: MoveJournal;
  let deployment: string;

  /** A content of this test on `level`, with its file on each of `filesOn` (may be none). */
  async function content(
    cid: number,
    level: string,
    filesOn: readonly string[] = [level],
    viewCount = 0,
  ): Promise<string> {
    const filename = `c${cid}.mp4`;
    await addContent(services, { cid, level, filename, viewCount });
    for (const tier of filesOn) await writeFile(path.join(dir(tier), filename), `content ${cid}`);
    return filename;
  }

  async function history(cid: number) {
    return getContentHistory(services.database.db, cid);
  }

  beforeAll(async () => {
    services = await openServices({ dataDir: ROOT });
    deployment = await getDeploymentId(services.database.db);
    for (const level of LEVELS) {
      await writeTierMarker(dir(level), { level, deployment }, { createDirectory: true });
    }
    gw = await buildGateway(services);
    queue = services.queue();
    journal = new MoveJournal(
      services.redis.redis,
      new RelocationKeys({ prefix: services.prefix, deployment }),
    );
  });
  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
    await rm(ROOT, { recursive: true, force: true });
  });

  it('answers 401 on every command without credentials, and changes nothing', async () => {
    await content(100, 'bronze', ['silver']);
    for (const request of [
      setLevel(100, 'silver', false),
      requeue(100, false),
      clearPending(100, false),
    ]) {
      const res = await gw.app.inject(request);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
      expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    expect((await getContent(services.database.db, 100))?.content_level).toBe('bronze');
  });

  it('refuses every command while a relocation job of the content is active (409 RELOCATION_ACTIVE)', async () => {
    await content(101, 'bronze', ['bronze'], 1500);
    const hold = gate();
    const worker = startTestWorker(services, { beforeCommit: () => hold.promise });
    const events = await openQueueEvents(services);
    try {
      const queued = await gw.app.inject(requeue(101));
      expect(queued.statusCode).toBe(202);
      const { jobId } = queued.json<{ jobId: string }>();
      await eventually(
        async () => (await (await queue.getJob(jobId))?.getState()) === 'active',
        10_000,
        'the job to be active',
      );
      await journal.begin(101, {
        from: 'bronze',
        to: 'silver',
        filename: 'c101.mp4',
        jobId,
        startedAt: Date.now(),
      });

      const set = await gw.app.inject(setLevel(101, 'bronze'));
      expect(set.statusCode).toBe(409);
      expect(set.json()).toMatchObject({ code: 'RELOCATION_ACTIVE' });
      expect(set.json<{ message: string }>().message).toContain(`relocation job ${jobId}`);
      const clear = await gw.app.inject(clearPending(101));
      expect(clear.statusCode).toBe(409);
      expect(clear.json()).toMatchObject({ code: 'RELOCATION_ACTIVE' });
      expect(await journal.get(101)).not.toBeNull();

      hold.open();
      await jobCompleted(queue, events, jobId);
    } finally {
      hold.open();
      await worker.close();
      await events.close();
      await journal.end(101);
    }
  });

  it('requeues a content whose last job failed, from its latest count (202 with a new job)', async () => {
    await content(102, 'bronze', ['bronze']);
    const worker = startTestWorker(services, { fail: () => 'boom' });
    let failedId: string;
    try {
      const post = await gw.app.inject(json('/v1/views', { cid: 102, count: 1500 }));
      failedId = post.json<{ jobId: string }>().jobId;
      await eventually(
        async () => (await (await queue.getJob(failedId))?.getState()) === 'failed',
        10_000,
        'the job to fail',
      );
    } finally {
      await worker.close();
    }
    const res = await gw.app.inject(requeue(102));
    expect(res.statusCode).toBe(202);
    const body = res.json<{ jobId: string }>();
    expect(body).toMatchObject({
      cid: 102,
      status: 'queued',
      level: 'bronze',
      target: 'silver',
      count: 1500,
      reason: 'move',
    });
    expect(body.jobId).not.toBe(failedId);
    const job = await queue.getJob(body.jobId);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.data).toMatchObject({ cid: 102, count: 1500, target: 'silver', deployment });

    // Asked again, it joins the waiting job instead of adding another.
    const again = await gw.app.inject(requeue(102));
    expect(again.json<{ jobId: string }>().jobId).toBe(body.jobId);
  });

  it('answers on-target (200, no job) when nothing calls for a move, and 404 for an unknown cid', async () => {
    await content(103, 'silver', ['silver'], 1200);
    const res = await gw.app.inject(requeue(103));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      cid: 103,
      status: 'on-target',
      level: 'silver',
      target: 'silver',
      count: 1200,
      jobId: null,
      reason: null,
    });
    expect(await queue.getDeduplicationJobId('cid-103')).toBeFalsy();
    const missing = await gw.app.inject(requeue(999_999));
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'CONTENT_NOT_FOUND' });
  });

  it('requeues a content on its target when a move is pending, so a job finishes it', async () => {
    await content(104, 'bronze', ['bronze']);
    await journal.begin(104, {
      from: 'bronze',
      to: 'silver',
      filename: 'c104.mp4',
      jobId: '7',
      startedAt: Date.now(),
    });
    const res = await gw.app.inject(requeue(104));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      status: 'queued',
      target: 'bronze',
      reason: 'pending-move',
    });
    await journal.end(104);
  });

  it('sets the level after a manual move: one transaction (row + history), cache updated, idempotent', async () => {
    await content(105, 'bronze', ['silver'], 40);
    await services.cache.fill(105, { level: 'bronze', filename: 'c105.mp4' });
    const res = await gw.app.inject(setLevel(105, 'silver'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      cid: 105,
      level: 'silver',
      previousLevel: 'bronze',
      filename: 'c105.mp4',
      path: path.join(dir('silver'), 'c105.mp4'),
      changed: true,
      otherCopies: [],
      target: 'bronze',
    });
    const row = await getContent(services.database.db, 105);
    expect(row?.content_level).toBe('silver');
    const rows = await history(105);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      old_content_level: 'bronze',
      new_content_level: 'silver',
      job_id: `admin:${ADMIN.user}`,
      bytes: null,
      duration_ms: null,
    });
    expect(res.json<{ historyId: number }>().historyId).toBe(rows[0]?.id);
    expect(rows[0]?.new_updated_date.toISOString()).toBe(row?.update_time.toISOString());
    expect(await services.cache.get(105)).toMatchObject({ level: 'silver', filename: 'c105.mp4' });
    const state = await gw.app.inject({ method: 'GET', url: '/v1/contents/105' });
    expect(state.json()).toMatchObject({ level: 'silver' });

    const again = await gw.app.inject(setLevel(105, 'silver'));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({
      changed: false,
      historyId: null,
      previousLevel: 'silver',
    });
    expect(await history(105)).toHaveLength(1);
  });

  it('refuses a level whose directory does not hold the file, naming what each tier holds', async () => {
    await content(106, 'bronze', ['bronze']);
    await mkdir(path.join(dir('gold'), 'c106.mp4'));
    const res = await gw.app.inject(setLevel(106, 'silver'));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'FILE_NOT_ON_TIER' });
    const { message } = res.json<{ message: string }>();
    expect(message).toContain(`nothing at ${path.join(dir('silver'), 'c106.mp4')}`);
    expect(message).toMatch(
      /found on bronze \(.*c106\.mp4 is a regular file\), gold \(.*a directory\)/,
    );

    const dirOnGold = await gw.app.inject(setLevel(106, 'gold'));
    expect(dirOnGold.statusCode).toBe(409);
    expect(dirOnGold.json<{ message: string }>().message).toMatch(/c106\.mp4: a directory/);
    expect((await getContent(services.database.db, 106))?.content_level).toBe('bronze');
    expect(await history(106)).toHaveLength(0);
  });

  it('never follows a symbolic link out of the tier', async () => {
    await content(107, 'bronze', ['bronze']);
    await symlink(path.join(dir('bronze'), 'c107.mp4'), path.join(dir('silver'), 'c107.mp4'));
    const res = await gw.app.inject(setLevel(107, 'silver'));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'FILE_NOT_ON_TIER' });
    expect(res.json<{ message: string }>().message).toMatch(/a symbolic link \(never followed\)/);
    expect((await getContent(services.database.db, 107))?.content_level).toBe('bronze');
  });

  it('refuses an unknown level (400), a tier without its marker (409) and a pending move (409 MOVE_PENDING)', async () => {
    await content(108, 'bronze', ['silver']);
    const unknown = await gw.app.inject(setLevel(108, 'platinum'));
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'UNKNOWN_LEVEL' });
    expect(unknown.json<{ message: string }>().message).toContain('bronze, silver, gold');

    await journal.begin(108, {
      from: 'bronze',
      to: 'silver',
      filename: 'c108.mp4',
      jobId: '42',
      startedAt: Date.now(),
    });
    const pending = await gw.app.inject(setLevel(108, 'silver'));
    expect(pending.statusCode).toBe(409);
    expect(pending.json()).toMatchObject({ code: 'MOVE_PENDING' });
    const { message } = pending.json<{ message: string }>();
    expect(message).toContain('bronze → silver, job 42');
    expect(message).toContain('npm run content -- clear-pending 108');
    expect(message).toContain('DELETE /v1/contents/108/pending-move');
    await journal.end(108);

    await rm(path.join(dir('silver'), '.relocation-tier'));
    try {
      const unmarked = await gw.app.inject(setLevel(108, 'silver'));
      expect(unmarked.statusCode).toBe(409);
      expect(unmarked.json()).toMatchObject({ code: 'TIER_UNAVAILABLE' });
    } finally {
      await writeTierMarker(dir('silver'), { level: 'silver', deployment });
    }
    expect((await getContent(services.database.db, 108))?.content_level).toBe('bronze');
  });

  it('clears a pending move whose file reached its destination, and names the set-level command', async () => {
    await content(109, 'bronze', ['silver']);
    await journal.begin(109, {
      from: 'bronze',
      to: 'silver',
      filename: 'c109.mp4',
      jobId: '9',
      startedAt: Date.now(),
    });
    const res = await gw.app.inject(clearPending(109));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      cid: 109,
      cleared: true,
      move: { from: 'bronze', to: 'silver', filename: 'c109.mp4', jobId: '9' },
      level: 'silver',
      path: path.join(dir('silver'), 'c109.mp4'),
      mysqlLevel: 'bronze',
    });
    expect(res.json<{ next: string }>().next).toContain('npm run content -- set-level 109 silver');
    expect(await journal.get(109)).toBeNull();

    // The command it names then records the move.
    expect((await gw.app.inject(setLevel(109, 'silver'))).statusCode).toBe(200);
    expect((await getContent(services.database.db, 109))?.content_level).toBe('silver');

    const none = await gw.app.inject(clearPending(109));
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'NO_PENDING_MOVE' });
  });

  it('clears a pending move that never happened with nothing more to do', async () => {
    await content(110, 'bronze', ['bronze']);
    await journal.begin(110, {
      from: 'bronze',
      to: 'gold',
      filename: 'c110.mp4',
      jobId: '10',
      startedAt: Date.now(),
    });
    const res = await gw.app.inject(clearPending(110));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ level: 'bronze', mysqlLevel: 'bronze', next: null });
    expect(await journal.get(110)).toBeNull();
    expect(await services.cache.get(110)).toMatchObject({ level: 'bronze' });
  });

  it('keeps a pending move whose file is on both tiers or on neither (409 PENDING_MOVE_CONFLICT)', async () => {
    await content(111, 'bronze', ['bronze', 'silver']);
    const move = { from: 'bronze', to: 'silver', filename: 'c111.mp4', jobId: '11', startedAt: 1 };
    await journal.begin(111, move);
    const both = await gw.app.inject(clearPending(111));
    expect(both.statusCode).toBe(409);
    expect(both.json()).toMatchObject({ code: 'PENDING_MOVE_CONFLICT' });
    expect(both.json<{ message: string }>().message).toMatch(/on both tiers \(a collision/);
    expect(await journal.get(111)).toMatchObject({ from: 'bronze', to: 'silver' });

    await rm(path.join(dir('bronze'), 'c111.mp4'));
    await rm(path.join(dir('silver'), 'c111.mp4'));
    const neither = await gw.app.inject(clearPending(111));
    expect(neither.statusCode).toBe(409);
    expect(neither.json<{ message: string }>().message).toMatch(/on neither tier/);
    expect(await journal.get(111)).not.toBeNull();
    await journal.end(111);
  });

  it('PUT /v1/levels refuses to remove a level while a pending move uses it (409 LEVEL_IN_USE naming the cid)', async () => {
    const three = LEVELS.map((name) => ({
      name,
      minCount: name === 'bronze' ? 0 : name === 'silver' ? 1000 : 2000,
      maxCount: name === 'bronze' ? 999 : name === 'silver' ? 1999 : null,
      path: dir(name),
    }));
    const four = [
      ...three.map((l) => (l.name === 'gold' ? { ...l, maxCount: 4999 } : l)),
      { name: 'platinum', minCount: 5000, maxCount: null, path: dir('platinum') },
    ];
    const put = (levels: unknown, query = '') =>
      withAuth({ ...json('/v1/levels', { levels }, 'PUT'), url: `/v1/levels${query}` });
    expect((await gw.app.inject(put(four, '?create=true'))).statusCode).toBe(200);
    await content(112, 'gold', ['gold']);
    await journal.begin(112, {
      from: 'gold',
      to: 'platinum',
      filename: 'c112.mp4',
      jobId: '12',
      startedAt: Date.now(),
    });
    const refused = await gw.app.inject(put(three));
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'LEVEL_IN_USE' });
    expect(refused.json<{ message: string }>().message).toMatch(
      /cannot remove level "platinum": pending moves use it: cid 112 \(c112\.mp4, gold → platinum, job 12\)/,
    );
    const levels = await gw.app.inject({ method: 'GET', url: '/v1/levels' });
    expect(levels.json<{ levels: unknown[] }>().levels).toHaveLength(4);

    await journal.end(112);
    expect((await gw.app.inject(put(three))).statusCode).toBe(200);
  });

  describe('npm run content', () => {
    function cli(...args: string[]) {
      return run('node', ['--import', 'tsx', 'apps/relocator/src/content.main.ts', ...args], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: services.database.url,
          REDIS_URL: redisUrl(),
          QUEUE_PREFIX: services.prefix,
        },
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    }

    it('set-level records a manual move (exit 0), refuses a wrong tier (exit 1) and bad usage (exit 2)', async () => {
      await content(113, 'bronze', ['silver']);
      const wrong = await cli('set-level', '113', 'gold');
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('refused (FILE_NOT_ON_TIER)');
      expect(wrong.stderr).toContain('found on silver');

      const ok = await cli('set-level', '113', 'silver');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(
        /^content 113: level set to silver \(was bronze\), file .*c113\.mp4, history row \d+; its latest count calls for bronze: the next post or `npm run content -- requeue 113` moves it there\n$/,
      );
      expect((await getContent(services.database.db, 113))?.content_level).toBe('silver');
      const rows = await history(113);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.job_id).toMatch(/^admin:cli:/);
      expect(await services.cache.get(113)).toMatchObject({ level: 'silver' });

      const bad = await cli('set-level', 'seven');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('usage: npm run content');
    });

    it("requeue queues the move from MySQL's count and answers JSON with --json", async () => {
      await content(114, 'bronze', ['bronze'], 2500);
      const res = await cli('requeue', '114', '--json');
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout) as {
        ok: boolean;
        result: { kind: string; jobId: string; target: string; count: number };
      };
      expect(out).toMatchObject({
        ok: true,
        command: 'requeue',
        result: { kind: 'queued', target: 'gold', count: 2500, reason: 'move' },
      });
      const job = await queue.getJob(out.result.jobId);
      expect(job?.data).toMatchObject({ cid: 114, target: 'gold', from: 'bronze', deployment });

      const onTarget = await cli('requeue', '103');
      expect(onTarget.code).toBe(0);
      expect(onTarget.stdout).toBe(
        'content 103 is already on its target silver (count 1200); nothing queued\n',
      );
    });
  });
});
