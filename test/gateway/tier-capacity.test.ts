import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeTierMarker } from '@relocation/contract';
import {
  getContent,
  getDeploymentId,
  listLevels,
  releaseTierSpace,
  reserveTierSpace,
} from '@relocation/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../support/services.ts';
import {
  ADMIN_AUTH,
  buildGateway,
  eventually,
  form,
  json,
  openServices,
  startRealRelocator,
  type Gateway,
  type RealRelocator,
  type Services,
} from './support.ts';

/** This file's tier directories (the seeded levels point here), each with its marker. */
const ROOT = path.join(os.tmpdir(), `reloc-tier-capacity-${uniqueSuffix()}`);
const dir = (level: string) => path.join(ROOT, level);

interface LevelBody {
  name: string;
  minCount: number;
  maxCount: number | null;
  path: string;
  capacityBytes?: unknown;
  highWatermark?: unknown;
  lowWatermark?: unknown;
}

/** The seeded table; `extra` adds fields to a level by name. */
function table(extra: Record<string, Partial<LevelBody>> = {}): LevelBody[] {
  return [
    { name: 'bronze', minCount: 0, maxCount: 999, path: dir('bronze') },
    { name: 'silver', minCount: 1000, maxCount: 1999, path: dir('silver') },
    { name: 'gold', minCount: 2000, maxCount: null, path: dir('gold') },
  ].map((level) => ({ ...level, ...extra[level.name] }));
}

function put(levels: unknown) {
  const request = json('/v1/levels', { levels }, 'PUT');
  return { ...request, headers: { ...request.headers, authorization: ADMIN_AUTH } };
}

interface Usage {
  files: number;
  bytes: number;
  reservedBytes: number;
  capacityBytes: number | null;
  highWatermarkBytes: number | null;
  lowWatermarkBytes: number | null;
  percent: number | null;
  aboveHighWatermark: boolean;
}

interface LevelsAnswer {
  levels: LevelBody[];
  usage: Record<string, Usage>;
}

describe('level capacities and tier usage (gateway on real tier directories)', () => {
  let services: Services;
  let gw: Gateway;

  beforeAll(async () => {
    services = await openServices({ dataDir: ROOT });
    const deployment = await getDeploymentId(services.database.db);
    for (const level of table()) {
      await writeTierMarker(
        level.path,
        { level: level.name, deployment },
        { createDirectory: true },
      );
    }
    gw = await buildGateway(services);
  });
  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
    await rm(ROOT, { recursive: true, force: true });
  });

  const levels = async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/levels' });
    expect(res.statusCode).toBe(200);
    return res.json<LevelsAnswer>();
  };
  const register = (cid: number, filename: string) =>
    gw.app.inject(json('/v1/contents', { cid, filename }));
  const sizeOf = async (cid: number) =>
    (await getContent(services.database.db, cid))?.size_bytes ?? null;

  it('lists no capacity fields and the seeded files with unknown sizes as 0 bytes', async () => {
    const answer = await levels();
    for (const level of answer.levels) {
      expect(level).not.toHaveProperty('capacityBytes');
      expect(level).not.toHaveProperty('highWatermark');
      expect(level).not.toHaveProperty('lowWatermark');
    }
    const none = {
      bytes: 0,
      reservedBytes: 0,
      capacityBytes: null,
      highWatermarkBytes: null,
      lowWatermarkBytes: null,
      percent: null,
      aboveHighWatermark: false,
    };
    // Seed: bronze 2, 4, 7, 8, 10; silver 3, 5, 9, 12; gold 1, 6, 11.
    expect(answer.usage).toEqual({
      bronze: { files: 5, ...none },
      silver: { files: 4, ...none },
      gold: { files: 3, ...none },
    });
  });

  it('stores a capacity with its watermarks, fills in the defaults and lists them back', async () => {
    const wanted = table({
      bronze: { capacityBytes: 10_000, highWatermark: 50, lowWatermark: 20 },
      silver: { capacityBytes: 1_000_000 },
      gold: { capacityBytes: null, highWatermark: null, lowWatermark: null },
    });
    const res = await gw.app.inject(put(wanted));
    expect(res.statusCode).toBe(200);
    const stored = [
      { ...table()[0], capacityBytes: 10_000, highWatermark: 50, lowWatermark: 20 },
      { ...table()[1], capacityBytes: 1_000_000, highWatermark: 90, lowWatermark: 80 },
      table()[2],
    ];
    expect(res.json<LevelsAnswer>().levels).toEqual(stored);

    const answer = await levels();
    expect(answer.levels).toEqual(stored);
    expect(answer.levels[2]).not.toHaveProperty('capacityBytes');
    expect(await listLevels(services.database.db)).toEqual(stored);
    expect(gw.app.gateway.levels.current?.levels).toEqual(stored);
    expect(answer.usage.bronze).toEqual({
      files: 5,
      bytes: 0,
      reservedBytes: 0,
      capacityBytes: 10_000,
      highWatermarkBytes: 5_000,
      lowWatermarkBytes: 2_000,
      percent: 0,
      aboveHighWatermark: false,
    });
    expect(answer.usage.silver).toMatchObject({
      capacityBytes: 1_000_000,
      highWatermarkBytes: 900_000,
      lowWatermarkBytes: 800_000,
    });
    expect(answer.usage.gold).toMatchObject({ capacityBytes: null, percent: null });
  });

  it.each([
    ['a capacity of 0', { capacityBytes: 0 }, /capacityBytes 0 must be a positive whole number/],
    ['a negative capacity', { capacityBytes: -5 }, /capacityBytes -5 must be a positive/],
    ['a fractional capacity', { capacityBytes: 1.5 }, /capacityBytes 1\.5 must be a positive/],
    [
      'a high watermark above 100',
      { capacityBytes: 1000, highWatermark: 101 },
      /highWatermark 101 must be a whole percent from 1 to 100/,
    ],
    [
      'a high watermark of 0',
      { capacityBytes: 1000, highWatermark: 0 },
      /highWatermark 0 must be a whole percent from 1 to 100/,
    ],
    [
      'a fractional watermark',
      { capacityBytes: 1000, lowWatermark: 12.5 },
      /lowWatermark 12\.5 must be a whole percent from 0 to 99/,
    ],
    [
      'a low watermark not below the high one',
      { capacityBytes: 1000, highWatermark: 60, lowWatermark: 60 },
      /lowWatermark 60 must be below the high watermark 60/,
    ],
    [
      'a low watermark above the default high one',
      { capacityBytes: 1000, lowWatermark: 95 },
      /lowWatermark 95 must be below the high watermark 90/,
    ],
    [
      'watermarks without a capacity',
      { highWatermark: 90 },
      /watermarks need a capacity: give capacityBytes or remove the watermarks/,
    ],
  ])(
    'refuses %s with 400 INVALID_LEVELS naming the level and the rule',
    async (_, extra, message) => {
      const before = await levels();
      for (const request of [
        put(table({ silver: extra })),
        json('/v1/plan', { levels: table({ silver: extra }) }),
      ]) {
        const res = await gw.app.inject(request);
        expect(res.statusCode, request.url).toBe(400);
        expect(res.json()).toMatchObject({ code: 'INVALID_LEVELS' });
        const text = res.json<{ message: string }>().message;
        expect(text).toMatch(/level "silver": /);
        expect(text).toMatch(message);
        expect(text).toMatch(/\(rule: invalid-capacity\)/);
      }
      expect((await levels()).levels).toEqual(before.levels);
    },
  );

  it('refuses a capacity that is not a number with 400 INVALID_INPUT naming the field', async () => {
    const res = await gw.app.inject(put(table({ gold: { capacityBytes: '10GB' } })));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_INPUT' });
    expect(res.json<{ message: string }>().message).toBe(
      'body/levels/2/capacityBytes: must be a number of bytes or null',
    );
  });

  it('plans with a candidate table that has capacities (nothing stored)', async () => {
    const before = await levels();
    const res = await gw.app.inject(
      json('/v1/plan', { levels: table({ gold: { capacityBytes: 123_456, highWatermark: 75 } }) }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ candidate: true });
    expect((await levels()).levels).toEqual(before.levels);
  });

  it('sizes a registered content from its file on the default tier, and the usage follows (high watermark 5000 of 10000 bytes)', async () => {
    await writeFile(path.join(dir('bronze'), 'first.mp4'), Buffer.alloc(3_333));
    expect((await register(501, 'first.mp4')).statusCode).toBe(201);
    expect(await sizeOf(501)).toBe(3_333);
    expect((await levels()).usage.bronze).toEqual({
      files: 6,
      bytes: 3_333,
      reservedBytes: 0,
      capacityBytes: 10_000,
      highWatermarkBytes: 5_000,
      lowWatermarkBytes: 2_000,
      percent: 33.3,
      aboveHighWatermark: false,
    });

    // Exactly at the high watermark is not above it.
    await writeFile(path.join(dir('bronze'), 'second.mp4'), Buffer.alloc(1_667));
    expect((await register(502, 'second.mp4')).statusCode).toBe(201);
    expect((await levels()).usage.bronze).toMatchObject({
      files: 7,
      bytes: 5_000,
      percent: 50,
      aboveHighWatermark: false,
    });

    // One byte more is.
    await writeFile(path.join(dir('bronze'), 'third.mp4'), 'x');
    expect((await register(503, 'third.mp4')).statusCode).toBe(201);
    expect((await levels()).usage.bronze).toMatchObject({
      files: 8,
      bytes: 5_001,
      percent: 50,
      aboveHighWatermark: true,
    });
  });

  it('registers a content whose file the gateway cannot size with an unknown size (201, no error)', async () => {
    // No file at all, a file only on another tier, a link (never followed), a directory.
    await writeFile(path.join(dir('silver'), 'elsewhere.mp4'), Buffer.alloc(700));
    await writeFile(path.join(ROOT, 'outside.mp4'), Buffer.alloc(900));
    await symlink(path.join(ROOT, 'outside.mp4'), path.join(dir('bronze'), 'link.mp4'));
    await mkdir(path.join(dir('bronze'), 'folder.mp4'));
    const before = (await levels()).usage.bronze;
    for (const [cid, filename] of [
      [511, 'missing.mp4'],
      [512, 'elsewhere.mp4'],
      [513, 'link.mp4'],
      [514, 'folder.mp4'],
    ] as const) {
      const res = await register(cid, filename);
      expect(res.statusCode, filename).toBe(201);
      expect(await sizeOf(cid), filename).toBeNull();
    }
    expect((await levels()).usage.bronze).toMatchObject({
      files: (before?.files ?? 0) + 4,
      bytes: before?.bytes,
    });
  });

  it('shows the bytes moves under way have reserved in a level', async () => {
    const reserved = await reserveTierSpace(services.database.db, {
      cid: 501,
      level: 'silver',
      bytes: 3_333,
      limitBytes: 900_000,
    });
    expect(reserved.reserved).toBe(true);
    expect((await levels()).usage.silver).toMatchObject({
      files: 4,
      bytes: 0,
      reservedBytes: 3_333,
    });
    await releaseTierSpace(services.database.db, 501);
    expect((await levels()).usage.silver?.reservedBytes).toBe(0);
  });

  it("shows each history row's reason: admin for a level an operator recorded", async () => {
    await writeFile(path.join(dir('silver'), 'second.mp4'), Buffer.alloc(1_667));
    const set = await gw.app.inject({
      ...json('/v1/contents/502/level', { level: 'silver' }, 'PUT'),
      headers: { 'content-type': 'application/json', authorization: ADMIN_AUTH },
    });
    expect(set.statusCode).toBe(200);
    const res = await gw.app.inject({ method: 'GET', url: '/v1/contents/502/history' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      cid: 502,
      items: [{ oldLevel: 'bronze', newLevel: 'silver', jobId: 'admin:operator', reason: 'admin' }],
    });
  });
});

describe('the history of a move by the real relocator', () => {
  let services: Services;
  let gw: Gateway;
  let real: RealRelocator;

  beforeAll(async () => {
    services = await openServices();
    real = await startRealRelocator(services);
    gw = await buildGateway(services);
  });
  afterAll(async () => {
    await real?.close();
    await gw?.app.close();
    await services?.close();
  });

  it('records reason post for a move a posted count called for', async () => {
    // cid 4 (d.mp4): bronze, 300 views; 1500 calls for silver.
    const posted = await gw.app.inject(form('/post_sentence', 'cid=4&count=1500'));
    expect(posted.json()).toMatchObject({ status: 'update', target: 'silver' });
    const history = async () =>
      (await gw.app.inject({ method: 'GET', url: '/v1/contents/4/history' })).json<{
        items: { oldLevel: string; newLevel: string; reason: string | null }[];
      }>().items;
    await eventually(async () => (await history()).length === 1, 15_000, 'the move to silver');
    expect(await history()).toEqual([
      expect.objectContaining({ oldLevel: 'bronze', newLevel: 'silver', reason: 'post' }),
    ]);
  }, 30_000);
});
