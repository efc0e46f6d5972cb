import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TIER_MARKER_FILE, writeTierMarker } from '@relocation/contract';
import { getDeploymentId } from '@relocation/db';
import { createTestDatabase, uniqueSuffix } from '../support/services.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_AUTH,
  buildGateway,
  form,
  json,
  openServices,
  type Gateway,
  type Services,
} from './support.ts';

/** This file's tier directories: the three seeded ones exist and carry their markers. */
const ROOT = path.join(os.tmpdir(), `reloc-levels-${uniqueSuffix()}`);

function levels(bronzeMax: number, silverMax: number) {
  return [
    { name: 'bronze', minCount: 0, maxCount: bronzeMax, path: `${ROOT}/bronze` },
    { name: 'silver', minCount: bronzeMax + 1, maxCount: silverMax, path: `${ROOT}/silver` },
    { name: 'gold', minCount: silverMax + 1, maxCount: null, path: `${ROOT}/gold` },
  ];
}

function put(body: unknown, authorization?: string) {
  const request = json('/v1/levels', body, 'PUT');
  return authorization === undefined
    ? request
    : { ...request, headers: { ...request.headers, authorization } };
}

describe('the level table: read, replace (admin), picked up by every replica', () => {
  let services: Services;
  let a: Gateway;
  let b: Gateway;

  beforeAll(async () => {
    services = await openServices({ dataDir: ROOT });
    const deployment = await getDeploymentId(services.database.db);
    for (const level of levels(999, 1999)) {
      await writeTierMarker(
        level.path,
        { level: level.name, deployment },
        { createDirectory: true },
      );
    }
    a = await buildGateway(services);
    b = await buildGateway(services);
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await services?.close();
    await rm(ROOT, { recursive: true, force: true });
  });

  it('lists the levels ordered by min_counts', async () => {
    const res = await a.app.inject({ method: 'GET', url: '/v1/levels' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ levels: levels(999, 1999) });
    expect(res.json<{ version: number }>().version).toBeGreaterThan(0);
  });

  it('refuses PUT without or with wrong credentials (401, WWW-Authenticate)', async () => {
    const none = await a.app.inject(put({ levels: levels(499, 1499) }));
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm="relocation admin"/);
    expect(none.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    const wrong = `Basic ${Buffer.from('operator:guess').toString('base64')}`;
    const bad = await a.app.inject(put({ levels: levels(499, 1499) }, wrong));
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('refuses an invalid table with 400 INVALID_LEVELS naming the level and the rule', async () => {
    const gap = levels(999, 1999).map((l) => (l.name === 'silver' ? { ...l, minCount: 1100 } : l));
    const res = await a.app.inject(put({ levels: gap }, ADMIN_AUTH));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_LEVELS' });
    expect(res.json<{ message: string }>().message).toMatch(/level "silver".*gap.*\(rule: gap\)/);

    const malformed = await a.app.inject(put({ levels: [{ name: 'x' }] }, ADMIN_AUTH));
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'INVALID_INPUT' });
    expect(malformed.json<{ message: string }>().message).toMatch(/body\/levels\/0\/minCount/);
  });

  it('refuses a path in another spelling (a "." segment) with 400 INVALID_LEVELS', async () => {
    const dotted = levels(999, 1999).map((l) =>
      l.name === 'gold' ? { ...l, path: `${ROOT}/./gold` } : l,
    );
    const res = await a.app.inject(put({ levels: dotted }, ADMIN_AUTH));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_LEVELS' });
    expect(res.json<{ message: string }>().message).toMatch(
      /level "gold".*'\.' or '\.\.' segments/,
    );
  });

  it('refuses a level whose directory is missing (409 TIER_UNAVAILABLE) and creates it with ?create=true', async () => {
    const platinum = { name: 'platinum', minCount: 5000, maxCount: null, path: `${ROOT}/platinum` };
    const table = [
      ...levels(999, 1999).map((l) => (l.name === 'gold' ? { ...l, maxCount: 4999 } : l)),
      platinum,
    ];
    const refused = await a.app.inject(put({ levels: table }, ADMIN_AUTH));
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'TIER_UNAVAILABLE' });
    expect(refused.json<{ message: string }>().message).toMatch(
      /level "platinum":.*does not exist.*\?create=true/,
    );
    await expect(stat(platinum.path)).rejects.toThrow(/ENOENT/);
    const unchanged = (await a.app.inject({ method: 'GET', url: '/v1/levels' })).json<{
      levels: { name: string }[];
    }>();
    expect(unchanged.levels.map((l) => l.name)).toEqual(['bronze', 'silver', 'gold']);

    const created = await a.app.inject({
      ...put({ levels: table }, ADMIN_AUTH),
      url: '/v1/levels?create=true',
    });
    expect(created.statusCode).toBe(200);
    const marker: unknown = JSON.parse(
      await readFile(path.join(platinum.path, TIER_MARKER_FILE), 'utf8'),
    );
    expect(marker).toMatchObject({
      level: 'platinum',
      deployment: await getDeploymentId(services.database.db),
    });
    // Back to the three levels (platinum holds no content).
    const back = await a.app.inject(put({ levels: levels(999, 1999) }, ADMIN_AUTH));
    expect(back.statusCode).toBe(200);
  });

  it('refuses a directory marked by another database even with ?create=true, and an unmarked one without it', async () => {
    const foreign = `${ROOT}/foreign`;
    await writeTierMarker(
      foreign,
      { level: 'gold', deployment: 'another-db' },
      { createDirectory: true },
    );
    const unmarked = `${ROOT}/unmarked`;
    await mkdir(unmarked, { recursive: true });
    const withPath = (p: string) =>
      levels(999, 1999).map((l) => (l.name === 'gold' ? { ...l, path: p } : l));
    const res = await a.app.inject({
      ...put({ levels: withPath(foreign) }, ADMIN_AUTH),
      url: '/v1/levels?create=true',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ message: string }>().message).toMatch(/another database.*--claim-tiers/);
    const bare = await a.app.inject(put({ levels: withPath(unmarked) }, ADMIN_AUTH));
    expect(bare.statusCode).toBe(409);
    expect(bare.json<{ message: string }>().message).toMatch(/has no \.relocation-tier marker/);
  });

  it('refuses to remove a level contents sit on with 409 LEVEL_IN_USE', async () => {
    const noGold = [
      { name: 'bronze', minCount: 0, maxCount: 999, path: `${ROOT}/bronze` },
      { name: 'silver', minCount: 1000, maxCount: null, path: `${ROOT}/silver` },
    ];
    const res = await a.app.inject(put({ levels: noGold }, ADMIN_AUTH));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'LEVEL_IN_USE' });
    expect(res.json<{ message: string }>().message).toMatch(/"gold"/);
  });

  it('replaces the table and another replica uses it on its next post, without a restart', async () => {
    // Replica b has the old table in memory: 600 is bronze, 1600 silver.
    expect((await b.app.inject(form('/post_sentence', 'cid=7&count=600'))).json()).toMatchObject({
      status: 'done',
      target: 'bronze',
    });
    const before = (await a.app.inject({ method: 'GET', url: '/v1/levels' })).json<{
      version: number;
    }>();

    const res = await a.app.inject(put({ levels: levels(499, 1499) }, ADMIN_AUTH));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ levels: levels(499, 1499) });
    expect(res.json<{ version: number }>().version).toBeGreaterThan(before.version);

    expect((await b.app.inject(form('/post_sentence', 'cid=7&count=600'))).json()).toMatchObject({
      status: 'update',
      target: 'silver',
      db_level: 'bronze',
    });
    expect((await b.app.inject(form('/post_sentence', 'cid=3&count=1600'))).json()).toMatchObject({
      status: 'update',
      target: 'gold',
      db_level: 'silver',
    });
  });

  it('answers 503 ADMIN_DISABLED for PUT when no admin credentials are configured', async () => {
    const closed = await buildGateway(services, { ADMIN_USER: '', ADMIN_PASSWORD: '' });
    try {
      const res = await closed.app.inject(put({ levels: levels(499, 1499) }, ADMIN_AUTH));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'ADMIN_DISABLED' });
      expect(res.json<{ message: string }>().message).toMatch(/set ADMIN_USER and ADMIN_PASSWORD/);
      expect((await closed.app.inject({ method: 'GET', url: '/v1/levels' })).statusCode).toBe(200);
    } finally {
      await closed.app.close();
    }
  });

  it('refuses to start on an invalid level table in MySQL, naming the rule', async () => {
    const broken = await createTestDatabase();
    try {
      await broken.db
        .insertInto('level')
        .values([
          { content_level: 'bronze', min_counts: 0, max_counts: 999, path: `${ROOT}/bronze` },
          { content_level: 'silver', min_counts: 1500, max_counts: null, path: `${ROOT}/silver` },
        ])
        .execute();
      await expect(
        buildGateway(
          { ...services, database: broken },
          { QUEUE_PREFIX: `${services.prefix}-broken` },
        ),
      ).rejects.toThrow(/level "silver".*leaves a gap/);
    } finally {
      await broken.drop();
    }
  });
});
