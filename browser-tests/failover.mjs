#!/usr/bin/env node
// Browser test of failover between gateways (issue 15), in Debian's chromium:
//
//   node failover.mjs http://127.0.0.1:A http://127.0.0.1:B /tmp/failover.png
//
// Two gateways on one broker. The page (of gateway A's origin, which B allows) follows a stream
// with wirebus.js given both gateways' URLs. This script publishes chunks one by one (each after
// its ack) through B; after a third of them it prints "control: close-a" and waits for the Java
// side to close gateway A ("closed" on stdin). The page's socket drops, moves to B and resumes;
// every chunk must arrive once, in order, and the socket must end on B.
// Environment: CHUNKS (default 60). Exits 0 when every check holds, 1 otherwise.

import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { check, runInBrowser } from './harness.mjs';

const [aArg, bArg, shotArg] = process.argv.slice(2);
if (!aArg || !bArg || !shotArg) {
  console.error('usage: node failover.mjs <gateway-a-url> <gateway-b-url> <screenshot.png>');
  process.exit(2);
}
const a = aArg.replace(/\/+$/, '');
const b = bArg.replace(/\/+$/, '');
const CHUNKS = Number(process.env.CHUNKS || 60);
const stream = `failover-${Date.now().toString(36)}`;

const stdinLines = createInterface({ input: process.stdin });
const closedA = new Promise((done) => stdinLines.on('line', (l) => { if (l.trim() === 'closed') done(); }));

async function publish(i) {
  const res = await fetch(`${b}/v1/streams/${stream}/messages`, { method: 'POST', body: `chunk-${i} ` });
  const text = await res.text();
  check(res.ok, `publishing chunk ${i} through B answered ${res.status}: ${text}`);
  return JSON.parse(text).seq;
}

await runInBrowser('failover', resolve(shotArg), async (context, page, step) => {
  await page.goto(`${a}/healthz`);
  await page.evaluate(async ({ urls, stream }) => {
    const { WirebusSocket } = await import('/wirebus.js');
    const ws = new WirebusSocket(urls, { pingIntervalMs: 0, minBackoffMs: 50, maxBackoffMs: 500 });
    window.failover = { received: [], data: [], errors: [], urls: [], ws };
    ws.addEventListener('state', (e) => { if (e.detail.state === 'open') window.failover.urls.push(ws.url); });
    ws.subscribe(stream, {
      from: 1,
      onMessage: (m) => { window.failover.received.push(m.seq); window.failover.data.push(m.data); },
      onError: (e) => window.failover.errors.push(e.code),
    });
  }, { urls: [a.replace(/^http/, 'ws') + '/v1/ws', b.replace(/^http/, 'ws') + '/v1/ws'], stream });
  await page.waitForFunction(() => window.failover.urls.length === 1, null, { timeout: 15_000 });
  step(`the page is connected to ${await page.evaluate(() => window.failover.urls[0])}`);

  const cut = Math.floor(CHUNKS / 3);
  for (let i = 1; i <= CHUNKS; i++) {
    const seq = await publish(i);
    check(seq === i, `chunk ${i} got seq ${seq}`);
    if (i === cut) {
      await page.waitForFunction((n) => window.failover.received.length >= n, cut, { timeout: 15_000 });
      step(`${cut} chunks arrived through A: closing gateway A`);
      console.log('control: close-a');
      await closedA;
      step('gateway A is closed');
    }
  }
  await page.waitForFunction((n) => window.failover.received.length >= n, CHUNKS, { timeout: 30_000 }).catch(() => {});
  const f = await page.evaluate(() => ({ received: window.failover.received, data: window.failover.data,
    errors: window.failover.errors, urls: window.failover.urls, now: window.failover.ws.url }));
  step(`connections: ${f.urls.join(' -> ')}; errors: ${JSON.stringify(f.errors)}`);
  const expected = Array.from({ length: CHUNKS }, (_, i) => i + 1);
  check(JSON.stringify(f.received) === JSON.stringify(expected),
    `the page received ${f.received.length} chunks, not 1..${CHUNKS} once each in order: ${JSON.stringify(f.received)}`);
  check(f.data.join('') === expected.map((i) => `chunk-${i} `).join(''), 'the chunks\' text differs from what was published');
  check(f.urls.length >= 2 && f.urls.at(-1).startsWith(b.replace(/^http/, 'ws')), `the socket did not move to B: ${f.urls.join(' -> ')}`);
  check(!f.errors.includes('SEQUENCE_GAP'), 'wirebus.js reported a gap');
  step(`OK: ${CHUNKS} chunks once each, in order, across the loss of gateway A`);
});
