import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { getContentHistory } from '@relocation/db';
import { loadConfig, startGateway, type GatewayHandle } from '@relocation/gateway';
import { syncCache } from '@relocation/queue';
import { pino } from 'pino';
import { chromium, type Browser, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../relocator/support.ts';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium, watch } from '../support/browser.ts';
import {
  ADMIN,
  ADMIN_AUTH,
  listeningGatewayEnv,
  eventually,
  openServices,
  startRealRelocator,
  type RealRelocator,
  type Services,
} from './support.ts';

const chromiumHere = haveChromium('admin-page.test.ts');

/** Where the screenshot is saved (gitignored); `ADMIN_SCREENSHOT_DOCS=1` also refreshes the README's. */
const ARTIFACT = path.join(REPO_ROOT, 'test-artifacts', 'admin.png');
const DOCS_IMAGE = path.join(REPO_ROOT, 'docs', 'images', 'admin-overview.png');

/** A file name the page must show as text, never as markup. */
const HOSTILE_NAME = `<em>"x'&amp;<em>.mp4`;

const MINUTE = 60_000;

/** One attribute of every element `locator` matches, in document order. */
async function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  return Promise.all((await locator.all()).map((element) => element.getAttribute(name)));
}

describe.skipIf(!chromiumHere)('the overview page /admin in a real browser (Chromium)', () => {
  let services: Services;
  let real: RealRelocator;
  let gateway: GatewayHandle;
  let browser: Browser;

  beforeAll(async () => {
    services = await openServices();
    real = await startRealRelocator(services);
    gateway = await startGateway(loadConfig(listeningGatewayEnv(services)), {
      logger: pino({ level: 'silent' }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await real?.close();
    await gateway?.close();
    await services?.close();
  });

  const call = (url: string, init: RequestInit = {}) =>
    fetch(`${gateway.url}${url}`, {
      ...init,
      headers: { authorization: ADMIN_AUTH, ...init.headers },
    });
  const post = (body: string) =>
    call('/post_sentence', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  const history = (cid: number) => getContentHistory(services.database.db, cid);

  it('draws the tiers, the moves of the last hour, the queue, failed and stuck contents, with nothing from another origin', async () => {
    // A content whose file is not on its tier (its move fails), named to try the escaping.
    const registered = await call('/v1/contents', {
      method: 'POST',
      body: JSON.stringify({ cid: 20, filename: HOSTILE_NAME }),
      headers: { 'content-type': 'application/json' },
    });
    expect(registered.status).toBe(201);
    for (const body of [
      'cid=7&count=1964',
      'cid=2&count=2500',
      'cid=3&count=100',
      'cid=20&count=1500',
    ]) {
      expect((await post(body)).status, body).toBe(200);
    }
    await eventually(
      async () => {
        const moved = await Promise.all([7, 2, 3].map(async (cid) => (await history(cid)).length));
        const failed = await (await call('/v1/contents/20')).json();
        return (
          moved.every((n) => n === 1) &&
          (failed as { relocation: { state: string } }).relocation.state === 'failed'
        );
      },
      20_000,
      'three moves and one failure',
    );
    // Paused; cid 10's job is lost, so the cache sweep publishes it as stuck.
    expect((await call('/v1/relocations/pause', { method: 'POST' })).status).toBe(200);
    await post('cid=10&count=1500');
    const state = (await (await call('/v1/contents/10')).json()) as {
      relocation: { jobId: string };
    };
    const queue = services.queue();
    await (await queue.getJob(state.relocation.jobId))?.remove();
    await syncCache({ db: services.database.db, cache: services.cache }, { fix: true });
    const moveMinutes = new Map<string, { promote: number; demote: number }>();
    const count = (at: Date, direction: 'promote' | 'demote') => {
      const key = new Date(Math.floor(at.getTime() / MINUTE) * MINUTE).toISOString();
      const bucket = moveMinutes.get(key) ?? { promote: 0, demote: 0 };
      bucket[direction] += 1;
      moveMinutes.set(key, bucket);
    };
    for (const [cid, direction] of [
      [7, 'promote'],
      [2, 'promote'],
      [3, 'demote'],
    ] as const) {
      const [row] = await history(cid);
      count(row?.new_updated_date ?? new Date(0), direction);
    }
    // Earlier moves of the hour, as commits write them (cid 12), so the chart has a history.
    const now = Date.now();
    const earlier = [
      ...[50, 42, 42, 30, 18, 18, 18, 7].map((ago) => ({ ago, up: true })),
      ...[55, 35, 25, 25, 12].map((ago) => ({ ago, up: false })),
    ];
    await services.database.db
      .insertInto('update_history')
      .values(
        earlier.map(({ ago, up }) => ({
          cid: 12,
          old_updated_date: new Date(now - (ago + 1) * MINUTE),
          old_content_level: up ? 'silver' : 'gold',
          new_updated_date: new Date(now - ago * MINUTE),
          new_content_level: up ? 'gold' : 'silver',
          view_count: 0,
          reason: 'admin',
        })),
      )
      .execute();
    for (const { ago, up } of earlier)
      count(new Date(now - ago * MINUTE), up ? 'promote' : 'demote');

    const context = await browser.newContext({
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = await context.newPage();
      const report = await watch(page);
      const response = await page.goto(`${gateway.url}/admin`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      expect(response?.headers()['content-type']).toMatch(/^text\/html/);

      // Bars: contents and bytes per tier, each with its value in data and in its <title>.
      const bar = (chart: string, tier: string) =>
        page.locator(`#${chart} .bar[data-tier="${tier}"]`);
      for (const [tier, files] of [
        ['bronze', 5],
        ['silver', 4],
        ['gold', 4],
      ] as const) {
        expect(await bar('contents-chart', tier).getAttribute('data-value')).toBe(String(files));
        expect(await bar('contents-chart', tier).locator('title').textContent()).toBe(
          `${tier}: ${files} contents`,
        );
        // The moved files were sized by their moves: "file of 7" is 9 bytes.
        expect(await bar('bytes-chart', tier).getAttribute('data-value')).toBe('9');
        expect(await bar('bytes-chart', tier).locator('title').textContent()).toBe(`${tier}: 9 B`);
      }
      // The bars are drawn to scale: bronze (5) is the longest.
      const widths = await attributes(page.locator('#contents-chart .bar rect'), 'width');
      expect(Number(widths[0])).toBeGreaterThan(Number(widths[1]));

      // Lines: one point per minute with moves, in the minute the move was committed.
      const series = (direction: string) =>
        page.locator(`#moves-chart [data-series="${direction}"]`);
      expect(await series('promote').getAttribute('data-total')).toBe('10');
      expect(await series('demote').getAttribute('data-total')).toBe('6');
      expect(await series('other').count()).toBe(0);
      for (const direction of ['promote', 'demote'] as const) {
        const values = (await series(direction).locator('polyline').getAttribute('data-values'))
          ?.split(',')
          .map(Number);
        expect(values).toHaveLength(60);
        const circles = series(direction).locator('circle');
        const minutes = await attributes(circles, 'data-minute');
        const counts = await attributes(circles, 'data-value');
        expect(Object.fromEntries(minutes.map((m, i) => [m, Number(counts[i])]))).toEqual(
          Object.fromEntries(
            [...moveMinutes]
              .filter(([, b]) => b[direction] > 0)
              .map(([minute, b]) => [minute, b[direction]]),
          ),
        );
        expect(values?.reduce((a, b) => a + b, 0)).toBe(direction === 'promote' ? 10 : 6);
      }
      // The minute 18 minutes ago had three promotions; its point says so.
      const busy = new Date(Math.floor((now - 18 * MINUTE) / MINUTE) * MINUTE).toISOString();
      expect(
        await series('promote').locator(`circle[data-minute="${busy}"] title`).textContent(),
      ).toBe(`${busy.slice(11, 16)} UTC: 3 promote`);

      // Queue, paused, failed and stuck contents with links to their status.
      expect(await page.locator('#queue [data-paused]').getAttribute('data-paused')).toBe('true');
      expect(await page.locator('#queue [data-state="waiting"] dd').textContent()).toBe('0');
      expect(await page.locator('#queue [data-state="failed"] dd').textContent()).toBe('1');
      expect(await page.locator('#queue [data-state="completed"] dd').textContent()).toBe('3');
      const failedRow = page.locator('#failed tr[data-cid="20"]');
      expect(await failedRow.locator('a').getAttribute('href')).toBe('/v1/contents/20');
      // The file name is shown as text: no element was made of it.
      expect(await failedRow.locator('td.error').textContent()).toContain(HOSTILE_NAME);
      expect(await page.locator('#failed em').count()).toBe(0);
      const stuckRow = page.locator('#stuck tr[data-cid="10"]');
      expect(await stuckRow.textContent()).toContain('bronze → silver');
      expect(await attributes(page.locator('nav a'), 'href')).toEqual([
        '/admin/queues',
        '/docs',
        '/metrics',
        '/v1/stats',
      ]);

      await mkdir(path.dirname(ARTIFACT), { recursive: true });
      await page.screenshot({ path: ARTIFACT, fullPage: true });
      if (process.env.ADMIN_SCREENSHOT_DOCS === '1') {
        await mkdir(path.dirname(DOCS_IMAGE), { recursive: true });
        await copyFile(ARTIFACT, DOCS_IMAGE);
      }

      const { violations, consoleErrors, requests } = await report();
      expect(violations).toEqual([]);
      expect(consoleErrors).toEqual([]);
      expect(requests.filter((url) => !url.startsWith(`${gateway.url}/`))).toEqual([]);

      // A stuck content's link leads to its status.
      const status = await page.goto(`${gateway.url}/v1/contents/10`);
      expect(status?.status()).toBe(200);
      expect(await status?.json()).toMatchObject({ cid: 10, settled: false });
    } finally {
      await context.close();
      await call('/v1/relocations/resume', { method: 'POST' });
    }
  });

  it('is for operators only: 401 without or with wrong credentials', async () => {
    expect((await fetch(`${gateway.url}/admin`)).status).toBe(401);
    const wrong = `Basic ${Buffer.from(`${ADMIN.user}:nope`).toString('base64')}`;
    expect(
      (await fetch(`${gateway.url}/admin`, { headers: { authorization: wrong } })).status,
    ).toBe(401);
    expect((await fetch(`${gateway.url}/admin/overview.css`)).status).toBe(401);
    // The JSON API keeps its headers: the page's CSP is on the page only.
    const json = await call('/v1/stats');
    expect(json.status).toBe(200);
    expect(json.headers.get('content-security-policy')).toBeNull();
  });

  it('Bull Board loads nothing from another origin (no Google Fonts), with no CSP violation', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
    });
    try {
      const page = await context.newPage();
      const report = await watch(page);
      const response = await page.goto(`${gateway.url}/admin/queues`);
      expect(response?.status()).toBe(200);
      await page.locator('#root a[title="relocation"]').first().waitFor({ timeout: 15_000 });
      const { violations, consoleErrors, requests } = await report();
      expect(violations).toEqual([]);
      expect(consoleErrors).toEqual([]);
      expect(requests.filter((url) => !url.startsWith(`${gateway.url}/`))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
