#!/usr/bin/env node
// Browser test of the chunk-7 scenario across two wirebus nodes on one Redis (issue 15), in
// Debian's chromium:
//
//   node redis-nodes.mjs http://127.0.0.1:B http://127.0.0.1:A /tmp/redis-nodes.png
//
// Two `wirebus serve --store redis://...` processes. The page (of node B's origin, which A allows)
// follows a stream with wirebus.js given [B, A]: it is connected to B. This script is the producer:
// it publishes token chunks one by one (each after its ack) through node A's gateway, so every
// chunk the page gets crossed Redis from A to B. After a third of them have arrived it prints
// "control: stop-b" and waits for "stopped" (the Java side froze node B with SIGSTOP: its socket
// stays open and delivers nothing); it publishes the second third through A, which the page cannot
// have yet; then "control: kill-b" and "killed" (SIGKILL: the kernel closes B's sockets). The page
// moves to A and resumes after its last sequence; the last third is published meanwhile. A resume
// from 'end' misses the second third, one from the beginning repeats the first.
// The page's sequences and texts are printed as `received: [...]` and `data: "..."` lines for the
// Java side to compare as a whole. Environment: CHUNKS (default 60). Exits 0 when every check
// holds, 1 otherwise.

import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { check, runInBrowser } from './harness.mjs';

const [bArg, aArg, shotArg] = process.argv.slice(2);
if (!bArg || !aArg || !shotArg) {
  console.error('usage: node redis-nodes.mjs <node-b-url> <node-a-url> <screenshot.png>');
  process.exit(2);
}
const b = bArg.replace(/\/+$/, '');
const a = aArg.replace(/\/+$/, '');
const CHUNKS = Number(process.env.CHUNKS || 60);
const stream = `chunks-${Date.now().toString(36)}`;

const answers = [];
const waiting = [];
createInterface({ input: process.stdin }).on('line', (l) => {
  const w = waiting.shift();
  if (w) w(l.trim()); else answers.push(l.trim());
});
/** Asks the Java side to act and waits for its answer line. */
async function control(what, expected) {
  console.log(`control: ${what}`);
  const answer = answers.length ? answers.shift() : await new Promise((done) => waiting.push(done));
  check(answer === expected, `the Java side answered "${answer}" to ${what}, not "${expected}"`);
}

async function publish(i) {
  const res = await fetch(`${a}/v1/streams/${stream}/messages`, { method: 'POST', body: `tok-${i} ` });
  const text = await res.text();
  check(res.ok, `publishing chunk ${i} through node A answered ${res.status}: ${text}`);
  return JSON.parse(text).seq;
}

async function publishUpTo(from, to) {
  for (let i = from; i <= to; i++) {
    const seq = await publish(i);
    check(seq === i, `chunk ${i} got seq ${seq}`);
  }
}

await runInBrowser('redis-nodes', resolve(shotArg), async (context, page, step) => {
  await page.goto(`${b}/healthz`);
  await page.evaluate(async ({ urls, stream }) => {
    const { WirebusSocket } = await import('/wirebus.js');
    const ws = new WirebusSocket(urls, { pingIntervalMs: 0, minBackoffMs: 50, maxBackoffMs: 500 });
    window.chunks = { received: [], data: [], errors: [], urls: [], ws };
    ws.addEventListener('state', (e) => { if (e.detail.state === 'open') window.chunks.urls.push(ws.url); });
    ws.subscribe(stream, {
      from: 1,
      onMessage: (m) => { window.chunks.received.push(m.seq); window.chunks.data.push(m.data); },
      onError: (e) => window.chunks.errors.push(e.code),
    });
  }, { urls: [b.replace(/^http/, 'ws') + '/v1/ws', a.replace(/^http/, 'ws') + '/v1/ws'], stream });
  await page.waitForFunction(() => window.chunks.urls.length === 1, null, { timeout: 15_000 });
  const first = await page.evaluate(() => window.chunks.urls[0]);
  step(`the page is connected to ${first}`);
  check(first.startsWith(b.replace(/^http/, 'ws')), `the page connected to ${first}, not to node B`);

  const third = Math.floor(CHUNKS / 3);
  await publishUpTo(1, third);
  await page.waitForFunction((n) => window.chunks.received.length >= n, third, { timeout: 30_000 });
  step(`${third} chunks published on node A arrived through node B: freezing node B`);
  await control('stop-b', 'stopped');
  await publishUpTo(third + 1, 2 * third);
  step(`chunks ${third + 1}..${2 * third} published on node A while node B is frozen: killing node B`);
  await control('kill-b', 'killed');
  step('node B is killed');
  await publishUpTo(2 * third + 1, CHUNKS);
  await page.waitForFunction((n) => window.chunks.received.length >= n, CHUNKS, { timeout: 30_000 }).catch(() => {});
  const f = await page.evaluate(() => ({ received: window.chunks.received, data: window.chunks.data,
    errors: window.chunks.errors, urls: window.chunks.urls }));
  console.log(`received: ${JSON.stringify(f.received)}`);
  console.log(`data: ${JSON.stringify(f.data.join(''))}`);
  step(`connections: ${f.urls.join(' -> ')}; errors: ${JSON.stringify(f.errors)}`);
  const expected = Array.from({ length: CHUNKS }, (_, i) => i + 1);
  check(JSON.stringify(f.received) === JSON.stringify(expected),
    `the page received ${f.received.length} chunks, not 1..${CHUNKS} once each in order: ${JSON.stringify(f.received)}`);
  check(f.data.join('') === expected.map((i) => `tok-${i} `).join(''), 'the chunks\' text differs from what was published');
  check(f.urls.length >= 2 && f.urls.at(-1).startsWith(a.replace(/^http/, 'ws')), `the socket did not move to node A: ${f.urls.join(' -> ')}`);
  check(!f.errors.includes('SEQUENCE_GAP'), 'wirebus.js reported a gap');
  step(`OK: ${CHUNKS} chunks once each, in order, across the loss of node B`);
}, { timeoutMs: 120_000 });
