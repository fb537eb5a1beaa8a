// Unit tests of wirebus.js against a scripted fake WebSocket: resume positions, duplicate
// dropping, and that every call settles (ack, error frame, DISCONNECTED, TIMEOUT, CLOSED).
// Run: node --test   (in browser-tests/)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

// Loaded from source as a data: URL, so no package.json "type" decides how Node reads it.
const source = readFileSync(new URL('../wirebus-gateway/src/main/resources/dev/wirebus/gateway/web/wirebus.js', import.meta.url), 'utf8');
const { WirebusSocket, WirebusError } = await import('data:text/javascript;base64,' + Buffer.from(source).toString('base64'));

class FakeWebSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    this.closed = null;
    FakeWebSocket.all.push(this);
  }
  send(text) {
    if (this.closed) throw new Error('closed');
    this.sent.push(JSON.parse(text));
  }
  close(code, reason) {
    this.closed = { code, reason };
  }
  // the gateway's side
  open() { this.onopen?.({}); }
  receive(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  serverClose(code = 1006) { this.closed = { code }; this.onclose?.({ code, reason: '', wasClean: false }); }
  last(op) { return [...this.sent].reverse().find((f) => f.op === op); }
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

function connect(options = {}) {
  FakeWebSocket.all = [];
  const ws = new WirebusSocket('ws://gateway/v1/ws', { WebSocket: FakeWebSocket, minBackoffMs: 1, maxBackoffMs: 5, pingIntervalMs: 0, ...options });
  const conn = () => FakeWebSocket.all.at(-1);
  return { ws, conn };
}

test('resubscribes after a drop at the sequence after the last delivered one, and drops duplicates', async () => {
  const { ws, conn } = connect();
  const got = [];
  ws.subscribe('chat', { from: 1, onMessage: (m) => got.push([m.seq, m.data]) });
  conn().open();
  const sub1 = conn().last('subscribe');
  assert.deepEqual({ stream: sub1.stream, from: sub1.from }, { stream: 'chat', from: 1 });
  conn().receive({ type: 'subscribed', id: sub1.id, stream: 'chat', from: 1 });
  for (const seq of [1, 2, 3]) conn().receive({ type: 'message', id: sub1.id, stream: 'chat', seq, data: `t${seq} ` });

  const first = conn();
  ws.dropConnection();
  assert.equal(first.closed.code, 4000);
  first.receive({ type: 'message', id: sub1.id, stream: 'chat', seq: 4, data: 'lost in flight' }); // ignored: socket dropped
  assert.equal(ws.state, 'reconnecting');
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  conn().open();
  const sub2 = conn().last('subscribe');
  assert.equal(sub2.from, 4);
  conn().receive({ type: 'subscribed', id: sub2.id, stream: 'chat', from: 4 });
  conn().receive({ type: 'message', id: sub2.id, stream: 'chat', seq: 3, data: 'dup' });
  conn().receive({ type: 'message', id: sub2.id, stream: 'chat', seq: 4, data: 't4 ' });
  conn().receive({ type: 'message', id: sub2.id, stream: 'chat', seq: 4, data: 'dup' });
  assert.deepEqual(got, [[1, 't1 '], [2, 't2 '], [3, 't3 '], [4, 't4 ']]);
  ws.close();
});

test("a subscription from 'end' resumes where the gateway said it started, even before any message", async () => {
  const { ws, conn } = connect();
  ws.subscribe('chat', { onMessage() {} });
  conn().open();
  const s = conn().last('subscribe');
  assert.equal(s.from, 'end');
  conn().receive({ type: 'subscribed', id: s.id, stream: 'chat', from: 10 });
  conn().serverClose();
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  conn().open();
  assert.equal(conn().last('subscribe').from, 10);
  ws.close();
});

test('publish resolves {seq, duplicate} from its ack, matched by id', async () => {
  const { ws, conn } = connect();
  const p1 = ws.publish('chat', 'a', { producerId: 'p', producerSeq: 7, expectedSeq: 3 });
  const p2 = ws.publish('chat', 'b');
  conn().open(); // queued calls go out on open
  const [f1, f2] = conn().sent.filter((f) => f.op === 'publish');
  assert.deepEqual({ ...f1, id: undefined }, { op: 'publish', id: undefined, stream: 'chat', data: 'a', producer_id: 'p', producer_seq: 7, expected_seq: 3 });
  conn().receive({ type: 'ack', id: f2.id, stream: 'chat', seq: 4 });
  conn().receive({ type: 'ack', id: f1.id, stream: 'chat', seq: 3, duplicate: true });
  assert.deepEqual(await p1, { seq: 3, duplicate: true });
  assert.deepEqual(await p2, { seq: 4, duplicate: false });
  ws.close();
});

test('binary data goes out as base64', async () => {
  const { ws, conn } = connect();
  conn().open();
  const p = ws.publish('bin', new Uint8Array([0, 255, 1]));
  const f = conn().last('publish');
  assert.equal(f.base64, 'AP8B');
  assert.equal(f.data, undefined);
  conn().receive({ type: 'ack', id: f.id, stream: 'bin', seq: 1 });
  await p;
  ws.close();
});

test('an error frame rejects its call with the typed error; the connection stays', async () => {
  const { ws, conn } = connect();
  conn().open();
  const p = ws.publish('chat', 'x');
  const f = conn().last('publish');
  conn().receive({ type: 'error', id: f.id, code: 'RATE_LIMITED', message: 'slow down', retry_after_ms: 200 });
  await assert.rejects(p, (e) => e instanceof WirebusError && e.code === 'RATE_LIMITED' && e.retryAfterMs === 200);
  assert.equal(ws.state, 'open');
  ws.close();
});

test('a drop rejects sent calls with DISCONNECTED; calls made while reconnecting go out on the next connection', async () => {
  const { ws, conn } = connect();
  conn().open();
  const sent = ws.request('quote', 'q', { timeoutMs: 2000 });
  ws.dropConnection();
  await assert.rejects(sent, (e) => e.code === 'DISCONNECTED');
  const queued = ws.publish('chat', 'later');
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  conn().open();
  const f = conn().last('publish');
  assert.equal(f.data, 'later');
  conn().receive({ type: 'ack', id: f.id, stream: 'chat', seq: 9 });
  assert.deepEqual(await queued, { seq: 9, duplicate: false });
  ws.close();
});

test('no answer rejects with TIMEOUT', async () => {
  const { ws, conn } = connect();
  conn().open();
  await assert.rejects(ws.publish('chat', 'x', { timeoutMs: 20 }), (e) => e.code === 'TIMEOUT');
  ws.close();
});

test('request resolves to the reply', async () => {
  const { ws, conn } = connect();
  conn().open();
  const p = ws.request('quote', 'EURUSD', { timeoutMs: 500 });
  const f = conn().last('request');
  assert.equal(f.timeout_ms, 500);
  conn().receive({ type: 'reply', id: f.id, data: '1.08' });
  assert.equal(await p, '1.08');
  ws.close();
});

test('SLOW_CONSUMER reconnects at once and resumes from resume_from', async () => {
  const { ws, conn } = connect({ minBackoffMs: 1000, maxBackoffMs: 1000 }); // a backoff would time this out
  const got = [];
  const errors = [];
  ws.subscribe('chat', { from: 1, onMessage: (m) => got.push(m.seq), onError: (e) => errors.push(e.code) });
  conn().open();
  conn().receive({ type: 'subscribed', id: conn().last('subscribe').id, stream: 'chat', from: 1 });
  conn().receive({ type: 'message', id: conn().last('subscribe').id, stream: 'chat', seq: 1, data: 'a' });
  conn().receive({ type: 'error', code: 'SLOW_CONSUMER', stream: 'chat', resume_from: 2, message: 'too slow' });
  assert.deepEqual(errors, ['SLOW_CONSUMER']);
  await until(() => FakeWebSocket.all.length === 2, 'an immediate reconnect', 500);
  conn().open();
  assert.equal(conn().last('subscribe').from, 2);
  ws.close();
});

test('close() rejects everything with CLOSED and stops reconnecting', async () => {
  const { ws, conn } = connect();
  const queued = ws.publish('chat', 'x');
  conn().serverClose();
  const states = [];
  ws.addEventListener('state', (e) => states.push(e.detail.state));
  ws.close();
  await assert.rejects(queued, (e) => e.code === 'CLOSED');
  await assert.rejects(ws.publish('chat', 'y'), (e) => e.code === 'CLOSED');
  assert.throws(() => ws.subscribe('chat', {}), (e) => e.code === 'CLOSED');
  await tick(30);
  assert.equal(FakeWebSocket.all.length, 1);
  assert.deepEqual(states, ['closed']);
});

test('a sequence gap is reported, not hidden', async () => {
  const { ws, conn } = connect();
  const errors = [];
  const got = [];
  ws.subscribe('chat', { from: 1, onMessage: (m) => got.push(m.seq), onError: (e) => errors.push(e.code) });
  conn().open();
  conn().receive({ type: 'subscribed', id: conn().last('subscribe').id, stream: 'chat', from: 1 });
  conn().receive({ type: 'message', id: conn().last('subscribe').id, stream: 'chat', seq: 1, data: 'a' });
  conn().receive({ type: 'message', id: conn().last('subscribe').id, stream: 'chat', seq: 3, data: 'c' });
  assert.deepEqual(got, [1, 3]);
  assert.deepEqual(errors, ['SEQUENCE_GAP']);
  ws.close();
});

test('unsubscribing stops delivery and tells the gateway', async () => {
  const { ws, conn } = connect();
  const got = [];
  const sub = ws.subscribe('chat', { from: 1, onMessage: (m) => got.push(m.seq) });
  conn().open();
  const id = conn().last('subscribe').id;
  conn().receive({ type: 'subscribed', id, stream: 'chat', from: 1 });
  conn().receive({ type: 'message', id, stream: 'chat', seq: 1, data: 'a' });
  sub.close();
  assert.equal(conn().last('unsubscribe').stream, 'chat');
  conn().receive({ type: 'message', id, stream: 'chat', seq: 2, data: 'b' });
  assert.deepEqual(got, [1]);
  ws.close();
});

test('a subscription the gateway ends with a retryable error is subscribed again from the next sequence', async () => {
  const { ws, conn } = connect();
  const errors = [];
  ws.subscribe('chat', { from: 1, onMessage() {}, onError: (e) => errors.push(e.code) });
  conn().open();
  conn().receive({ type: 'subscribed', id: conn().last('subscribe').id, stream: 'chat', from: 1 });
  conn().receive({ type: 'message', id: conn().last('subscribe').id, stream: 'chat', seq: 1, data: 'a' });
  conn().receive({ type: 'error', code: 'BROKER_UNAVAILABLE', stream: 'chat', resume_from: 2, retry_after_ms: 10, message: 'down' });
  assert.deepEqual(errors, ['BROKER_UNAVAILABLE']);
  await until(() => conn().sent.filter((f) => f.op === 'subscribe').length === 2, 'a new subscribe');
  assert.equal(conn().last('subscribe').from, 2);
  ws.close();
});

test('a subscription the gateway ends for good stops and says why', async () => {
  const { ws, conn } = connect();
  const errors = [];
  ws.subscribe('old', { from: 1, onMessage() {}, onError: (e) => errors.push([e.code, e.resumeFrom]) });
  conn().open();
  const id = conn().last('subscribe').id;
  conn().receive({ type: 'error', id, code: 'SEQUENCE_NOT_RETAINED', stream: 'old', resume_from: 50, message: 'gone' });
  assert.deepEqual(errors, [['SEQUENCE_NOT_RETAINED', 50]]);
  conn().serverClose();
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  conn().open();
  assert.equal(conn().last('subscribe'), undefined);
  ws.subscribe('old', { from: 50 }); // the stream can be subscribed again
  assert.equal(conn().last('subscribe').from, 50);
  ws.close();
});

test('after close and a new subscribe of the same stream, stray messages of the old subscription are dropped and none of the new one is lost', async () => {
  const { ws, conn } = connect();
  const oldGot = [];
  const newGot = [];
  const errors = [];
  const a = ws.subscribe('chat', { from: 'end', onMessage: (m) => oldGot.push(m.seq) });
  conn().open();
  const oldId = conn().last('subscribe').id;
  conn().receive({ type: 'subscribed', id: oldId, stream: 'chat', from: 900 });
  conn().receive({ type: 'message', id: oldId, stream: 'chat', seq: 900, data: 'x' });
  a.close();
  ws.subscribe('chat', { from: 1, onMessage: (m) => newGot.push(m.seq), onError: (e) => errors.push(e.code) });
  const newId = conn().last('subscribe').id;
  assert.notEqual(newId, oldId);
  // 901 of the old subscription was on the wire before the gateway saw the unsubscribe
  conn().receive({ type: 'message', id: oldId, stream: 'chat', seq: 901, data: 'x' });
  conn().receive({ type: 'unsubscribed', id: conn().last('unsubscribe').id, stream: 'chat' });
  conn().receive({ type: 'subscribed', id: newId, stream: 'chat', from: 1 });
  for (let seq = 1; seq <= 5; seq++) conn().receive({ type: 'message', id: newId, stream: 'chat', seq, data: 'x' });
  assert.deepEqual(oldGot, [900]);
  assert.deepEqual(newGot, [1, 2, 3, 4, 5]);
  assert.deepEqual(errors, []);
  ws.close();
});

test('a message before its subscription is confirmed is not delivered', async () => {
  const { ws, conn } = connect();
  const got = [];
  ws.subscribe('chat', { from: 1, onMessage: (m) => got.push(m.seq) });
  conn().open();
  const id = conn().last('subscribe').id;
  conn().receive({ type: 'message', id, stream: 'chat', seq: 7, data: 'early' });
  conn().receive({ type: 'subscribed', id, stream: 'chat', from: 1 });
  conn().receive({ type: 'message', id, stream: 'chat', seq: 1, data: 'a' });
  assert.deepEqual(got, [1]);
  ws.close();
});

test('SLOW_CONSUMER with resume_from below 1 resubscribes from where the subscription asked to start', async () => {
  const { ws, conn } = connect({ minBackoffMs: 1000, maxBackoffMs: 1000 });
  const errors = [];
  ws.subscribe('other', { from: 'end', onMessage() {}, onError: (e) => errors.push(e.code) });
  ws.subscribe('numbered', { from: 5, onMessage() {} });
  conn().open();
  // the gateway cut the socket before it confirmed either subscription
  conn().receive({ type: 'error', code: 'SLOW_CONSUMER', stream: 'other', resume_from: 0, message: 'slow' });
  assert.deepEqual(errors, ['SLOW_CONSUMER']);
  await until(() => FakeWebSocket.all.length === 2, 'an immediate reconnect', 500);
  conn().open();
  const froms = Object.fromEntries(conn().sent.filter((f) => f.op === 'subscribe').map((f) => [f.stream, f.from]));
  assert.deepEqual(froms, { other: 'end', numbered: 5 });
  ws.close();
});

test('STREAM_RESET ends the subscription with that error and never resubscribes, even with a retry hint', async () => {
  const { ws, conn } = connect();
  const errors = [];
  ws.subscribe('chat', { from: 1, onMessage() {}, onError: (e) => errors.push([e.code, e.resumeFrom]) });
  conn().open();
  const id = conn().last('subscribe').id;
  conn().receive({ type: 'subscribed', id, stream: 'chat', from: 1 });
  conn().receive({ type: 'message', id, stream: 'chat', seq: 1, data: 'a' });
  conn().receive({ type: 'error', code: 'STREAM_RESET', stream: 'chat', retry_after_ms: 1, message: 'history lost' });
  assert.deepEqual(errors, [['STREAM_RESET', undefined]]);
  await tick(20);
  assert.equal(conn().sent.filter((f) => f.op === 'subscribe').length, 1);
  conn().serverClose();
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  conn().open();
  assert.equal(conn().last('subscribe'), undefined);
  ws.close();
});

test('several gateways: a drop goes to the next one at once and resumes after the last delivered sequence', async () => {
  FakeWebSocket.all = [];
  const ws = new WirebusSocket(['ws://a/v1/ws', 'ws://b/v1/ws'], {
    WebSocket: FakeWebSocket, minBackoffMs: 1, maxBackoffMs: 5, pingIntervalMs: 0, stableAfterMs: 0,
  });
  const conn = () => FakeWebSocket.all.at(-1);
  const got = [];
  ws.subscribe('chat', { from: 1, onMessage: (m) => got.push(m.seq) });
  assert.equal(conn().url, 'ws://a/v1/ws');
  conn().open();
  const s1 = conn().last('subscribe');
  conn().receive({ type: 'subscribed', id: s1.id, stream: 'chat', from: 1 });
  for (const seq of [1, 2]) conn().receive({ type: 'message', id: s1.id, stream: 'chat', seq, data: 'x' });
  conn().serverClose(1006); // node a dies
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  assert.equal(conn().url, 'ws://b/v1/ws');
  assert.equal(ws.url, 'ws://b/v1/ws');
  conn().open();
  const s2 = conn().last('subscribe');
  assert.equal(s2.from, 3);
  conn().receive({ type: 'subscribed', id: s2.id, stream: 'chat', from: 3 });
  conn().receive({ type: 'message', id: s2.id, stream: 'chat', seq: 3, data: 'x' });
  assert.deepEqual(got, [1, 2, 3]);
  conn().serverClose(1006); // and back to a
  await until(() => FakeWebSocket.all.length === 3, 'another reconnect');
  assert.equal(conn().url, 'ws://a/v1/ws');
  ws.close();
});

test('a token goes as the bearer subprotocol beside wirebus.v1; one a subprotocol cannot hold goes in the query', () => {
  FakeWebSocket.all = [];
  const a = new WirebusSocket('ws://g/v1/ws', { WebSocket: FakeWebSocket, pingIntervalMs: 0, token: 'eyJ.abc-_.sig' });
  assert.deepEqual(FakeWebSocket.all.at(-1).protocols, ['wirebus.v1', 'bearer.eyJ.abc-_.sig']);
  assert.equal(FakeWebSocket.all.at(-1).url, 'ws://g/v1/ws');
  a.close();
  const b = new WirebusSocket('ws://g/v1/ws', { WebSocket: FakeWebSocket, pingIntervalMs: 0, token: 'a/b=c' });
  assert.equal(FakeWebSocket.all.at(-1).url, 'ws://g/v1/ws?token=a%2Fb%3Dc');
  assert.equal(FakeWebSocket.all.at(-1).protocols, undefined);
  b.close();
});

test('a token function is asked before every connect, so a reconnect carries a fresh token', async () => {
  FakeWebSocket.all = [];
  let n = 0;
  const ws = new WirebusSocket('ws://g/v1/ws', {
    WebSocket: FakeWebSocket, minBackoffMs: 1, maxBackoffMs: 5, pingIntervalMs: 0, token: async () => `t${++n}`,
  });
  await until(() => FakeWebSocket.all.length === 1, 'a connect after the token');
  assert.deepEqual(FakeWebSocket.all[0].protocols, ['wirebus.v1', 'bearer.t1']);
  FakeWebSocket.all[0].open();
  FakeWebSocket.all[0].serverClose(4401); // the credential expired
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  assert.deepEqual(FakeWebSocket.all[1].protocols, ['wirebus.v1', 'bearer.t2']);
  ws.close();
});

test('authenticate hands a fresh token to the open connection and resolves with the principal', async () => {
  const { ws, conn } = connect({ token: 'old' });
  conn().open();
  const p = ws.authenticate('new');
  const frame = conn().last('auth');
  assert.equal(frame.token, 'new');
  conn().receive({ type: 'authenticated', id: frame.id, principal: 'browser-42', expires_at_ms: 123 });
  assert.deepEqual(await p, { principal: 'browser-42', expiresAtMs: 123 });
  conn().serverClose(1006);
  await until(() => FakeWebSocket.all.length === 2, 'a reconnect');
  assert.deepEqual(conn().protocols, ['wirebus.v1', 'bearer.new']);
  ws.close();
});

test('PERMISSION_DENIED ends the subscription without a retry', async () => {
  const { ws, conn } = connect();
  const errors = [];
  ws.subscribe('secret', { from: 1, onError: (e) => errors.push(e.code) });
  conn().open();
  const s = conn().last('subscribe');
  conn().receive({ type: 'error', id: s.id, stream: 'secret', code: 'PERMISSION_DENIED', message: 'read on ...' });
  await tick(20);
  assert.deepEqual(errors, ['PERMISSION_DENIED']);
  assert.equal(conn().sent.filter((f) => f.op === 'subscribe').length, 1);
  ws.close();
});
