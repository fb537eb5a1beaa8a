#!/usr/bin/env node
// Browser test of the gateway's access control (issue 13), in Debian's chromium:
//
//   WIREBUS_JWT_SECRET=... node security.mjs http://127.0.0.1:7480 /tmp/security.png
//
// The gateway verifies HS256 JWTs (audience "wirebus") signed with WIREBUS_JWT_SECRET, and the
// Java side published "m1".."m3" to chat.session-42 and "secret" to chat.session-43.
//  1. A page of a foreign origin (a server this script starts on another port) cannot open the
//     gateway's WebSocket (not even with a valid token) and its text/plain POST appends nothing.
//  2. A page of the gateway's own origin with a short-lived token minted here for browser-42
//     (permission: read chat.session-42) reads its stream over wirebus.js (token as subprotocol)
//     and over EventSource (token in the query), and is refused chat.session-43; without a token
//     it is refused too.
// Exits 0 when every check holds, 1 otherwise.

import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { check, runInBrowser } from './harness.mjs';

const [baseArg, shotArg] = process.argv.slice(2);
const secret = process.env.WIREBUS_JWT_SECRET;
if (!baseArg || !shotArg || !secret) {
  console.error('usage: WIREBUS_JWT_SECRET=... node security.mjs <gateway-url> <screenshot.png>');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const wsUrl = base.replace(/^http/, 'ws') + '/v1/ws';

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
/** An HS256 JWT, as a session backend would mint one for one browser. */
function mint(claims) {
  const unsigned = b64url({ alg: 'HS256', typ: 'JWT' }) + '.' + b64url(claims);
  return unsigned + '.' + createHmac('sha256', secret).update(unsigned).digest('base64url');
}
const token = mint({
  sub: 'browser-42', aud: 'wirebus', exp: Math.floor(Date.now() / 1000) + 120,
  wirebus: { read: ['chat.session-42'] },
});

async function messagesOf(stream) {
  const res = await fetch(`${base}/v1/streams/${stream}/messages?encoding=text`, { headers: { Authorization: `Bearer ${adminToken}` } });
  check(res.ok, `reading ${stream} back answered ${res.status}`);
  return (await res.json()).messages;
}
const adminToken = mint({ sub: 'checker', aud: 'wirebus', exp: Math.floor(Date.now() / 1000) + 120,
  wirebus: { read: ['csrf', 'chat.*'] } });

// a foreign origin: same host, another port
const foreign = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html' });
  res.end('<!doctype html><title>elsewhere</title><p>a page of another origin</p>');
});
await new Promise((r) => foreign.listen(0, '127.0.0.1', r));
const foreignUrl = `http://127.0.0.1:${foreign.address().port}/`;

await runInBrowser('security', resolve(shotArg), async (context, page, step) => {
  step(`foreign page ${foreignUrl}`);
  await page.goto(foreignUrl);
  const hijack = await page.evaluate(async ({ wsUrl, token }) => {
    const attempt = (protocols) => new Promise((done) => {
      const ws = protocols ? new WebSocket(wsUrl, protocols) : new WebSocket(wsUrl);
      let opened = false;
      ws.onopen = () => { opened = true; ws.close(); };
      ws.onclose = (e) => done({ opened, code: e.code });
    });
    return { anonymous: await attempt(), withToken: await attempt(['wirebus.v1', 'bearer.' + token]) };
  }, { wsUrl, token });
  check(!hijack.anonymous.opened, `a foreign page opened the WebSocket: ${JSON.stringify(hijack)}`);
  check(!hijack.withToken.opened, `a foreign page opened the WebSocket with a token: ${JSON.stringify(hijack)}`);
  step(`foreign WebSocket refused (close ${hijack.anonymous.code}, ${hijack.withToken.code})`);

  const csrf = await page.evaluate(async (base) => {
    // a "simple" request: no preflight; the browser sends it, and only the gateway can refuse it
    await fetch(`${base}/v1/streams/csrf/messages`, { method: 'POST', mode: 'no-cors',
      headers: { 'Content-Type': 'text/plain' }, body: 'forged' });
    try {
      const r = await fetch(`${base}/v1/streams/csrf/messages`, { method: 'POST', body: 'read the answer' });
      return `read the answer: ${r.status}`;
    } catch (e) {
      return 'refused';
    }
  }, base);
  check(csrf === 'refused', `a foreign page read a cross-origin answer: ${csrf}`);
  const forged = await messagesOf('csrf');
  check(forged.length === 0, `the foreign page's POSTs appended ${forged.length} messages`);
  step('foreign text/plain POST appended nothing');

  step(`own page ${base}/healthz, token for browser-42`);
  await page.goto(`${base}/healthz`);
  const own = await page.evaluate(async ({ wsUrl, token, base }) => {
    const { WirebusSocket } = await import('/wirebus.js');
    const ws = new WirebusSocket(wsUrl, { token, pingIntervalMs: 0 });
    const result = {};
    result.messages = await new Promise((done, fail) => {
      const got = [];
      setTimeout(() => fail(new Error(`only ${got.length} messages of chat.session-42`)), 15_000);
      ws.subscribe('chat.session-42', { from: 1, onMessage: (m) => { got.push(m.data); if (got.length === 3) done(got); },
        onError: (e) => fail(e) });
    });
    result.denied = await new Promise((done) => {
      setTimeout(() => done('no answer'), 15_000);
      ws.subscribe('chat.session-43', { from: 1, onMessage: (m) => done(`read ${m.data}`), onError: (e) => done(e.code) });
    });
    ws.close();
    const sse = (stream, withToken) => new Promise((done) => {
      const es = new EventSource(`${base}/v1/streams/${stream}/events?from=1` + (withToken ? `&token=${encodeURIComponent(token)}` : ''));
      setTimeout(() => { es.close(); done('no answer'); }, 15_000);
      es.onmessage = (e) => { es.close(); done(`read ${e.data}`); };
      es.onerror = () => { if (es.readyState === EventSource.CLOSED) done('refused'); };
    });
    result.sseOwn = await sse('chat.session-42', true);
    result.sseOther = await sse('chat.session-43', true);
    result.sseAnonymous = await sse('chat.session-42', false);
    result.anonymousFetch = (await fetch(`${base}/v1/streams/chat.session-42/messages`)).status;
    return result;
  }, { wsUrl, token, base });
  step(`own page: ${JSON.stringify(own)}`);
  check(JSON.stringify(own.messages) === JSON.stringify(['m1', 'm2', 'm3']), `chat.session-42 over the WebSocket: ${JSON.stringify(own.messages)}`);
  check(own.denied === 'PERMISSION_DENIED', `chat.session-43 over the WebSocket: ${own.denied}`);
  check(own.sseOwn === 'read m1', `chat.session-42 over EventSource: ${own.sseOwn}`);
  check(own.sseOther === 'refused', `chat.session-43 over EventSource: ${own.sseOther}`);
  check(own.sseAnonymous === 'refused', `EventSource without a token: ${own.sseAnonymous}`);
  check(own.anonymousFetch === 401, `fetch without a token answered ${own.anonymousFetch}`);
  step('OK: the token reads its stream only; a foreign origin gets nothing');
});
