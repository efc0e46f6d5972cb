import { createHash, randomBytes } from 'node:crypto';
import { loginFailuresKey } from '@relocation/queue';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  ADMIN_AUTH,
  buildGateway,
  form,
  json,
  openServices,
  type Gateway,
  type GatewayEnv,
  type Services,
} from './support.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const newKey = () => randomBytes(32).toString('hex');

/** One API key per role; the gateway knows only their hashes. */
const KEYS = {
  player: newKey(),
  catalog: newKey(),
  viewer: newKey(),
  operator: newKey(),
} as const;
type Role = keyof typeof KEYS;

const API_KEYS = (Object.keys(KEYS) as Role[])
  .map((role) => `${role}-client:${role}:${sha256(KEYS[role])}`)
  .join(',');

const bearer = (key: string) => `Bearer ${key}`;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const WRONG_BASIC = basic(ADMIN.user, 'not the password');

/** Who calls, in the matrix's column order. */
const CALLERS = ['none', 'player', 'catalog', 'viewer', 'operator', 'basic', 'wrongKey'] as const;
type Caller = (typeof CALLERS)[number];

function authorization(caller: Caller): Record<string, string> {
  switch (caller) {
    case 'none':
      return {};
    case 'basic':
      return { authorization: ADMIN_AUTH };
    case 'wrongKey':
      return { authorization: bearer(newKey()) };
    case 'player':
    case 'catalog':
    case 'viewer':
    case 'operator':
      return { authorization: bearer(KEYS[caller]) };
  }
}

type Access = 'public' | 'legacy' | 'player' | 'catalog' | 'viewer' | 'operator';
/** `ok`: the request got past access control (its own 2xx or domain answer). */
type Cell = 'ok' | 401 | 403;

/** The role matrix with API keys configured (README, "Access"): access level × caller. */
const MATRIX: Record<Access, readonly Cell[]> = {
  //         none   player catalog viewer operator basic wrongKey
  public: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  legacy: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  player: [401, 'ok', 403, 403, 'ok', 'ok', 401],
  catalog: [401, 403, 'ok', 403, 'ok', 'ok', 401],
  viewer: [401, 403, 403, 'ok', 'ok', 'ok', 401],
  operator: [401, 403, 403, 403, 'ok', 'ok', 401],
};

interface Route {
  /** `METHOD /path` as the OpenAPI document lists it (`{cid}` for parameters). */
  route: string;
  access: Access;
  /** The request for cell `n` (unique per cell, e.g. for a cid to register). */
  request: (n: number) => InjectOptions;
  /** What the route answers once it is let through: 2xx, or an expected domain error. */
  ok: readonly number[];
  /** Served but not in the OpenAPI document (the UI itself, Bull Board). */
  undocumented?: true;
}

const get = (url: string): InjectOptions => ({ method: 'GET', url });

/** Every route of the gateway, with a request that reaches its handler. */
const ROUTES: readonly Route[] = [
  { route: 'GET /healthz', access: 'public', request: () => get('/healthz'), ok: [200] },
  { route: 'GET /readyz', access: 'public', request: () => get('/readyz'), ok: [200] },
  {
    route: 'GET /docs',
    access: 'public',
    request: () => get('/docs'),
    ok: [200],
    undocumented: true,
  },
  {
    route: 'GET /docs/json',
    access: 'public',
    request: () => get('/docs/json'),
    ok: [200],
    undocumented: true,
  },
  {
    route: 'POST /post_sentence',
    access: 'legacy',
    request: () => form('/post_sentence', 'cid=7&count=1'),
    ok: [200],
  },
  {
    route: 'POST /update_sentence',
    access: 'legacy',
    request: () => form('/update_sentence', 'cid=7'),
    ok: [200],
  },
  {
    route: 'POST /v1/views',
    access: 'player',
    request: () => json('/v1/views', { cid: 7, count: 1 }),
    ok: [200],
  },
  {
    route: 'POST /v1/contents',
    access: 'catalog',
    request: (n) => json('/v1/contents', { cid: 5000 + n, filename: `access-${n}.mp4` }),
    ok: [201],
  },
  {
    route: 'GET /v1/contents/{cid}',
    access: 'viewer',
    request: () => get('/v1/contents/7'),
    ok: [200],
  },
  {
    route: 'GET /v1/contents',
    access: 'viewer',
    request: () => get('/v1/contents?state=stuck'),
    ok: [200],
  },
  {
    route: 'GET /v1/contents/{cid}/history',
    access: 'viewer',
    request: () => get('/v1/contents/7/history'),
    ok: [200],
  },
  { route: 'GET /v1/levels', access: 'viewer', request: () => get('/v1/levels'), ok: [200] },
  { route: 'GET /metrics', access: 'viewer', request: () => get('/metrics'), ok: [200] },
  {
    route: 'PUT /v1/levels',
    access: 'operator',
    // Refused by the level rules (400 INVALID_LEVELS), so the table stays as it is.
    request: () => json('/v1/levels', { levels: [] }, 'PUT'),
    ok: [400],
  },
  {
    route: 'PUT /v1/contents/{cid}/level',
    access: 'operator',
    request: () => json('/v1/contents/4040/level', { level: 'silver' }, 'PUT'),
    ok: [404],
  },
  {
    route: 'POST /v1/contents/{cid}/requeue',
    access: 'operator',
    request: () => ({ method: 'POST', url: '/v1/contents/4040/requeue' }),
    ok: [404],
  },
  {
    route: 'DELETE /v1/contents/{cid}/pending-move',
    access: 'operator',
    request: () => ({ method: 'DELETE', url: '/v1/contents/7/pending-move' }),
    ok: [404],
  },
  {
    route: 'PUT /v1/contents/{cid}/pin',
    access: 'operator',
    // An unknown cid: refused (404) and nothing pinned.
    request: () => json('/v1/contents/4040/pin', { level: 'gold', reason: 'access' }, 'PUT'),
    ok: [404],
  },
  {
    route: 'DELETE /v1/contents/{cid}/pin',
    access: 'operator',
    request: () => ({ method: 'DELETE', url: '/v1/contents/7/pin' }),
    ok: [200],
  },
  { route: 'GET /v1/audit', access: 'operator', request: () => get('/v1/audit'), ok: [200] },
  {
    route: 'GET /v1/relocations',
    access: 'operator',
    request: () => get('/v1/relocations'),
    ok: [200],
  },
  {
    route: 'POST /v1/relocations/pause',
    access: 'operator',
    request: () => ({ method: 'POST', url: '/v1/relocations/pause' }),
    ok: [200],
  },
  {
    route: 'POST /v1/relocations/resume',
    access: 'operator',
    request: () => ({ method: 'POST', url: '/v1/relocations/resume' }),
    ok: [200],
  },
  { route: 'GET /v1/plan', access: 'viewer', request: () => get('/v1/plan'), ok: [200] },
  {
    route: 'POST /v1/plan',
    access: 'viewer',
    // A dry run: refused by the level rules (400 INVALID_LEVELS); nothing is stored either way.
    request: () => json('/v1/plan', { levels: [] }),
    ok: [400],
  },
  { route: 'GET /v1/stats', access: 'viewer', request: () => get('/v1/stats'), ok: [200] },
  {
    route: 'GET /admin',
    access: 'operator',
    request: () => get('/admin'),
    ok: [200],
    undocumented: true,
  },
  {
    route: 'GET /admin/queues',
    access: 'operator',
    request: () => get('/admin/queues'),
    ok: [200],
    undocumented: true,
  },
  {
    route: 'GET /admin/queues/api/queues',
    access: 'operator',
    request: () => get('/admin/queues/api/queues'),
    ok: [200],
    undocumented: true,
  },
];

/** The role a 403 names, for a route of `access`. */
const NEEDED: Partial<Record<Access, string>> = {
  player: 'player',
  catalog: 'catalog',
  viewer: 'viewer',
  operator: 'operator',
};

function withHeaders(request: InjectOptions, headers: Record<string, string>): InjectOptions {
  return {
    ...request,
    headers: { ...(request.headers as Record<string, string> | undefined), ...headers },
  };
}

function challenges(res: LightMyRequestResponse): string[] {
  const header = res.headers['www-authenticate'];
  return header === undefined ? [] : [header].flat().map(String);
}

/** Asserts that `res` is what `cell` says for `route`. */
function expectCell(res: LightMyRequestResponse, route: Route, cell: Cell, what: string): void {
  if (cell === 'ok') {
    expect(route.ok, `${what}: ${res.body.slice(0, 200)}`).toContain(res.statusCode);
    return;
  }
  expect(res.statusCode, `${what}: ${res.body.slice(0, 200)}`).toBe(cell);
  if (cell === 401) {
    expect(res.json(), what).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    expect(challenges(res), what).toEqual([
      'Basic realm="relocation admin"',
      'Bearer realm="relocation"',
    ]);
  } else {
    const body = res.json<{ code: string; message: string }>();
    expect(body.code, what).toBe('FORBIDDEN');
    expect(body.message, what).toContain(`needs the ${NEEDED[route.access]} role`);
  }
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}

describe('who may do what: the role matrix, route by route', () => {
  let services: Services;
  let keyed: Gateway;

  beforeAll(async () => {
    services = await openServices();
    keyed = await buildGateway(services, { API_KEYS });
  });
  afterAll(async () => {
    await keyed?.app.close();
    await services?.close();
  });

  it('has a row for every route the OpenAPI document lists, and for the pages it does not', async () => {
    const doc = (await keyed.app.inject(get('/docs/json'))).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(
      ROUTES.filter((r) => r.undocumented !== true)
        .map((r) => r.route)
        .sort(),
    ).toEqual(documented.sort());
  });

  it('answers every route for every caller as the matrix says (2xx or its own answer / 401 / 403)', async () => {
    let n = 0;
    for (const [r, route] of ROUTES.entries()) {
      for (const [c, caller] of CALLERS.entries()) {
        n += 1;
        const cell = MATRIX[route.access][c] ?? 401;
        // An address per cell: the wrong keys must not add up to the failed-login limit.
        const request = withHeaders(route.request(n), authorization(caller));
        const res = await keyed.app.inject({ ...request, remoteAddress: `10.77.${r}.${c + 1}` });
        expectCell(res, route, cell, `${route.route} as ${caller}`);
      }
    }
  });

  it('declares the bearer and basic schemes in the OpenAPI document on the routes that need them', async () => {
    const doc = (await keyed.app.inject(get('/docs/json'))).json<{
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      paths: Record<
        string,
        Record<string, { security?: unknown; responses: Record<string, unknown> }>
      >;
    }>();
    expect(doc.components.securitySchemes).toMatchObject({
      apiKeyBearer: { type: 'http', scheme: 'bearer' },
      adminBasicAuth: { type: 'http', scheme: 'basic' },
    });
    const secured = [{ apiKeyBearer: [] }, { adminBasicAuth: [] }];
    for (const route of ROUTES.filter((r) => r.undocumented !== true)) {
      const [method = '', path = ''] = route.route.split(' ');
      const operation = doc.paths[path]?.[method.toLowerCase()];
      switch (route.access) {
        case 'public':
          expect(operation?.security, route.route).toBeUndefined();
          break;
        case 'legacy':
          expect(operation?.security, route.route).toEqual([{}, { apiKeyBearer: [] }]);
          break;
        case 'player':
        case 'catalog':
        case 'viewer':
        case 'operator':
          expect(operation?.security, route.route).toEqual(secured);
          expect(Object.keys(operation?.responses ?? {}), route.route).toEqual(
            expect.arrayContaining(['401', '403']),
          );
      }
    }
  });

  it('refuses an unknown key with 401 even on a route whose role it names, and a malformed header as no credentials', async () => {
    const forged = await keyed.app.inject({
      ...get('/v1/levels'),
      headers: { authorization: bearer(sha256(KEYS.viewer)) },
      remoteAddress: '10.78.0.1',
    });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ code: 'UNAUTHORIZED', message: 'unknown API key' });
    const malformed = await keyed.app.inject({
      ...get('/v1/levels'),
      headers: { authorization: `Token ${KEYS.viewer}` },
      remoteAddress: '10.78.0.2',
    });
    expect(malformed.statusCode).toBe(401);
    expect(malformed.json<{ message: string }>().message).toMatch(/^credentials required/);
  });
});

describe('who acted: the checked caller names the audit entry', () => {
  let services: Services;
  let gw: Gateway;

  beforeAll(async () => {
    services = await openServices();
    gw = await buildGateway(services, { API_KEYS });
  });
  afterAll(async () => {
    await gw?.app.close();
    await services?.close();
  });

  it('records an API key by its name and the admin login by its user', async () => {
    const requeue = (auth: string) =>
      gw.app.inject({
        method: 'POST',
        url: '/v1/contents/7/requeue',
        headers: { authorization: auth },
      });
    expect((await requeue(bearer(KEYS.operator))).statusCode).toBeLessThan(300);
    expect((await requeue(ADMIN_AUTH)).statusCode).toBeLessThan(300);
    const res = await gw.app.inject({
      ...get('/v1/audit?action=content.requeue'),
      headers: { authorization: bearer(KEYS.operator) },
    });
    expect(res.statusCode).toBe(200);
    const actors = res.json<{ items: { actor: string }[] }>().items.map((e) => e.actor);
    expect(actors).toEqual([`admin:${ADMIN.user}`, 'key:operator-client']);
  });
});

describe('with no API keys configured, everything behaves as before', () => {
  let services: Services;
  let open: Gateway;
  let closed: Gateway;

  beforeAll(async () => {
    services = await openServices();
    open = await buildGateway(services);
    closed = await buildGateway(services, { ADMIN_USER: undefined, ADMIN_PASSWORD: undefined });
  });
  afterAll(async () => {
    await open?.app.close();
    await closed?.app.close();
    await services?.close();
  });

  it('opens every route but the admin ones, which need the admin login (HTTP basic) or answer 503 without one', async () => {
    let n = 100;
    for (const [r, route] of ROUTES.entries()) {
      for (const caller of ['none', 'basic', 'wrongKey'] as const) {
        n += 1;
        const what = `${route.route} as ${caller}`;
        const request = withHeaders(route.request(n), authorization(caller));
        const res = await open.app.inject({ ...request, remoteAddress: `10.79.${r}.1` });
        if (route.access !== 'operator' || caller === 'basic') {
          expect(route.ok, `${what}: ${res.body.slice(0, 200)}`).toContain(res.statusCode);
        } else {
          expect(res.statusCode, what).toBe(401);
          expect(challenges(res), what).toEqual(['Basic realm="relocation admin"']);
        }
        if (route.access === 'operator') {
          const off = await closed.app.inject({ ...request, remoteAddress: `10.79.${r}.2` });
          expect(off.statusCode, what).toBe(503);
          expect(off.json(), what).toMatchObject({ code: 'ADMIN_DISABLED' });
        }
      }
    }
  });

  it('declares no credentials in answers to open routes, whatever the caller sends', async () => {
    const res = await open.app.inject({
      ...form('/post_sentence', 'cid=7&count=2'),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'garbage' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});

describe('the legacy endpoints: open for the 2018 players, unless restricted', () => {
  let services: Services;
  const gateways: Gateway[] = [];
  const start = async (env: GatewayEnv) => {
    const gateway = await buildGateway(services, env);
    gateways.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    services = await openServices();
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.app.close();
    await services?.close();
  });

  const post = (from: string, headers: Record<string, string> = {}) => ({
    ...withHeaders(form('/post_sentence', 'cid=7&count=3'), headers),
    remoteAddress: from,
  });

  it('with LEGACY_ALLOW, answers only the listed addresses and networks (IPv4 and IPv6)', async () => {
    const gw = await start({ API_KEYS, LEGACY_ALLOW: '10.0.0.0/8, 192.168.1.5, fd00::/8' });
    for (const address of [
      '10.1.2.3',
      '10.255.255.255',
      '192.168.1.5',
      '::ffff:10.9.9.9',
      'fd00::1',
    ]) {
      const res = await gw.app.inject(post(address));
      expect(res.statusCode, address).toBe(200);
      expect(res.json(), address).toMatchObject({ cid: '7', count: '3' });
    }
    for (const address of ['11.0.0.1', '192.168.1.6', '::ffff:192.168.1.6', '2001:db8::1']) {
      const res = await gw.app.inject(post(address));
      expect(res.statusCode, address).toBe(403);
      expect(res.json(), address).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
      expect(res.json<{ message: string }>().message, address).toContain(address);
    }
    // A key does not make up for the address, on either legacy endpoint.
    const keyed = await gw.app.inject(post('192.168.1.6', { authorization: bearer(KEYS.player) }));
    expect(keyed.statusCode).toBe(403);
    const status = await gw.app.inject({
      ...form('/update_sentence', 'cid=7'),
      remoteAddress: '192.168.1.6',
    });
    expect(status.statusCode).toBe(403);
    // The v1 API is not restricted by LEGACY_ALLOW.
    const v1 = await gw.app.inject({
      ...withHeaders(json('/v1/views', { cid: 7, count: 4 }), {
        authorization: bearer(KEYS.player),
      }),
      remoteAddress: '192.168.1.6',
    });
    expect(v1.statusCode).toBe(200);
  });

  it('reads the client address from X-Forwarded-For only when the peer is a TRUST_PROXY', async () => {
    const gw = await start({ LEGACY_ALLOW: '10.0.0.0/8', TRUST_PROXY: '127.0.0.1' });
    const via = (peer: string, forwarded: string) =>
      gw.app.inject(post(peer, { 'x-forwarded-for': forwarded }));
    expect((await via('127.0.0.1', '10.1.1.1')).statusCode).toBe(200);
    const outside = await via('127.0.0.1', '203.0.113.9');
    expect(outside.statusCode).toBe(403);
    expect(outside.json<{ message: string }>().message).toContain('203.0.113.9');
    // Any client can send the header: from a peer that is not a trusted proxy it is ignored.
    const spoofed = await via('198.51.100.7', '10.1.1.1');
    expect(spoofed.statusCode).toBe(403);
    expect(spoofed.json<{ message: string }>().message).toContain('198.51.100.7');

    const direct = await start({ LEGACY_ALLOW: '10.0.0.0/8' });
    const ignored = await direct.app.inject(post('127.0.0.1', { 'x-forwarded-for': '10.1.1.1' }));
    expect(ignored.statusCode).toBe(403);
  });

  it('with LEGACY_REQUIRE_KEY, needs the player role on both legacy endpoints', async () => {
    const gw = await start({ API_KEYS, LEGACY_REQUIRE_KEY: 'true' });
    const expected: Record<Caller, Cell> = {
      none: 401,
      player: 'ok',
      catalog: 403,
      viewer: 403,
      operator: 'ok',
      basic: 'ok',
      wrongKey: 401,
    };
    for (const [c, caller] of CALLERS.entries()) {
      for (const route of ROUTES.filter((r) => r.access === 'legacy')) {
        const request = withHeaders(route.request(0), authorization(caller));
        const res = await gw.app.inject({ ...request, remoteAddress: `10.80.0.${c + 1}` });
        expectCell(
          res,
          { ...route, access: 'player' },
          expected[caller],
          `${route.route} as ${caller}`,
        );
      }
    }
  });

  it('with both, needs a listed address and a player key', async () => {
    const gw = await start({ API_KEYS, LEGACY_REQUIRE_KEY: 'true', LEGACY_ALLOW: '10.0.0.0/8' });
    const player = { authorization: bearer(KEYS.player) };
    expect((await gw.app.inject(post('10.0.0.9', player))).statusCode).toBe(200);
    expect((await gw.app.inject(post('10.0.0.9'))).statusCode).toBe(401);
    expect((await gw.app.inject(post('172.16.0.9', player))).statusCode).toBe(403);
  });
});

describe('failed logins are throttled per address, across gateways', () => {
  let services: Services;
  let a: Gateway;
  let b: Gateway;

  beforeAll(async () => {
    services = await openServices();
    a = await buildGateway(services, { API_KEYS });
    b = await buildGateway(services, { API_KEYS });
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await services?.close();
  });

  const audit = (gw: Gateway, from: string, auth: string) =>
    gw.app.inject({ ...get('/v1/audit'), headers: { authorization: auth }, remoteAddress: from });

  it('answers 429 with Retry-After after 10 failed logins from one address, while another address still logs in', async () => {
    const attacker = '10.66.0.1';
    const other = '10.66.0.2';
    for (let i = 1; i <= 10; i += 1) {
      const res = await audit(a, attacker, WRONG_BASIC);
      expect(res.statusCode, `failed login ${i}`).toBe(401);
    }
    const eleventh = await audit(a, attacker, WRONG_BASIC);
    expect(eleventh.statusCode).toBe(429);
    expect(eleventh.json()).toMatchObject({ statusCode: 429, code: 'TOO_MANY_FAILED_LOGINS' });
    const retryAfter = Number(eleventh.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // The right password from the throttled address is refused unchecked, on every gateway
    // (the count is in Redis), and so is any other key it tries.
    expect((await audit(a, attacker, ADMIN_AUTH)).statusCode).toBe(429);
    expect((await audit(b, attacker, ADMIN_AUTH)).statusCode).toBe(429);
    expect((await audit(b, attacker, bearer(newKey()))).statusCode).toBe(429);
    // A valid API key cannot be guessed: it is still accepted from that address.
    expect((await audit(a, attacker, bearer(KEYS.operator))).statusCode).toBe(200);

    // Another address is not affected: a failure is a 401, a right login works.
    const miss = await audit(a, other, WRONG_BASIC);
    expect(miss.statusCode).toBe(401);
    expect((await audit(a, other, ADMIN_AUTH)).statusCode).toBe(200);
    expect((await audit(b, other, ADMIN_AUTH)).statusCode).toBe(200);

    // The count expires with its window.
    const ttl = await services.redis.redis.pttl(loginFailuresKey(services.prefix, attacker));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const metrics = await a.app.inject({
      ...get('/metrics'),
      headers: { authorization: bearer(KEYS.viewer) },
    });
    // On this gateway: 10 + 1 wrong passwords checked, and 2 logins refused unchecked (the
    // eleventh attempt and the right password after it).
    const failures = (reason: string) =>
      metricValue(metrics.body, 'gateway_auth_failures_total', `reason="${reason}"`);
    expect(failures('wrong_password')).toBe(11);
    expect(failures('throttled')).toBe(2);
  });

  it('throttles unknown API keys the same way', async () => {
    const guesser = '10.66.0.3';
    for (let i = 1; i <= 10; i += 1) {
      // Spread over both gateways: the limit holds across them.
      const res = await audit(i % 2 === 0 ? a : b, guesser, bearer(newKey()));
      expect(res.statusCode, `failed login ${i}`).toBe(401);
    }
    const res = await audit(a, guesser, bearer(newKey()));
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({ code: 'TOO_MANY_FAILED_LOGINS' });
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('counts an IPv6 client by its /64, which one host usually owns', async () => {
    for (let i = 1; i <= 10; i += 1) {
      expect((await audit(a, `2001:db8:7:7::${i}`, WRONG_BASIC)).statusCode).toBe(401);
    }
    expect((await audit(a, '2001:db8:7:7::ff', ADMIN_AUTH)).statusCode).toBe(429);
    expect((await audit(a, '2001:db8:7:8::1', ADMIN_AUTH)).statusCode).toBe(200);
  });

  it('does not count missing credentials or a valid key of the wrong role as failed logins', async () => {
    const client = '10.66.0.4';
    for (let i = 0; i < 12; i += 1) {
      expect((await audit(a, client, bearer(KEYS.viewer))).statusCode).toBe(403);
      const none = await a.app.inject({ ...get('/v1/audit'), remoteAddress: client });
      expect(none.statusCode).toBe(401);
    }
    expect((await audit(a, client, ADMIN_AUTH)).statusCode).toBe(200);
  });
});
