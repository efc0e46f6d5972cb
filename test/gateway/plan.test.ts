import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { replaceLevels } from '@relocation/db';
import type { Level } from '@relocation/tiering';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../relocator/support.ts';
import { redisUrl } from '../support/services.ts';
import {
  addContent,
  buildGateway,
  json,
  openServices,
  type Gateway,
  type Services,
} from './support.ts';

interface Totals {
  contents: number;
  bytes: number;
  sized: number;
  queued: number;
}

interface Move {
  cid: number;
  filename: string;
  from: string;
  to: string;
  direction: string;
  count: number;
  boundary: { level: string; edge: 'min' | 'max'; count: number } | null;
  rate: number | null;
  pinned: boolean;
  bytes: number | null;
  queued: boolean;
  jobId: string | null;
}

interface Plan {
  candidate: boolean;
  hysteresis: number;
  tiering: {
    hysteresis: number;
    hysteresisPercent: number | null;
    minResidenceMs: number;
    minResidenceByLevel: Record<string, number>;
    flapBudget: { moves: number; windowMs: number } | null;
    policy: 'count' | 'rate';
    viewRate: unknown;
  };
  scanned: number;
  withoutCount: number;
  moves: number;
  totals: Record<'promote' | 'demote' | 'unknown-current', Totals>;
  items: Move[];
  nextAfter: number | null;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const KEYS = { viewer: randomBytes(32).toString('hex'), player: randomBytes(32).toString('hex') };
const API_KEYS = `grafana:viewer:${sha256(KEYS.viewer)},edge:player:${sha256(KEYS.player)}`;
const asViewer = { authorization: `Bearer ${KEYS.viewer}` };

/**
 * The dry-run plan against real Redis, MySQL and files: tiers bronze 0–999, silver 1000–1999,
 * gold 2000+ in a scratch directory; contents 101–108 cached with these latest counts.
 */
describe('the dry-run plan (GET / POST /v1/plan, npm run plan)', () => {
  let services: Services;
  let gw: Gateway;
  let root: string;
  let levels: Level[];

  const tier = (name: string) => path.join(root, name);
  const get = async (url: string): Promise<Plan> => {
    const res = await gw.app.inject({ method: 'GET', url, headers: asViewer });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Plan>();
  };
  const post = (body: unknown) => {
    const request = json('/v1/plan', body);
    return gw.app.inject({ ...request, headers: { ...request.headers, ...asViewer } });
  };

  beforeAll(async () => {
    services = await openServices();
    root = await mkdtemp(path.join(os.tmpdir(), 'reloc-plan-'));
    levels = [
      { name: 'bronze', minCount: 0, maxCount: 999, path: tier('bronze') },
      { name: 'silver', minCount: 1000, maxCount: 1999, path: tier('silver') },
      { name: 'gold', minCount: 2000, maxCount: null, path: tier('gold') },
    ];
    for (const level of levels) await mkdir(level.path, { recursive: true });
    const db = services.database.db;
    await replaceLevels(db, levels);
    const contents: { cid: number; level: string; bytes?: number }[] = [
      { cid: 101, level: 'bronze', bytes: 1000 },
      { cid: 102, level: 'bronze' },
      { cid: 103, level: 'gold', bytes: 3000 },
      { cid: 104, level: 'silver' },
      { cid: 105, level: 'silver' },
      { cid: 106, level: 'bronze' },
      { cid: 107, level: 'silver', bytes: 500 },
      { cid: 108, level: 'silver', bytes: 200 },
      { cid: 109, level: 'bronze' },
      { cid: 110, level: 'gold' },
    ];
    for (const c of contents) {
      await addContent(services, { cid: c.cid, level: c.level });
      if (c.bytes !== undefined) {
        await writeFile(path.join(tier(c.level), `c${c.cid}.mp4`), Buffer.alloc(c.bytes));
      }
    }
    gw = await buildGateway(services, { API_KEYS });
    // 101 is posted through the gateway: it crosses into silver and its move is queued (no
    // relocator runs here, so the job waits).
    const view = json('/v1/views', { cid: 101, count: 1500 });
    const posted = await gw.app.inject({
      ...view,
      headers: { ...view.headers, authorization: `Bearer ${KEYS.player}` },
    });
    expect(posted.json()).toMatchObject({ status: 'update', target: 'silver' });
    // The others only have their latest count in the cache: nothing is queued for them.
    const counts: [number, string, number | null][] = [
      [102, 'bronze', 500],
      [103, 'gold', 10],
      [104, 'silver', 2500],
      [105, 'silver', 1200],
      [106, 'bronze', null],
      [107, 'silver', 999],
      [108, 'silver', 1000],
    ];
    for (const [cid, level, count] of counts) {
      await services.cache.fill(cid, { level, filename: `c${cid}.mp4` });
      if (count !== null) await services.cache.recordCount(cid, count);
    }
    // Pinned to gold: 109 moves there whatever its count says, 110 stays there.
    for (const [cid, level] of [
      [109, 'bronze'],
      [110, 'gold'],
    ] as const) {
      await services.cache.fill(cid, { level, filename: `c${cid}.mp4`, pin: 'gold' });
      await services.cache.recordCount(cid, 50);
    }
  });

  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** `npm run plan` on the file's database and prefix, with `env` added. */
  function planCli(env: Record<string, string>, ...args: string[]) {
    return promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'apps/relocator/src/plan.main.ts', ...args],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: services.database.url,
          REDIS_URL: redisUrl(),
          QUEUE_PREFIX: services.prefix,
          ...env,
        },
      },
    );
  }

  it('lists exactly the cached contents whose latest count calls for another tier, with from, to, boundary, bytes and queued', async () => {
    const plan = await get('/v1/plan');
    expect(plan).toMatchObject({
      candidate: false,
      hysteresis: 0,
      scanned: 10,
      withoutCount: 1,
      moves: 5,
      nextAfter: null,
    });
    // The defaults of the TIERING_* settings: no band, no residence, 4 moves an hour.
    expect(plan.tiering).toEqual({
      hysteresis: 0,
      hysteresisPercent: null,
      minResidenceMs: 0,
      minResidenceByLevel: {},
      flapBudget: { moves: 4, windowMs: 3_600_000 },
      policy: 'count',
      viewRate: null,
    });
    expect(plan.items).toEqual([
      {
        cid: 101,
        filename: 'c101.mp4',
        from: 'bronze',
        to: 'silver',
        direction: 'promote',
        count: 1500,
        boundary: { level: 'bronze', edge: 'max', count: 999 },
        rate: null,
        pinned: false,
        bytes: 1000,
        queued: true,
        jobId: expect.any(String) as string,
      },
      {
        cid: 103,
        filename: 'c103.mp4',
        from: 'gold',
        to: 'bronze',
        direction: 'demote',
        count: 10,
        boundary: { level: 'gold', edge: 'min', count: 2000 },
        rate: null,
        pinned: false,
        bytes: 3000,
        queued: false,
        jobId: null,
      },
      {
        cid: 104,
        filename: 'c104.mp4',
        from: 'silver',
        to: 'gold',
        direction: 'promote',
        count: 2500,
        boundary: { level: 'silver', edge: 'max', count: 1999 },
        rate: null,
        pinned: false,
        // No file on its tier: not sized.
        bytes: null,
        queued: false,
        jobId: null,
      },
      {
        cid: 107,
        filename: 'c107.mp4',
        from: 'silver',
        to: 'bronze',
        direction: 'demote',
        count: 999,
        boundary: { level: 'silver', edge: 'min', count: 1000 },
        rate: null,
        pinned: false,
        bytes: 500,
        queued: false,
        jobId: null,
      },
      {
        cid: 109,
        filename: 'c109.mp4',
        from: 'bronze',
        to: 'gold',
        direction: 'promote',
        count: 50,
        // The pin decides, not a boundary.
        boundary: null,
        rate: null,
        pinned: true,
        bytes: null,
        queued: false,
        jobId: null,
      },
    ]);
    expect(plan.totals).toEqual({
      promote: { contents: 3, bytes: 1000, sized: 1, queued: 1 },
      demote: { contents: 2, bytes: 3500, sized: 2, queued: 0 },
      'unknown-current': { contents: 0, bytes: 0, sized: 0, queued: 0 },
    });
  });

  it('pages by cid with limit and after; totals cover every page, bytes the sized contents', async () => {
    const first = await get('/v1/plan?limit=2');
    expect(first.items.map((m) => m.cid)).toEqual([101, 103]);
    expect(first.nextAfter).toBe(103);
    expect(first.moves).toBe(5);
    // Only the listed page was stat'ed: 104 and 107 are counted but not sized.
    expect(first.totals.promote).toEqual({ contents: 3, bytes: 1000, sized: 1, queued: 1 });
    expect(first.totals.demote).toEqual({ contents: 2, bytes: 3000, sized: 1, queued: 0 });
    const second = await get(`/v1/plan?limit=2&after=${first.nextAfter}`);
    expect(second.items.map((m) => m.cid)).toEqual([104, 107]);
    expect(second.nextAfter).toBe(107);
    const third = await get(`/v1/plan?limit=2&after=${second.nextAfter}`);
    expect(third.items.map((m) => m.cid)).toEqual([109]);
    expect(third.nextAfter).toBeNull();
    const all = await get('/v1/plan?limit=1&sizes=all');
    expect(all.items.map((m) => m.cid)).toEqual([101]);
    expect(all.totals.demote).toEqual({ contents: 2, bytes: 3500, sized: 2, queued: 0 });
    const past = await get('/v1/plan?after=109');
    expect(past.items).toEqual([]);
    expect(past.nextAfter).toBeNull();
    const bad = await gw.app.inject({ method: 'GET', url: '/v1/plan?limit=0', headers: asViewer });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toMatch(/limit/);
  });

  it('answers what a candidate table would move, sizing files where the table in force keeps them, and stores nothing', async () => {
    const jobsBefore = await gw.queue.getJobCounts('waiting', 'delayed', 'active');
    const candidate = [
      { name: 'bronze', minCount: 0, maxCount: 1199, path: tier('bronze') },
      { name: 'silver', minCount: 1200, maxCount: 2999, path: tier('silver') },
      { name: 'gold', minCount: 3000, maxCount: null, path: tier('gold') },
    ];
    const res = await post({ levels: candidate });
    expect(res.statusCode, res.body).toBe(200);
    const plan = res.json<Plan>();
    expect(plan.candidate).toBe(true);
    expect(plan.items.map((m) => [m.cid, m.from, m.to, m.boundary?.count ?? null])).toEqual([
      [101, 'bronze', 'silver', 1199],
      [103, 'gold', 'bronze', 3000],
      [107, 'silver', 'bronze', 1200],
      [108, 'silver', 'bronze', 1200],
      [109, 'bronze', 'gold', null],
    ]);
    expect(plan.totals.promote).toMatchObject({ contents: 2, bytes: 1000, queued: 1 });
    expect(plan.totals.demote).toMatchObject({ contents: 3, bytes: 3700, sized: 3 });

    // A table without silver: its contents are on no level of it, their files still on silver.
    const merged = await post({
      levels: [
        { name: 'bronze', minCount: 0, maxCount: 1999, path: tier('bronze') },
        { name: 'gold', minCount: 2000, maxCount: null, path: tier('gold') },
      ],
    });
    expect(merged.statusCode, merged.body).toBe(200);
    const mergedPlan = merged.json<Plan>();
    const unknown = mergedPlan.items.filter((m) => m.direction === 'unknown-current');
    expect(unknown.map((m) => [m.cid, m.to, m.boundary, m.bytes])).toEqual([
      [104, 'gold', null, null],
      [105, 'bronze', null, null],
      [107, 'bronze', null, 500],
      [108, 'bronze', null, 200],
    ]);
    expect(mergedPlan.totals['unknown-current']).toEqual({
      contents: 4,
      bytes: 700,
      sized: 2,
      queued: 0,
    });

    // Nothing was applied: the table in force and the queue are as they were.
    const inForce = await gw.app.inject({ method: 'GET', url: '/v1/levels', headers: asViewer });
    expect(inForce.json<{ levels: Level[] }>().levels).toEqual(levels);
    expect(await gw.queue.getJobCounts('waiting', 'delayed', 'active')).toEqual(jobsBefore);
    expect((await get('/v1/plan')).moves).toBe(5);
  });

  it('refuses an invalid candidate table with 400 INVALID_LEVELS naming the level and rule', async () => {
    const res = await post({
      levels: [
        { name: 'bronze', minCount: 0, maxCount: 999, path: tier('bronze') },
        { name: 'silver', minCount: 1500, maxCount: null, path: tier('silver') },
      ],
    });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ code: string; message: string }>();
    expect(body.code).toBe('INVALID_LEVELS');
    expect(body.message).toMatch(/\(rule: gap\)/);
    const empty = await post({ levels: [] });
    expect(empty.json()).toMatchObject({ statusCode: 400, code: 'INVALID_LEVELS' });
  });

  it('needs the viewer role once API keys are configured, for GET and for POST', async () => {
    const requests: InjectOptions[] = [
      { method: 'GET', url: '/v1/plan' },
      json('/v1/plan', { levels }),
    ];
    for (const request of requests) {
      const headers = (request.headers ?? {}) as Record<string, string>;
      const none = await gw.app.inject(request);
      expect(none.statusCode).toBe(401);
      const player = await gw.app.inject({
        ...request,
        headers: { ...headers, authorization: `Bearer ${KEYS.player}` },
      });
      expect(player.statusCode).toBe(403);
      expect(player.json<{ message: string }>().message).toContain('needs the viewer role');
      const viewer = await gw.app.inject({
        ...request,
        headers: { ...headers, ...asViewer },
      });
      expect(viewer.statusCode).toBe(200);
    }
  });

  it('decides with the TIERING_* settings in force and reports them: the gateway and npm run plan agree', async () => {
    const env = {
      TIERING_HYSTERESIS: '10%',
      TIERING_MIN_RESIDENCE_MS: '60000',
      TIERING_MIN_RESIDENCE_BY_LEVEL: 'gold=1h',
      TIERING_FLAP_BUDGET: 'off',
    };
    const tiering = {
      hysteresis: 0,
      hysteresisPercent: 10,
      minResidenceMs: 60_000,
      minResidenceByLevel: { gold: 3_600_000 },
      flapBudget: null,
      policy: 'count',
      viewRate: null,
    };
    const banded = await buildGateway(services, { API_KEYS, ...env });
    try {
      const res = await banded.app.inject({ method: 'GET', url: '/v1/plan', headers: asViewer });
      expect(res.statusCode, res.body).toBe(200);
      const plan = res.json<Plan>();
      expect(plan).toMatchObject({ hysteresis: 0, tiering });
      // 10% of silver's minCount 1000 is a band of 100 views: 107 (999 on silver) stays.
      expect(plan.items.map((m) => m.cid)).toEqual([101, 103, 104, 109]);

      const cli = (...args: string[]) => planCli(env, ...args);
      const fromCli = JSON.parse((await cli('--json')).stdout) as Plan;
      expect(fromCli.items).toEqual(plan.items);
      expect(fromCli.tiering).toEqual(plan.tiering);
      expect((await cli()).stdout).toMatch(
        /^plan with the level table in force \(count policy, hysteresis 10%, residence 1m \(gold 1h\), flap budget off\): 4 of 10 cached/,
      );
    } finally {
      await banded.app.close();
    }
  });

  it('decides by the view rate decayed to now with TIERING_POLICY=rate, as npm run plan does', async () => {
    const env = {
      TIERING_POLICY: 'rate',
      TIERING_RATE_HALF_LIFE: '1h',
      TIERING_RATE_THRESHOLDS: 'silver=20/10,gold=100/50',
    };
    const HOUR = 3_600_000;
    // 111 on gold: 300 views between four and three hours ago, none since: 37.5/h now, below
    // gold's demote threshold (50), above silver's (10). The other entries have no rate state.
    await services.cache.fill(111, { level: 'gold', filename: 'c111.mp4' });
    await services.cache.recordCount(111, 0, Date.now() - 4 * HOUR, HOUR);
    await services.cache.recordCount(111, 300, Date.now() - 3 * HOUR, HOUR);
    const byRate = await buildGateway(services, { API_KEYS, ...env });
    try {
      const res = await byRate.app.inject({ method: 'GET', url: '/v1/plan', headers: asViewer });
      expect(res.statusCode, res.body).toBe(200);
      const plan = res.json<Plan>();
      expect(plan.tiering).toMatchObject({
        policy: 'rate',
        viewRate: {
          halfLifeMs: HOUR,
          thresholds: { silver: { promote: 20, demote: 10 }, gold: { promote: 100, demote: 50 } },
        },
      });
      // Contents without a rate state stay (their rate is unknown); the pin still decides 109.
      expect(plan.items.map((m) => [m.cid, m.from, m.to, m.boundary])).toEqual([
        [109, 'bronze', 'gold', null],
        [111, 'gold', 'silver', null],
      ]);
      const rate = plan.items[1]?.rate ?? 0;
      expect(rate).toBeGreaterThan(37.4);
      expect(rate).toBeLessThanOrEqual(37.5);

      const cli = (...args: string[]) => planCli(env, ...args);
      const fromCli = JSON.parse((await cli('--json')).stdout) as Plan;
      expect(fromCli.items.map((m) => [m.cid, m.to])).toEqual([
        [109, 'gold'],
        [111, 'silver'],
      ]);
      expect(fromCli.tiering).toEqual(plan.tiering);
      const text = (await cli()).stdout;
      expect(text).toMatch(
        /^plan with the level table in force \(rate policy \(half-life 1h, silver=20\/10,gold=100\/50 views\/h\), residence off, flap budget 4\/1h\): 2 of 11 cached/,
      );
      expect(text).toMatch(/111 .*gold .*silver .*rate 37\.\d+\/h/);
    } finally {
      await byRate.app.close();
      await services.cache.forget(111);
    }
  });

  it('prints the same plan from npm run plan, as a table and as JSON, and with --levels', async () => {
    const cli = (...args: string[]) => planCli({}, ...args);
    const fromHttp = await get('/v1/plan');
    const fromCli = JSON.parse((await cli('--json')).stdout) as Plan;
    expect(fromCli.items).toEqual(fromHttp.items);
    expect(fromCli.totals).toEqual(fromHttp.totals);

    const table = (await cli('--limit', '2')).stdout;
    expect(table).toMatch(
      /^plan with the level table in force \(count policy, hysteresis 0 views, residence off, flap budget 4\/1h\): 5 of 10 cached/,
    );
    expect(table).toMatch(/promote +3 +1 /);
    expect(table).toMatch(
      /\n101 +c101\.mp4 +bronze +silver +1500 +above bronze max 999 +1000 B +job /,
    );
    expect(table).toMatch(
      /\n103 +c103\.mp4 +gold +bronze +10 +below gold min 2000 +2\.9 KiB +no\n/,
    );
    expect(table).toContain('(more: npm run plan -- --after 103 --limit 2)');

    const file = path.join(root, 'candidate.json');
    await writeFile(
      file,
      JSON.stringify({
        levels: [
          { name: 'bronze', minCount: 0, maxCount: 1199, path: tier('bronze') },
          { name: 'silver', minCount: 1200, maxCount: 2999, path: tier('silver') },
          { name: 'gold', minCount: 3000, maxCount: null, path: tier('gold') },
        ],
      }),
    );
    const candidate = JSON.parse((await cli('--levels', file, '--json')).stdout) as Plan;
    expect(candidate.candidate).toBe(true);
    expect(candidate.items.map((m) => m.cid)).toEqual([101, 103, 107, 108, 109]);

    await writeFile(
      file,
      JSON.stringify([{ name: 'bronze', minCount: 5, maxCount: null, path: tier('bronze') }]),
    );
    const refused = cli('--levels', file);
    await expect(refused).rejects.toMatchObject({ code: 1 });
    await expect(refused).rejects.toMatchObject({
      stderr: expect.stringMatching(/INVALID_LEVELS.*\(rule: starts-at-zero\)/) as string,
    });
    await expect(cli('--limit', '0')).rejects.toMatchObject({ code: 2 });
  });
});
