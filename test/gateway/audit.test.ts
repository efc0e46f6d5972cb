import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeTierMarker } from '@relocation/contract';
import {
  getContent,
  getContentHistory,
  getDeploymentId,
  listAudit,
  listLevels,
  recordAudit,
  type AuditRecord,
} from '@relocation/db';
import { MoveJournal, RelocationKeys, type RelocationQueue } from '@relocation/queue';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl, uniqueSuffix } from '../support/services.ts';
import {
  ADMIN,
  ADMIN_AUTH,
  addContent,
  buildGateway,
  json,
  openServices,
  type Gateway,
  type Services,
} from './support.ts';

const run = promisify(execFile);
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** This file's tier directories (the seeded levels point here), each with its marker. */
const ROOT = path.join(os.tmpdir(), `reloc-audit-${uniqueSuffix()}`);
const dir = (level: string) => path.join(ROOT, level);
const ACTOR = `admin:${ADMIN.user}`;

function levels(bronzeMax: number, silverMax: number) {
  return [
    { name: 'bronze', minCount: 0, maxCount: bronzeMax, path: dir('bronze') },
    { name: 'silver', minCount: bronzeMax + 1, maxCount: silverMax, path: dir('silver') },
    { name: 'gold', minCount: silverMax + 1, maxCount: null, path: dir('gold') },
  ];
}

function withAuth<T extends { headers?: Record<string, string> }>(request: T): T {
  return { ...request, headers: { ...request.headers, authorization: ADMIN_AUTH } };
}

function putLevels(table: unknown, query = '') {
  return withAuth({ ...json('/v1/levels', { levels: table }, 'PUT'), url: `/v1/levels${query}` });
}

const setLevel = (cid: number, level: string) =>
  withAuth(json(`/v1/contents/${cid}/level`, { level }, 'PUT'));
const requeue = (cid: number) =>
  withAuth({ method: 'POST' as const, url: `/v1/contents/${cid}/requeue`, headers: {} });
const clearPending = (cid: number) =>
  withAuth({ method: 'DELETE' as const, url: `/v1/contents/${cid}/pending-move`, headers: {} });

describe('the audit trail of admin actions', () => {
  let services: Services;
  let gw: Gateway;
  let queue: RelocationQueue;
  let journal: MoveJournal;

  /** Entries written after entry `since`, oldest first. */
  async function entriesSince(since: number): Promise<AuditRecord[]> {
    const rows = await listAudit(services.database.db, { limit: 1000 });
    return rows.filter((e) => e.id > since).reverse();
  }

  async function lastId(): Promise<number> {
    const [last] = await listAudit(services.database.db, { limit: 1 });
    return last?.id ?? 0;
  }

  /** A content of this test on `level`, with its file on each of `filesOn`. */
  async function content(cid: number, level: string, filesOn: readonly string[], viewCount = 0) {
    const filename = `c${cid}.mp4`;
    await addContent(services, { cid, level, filename, viewCount });
    for (const tier of filesOn) await writeFile(path.join(dir(tier), filename), `content ${cid}`);
  }

  /** Makes every insert into `table` fail (a MySQL error inside the action's transaction). */
  async function failInserts(table: 'audit_log' | 'level', body: () => Promise<void>) {
    const db = services.database.db;
    await sql
      .raw(
        `create trigger fail_${table} before insert on ${table} for each row ` +
          `signal sqlstate '45000' set message_text = 'insert refused by the test'`,
      )
      .execute(db);
    try {
      await body();
    } finally {
      await sql.raw(`drop trigger if exists fail_${table}`).execute(db);
    }
  }

  beforeAll(async () => {
    services = await openServices({ dataDir: ROOT });
    const deployment = await getDeploymentId(services.database.db);
    for (const level of ['bronze', 'silver', 'gold']) {
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
    await queue?.obliterate({ force: true });
    await services?.close();
    await rm(ROOT, { recursive: true, force: true });
  });

  it('records a level table change: who, the old and the new table, the directories it created', async () => {
    const since = await lastId();
    const four = [
      ...levels(999, 1999).map((l) => (l.name === 'gold' ? { ...l, maxCount: 4999 } : l)),
      { name: 'platinum', minCount: 5000, maxCount: null, path: dir('platinum') },
    ];
    const res = await gw.app.inject(putLevels(four, '?create=true'));
    expect(res.statusCode).toBe(200);
    const entries = await entriesSince(since);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: ACTOR,
      action: 'levels.replace',
      target: 'levels',
      before: levels(999, 1999),
      after: four,
      detail: `tier directories: create platinum at ${dir('platinum')}`,
    });

    // Back to three levels (nothing sits on platinum): one more entry, no directory prepared.
    expect((await gw.app.inject(putLevels(levels(999, 1999)))).statusCode).toBe(200);
    const back = await entriesSince(since);
    expect(back).toHaveLength(2);
    expect(back[1]).toMatchObject({ before: four, after: levels(999, 1999), detail: null });
  });

  it('records a manual level in the transaction of the level change, with the history row', async () => {
    await content(200, 'bronze', ['silver']);
    const since = await lastId();
    const res = await gw.app.inject(setLevel(200, 'silver'));
    expect(res.statusCode).toBe(200);
    const [history] = await getContentHistory(services.database.db, 200);
    expect(history?.job_id).toBe(ACTOR);
    const entries = await entriesSince(since);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: ACTOR,
      action: 'content.set-level',
      target: 'cid:200',
      before: { level: 'bronze' },
      after: { level: 'silver', historyId: history?.id },
      detail: `file ${path.join(dir('silver'), 'c200.mp4')}`,
    });
  });

  it('records a requeue after the job is queued, with the job in after', async () => {
    await content(201, 'bronze', ['bronze'], 1500);
    const since = await lastId();
    const res = await gw.app.inject(requeue(201));
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json<{ jobId: string }>();
    expect(await (await queue.getJob(jobId))?.getState()).toBe('waiting');
    const entries = await entriesSince(since);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: ACTOR,
      action: 'content.requeue',
      target: 'cid:201',
      before: { level: 'bronze', count: 1500, pendingMove: null },
      after: { queued: true, jobId, target: 'silver', reason: 'move' },
    });
  });

  it('records a cleared pending move after it is cleared, with the move and where the file is', async () => {
    await content(202, 'bronze', ['silver']);
    const move = {
      from: 'bronze',
      to: 'silver',
      filename: 'c202.mp4',
      jobId: '77',
      startedAt: Date.now(),
    };
    await journal.begin(202, move);
    const since = await lastId();
    const res = await gw.app.inject(clearPending(202));
    expect(res.statusCode).toBe(200);
    expect(await journal.get(202)).toBeNull();
    const entries = await entriesSince(since);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: ACTOR,
      action: 'content.clear-pending',
      target: 'cid:202',
      before: { pendingMove: move, mysqlLevel: 'bronze' },
      after: {
        pendingMove: null,
        cleared: move,
        fileLevel: 'silver',
        path: path.join(dir('silver'), 'c202.mp4'),
      },
    });
    expect(entries[0]?.detail).toContain('npm run content -- set-level 202 silver');
  });

  it('records nothing for a refused action (400, 401, 404, 409)', async () => {
    await content(203, 'bronze', ['bronze']);
    const since = await lastId();
    const refused = [
      { request: setLevel(203, 'silver'), status: 409 }, // FILE_NOT_ON_TIER
      { request: setLevel(203, 'platinum'), status: 400 }, // UNKNOWN_LEVEL
      { request: clearPending(203), status: 404 }, // NO_PENDING_MOVE
      { request: requeue(999_999), status: 404 }, // CONTENT_NOT_FOUND
      {
        // A gap between bronze and silver: INVALID_LEVELS.
        request: putLevels(
          levels(999, 1999).map((l) => ({ ...l, minCount: l.minCount && l.minCount + 1 })),
        ),
        status: 400,
      },
      // Removing gold, which seeded contents sit on: refused inside the transaction.
      {
        request: putLevels([levels(999, 1999)[0], { ...levels(999, 1999)[1], maxCount: null }]),
        status: 409,
      },
      { request: json('/v1/levels', { levels: levels(499, 1499) }, 'PUT'), status: 401 },
    ];
    for (const { request, status } of refused) {
      const res = await gw.app.inject(request);
      expect(res.statusCode, `${request.method} ${request.url}`).toBe(status);
    }
    expect(await entriesSince(since)).toEqual([]);
    expect(await listLevels(services.database.db)).toEqual(levels(999, 1999));
  });

  it('keeps an action and its entry together: a failed transaction leaves neither', async () => {
    const db = services.database.db;
    await content(204, 'bronze', ['silver']);
    const since = await lastId();

    // The entry cannot be written: the level change and the manual level are rolled back.
    await failInserts('audit_log', async () => {
      const put = await gw.app.inject(putLevels(levels(499, 1499)));
      expect(put.statusCode).toBe(500);
      const set = await gw.app.inject(setLevel(204, 'silver'));
      expect(set.statusCode).toBe(500);
    });
    expect(await listLevels(db)).toEqual(levels(999, 1999));
    expect((await getContent(db, 204))?.content_level).toBe('bronze');
    expect(await getContentHistory(db, 204)).toEqual([]);

    // The level change fails: no entry says it happened.
    await failInserts('level', async () => {
      const put = await gw.app.inject(putLevels(levels(499, 1499)));
      expect(put.statusCode).toBe(500);
    });
    expect(await listLevels(db)).toEqual(levels(999, 1999));
    expect(await entriesSince(since)).toEqual([]);

    const read = await gw.app.inject({ method: 'GET', url: '/v1/levels' });
    expect(read.json()).toMatchObject({ levels: levels(999, 1999) });
  });

  describe('GET /v1/audit', () => {
    const get = (query = '', auth = true) => {
      const request = { method: 'GET' as const, url: `/v1/audit${query}`, headers: {} };
      return auth ? withAuth(request) : request;
    };

    it('needs the admin credentials (401 without, and with a wrong password)', async () => {
      const none = await gw.app.inject(get('', false));
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Basic/);
      expect(none.json()).toMatchObject({ code: 'UNAUTHORIZED' });
      const wrong = `Basic ${Buffer.from(`${ADMIN.user}:guess`).toString('base64')}`;
      const bad = await gw.app.inject({ ...get('', false), headers: { authorization: wrong } });
      expect(bad.statusCode).toBe(401);
    });

    it('pages newest first with limit and before, and filters by action and actor', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(
          await recordAudit(services.database.db, {
            actor: 'cli:pager',
            action: i % 2 === 0 ? 'test.even' : 'test.odd',
            target: `n:${i}`,
            before: { i },
            after: null,
          }),
        );
      }
      const page1 = await gw.app.inject(get('?actor=cli:pager&limit=2'));
      expect(page1.statusCode).toBe(200);
      const items1 = page1.json<{ items: { id: number }[] }>().items;
      expect(items1.map((e) => e.id)).toEqual([ids[4], ids[3]]);
      expect(page1.json<{ items: unknown[] }>().items[0]).toEqual({
        id: ids[4],
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
        actor: 'cli:pager',
        action: 'test.even',
        target: 'n:4',
        before: { i: 4 },
        after: null,
        detail: null,
      });
      const page2 = await gw.app.inject(get(`?actor=cli:pager&limit=2&before=${ids[3]}`));
      expect(page2.json<{ items: { id: number }[] }>().items.map((e) => e.id)).toEqual([
        ids[2],
        ids[1],
      ]);
      const page3 = await gw.app.inject(get(`?actor=cli:pager&limit=2&before=${ids[1]}`));
      expect(page3.json<{ items: { id: number }[] }>().items.map((e) => e.id)).toEqual([ids[0]]);

      const odd = await gw.app.inject(get('?action=test.odd'));
      expect(odd.json<{ items: { target: string }[] }>().items.map((e) => e.target)).toEqual([
        'n:3',
        'n:1',
      ]);
      const admin = await gw.app.inject(get(`?actor=${encodeURIComponent(ACTOR)}`));
      const actions = admin.json<{ items: { actor: string; action: string }[] }>().items;
      expect(actions.length).toBeGreaterThan(0);
      expect(new Set(actions.map((e) => e.actor))).toEqual(new Set([ACTOR]));

      const all = await gw.app.inject(get());
      expect(all.json<{ items: { id: number }[] }>().items[0]?.id).toBe(ids[4]);
    });

    it('refuses a bad limit or before (400 INVALID_INPUT)', async () => {
      for (const query of ['?limit=0', '?limit=1001', '?limit=x', '?before=-1', '?action=']) {
        const res = await gw.app.inject(get(query));
        expect(res.statusCode, query).toBe(400);
        expect(res.json(), query).toMatchObject({ code: 'INVALID_INPUT' });
      }
    });
  });

  describe('the command line', () => {
    const env = () => ({
      ...process.env,
      DATABASE_URL: services.database.url,
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: services.prefix,
    });
    function node(script: string, args: string[], extraEnv: Record<string, string> = {}) {
      return run('node', ['--import', 'tsx', script, ...args], {
        cwd: REPO_ROOT,
        env: { ...env(), ...extraEnv },
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    }
    const audit = (...args: string[]) => node('apps/relocator/src/audit.main.ts', args);

    it('npm run content records its actions as cli:<login>', async () => {
      await content(205, 'bronze', ['bronze'], 2500);
      const since = await lastId();
      const res = await node('apps/relocator/src/content.main.ts', ['requeue', '205']);
      expect(res.code).toBe(0);
      const entries = await entriesSince(since);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: `cli:${os.userInfo().username}`,
        action: 'content.requeue',
        target: 'cid:205',
        after: { queued: true, target: 'gold' },
      });
    });

    it('npm run audit prints the entries newest first as a table, or as JSON', async () => {
      const ids: number[] = [];
      for (const i of [1, 2, 3]) {
        ids.push(
          await recordAudit(services.database.db, {
            actor: 'cli:printer',
            action: 'content.requeue',
            target: `cid:${900 + i}`,
            before: { level: 'bronze' },
            after: { queued: true, jobId: `${i}` },
            detail: i === 3 ? 'the third' : null,
          }),
        );
      }
      const table = await audit('--actor', 'cli:printer', '--limit', '2');
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^id\s+at\s+actor\s+action\s+target\s+before → after$/);
      expect(lines[1]).toMatch(
        new RegExp(
          `^${ids[2]}\\s+\\S+Z\\s+cli:printer\\s+content\\.requeue\\s+cid:903\\s+` +
            '\\{"level":"bronze"\\} → \\{"queued":true,"jobId":"3"\\}  \\(the third\\)$',
        ),
      );
      expect(lines[2]).toMatch(new RegExp(`^${ids[1]}\\s.*cid:902`));
      expect(lines[3]).toBe(`(more: npm run audit -- --before ${ids[1]} --limit 2)`);

      const asJson = await audit('--actor', 'cli:printer', '--json');
      expect(asJson.code).toBe(0);
      const body = JSON.parse(asJson.stdout) as { items: { id: number; after: unknown }[] };
      expect(body.items.map((e) => e.id)).toEqual([ids[2], ids[1], ids[0]]);
      expect(body.items[2]?.after).toEqual({ queued: true, jobId: '1' });

      const none = await audit('--actor', 'nobody');
      expect(none.stdout).toBe('no audit entries\n');
    });

    it('npm run audit exits 2 on bad usage or settings', async () => {
      const limit = await audit('--limit', '0');
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain('--limit: expected a whole number from 1 to 1000');
      const unknown = await audit('--fix');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('usage: npm run audit');
      const prune = await audit('--prune-older-than', '1h');
      expect(prune.code).toBe(2);
      const badUrl = await node('apps/relocator/src/audit.main.ts', [], {
        DATABASE_URL: 'postgres://x/y',
      });
      expect(badUrl.code).toBe(2);
      expect(badUrl.stderr).toContain('audit: invalid configuration');
      expect(badUrl.stderr).toContain('DATABASE_URL');
    });

    it('npm run audit -- --prune-older-than deletes older entries and records the prune', async () => {
      const old = new Date(Date.now() - 10 * 24 * 60 * 60 * 1000);
      await services.database.db
        .insertInto('audit_log')
        .values({ at: old, actor: 'cli:old', action: 'content.requeue', target: 'cid:1' })
        .execute();
      const since = await lastId();
      const res = await audit('--prune-older-than', '7d');
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/^deleted 1 audit entries older than \S+Z\n$/);
      expect(await listAudit(services.database.db, { actor: 'cli:old' })).toEqual([]);
      const entries = await entriesSince(since);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: `cli:${os.userInfo().username}`,
        action: 'audit.prune',
        after: { deleted: 1 },
      });
    });
  });
});
