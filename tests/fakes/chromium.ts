import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { findExecutable } from '../../src/sandbox/find-executable.js';

/**
 * Debian's chromium (the `chromium` package; no browser is ever downloaded), headless, with nothing
 * that reaches out to Google's services: this machine's network is closed, and each refused
 * connection would only slow the tests down.
 */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const VIEWPORT = { width: 1280, height: 800 };

export function chromiumPath(): string {
  const found = findExecutable('chromium', process.env.PATH ?? '');
  if (!found) throw new Error('chromium is missing: the browser tests need Debian package chromium');
  return found;
}

export interface WatchedPage {
  page: Page;
  /** Uncaught errors, console errors and Content-Security-Policy violations the page reported. */
  problems: string[];
}

/** One browser with a fresh profile per test file; `close` removes the profile. */
export async function openBrowser() {
  const profile = await mkdtemp(path.join(tmpdir(), 'patchbay-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: ARGS,
    viewport: VIEWPORT,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  // Before any page script: a violation means the browser met inline script or style it refused.
  await context.addInitScript({
    content:
      "document.addEventListener('securitypolicyviolation', (e) => " +
      'console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));',
  });
  return {
    context,
    async newPage(): Promise<WatchedPage> {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      return { page, problems };
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
export type TestBrowser = Awaited<ReturnType<typeof openBrowser>>;

/**
 * A screenshot of the page: into docs/screenshots/ when PATCHBAY_SCREENSHOTS=1 (the README shows
 * those), else into a temporary directory, so that a test run leaves the checkout as it was.
 */
export async function saveScreenshot(
  page: Page,
  name: string,
  opts: { fullPage?: boolean } = {},
): Promise<string> {
  const dir =
    process.env.PATCHBAY_SCREENSHOTS === '1'
      ? path.resolve('docs/screenshots')
      : path.join(tmpdir(), 'patchbay-screenshots');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled', fullPage: opts.fullPage ?? false });
  return file;
}
