import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { getContentHistory, MIGRATIONS, type HistoryRow } from '@relocation/db';
import { syncCache } from '@relocation/queue';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  ADMIN_AUTH,
  buildGateway,
  eventually,
  form,
  openServices,
  startRealRelocator,
  type Gateway,
  type RealRelocator,
  type Services,
} from './support.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const VIEWER_KEY = randomBytes(32).toString('hex');
const PLAYER_KEY = randomBytes(32).toString('hex');
const API_KEYS = `dash:viewer:${sha256(VIEWER_KEY)},player:player:${sha256(PLAYER_KEY)}`;
const viewer = { authorization: `Bearer ${VIEWER_KEY}` };
const admin = { authorization: ADMIN_AUTH };

const MINUTE = 60_000;

interface Stats {
  at: string;
  tiers: { name: string; files: number; bytes: number }[];
  moves: {
    since: string;
    minutes: { at: string; promote: number; demote: number; other: number }[];
    totals: { promote: number; demote: number; other: number };
  };
  queue: Record<string, number | boolean>;
  failed: { total: number; items: { cid: number; error: string; status: string }[] };
  stuck: { total: number; items: { cid: number; status: string }[] };
  policy: Record<string, unknown>;
}

/** The moves of `rows` per minute start (ISO) and direction, as the overview should count them. */
function expectedBuckets(
  rows: readonly { at: Date; direction: 'promote' | 'demote' }[],
): Record<string, { promote: number; demote: number }> {
  const buckets: Record<string, { promote: number; demote: number }> = {};
  for (const row of rows) {
    const minute = new Date(Math.floor(row.at.getTime() / MINUTE) * MINUTE).toISOString();
    buckets[minute] ??= { promote: 0, demote: 0 };
    buckets[minute][row.direction] += 1;
  }
  return buckets;
}

/** `GET /v1/stats` against the counters, with a real relocator making real moves. */
describe('GET /v1/stats', () => {
  let services: Services;
  let real: RealRelocator;
  let gw: Gateway;

  beforeAll(async () => {
    services = await openServices();
    real = await startRealRelocator(services);
    gw = await buildGateway(services, { API_KEYS });
  });
  afterAll(async () => {
    await real?.close();
    await gw?.app.close();
    await services?.close();
  });

  const stats = async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/stats', headers: viewer });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Stats>();
  };
  const history = (cid: number) => getContentHistory(services.database.db, cid);
  const relocationState = async (cid: number) =>
    (await gw.app.inject({ method: 'GET', url: `/v1/contents/${cid}`, headers: viewer })).json<{
      relocation: { state: string; jobId: string | null };
    }>().relocation;

  it('counts tiers, moves per minute and direction, queue states, a failed and a stuck content, and the pause', async () => {
    const { db } = services.database;
    // cid 8's file is gone from bronze: its move fails (FILE_MISSING), a permanent failure.
    await rm(path.join(real.dir('bronze'), 'h.mp4'));
    for (const body of [
      'cid=7&count=1964',
      'cid=2&count=2500',
      'cid=3&count=100',
      'cid=8&count=1500',
    ]) {
      const res = await gw.app.inject(form('/post_sentence', body));
      expect(res.json(), body).toMatchObject({ status: 'update' });
    }
    const moved = new Map<number, HistoryRow>();
    await eventually(
      async () => {
        for (const cid of [7, 2, 3]) {
          const [row] = await history(cid);
          if (row) moved.set(cid, row);
        }
        return moved.size === 3 && (await relocationState(8)).state === 'failed';
      },
      20_000,
      'three moves and one failure',
    );

    // Older moves, written as a commit writes them, to check the minute buckets and the window:
    // two promotions 20 minutes ago, a demotion 45 minutes ago, one 2 hours ago (not counted).
    const now = Date.now();
    const synthetic = [
      { at: new Date(now - 20 * MINUTE), from: 'silver', to: 'gold' },
      { at: new Date(now - 20 * MINUTE + 1000), from: 'bronze', to: 'silver' },
      { at: new Date(now - 45 * MINUTE), from: 'gold', to: 'bronze' },
      { at: new Date(now - 120 * MINUTE), from: 'bronze', to: 'gold' },
    ];
    await db
      .insertInto('update_history')
      .values(
        synthetic.map((m) => ({
          cid: 12,
          old_updated_date: new Date(m.at.getTime() - MINUTE),
          old_content_level: m.from,
          new_updated_date: m.at,
          new_content_level: m.to,
          view_count: 0,
          reason: 'admin',
        })),
      )
      .execute();

    // Paused: cid 5's promotion waits. cid 10's job is lost (removed), so the sweep finds it stuck.
    const paused = await gw.app.inject({
      method: 'POST',
      url: '/v1/relocations/pause',
      headers: admin,
    });
    expect(paused.statusCode).toBe(200);
    await gw.app.inject(form('/post_sentence', 'cid=10&count=1500'));
    const lost = await relocationState(10);
    expect(lost.state).toBe('queued');
    await (await gw.queue.getJob(lost.jobId ?? ''))?.remove();
    await gw.app.inject(form('/post_sentence', 'cid=5&count=2300'));
    await syncCache({ db: gw.db, cache: gw.cache }, { fix: true });

    const body = await stats();

    // Tiers: the counters, which agree with the rows (3 moved, nothing else changed).
    const { rows: truth } = await sql<{ level: string; files: number; bytes: number | null }>`
      select content_level as level, count(*) as files, sum(size_bytes) as bytes
      from contents group by content_level`.execute(db);
    expect(body.tiers.map((t) => [t.name, t.files, t.bytes])).toEqual(
      ['bronze', 'silver', 'gold'].map((name) => {
        const row = truth.find((r) => r.level === name);
        return [name, Number(row?.files ?? 0), Number(row?.bytes ?? 0)];
      }),
    );
    expect(body.tiers.map((t) => [t.name, t.files])).toEqual([
      ['bronze', 4],
      ['silver', 4],
      ['gold', 4],
    ]);
    // The moved files were sized by their moves: "file of 7" is 9 bytes.
    for (const t of body.tiers) expect(t.bytes, t.name).toBe(9);

    // Moves: each in the minute its history row was written, by direction.
    const real7 = moved.get(7);
    const real2 = moved.get(2);
    const real3 = moved.get(3);
    const expected = expectedBuckets([
      { at: new Date(real7?.new_updated_date ?? 0), direction: 'promote' },
      { at: new Date(real2?.new_updated_date ?? 0), direction: 'promote' },
      { at: new Date(real3?.new_updated_date ?? 0), direction: 'demote' },
      { at: synthetic[0]?.at ?? new Date(0), direction: 'promote' },
      { at: synthetic[1]?.at ?? new Date(0), direction: 'promote' },
      { at: synthetic[2]?.at ?? new Date(0), direction: 'demote' },
    ]);
    expect(body.moves.minutes).toHaveLength(60);
    const counted = Object.fromEntries(
      body.moves.minutes
        .filter((m) => m.promote + m.demote + m.other > 0)
        .map((m) => [m.at, { promote: m.promote, demote: m.demote }]),
    );
    expect(counted).toEqual(expected);
    expect(body.moves.totals).toEqual({ promote: 4, demote: 2, other: 0 });
    const lastMinute = body.moves.minutes.at(-1)?.at ?? '';
    expect(Date.parse(lastMinute)).toBe(Math.floor(Date.parse(body.at) / MINUTE) * MINUTE);
    expect(Date.parse(body.moves.since)).toBe(Date.parse(lastMinute) - 59 * MINUTE);

    // Queue: paused, cid 5 waiting, the three moves completed, cid 8 failed.
    expect(body.queue).toMatchObject({
      paused: true,
      waiting: 1,
      active: 0,
      delayed: 0,
      failed: 1,
      completed: 3,
      replicas: 1,
    });
    expect(body.failed.total).toBe(1);
    expect(body.failed.items).toEqual([
      expect.objectContaining({ cid: 8, status: '/v1/contents/8', target: 'silver' }),
    ]);
    expect(body.failed.items[0]?.error).toMatch(/h\.mp4/);
    expect(body.stuck.items).toEqual([
      expect.objectContaining({
        cid: 10,
        level: 'bronze',
        target: 'silver',
        viewCount: 1500,
        status: '/v1/contents/10',
      }),
    ]);
    // The links lead to each content's status.
    const link = await gw.app.inject({ method: 'GET', url: '/v1/contents/10', headers: viewer });
    expect(link.json()).toMatchObject({ cid: 10, settled: false });

    // The policy is the one the plan reports (one source).
    const plan = await gw.app.inject({ method: 'GET', url: '/v1/plan', headers: viewer });
    expect(body.policy).toEqual(plan.json<{ tiering: unknown }>().tiering);
    expect(body.policy).toMatchObject({ policy: 'count' });

    await gw.app.inject({ method: 'POST', url: '/v1/relocations/resume', headers: admin });
    await eventually(async () => (await history(5)).length === 1, 15_000, 'the move of cid 5');
    const resumed = await stats();
    expect(resumed.queue).toMatchObject({ paused: false, waiting: 0, completed: 4 });
    expect(resumed.moves.totals.promote).toBe(5);
  });

  it('needs the viewer role once API keys are configured: 401 without or with wrong credentials, 403 for another role', async () => {
    const wrongAdmin = `Basic ${Buffer.from(`${ADMIN.user}:nope`).toString('base64')}`;
    const cases: [Record<string, string>, number][] = [
      [{}, 401],
      [{ authorization: `Bearer ${randomBytes(32).toString('hex')}` }, 401],
      [{ authorization: wrongAdmin }, 401],
      [{ authorization: `Bearer ${PLAYER_KEY}` }, 403],
      [viewer, 200],
      [admin, 200],
    ];
    for (const [headers, status] of cases) {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/stats', headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(status);
      if (status !== 200) expect(res.json<{ code: string }>().code).toMatch(/^[A-Z_]+$/);
    }
  });

  it('is documented in OpenAPI with its schema, tag and access', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/docs/json' });
    const operation = res.json<{
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>().paths['/v1/stats']?.get;
    expect(String(operation?.summary)).toMatch(/overview/i);
    expect(operation).toMatchObject({
      tags: ['admin'],
      security: [{ apiKeyBearer: [] }, { adminBasicAuth: [] }],
    });
    expect(String(operation?.description)).toMatch(/Access: the viewer role/);
    expect(Object.keys(operation?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '401', '403', '503']),
    );
  });

  it('reads moves by an index on the time of the change, created by a migration that is safe to re-run', async () => {
    const { db, name } = services.database;
    await MIGRATIONS['0016-index-history-time']?.up(db);
    await MIGRATIONS['0016-index-history-time']?.up(db);
    const { rows } = await sql<{ index_name: string; column_name: string }>`
      select index_name, column_name from information_schema.statistics
      where table_schema = ${name} and table_name = 'update_history'
        and index_name = 'update_history_new_updated_date'`.execute(db);
    expect(rows.map((r) => r.column_name)).toEqual(['new_updated_date']);
  });
});
