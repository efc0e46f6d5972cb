import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  ADMIN_AUTH,
  buildGateway,
  openServices,
  type Gateway,
  type Services,
} from './support.ts';

const WRONG = `Basic ${Buffer.from(`${ADMIN.user}:not-the-password`).toString('base64')}`;

describe('Bull Board at /admin/queues, behind basic auth', () => {
  let services: Services;
  let gw: Gateway;
  let closed: Gateway;
  let asset: string;

  beforeAll(async () => {
    services = await openServices();
    gw = await buildGateway(services);
    closed = await buildGateway(services, { ADMIN_USER: undefined, ADMIN_PASSWORD: undefined });
    const page = await gw.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: ADMIN_AUTH },
    });
    // The page loads its assets relative to <base href="/admin/queues/">.
    expect(page.body).toContain('<base href="/admin/queues/"');
    const match = /<script[^>]* src="(static\/js\/[^"]+\.js)"/.exec(page.body);
    asset = match ? `/admin/queues/${match[1]}` : '';
  });
  afterAll(async () => {
    await gw?.app.close();
    await closed?.app.close();
    await services?.close();
  });

  it('serves the page only with the credentials', async () => {
    const none = await gw.app.inject({ method: 'GET', url: '/admin/queues' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic/);
    expect(none.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    expect(
      (
        await gw.app.inject({
          method: 'GET',
          url: '/admin/queues',
          headers: { authorization: WRONG },
        })
      ).statusCode,
    ).toBe(401);

    const ok = await gw.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: ADMIN_AUTH },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/text\/html/);
    expect(ok.body).toContain('/admin/queues');
  });

  it('serves its static assets only with the credentials', async () => {
    expect(asset).toMatch(/^\/admin\/queues\/static\//);
    expect((await gw.app.inject({ method: 'GET', url: asset })).statusCode).toBe(401);
    expect(
      (await gw.app.inject({ method: 'GET', url: asset, headers: { authorization: WRONG } }))
        .statusCode,
    ).toBe(401);
    const ok = await gw.app.inject({
      method: 'GET',
      url: asset,
      headers: { authorization: ADMIN_AUTH },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body.length).toBeGreaterThan(0);
  });

  it('serves its API only with the credentials, listing the relocation queue', async () => {
    const url = '/admin/queues/api/queues';
    expect((await gw.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    const ok = await gw.app.inject({ method: 'GET', url, headers: { authorization: ADMIN_AUTH } });
    expect(ok.statusCode).toBe(200);
    const body = ok.json<{ queues: { name: string }[] }>();
    expect(body.queues.map((q) => q.name)).toEqual(['relocation']);
  });

  it('answers 503 ADMIN_DISABLED for page, assets and API when no credentials are configured', async () => {
    for (const url of ['/admin/queues', asset, '/admin/queues/api/queues']) {
      for (const headers of [{}, { authorization: ADMIN_AUTH }]) {
        const res = await closed.app.inject({ method: 'GET', url, headers });
        expect(res.statusCode, url).toBe(503);
        expect(res.json()).toMatchObject({ statusCode: 503, code: 'ADMIN_DISABLED' });
      }
    }
  });
});
