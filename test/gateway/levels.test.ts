import { createTestDatabase } from '../support/services.ts';
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

const ROOT = '/srv/relocation-test';

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
    services = await openServices();
    a = await buildGateway(services);
    b = await buildGateway(services);
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await services?.close();
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
