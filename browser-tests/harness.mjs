// Shared parts of the browser test scripts: Debian's chromium through playwright-core (never a
// downloaded browser), checks that fail with a message, timestamped steps, and a run wrapper that
// saves a screenshot and exits 0 or 1.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export class CheckFailed extends Error {}

export function check(cond, message) {
  if (!cond) throw new CheckFailed(message);
}

const t0 = Date.now();
export function stepper(name) {
  return (msg) => console.log(`[${name} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

/** Launches chromium with a fresh profile; `body(context, page)` runs the checks. Exits the process. */
export async function runInBrowser(name, screenshot, body, { timeoutMs = 60_000 } = {}) {
  const step = stepper(name);
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const profile = mkdtempSync(join(tmpdir(), 'wirebus-chromium-'));
  const pageErrors = [];
  const consoleErrors = [];
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the run took longer than ${timeoutMs} ms`);
    process.exit(1);
  }, timeoutMs);
  let context;
  let page;
  let failed = false;
  try {
    step(`chromium ${executablePath}`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: process.env.HEADED !== '1',
      ignoreHTTPSErrors: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1000, height: 700 },
      timeout: 30_000,
    });
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    await body(context, page, step);
    check(pageErrors.length === 0, `the page threw: ${pageErrors.join(' | ')}`);
  } catch (e) {
    failed = true;
    console.error(`FAIL: ${e instanceof CheckFailed ? e.message : (e && e.stack) || e}`);
    if (consoleErrors.length) console.error(`browser console errors (expected ones included):\n  ${consoleErrors.join('\n  ')}`);
  } finally {
    if (page && screenshot) {
      try {
        mkdirSync(dirname(screenshot), { recursive: true });
        await page.screenshot({ path: screenshot, fullPage: true });
      } catch (e) {
        console.error(`could not save the screenshot: ${e.message}`);
      }
    }
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  process.exit(failed ? 1 : 0);
}
