#!/usr/bin/env node
// Browser test of the gateway over TLS (issue 13), in Debian's chromium:
//
//   node tls.mjs https://localhost:7480 /tmp/tls.png
//
// The gateway speaks HTTPS with a certificate the Java side made for the test (chromium is told to
// accept it: ignoreHTTPSErrors). The Java side published "s1".."s3" to "secure". A page of the
// gateway's https origin follows the stream with wirebus.js over wss:// and with EventSource, and
// publishes over fetch. Exits 0 when every check holds, 1 otherwise.

import { resolve } from 'node:path';
import { check, runInBrowser } from './harness.mjs';

const [baseArg, shotArg] = process.argv.slice(2);
if (!baseArg || !shotArg || !baseArg.startsWith('https://')) {
  console.error('usage: node tls.mjs <https-gateway-url> <screenshot.png>');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');

await runInBrowser('tls', resolve(shotArg), async (context, page, step) => {
  const res = await page.goto(`${base}/healthz`);
  check(res && res.ok(), `GET ${base}/healthz answered ${res && res.status()}`);
  check(new URL(page.url()).protocol === 'https:', `the page is not https: ${page.url()}`);
  const r = await page.evaluate(async (wss) => {
    const { WirebusSocket } = await import('/wirebus.js');
    const ws = new WirebusSocket(wss, { pingIntervalMs: 0 });
    const got = await new Promise((done, fail) => {
      const seen = [];
      setTimeout(() => fail(new Error(`only ${JSON.stringify(seen)} over wss`)), 15_000);
      ws.subscribe('secure', { from: 1, onMessage: (m) => { seen.push(m.data); if (seen.length === 3) done(seen); } });
    });
    const ack = await ws.publish('secure', 's4');
    ws.close();
    const sse = await new Promise((done) => {
      const es = new EventSource('/v1/streams/secure/events?from=4');
      setTimeout(() => { es.close(); done('no event'); }, 15_000);
      es.onmessage = (e) => { es.close(); done(e.data); };
    });
    const posted = await fetch('/v1/streams/secure/messages', { method: 'POST', body: 's5' });
    return { got, ack, sse, posted: posted.status };
  }, base.replace(/^https/, 'wss') + '/v1/ws');
  step(`over TLS: ${JSON.stringify(r)}`);
  check(JSON.stringify(r.got) === JSON.stringify(['s1', 's2', 's3']), `wss subscription got ${JSON.stringify(r.got)}`);
  check(r.ack.seq === 4, `the wss publish was acknowledged at ${r.ack.seq}`);
  check(r.sse === 's4', `EventSource over https got ${r.sse}`);
  check(r.posted === 200, `fetch POST over https answered ${r.posted}`);
  step('OK: https, wss and EventSource over TLS');
});
