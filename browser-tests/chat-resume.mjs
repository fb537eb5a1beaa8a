#!/usr/bin/env node
// Browser test of the gateway's demo page: a token stream survives three dropped WebSockets.
//
//   node chat-resume.mjs http://127.0.0.1:7480 /tmp/chat-resume.png
//
// Opens the page in Debian's chromium (never a downloaded browser), opens a fresh stream, starts
// the demo token stream of 200 chunks, drops the page's WebSocket three times while tokens
// arrive, waits for all 200, then checks that the page got every sequence of the stream once,
// in order, and shows exactly the stream's text (read back over HTTP). Saves a screenshot to
// the given path, also on failure. Exits 0 when every check holds, 1 otherwise.
//
// Environment: CHROMIUM (default /usr/bin/chromium), CHUNKS (default 200),
// TIMEOUT_MS (default 60000: the whole run), HEADED=1 to watch it.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const [baseArg, shotArg] = process.argv.slice(2);
if (!baseArg || !shotArg) {
  console.error('usage: node chat-resume.mjs <gateway-url> <screenshot.png>');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const screenshot = resolve(shotArg);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const CHUNKS = Number(process.env.CHUNKS || 200);
const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 60_000);
const DROP_AFTER = [40, 90, 140].map((n) => Math.floor((n * CHUNKS) / 200));

class CheckFailed extends Error {}
function check(cond, message) {
  if (!cond) throw new CheckFailed(message);
}
const t0 = Date.now();
const step = (msg) => console.log(`[chat-resume +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

const profile = mkdtempSync(join(tmpdir(), 'wirebus-chromium-'));
let context;
let page;
const pageErrors = [];
const consoleErrors = [];
const watchdog = setTimeout(() => {
  console.error(`FAIL: the run took longer than ${TIMEOUT_MS} ms`);
  process.exit(1);
}, TIMEOUT_MS + 15_000);

async function fetchJson(path, init) {
  const res = await fetch(base + path, init);
  const text = await res.text();
  check(res.ok, `${init?.method || 'GET'} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckFailed(`${path} answered something that is not JSON: ${text.slice(0, 300)}`);
  }
}

/** Every message of the stream over HTTP, following `next` page by page. */
async function readStream(stream) {
  const messages = [];
  let from = 1;
  for (let pages = 0; pages < 100; pages++) {
    const body = await fetchJson(`/v1/streams/${encodeURIComponent(stream)}/messages?from=${from}&limit=1000&encoding=text`);
    check(Array.isArray(body.messages), `GET messages: no "messages" array in ${JSON.stringify(body).slice(0, 200)}`);
    messages.push(...body.messages);
    if (body.messages.length === 0 || typeof body.next !== 'number' || body.next > body.last_seq) break;
    from = body.next;
  }
  return messages;
}

async function waitForDemo(predicate, arg, what, timeout = 20_000) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 'raf' });
  } catch (e) {
    const d = await page.evaluate(() => ({
      state: window.wirebusDemo?.state, received: window.wirebusDemo?.received.length,
      drops: window.wirebusDemo?.drops, errors: window.wirebusDemo?.errors,
    })).catch(() => ({}));
    throw new CheckFailed(`timed out waiting until ${what} (page: ${JSON.stringify(d)})`);
  }
}

async function run() {
  step(`chromium ${executablePath}, profile ${profile}`);
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: process.env.HEADED !== '1',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ].filter((a) => a !== '--headless' || process.env.HEADED !== '1'),
    viewport: { width: 1100, height: 1000 },
    timeout: 30_000,
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  step(`open ${base}/`);
  const response = await page.goto(base + '/', { waitUntil: 'load' });
  check(response && response.ok(), `GET / answered ${response && response.status()}`);
  await waitForDemo(() => window.wirebusDemo && window.wirebusDemo.state === 'open', null, 'the page is connected');

  const stream = `chat-resume-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  step(`open stream ${stream}`);
  await page.fill('#stream', stream);
  await page.click('#open');
  await waitForDemo((s) => window.wirebusDemo.stream === s, stream, 'the page opened the stream');

  step(`start the token stream (${CHUNKS} chunks)`);
  const started = page.waitForResponse((r) => r.url().includes('/v1/demo/streams/') && r.request().method() === 'POST');
  await page.click('#start');
  const startRes = await started;
  check(startRes.status() === 202 || startRes.ok(), `the demo endpoint answered ${startRes.status()}: ${await startRes.text()}`);

  const dropsAt = [];
  for (const [i, threshold] of DROP_AFTER.entries()) {
    await waitForDemo((n) => window.wirebusDemo.received.length > n, threshold, `more than ${threshold} chunks arrived`);
    await waitForDemo(() => window.wirebusDemo.state === 'open', null, 'the page is connected again');
    const before = await page.evaluate(() => window.wirebusDemo.received.length);
    await page.click('#drop');
    await waitForDemo((n) => window.wirebusDemo.drops === n, i + 1, `drop ${i + 1} registered`);
    dropsAt.push(before);
    step(`drop ${i + 1} after ${before} chunks (state ${await page.evaluate(() => window.wirebusDemo.state)})`);
  }
  check(dropsAt[0] < CHUNKS, `the first drop came after all ${CHUNKS} chunks: it tested nothing`);

  await waitForDemo((n) => window.wirebusDemo.received.length >= n, CHUNKS, `${CHUNKS} chunks are shown`, 30_000);
  step(`all ${CHUNKS} chunks arrived; the stream's counters catch up`);
  // Let the page's one-second poll show the stream's last seq, and let stray duplicates arrive (they must not show).
  await waitForDemo((n) => window.wirebusDemo.lastSeq !== null && window.wirebusDemo.lastSeq >= n, CHUNKS,
    'the page shows the last seq', 5_000).catch((e) => step(`note: ${e.message}`));
  // and let the page settle (rate back to 0, "Idle") so the screenshot shows the end state
  await waitForDemo(() => document.getElementById('output-hint').textContent.startsWith('Idle'), null,
    'the page shows the stream as idle', 5_000).catch((e) => step(`note: ${e.message}`));

  const demo = await page.evaluate(() => ({
    received: [...window.wirebusDemo.received], text: window.wirebusDemo.text,
    drops: window.wirebusDemo.drops, state: window.wirebusDemo.state, errors: [...window.wirebusDemo.errors],
  }));
  const shown = await page.$eval('#output', (el) => el.textContent);

  const messages = await readStream(stream);
  step(`the stream holds ${messages.length} messages (seq ${messages[0]?.seq}..${messages.at(-1)?.seq})`);
  check(messages.length === CHUNKS, `the stream holds ${messages.length} messages, expected ${CHUNKS}`);
  const seqs = messages.map((m) => m.seq);
  const expectedText = messages.map((m) => m.data).join('');

  check(demo.drops === 3, `the page counted ${demo.drops} drops, expected 3`);
  const seen = new Set();
  const dup = demo.received.find((s) => seen.has(s) || !seen.add(s));
  check(dup === undefined, `the page received seq ${dup} twice`);
  const missing = seqs.filter((s) => !seen.has(s));
  check(missing.length === 0, `the page never received seq ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`);
  const firstOff = demo.received.findIndex((s, i) => s !== seqs[i]);
  check(firstOff === -1 && demo.received.length === seqs.length,
    `the page received sequences out of order or extra: at index ${firstOff} got ${demo.received[firstOff]}, expected ${seqs[firstOff]}`);
  check(demo.text === expectedText, `window.wirebusDemo.text differs from the stream's text\n  page:   ${JSON.stringify(demo.text.slice(0, 200))}\n  stream: ${JSON.stringify(expectedText.slice(0, 200))}`);
  check(shown === expectedText, `the shown text differs from the stream's text\n  shown:  ${JSON.stringify(shown.slice(0, 200))}\n  stream: ${JSON.stringify(expectedText.slice(0, 200))}`);
  const gaps = demo.errors.filter((c) => c === 'SEQUENCE_GAP');
  check(gaps.length === 0, `the library reported ${gaps.length} sequence gaps`);
  check(pageErrors.length === 0, `the page threw: ${pageErrors.join(' | ')}`);

  step(`OK: ${CHUNKS} chunks once each and in order across 3 drops (after ${dropsAt.join(', ')} chunks); text matches (${expectedText.length} chars)`);
}

let failed = false;
try {
  await run();
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e instanceof CheckFailed ? e.message : (e && e.stack) || e}`);
  if (consoleErrors.length) console.error(`browser console errors:\n  ${consoleErrors.join('\n  ')}`);
  if (pageErrors.length) console.error(`page errors:\n  ${pageErrors.join('\n  ')}`);
} finally {
  if (page) {
    try {
      mkdirSync(dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      step(`screenshot ${screenshot}`);
    } catch (e) {
      console.error(`could not save the screenshot: ${e.message}`);
    }
  }
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  clearTimeout(watchdog);
}
process.exit(failed ? 1 : 0);
