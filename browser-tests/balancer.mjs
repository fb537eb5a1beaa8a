#!/usr/bin/env node
// Browser test of a node lost behind a load balancer (issue 15), in Debian's chromium:
//
//   node balancer.mjs http://127.0.0.1:LB /tmp/balancer.png
//
// Two gateways on one broker behind one TCP balancer. The page (of the balancer's origin) follows
// a stream twice: with wirebus.js (one URL: the balancer's) and with a plain EventSource. This
// script publishes chunks one by one through the balancer; after a third of them it prints
// "control: close-a" and waits for the Java side to close the gateway the balancer was using
// ("closed" on stdin). Both connections drop; wirebus.js resubscribes after its last sequence and
// EventSource reconnects with Last-Event-ID, both through the balancer to the other gateway. Every
// chunk must arrive once, in order, on both.
// Environment: CHUNKS (default 45). Exits 0 when every check holds, 1 otherwise.

import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { check, runInBrowser } from './harness.mjs';

const [lbArg, shotArg] = process.argv.slice(2);
if (!lbArg || !shotArg) {
  console.error('usage: node balancer.mjs <balancer-url> <screenshot.png>');
  process.exit(2);
}
const lb = lbArg.replace(/\/+$/, '');
const CHUNKS = Number(process.env.CHUNKS || 45);
const stream = `balanced-${Date.now().toString(36)}`;

const stdinLines = createInterface({ input: process.stdin });
const closedA = new Promise((done) => stdinLines.on('line', (l) => { if (l.trim() === 'closed') done(); }));

async function publish(i) {
  // each publish on a connection of its own, so that it too goes wherever the balancer sends it
  const res = await fetch(`${lb}/v1/streams/${stream}/messages`, { method: 'POST', body: `chunk-${i} `,
    headers: { Connection: 'close' } });
  const text = await res.text();
  check(res.ok, `publishing chunk ${i} answered ${res.status}: ${text}`);
  return JSON.parse(text).seq;
}

await runInBrowser('balancer', resolve(shotArg), async (context, page, step) => {
  await page.goto(`${lb}/healthz`);
  await page.evaluate(async ({ wsUrl, stream }) => {
    const { WirebusSocket } = await import('/wirebus.js');
    const b = { ws: [], sse: [], wsOpens: 0, sseOpens: 0, errors: [] };
    window.balanced = b;
    const ws = new WirebusSocket(wsUrl, { pingIntervalMs: 0, minBackoffMs: 50, maxBackoffMs: 500 });
    ws.addEventListener('state', (e) => { if (e.detail.state === 'open') b.wsOpens++; });
    ws.subscribe(stream, { from: 1, onMessage: (m) => b.ws.push(m.seq), onError: (e) => b.errors.push(e.code) });
    const es = new EventSource(`/v1/streams/${stream}/events?from=1`);
    es.onopen = () => b.sseOpens++;
    es.onmessage = (e) => b.sse.push(Number(e.lastEventId));
  }, { wsUrl: lb.replace(/^http/, 'ws') + '/v1/ws', stream });

  const cut = Math.floor(CHUNKS / 3);
  for (let i = 1; i <= CHUNKS; i++) {
    const seq = await publish(i);
    check(seq === i, `chunk ${i} got seq ${seq}`);
    if (i === cut) {
      await page.waitForFunction((n) => window.balanced.ws.length >= n && window.balanced.sse.length >= n, cut,
        { timeout: 15_000 });
      step(`${cut} chunks arrived on both: closing the gateway behind the balancer`);
      console.log('control: close-a');
      await closedA;
      step('that gateway is closed');
    }
  }
  await page.waitForFunction((n) => window.balanced.ws.length >= n && window.balanced.sse.length >= n, CHUNKS,
    { timeout: 30_000 }).catch(() => {});
  const b = await page.evaluate(() => window.balanced);
  step(`WebSocket opens ${b.wsOpens}, EventSource opens ${b.sseOpens}, errors ${JSON.stringify(b.errors)}`);
  const expected = JSON.stringify(Array.from({ length: CHUNKS }, (_, i) => i + 1));
  check(JSON.stringify(b.ws) === expected, `wirebus.js got ${JSON.stringify(b.ws)}, expected 1..${CHUNKS} once each`);
  check(JSON.stringify(b.sse) === expected, `EventSource got ${JSON.stringify(b.sse)}, expected 1..${CHUNKS} once each`);
  check(b.wsOpens >= 2 && b.sseOpens >= 2, 'a connection did not move: the test cut nothing');
  step(`OK: ${CHUNKS} chunks once each, in order, on both, across the loss of a gateway`);
});
