import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { getContentHistory, getContentPin, listAudit } from '@relocation/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/services.ts';
import { REPO_ROOT } from '../relocator/support.ts';
import {
  ADMIN_AUTH,
  buildGateway,
  startRealRelocator,
  type RealRelocator,
  eventually,
  form,
  json,
  openServices,
  type Gateway,
  type Services,
} from './support.ts';

const admin = { authorization: ADMIN_AUTH };
const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

type ContentState = {
  level: string;
  target: string;
  settled: boolean;
  pin: { level: string; until: string | null; reason: string; pinnedBy: string } | null;
  relocation: { state: string };
};

/** Pins against a real relocator, on real files: pin, unpin, expiry, refusals, CLI. */
describe('pinning a content to a level', () => {
  let services: Services;
  let gw: Gateway;
  let real: RealRelocator;
  const dirOf = (level: string) => real.dir(level);

  beforeAll(async () => {
    services = await openServices();
    real = await startRealRelocator(services, { PIN_EXPIRY_EVERY: '1s' });
    gw = await buildGateway(services);
  });
  afterAll(async () => {
    await real?.close();
    await gw?.app.close();
    await services?.close();
  });

  const history = async (cid: number) =>
    (await getContentHistory(services.database.db, cid))
      .map((h) => [h.old_content_level, h.new_content_level])
      .reverse();
  const state = async (cid: number) =>
    (
      await gw.app.inject({ method: 'GET', url: `/v1/contents/${cid}`, headers: admin })
    ).json<ContentState>();
  const pin = (cid: number, body: unknown, headers: Record<string, string> = admin) => {
    const request = json(`/v1/contents/${cid}/pin`, body, 'PUT');
    return gw.app.inject({ ...request, headers: { ...request.headers, ...headers } });
  };
  const unpin = (cid: number, query = '') =>
    gw.app.inject({ method: 'DELETE', url: `/v1/contents/${cid}/pin${query}`, headers: admin });
  const post = async (cid: number, count: number) =>
    (await gw.app.inject(form('/post_sentence', `cid=${cid}&count=${count}`))).json<{
      status: string;
      db_level: string;
      target: string;
    }>();

  it('moves a content pinned to gold there once; later low counts leave it there', async () => {
    // cid 2 (b.mp4): bronze, 120 views.
    expect(await post(2, 120)).toMatchObject({ status: 'done', db_level: 'bronze' });
    const res = await pin(2, { level: 'gold', until: null, reason: 'launch campaign' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ jobId: string | null; level: string; pin: { level: string } }>();
    expect(body).toMatchObject({ level: 'bronze', pin: { level: 'gold' }, previous: null });
    expect(body.jobId).not.toBeNull();
    await eventually(async () => (await history(2)).length === 1, 15_000, 'the move to gold');
    await eventually(async () => (await state(2)).relocation.state === 'idle');
    expect(await history(2)).toEqual([['bronze', 'gold']]);
    expect(await exists(path.join(dirOf('gold'), 'b.mp4'))).toBe(true);
    expect(await exists(path.join(dirOf('bronze'), 'b.mp4'))).toBe(false);

    for (const count of [3, 0, 999]) {
      expect(await post(2, count)).toMatchObject({
        status: 'done',
        db_level: 'gold',
        target: 'gold',
      });
    }
    const shown = await state(2);
    expect(shown).toMatchObject({
      level: 'gold',
      target: 'gold',
      settled: true,
      relocation: { state: 'idle' },
      pin: { level: 'gold', until: null, reason: 'launch campaign', pinnedBy: 'admin:operator' },
    });
    expect(await history(2)).toEqual([['bronze', 'gold']]);

    const [entry] = await listAudit(services.database.db, { action: 'content.pin' });
    expect(entry).toMatchObject({
      actor: 'admin:operator',
      target: 'cid:2',
      detail: 'launch campaign',
      before: null,
      after: { level: 'gold', reason: 'launch campaign', contentLevel: 'bronze' },
    });
    const metrics = await gw.app.inject({ method: 'GET', url: '/metrics', headers: admin });
    expect(metrics.body).toMatch(/^gateway_pinned_contents 1$/m);
  }, 30_000);

  it('unpinning queues the move its latest count calls for', async () => {
    const res = await unpin(2, '?reason=campaign%20over');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      cid: 2,
      released: true,
      pin: { level: 'gold' },
      level: 'gold',
      target: 'bronze',
    });
    await eventually(async () => (await history(2)).length === 2, 15_000, 'the move back');
    expect(await history(2)).toEqual([
      ['bronze', 'gold'],
      ['gold', 'bronze'],
    ]);
    await eventually(async () => (await state(2)).settled, 10_000, 'cid 2 to settle');
    expect((await state(2)).pin).toBeNull();
    const [entry] = await listAudit(services.database.db, { action: 'content.unpin' });
    expect(entry).toMatchObject({
      actor: 'admin:operator',
      target: 'cid:2',
      detail: 'campaign over',
      before: { level: 'gold', reason: 'launch campaign' },
      after: null,
    });
    // Again: nothing to release, nothing written.
    expect((await unpin(2)).json()).toMatchObject({ released: false, pin: null });
    expect(await listAudit(services.database.db, { action: 'content.unpin' })).toHaveLength(1);
  }, 30_000);

  it('releases an expired pin by itself, and the count decides again', async () => {
    // cid 8 (h.mp4): bronze, 50 views; pinned to silver for a moment.
    const until = new Date(Date.now() + 2000).toISOString();
    const res = await pin(8, { level: 'silver', until, reason: 'short promo' });
    expect(res.statusCode).toBe(200);
    await eventually(async () => (await history(8)).length === 2, 20_000, 'moved and back');
    expect(await history(8)).toEqual([
      ['bronze', 'silver'],
      ['silver', 'bronze'],
    ]);
    expect(await getContentPin(services.database.db, 8)).toBeNull();
    const [entry] = await listAudit(services.database.db, { action: 'content.pin-expired' });
    expect(entry).toMatchObject({
      actor: 'system',
      target: 'cid:8',
      before: { level: 'silver', until: new Date(until).toISOString(), reason: 'short promo' },
    });
    expect(entry?.detail).toContain('short promo');
  }, 30_000);

  it('refuses an unknown level (400), an unknown cid (404), an until in the past (400), no credentials (401)', async () => {
    const unknownLevel = await pin(4, { level: 'platinum', reason: 'x' });
    expect(unknownLevel.statusCode).toBe(400);
    expect(unknownLevel.json()).toMatchObject({ code: 'UNKNOWN_LEVEL' });
    const unknownCid = await pin(999_999, { level: 'gold', reason: 'x' });
    expect(unknownCid.statusCode).toBe(404);
    expect(unknownCid.json()).toMatchObject({ code: 'CONTENT_NOT_FOUND' });
    expect((await unpin(999_999)).statusCode).toBe(404);
    const past = await pin(4, { level: 'gold', until: '2020-01-01T00:00:00Z', reason: 'x' });
    expect(past.statusCode).toBe(400);
    expect(past.json()).toMatchObject({ code: 'INVALID_PIN' });
    const noReason = await pin(4, { level: 'gold' });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json<{ message: string }>().message).toMatch(/reason/);
    const anonymous = await gw.app.inject(
      json('/v1/contents/4/pin', { level: 'gold', reason: 'x' }, 'PUT'),
    );
    expect(anonymous.statusCode).toBe(401);
    expect(await getContentPin(services.database.db, 4)).toBeNull();
    expect(await history(4)).toEqual([]);
  });

  it('has CLI equivalents: npm run content -- pin|unpin, a line or --json', async () => {
    const run = promisify(execFile);
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'apps/relocator/src/content.main.ts', ...args], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: services.database.url,
          REDIS_URL: redisUrl(),
          QUEUE_PREFIX: services.prefix,
        },
      });
    // cid 10 (j.mp4): bronze, 10 views.
    const pinned = JSON.parse(
      (await cli('pin', '10', 'silver', '--reason', 'editor pick', '--json')).stdout,
    ) as {
      ok: boolean;
      result: { jobId: string | null; pin: { level: string; pinnedBy: string } };
    };
    expect(pinned).toMatchObject({ ok: true, result: { pin: { level: 'silver' } } });
    expect(pinned.result.pin.pinnedBy).toMatch(/^cli/);
    expect(pinned.result.jobId).not.toBeNull();
    await eventually(async () => (await history(10)).length === 1, 15_000, 'the move to silver');
    await eventually(async () => (await state(10)).relocation.state === 'idle');
    const line = (await cli('unpin', '10')).stdout;
    expect(line).toMatch(
      /^content 10: pin to silver released; its count 10 calls for bronze: job \S+ queued/,
    );
    await eventually(async () => (await history(10)).length === 2, 15_000, 'the move back');
    await expect(cli('pin', '10', 'platinum')).rejects.toMatchObject({ code: 1 });
    await expect(cli('pin', '10', 'gold', '--until', 'soon')).rejects.toMatchObject({ code: 2 });
    const actors = (await listAudit(services.database.db, { limit: 20 }))
      .filter((e) => e.target === 'cid:10')
      .map((e) => [e.action, e.actor.split(':')[0]]);
    expect(actors).toEqual([
      ['content.unpin', 'cli'],
      ['content.pin', 'cli'],
    ]);
  }, 60_000);
});
