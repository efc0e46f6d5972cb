import { loadConfig, startGateway, type GatewayHandle } from '@relocation/gateway';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, haveChromium, watch } from '../support/browser.ts';
import { ADMIN, listeningGatewayEnv, openServices, type Services } from './support.ts';

/** Where Bull Board's page loads its fonts from (hard-coded in its HTML template). */
const GOOGLE_FONTS = 'https://fonts.googleapis.com/';

const chromiumHere = haveChromium('html-pages.test.ts');

describe.skipIf(!chromiumHere)('the HTML pages in a real browser (Chromium)', () => {
  let services: Services;
  let gateway: GatewayHandle;
  let browser: Browser;

  beforeAll(async () => {
    services = await openServices();
    gateway = await startGateway(loadConfig(listeningGatewayEnv(services)), {
      logger: pino({ level: 'silent' }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await services?.close();
  });

  it('/docs renders every operation with no CSP violation and no console error', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const report = await watch(page);
      const response = await page.goto(`${gateway.url}/docs`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      const operations = page.locator('#swagger-ui .opblock');
      await operations.first().waitFor({ timeout: 15_000 });
      expect(await operations.count()).toBeGreaterThan(10);
      expect(await page.locator('#swagger-ui').textContent()).toContain('/post_sentence');
      const { violations, consoleErrors } = await report();
      expect({ violations, consoleErrors }).toEqual({ violations: [], consoleErrors: [] });
    } finally {
      await context.close();
    }
  });

  it("/admin/queues renders the board; nothing but Bull Board's Google Fonts style sheet is blocked", async () => {
    const context = await browser.newContext({
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
    });
    try {
      const page = await context.newPage();
      const report = await watch(page);
      const response = await page.goto(`${gateway.url}/admin/queues`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("style-src 'self'");
      // The queue card appears once the board's scripts ran and its API answered.
      const card = page.locator('#root a[title="relocation"]').first();
      await card.waitFor({ timeout: 15_000 });
      await expect.poll(() => page.locator('#root').textContent()).toContain('0 Jobs');
      const { violations, consoleErrors } = await report();
      // Bull Board's page links a Google Fonts style sheet it has no option to turn off; the
      // policy blocks it (the page works offline alike, in the browser's sans-serif font).
      expect(violations.filter((v) => !v.blockedURI.startsWith(GOOGLE_FONTS))).toEqual([]);
      expect(consoleErrors.filter((e) => !e.includes(GOOGLE_FONTS))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
