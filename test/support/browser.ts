import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';

// What the browser tests of the gateway's HTML pages share: Debian's Chromium, how it is
// launched, and what a page reported while it loaded.

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). Never a downloaded build. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, without the browser's own background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/**
 * Whether Chromium is there for `file`'s tests. In CI the browser is part of the machine: its
 * absence throws instead of skipping; elsewhere the file is skipped with a warning.
 */
export function haveChromium(file: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env.CI) throw new Error(`${file}: ${why}`);
  console.warn(`${file}: skipped, ${why}`);
  return false;
}

/** A CSP violation as the page's `securitypolicyviolation` event reports it. */
export interface Violation {
  blockedURI: string;
  directive: string;
  sourceFile: string;
}

/** What a page reported while it loaded: CSP violations, console errors, every URL requested. */
export interface PageReport {
  violations: Violation[];
  consoleErrors: string[];
  requests: string[];
}

// Runs in the page before any of its own scripts (injected by the browser, so the page's CSP does
// not apply to it) and records every violation the page reports.
const RECORD_VIOLATIONS = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__violations.push({
      blockedURI: event.blockedURI,
      directive: event.effectiveDirective,
      sourceFile: event.sourceFile,
    });
  });
`;

/** Starts recording `page`'s CSP violations, errors and requests; call the result to read them. */
export async function watch(page: Page): Promise<() => Promise<PageReport>> {
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  await page.addInitScript({ content: RECORD_VIOLATIONS });
  return async () => ({
    violations: await page.evaluate<Violation[]>('window.__violations'),
    consoleErrors,
    requests,
  });
}
