/**
 * wirebus.js — browser client for the wirebus gateway's WebSocket protocol (`GET /v1/ws`).
 *
 * One standalone ES module, no dependencies, no build step. It keeps one WebSocket open,
 * reconnects by itself with exponential backoff (full jitter), and resubscribes every stream at
 * the sequence after the last one it delivered, so a subscriber sees every message once, in
 * order, across drops. Every promise it hands out settles: with a result, or with a
 * {@link WirebusError} on an error frame, a timeout, a disconnect or close() — never a hang.
 *
 * Usage:
 *
 *   import { WirebusSocket } from '/wirebus.js';
 *
 *   const ws = new WirebusSocket(`ws://${location.host}/v1/ws`);
 *   ws.addEventListener('state', (e) => console.log('connection:', e.detail.state));
 *
 *   // several gateways (or one load balancer): on a drop the next one is tried, and every
 *   // subscription resumes there at the sequence after the last one delivered
 *   const ws2 = new WirebusSocket(['wss://a.example/v1/ws', 'wss://b.example/v1/ws'], {
 *     token: async () => (await fetch('/session-token')).text(),   // or a string; asked on each connect
 *   });
 *
 *   const sub = ws.subscribe('chat', {
 *     from: 1,                                   // 1..N | 'beginning' | 'end' (default 'end')
 *     onMessage(m) { console.log(m.seq, m.data); },
 *     onError(err) { console.warn(err.code, err.message); },
 *   });
 *
 *   const { seq, duplicate } = await ws.publish('chat', 'hello', {
 *     producerId: 'tab-1', producerSeq: 1,       // optional: an idempotent retry answers the same seq
 *     expectedSeq: 8,                            // optional: appended only if it lands at seq 8
 *   });
 *
 *   const reply = await ws.request('quote', 'EURUSD', { timeoutMs: 2000 });
 *
 *   sub.close();                                 // unsubscribe
 *   ws.close();                                  // for good: no more reconnects
 *
 * When the gateway ends a subscription (an error frame naming its stream), onError hears it: an
 * error with retryAfterMs (e.g. the broker is unreachable) is followed by a new subscribe from the
 * next sequence; any other (e.g. SEQUENCE_NOT_RETAINED, err.resumeFrom = the oldest one retained)
 * ends the subscription; so does STREAM_RESET (the broker came back without the stream's history:
 * the sequences started over, and only the page can decide to subscribe again). SLOW_CONSUMER (the gateway's buffer for this socket overflowed) reconnects
 * at once and resumes.
 *
 * Data: a string is sent as text (`data`); a Uint8Array or ArrayBuffer as `base64`. A
 * subscription with `encoding: 'base64'` delivers `m.data` as a Uint8Array, otherwise as a string.
 *
 * Access control: with `token` the socket offers the WebSocket subprotocols `wirebus.v1` and
 * `bearer.<token>` (the gateway selects `wirebus.v1`, never echoing the token; a token with
 * characters a subprotocol cannot hold goes in the `token` query parameter instead). A function
 * is called before every connect, so a reconnect carries a fresh short-lived token;
 * `authenticate(token)` hands a fresh one to the open connection before the old one expires.
 * A credential that expires anyway ends the connection (close 4401, AUTH_EXPIRED) and the socket
 * reconnects with the next token. AUTH_REQUIRED, AUTH_FAILED and PERMISSION_DENIED end a
 * subscription (onError) or reject a call.
 *
 * Events (EventTarget): 'state' (detail.state: 'connecting' | 'open' | 'reconnecting' | 'closed';
 * with 'connecting', detail.url; with 'reconnecting', detail.reconnectInMs),
 * 'open', 'close' (detail: code, reason, dropped), 'error' (detail.error: a WirebusError not tied
 * to one call or subscription).
 *
 * Errors: every rejection and onError argument is a WirebusError with a `code`: the gateway's
 * codes (SEQUENCE_MISMATCH, RATE_LIMITED, NO_RESPONDERS, TIMEOUT, ...) or the client's own
 * DISCONNECTED (the connection dropped after the call was sent: it may or may not have taken
 * effect — use producerId/producerSeq to retry a publish safely), TIMEOUT (no answer in time)
 * and CLOSED (close() was called).
 */

/** An error with a machine-readable code; `details` holds the rest of the error frame. */
export class WirebusError extends Error {
  constructor(code, message, details = {}) {
    super(message || code);
    this.name = 'WirebusError';
    this.code = code;
    this.details = details;
    if (details.retry_after_ms !== undefined) this.retryAfterMs = details.retry_after_ms;
    if (details.resume_from !== undefined) this.resumeFrom = details.resume_from;
    if (details.last_seq !== undefined) this.lastSeq = details.last_seq;
  }
}

/** The connection dropped after the call was sent; its outcome is unknown. */
export class WirebusDisconnectedError extends WirebusError {
  constructor(message = 'connection lost before the gateway answered') {
    super('DISCONNECTED', message);
    this.name = 'WirebusDisconnectedError';
  }
}

/** No answer within the call's timeout. */
export class WirebusTimeoutError extends WirebusError {
  constructor(message = 'no answer in time') {
    super('TIMEOUT', message);
    this.name = 'WirebusTimeoutError';
  }
}

/** The socket was closed with close(). */
export class WirebusClosedError extends WirebusError {
  constructor(message = 'the WirebusSocket is closed') {
    super('CLOSED', message);
    this.name = 'WirebusClosedError';
  }
}

const DEFAULTS = {
  minBackoffMs: 250,
  maxBackoffMs: 10_000,
  requestTimeoutMs: 10_000, // publish and anything without its own timeout
  pingIntervalMs: 20_000,   // 0 disables; a ping unanswered within pingTimeoutMs drops the connection
  pingTimeoutMs: 10_000,
  stableAfterMs: 1_000,     // a connection that lived this long resets the backoff
  token: undefined,         // a bearer token, or a function returning one (or a promise of one)
  WebSocket: undefined,     // an alternative WebSocket constructor (tests, Node)
};

/** Characters an RFC 7230 token (and so a WebSocket subprotocol) may hold. */
const SUBPROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * One logical connection to a wirebus gateway, kept open across drops.
 */
export class WirebusSocket extends EventTarget {
  /**
   * @param {string|string[]} url  e.g. `ws://localhost:7480/v1/ws`, or several gateways' URLs:
   *   each reconnect after a drop or a failed attempt goes to the next one
   * @param {object} [options]  minBackoffMs, maxBackoffMs, requestTimeoutMs, pingIntervalMs,
   *   pingTimeoutMs, stableAfterMs, token, WebSocket
   */
  constructor(url, options = {}) {
    super();
    this.urls = Array.isArray(url) ? [...url] : [url];
    if (this.urls.length === 0 || this.urls.some((u) => typeof u !== 'string' || u === '')) {
      throw new TypeError('url must be a URL or a non-empty array of URLs');
    }
    this._urlIndex = 0;
    this.options = { ...DEFAULTS, ...options };
    this._token = this.options.token;
    if (!(this.options.minBackoffMs > 0) || this.options.maxBackoffMs < this.options.minBackoffMs) {
      throw new RangeError('need 0 < minBackoffMs <= maxBackoffMs');
    }
    this._Impl = this.options.WebSocket || globalThis.WebSocket;
    this._state = 'connecting';
    this._ws = null;
    this._openedAt = 0;
    this._attempt = 0;
    this._reconnectTimer = null;
    this._pingTimer = null;
    this._nextId = 1;
    this._pending = new Map(); // id -> call
    this._queue = [];          // calls waiting for the connection to open
    this._subs = new Map();    // stream -> Subscription
    this._connectAttempt = 0;
    this._connect();
  }

  /** 'connecting' | 'open' | 'reconnecting' | 'closed' */
  get state() {
    return this._state;
  }

  /** The URL of the gateway this socket connects (or is connected) to. */
  get url() {
    return this.urls[this._urlIndex];
  }

  /**
   * Hands a fresh token to the gateway on the open connection (before the current one expires)
   * and keeps it for reconnects when the `token` option is not a function. Resolves to
   * {principal, expiresAtMs}; rejects with AUTH_FAILED when the gateway refuses it.
   */
  authenticate(token, opts = {}) {
    if (typeof token !== 'string' || token === '') return Promise.reject(new TypeError('token must be a non-empty string'));
    if (typeof this.options.token !== 'function') this._token = token;
    return this._call({ op: 'auth', token }, opts.timeoutMs ?? this.options.requestTimeoutMs,
      (m) => ({ principal: m.principal, expiresAtMs: m.expires_at_ms }));
  }

  /**
   * Subscribes to a stream. One subscription per stream per socket.
   * @param {string} stream
   * @param {object} opts  from (number | 'beginning' | 'end', default 'end'), encoding
   *   ('text' | 'base64'), onMessage({stream, seq, data}), onError(WirebusError),
   *   onSubscribed({stream, from})
   * @returns {{stream: string, lastSeq: number|null, close: () => void}}
   */
  subscribe(stream, opts = {}) {
    this._assertUsable();
    if (typeof stream !== 'string' || stream === '') throw new TypeError('stream must be a non-empty string');
    if (this._subs.has(stream)) throw new Error(`already subscribed to ${stream} on this socket`);
    const sub = new Subscription(this, stream, opts);
    this._subs.set(stream, sub);
    if (this._state === 'open') this._sendSubscribe(sub);
    return sub;
  }

  /**
   * Publishes one message. Resolves to {seq, duplicate}.
   * @param {string} stream
   * @param {string|Uint8Array|ArrayBuffer} data
   * @param {object} [opts]  expectedSeq, producerId, producerSeq, timeoutMs
   */
  publish(stream, data, opts = {}) {
    const frame = { op: 'publish', stream, ...encodeData(data) };
    if (opts.expectedSeq !== undefined) frame.expected_seq = opts.expectedSeq;
    if (opts.producerId !== undefined) frame.producer_id = opts.producerId;
    if (opts.producerSeq !== undefined) frame.producer_seq = opts.producerSeq;
    return this._call(frame, opts.timeoutMs ?? this.options.requestTimeoutMs,
      (m) => ({ seq: m.seq, duplicate: m.duplicate === true }));
  }

  /**
   * Sends a request to the responders of a subject; resolves to the reply (a string, or a
   * Uint8Array when the reply came as base64).
   * @param {string} subject
   * @param {string|Uint8Array|ArrayBuffer} data
   * @param {object} [opts]  timeoutMs (default 5000): the gateway's deadline; the local one is a bit later
   */
  request(subject, data, opts = {}) {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    const frame = { op: 'request', subject, timeout_ms: timeoutMs, ...encodeData(data) };
    return this._call(frame, timeoutMs + 1_000, (m) => decodeData(m));
  }

  /** Round trip to the gateway; resolves to the time it took in ms. */
  ping(opts = {}) {
    const started = now();
    return this._call({ op: 'ping' }, opts.timeoutMs ?? this.options.pingTimeoutMs, () => now() - started);
  }

  /**
   * Drops the connection at once, as a network failure would: frames still in flight are lost,
   * sent calls reject with DISCONNECTED, and the socket reconnects and resumes by itself.
   */
  dropConnection() {
    if (this._state === 'closed' || !this._ws) return;
    this._lost(4000, 'dropped by the client', true);
  }

  /** Closes for good: no more reconnects; every unsettled call rejects with CLOSED. */
  close() {
    if (this._state === 'closed') return;
    const ws = this._ws;
    this._ws = null;
    this._stopTimers();
    if (ws) {
      detach(ws);
      try { ws.close(1000, 'closed by the client'); } catch { /* already gone */ }
    }
    this._failAll(() => new WirebusClosedError());
    for (const sub of this._subs.values()) sub._active = false;
    this._subs.clear();
    this._setState('closed');
    this._emit('close', { code: 1000, reason: 'closed by the client', dropped: false });
  }

  // ---- internals ---------------------------------------------------------------------------

  _assertUsable() {
    if (this._state === 'closed') throw new WirebusClosedError();
  }

  _connect() {
    this._reconnectTimer = null;
    const url = this.url;
    this._setState('connecting', { url });
    const token = this._token;
    if (typeof token === 'function') {
      // a fresh token for every connection; the attempt waits for it (and is retried if it fails)
      const attempt = ++this._connectAttempt;
      Promise.resolve().then(() => token()).then((t) => {
        if (attempt === this._connectAttempt && this._state === 'connecting') this._open(url, t);
      }, (e) => {
        if (attempt !== this._connectAttempt || this._state !== 'connecting') return;
        this._emitError(new WirebusError('TOKEN_FAILED', `the token function failed: ${e && e.message || e}`));
        this._failedAttempt();
      });
      return;
    }
    this._open(url, token);
  }

  _open(url, token) {
    let ws;
    try {
      if (typeof token === 'string' && token !== '') {
        if (SUBPROTOCOL_TOKEN.test(token)) {
          ws = new this._Impl(url, ['wirebus.v1', 'bearer.' + token]);
        } else {
          ws = new this._Impl(url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token));
        }
      } else {
        ws = new this._Impl(url);
      }
    } catch (e) {
      this._emitError(new WirebusError('CONNECT_FAILED', String(e && e.message || e)));
      this._failedAttempt();
      return;
    }
    this._ws = ws;
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (ev) => this._onFrame(ws, ev.data);
    ws.onclose = (ev) => { if (ws === this._ws) this._lost(ev.code, ev.reason, false); };
    ws.onerror = () => { /* a close event follows */ };
  }

  /** An attempt failed before a socket existed: the next endpoint, after the backoff. */
  _failedAttempt() {
    this._nextEndpoint();
    this._scheduleReconnect();
  }

  _nextEndpoint() {
    this._urlIndex = (this._urlIndex + 1) % this.urls.length;
  }

  _onOpen(ws) {
    if (ws !== this._ws) return;
    this._openedAt = now();
    this._setState('open');
    this._emit('open', {});
    for (const sub of this._subs.values()) this._sendSubscribe(sub);
    const queued = this._queue;
    this._queue = [];
    for (const call of queued) this._transmit(call);
    this._startPing();
  }

  _onFrame(ws, raw) {
    if (ws !== this._ws) return;
    let m;
    try {
      m = JSON.parse(raw);
    } catch {
      this._emitError(new WirebusError('BAD_FRAME', 'a frame that is not JSON'));
      return;
    }
    switch (m.type) {
      case 'message': {
        // A message frame carries the id of the subscribe it belongs to: after a close and a new
        // subscribe of the same stream, messages of the old subscription may still be on the wire,
        // and must neither reach the new one nor make it drop its own as duplicates.
        const sub = this._subs.get(m.stream);
        if (sub && sub._confirmed && m.id !== undefined && m.id === sub._requestId) sub._deliver(m);
        return;
      }
      case 'subscribed': {
        const sub = this._subs.get(m.stream);
        if (sub && sub._requestId === m.id) sub._subscribed(m);
        return;
      }
      case 'unsubscribed':
        return;
      case 'ack':
      case 'reply':
      case 'authenticated':
      case 'pong': {
        const call = this._pending.get(m.id);
        if (call) this._settle(call, null, m);
        return;
      }
      case 'error':
        this._onErrorFrame(m);
        return;
      default:
        // unknown frame types are ignored: newer gateways may send more
    }
  }

  _onErrorFrame(m) {
    const err = new WirebusError(m.code || 'ERROR', m.message, m);
    if (m.code === 'SLOW_CONSUMER') {
      // The gateway stops sending to us and closes (4008); resume where it says, never past
      // what we have not delivered.
      const sub = this._subs.get(m.stream);
      // resume_from below 1 is no position (an old gateway said 0 for a subscription not yet
      // confirmed): then the subscription starts again where it was asked to
      if (sub && typeof m.resume_from === 'number' && m.resume_from >= 1) {
        sub._next = sub._next === null ? m.resume_from : Math.min(sub._next, m.resume_from);
      }
      if (sub) sub._error(err);
      this._lost(4008, 'slow consumer', true, true);
      return;
    }
    if (m.id !== undefined) {
      const call = this._pending.get(m.id);
      if (call) {
        this._settle(call, err, null);
        return;
      }
      for (const sub of this._subs.values()) {
        if (sub._requestId === m.id) {
          sub._ended(err);
          return;
        }
      }
    }
    // Without an id, an error naming a stream means the gateway ended that subscription.
    const sub = m.stream !== undefined ? this._subs.get(m.stream) : undefined;
    if (sub) sub._ended(err);
    else this._emitError(err);
  }

  _sendSubscribe(sub) {
    const id = this._id();
    sub._requestId = id;
    sub._confirmed = false;
    const frame = { op: 'subscribe', id, stream: sub.stream, from: sub._resumeFrom() };
    if (sub.encoding === 'base64') frame.encoding = 'base64';
    this._send(frame);
  }

  _call(frame, timeoutMs, map) {
    if (this._state === 'closed') return Promise.reject(new WirebusClosedError());
    return new Promise((resolve, reject) => {
      const call = { frame: { ...frame, id: this._id() }, resolve, reject, map, sent: false, timer: null };
      call.timer = setTimeout(() => this._settle(call, new WirebusTimeoutError(
        `no answer to ${frame.op} within ${timeoutMs} ms`), null), timeoutMs);
      if (this._state === 'open') this._transmit(call);
      else this._queue.push(call);
    });
  }

  _transmit(call) {
    call.sent = true;
    this._pending.set(call.frame.id, call);
    this._send(call.frame);
  }

  _settle(call, err, m) {
    if (call.done) return;
    call.done = true;
    clearTimeout(call.timer);
    this._pending.delete(call.frame.id);
    const i = this._queue.indexOf(call);
    if (i >= 0) this._queue.splice(i, 1);
    if (err) {
      call.reject(err);
      return;
    }
    try {
      call.resolve(call.map(m));
    } catch (e) {
      call.reject(e);
    }
  }

  _failAll(makeError) {
    for (const call of [...this._pending.values(), ...this._queue]) this._settle(call, makeError(), null);
  }

  _send(frame) {
    try {
      this._ws.send(JSON.stringify(frame));
    } catch {
      // the close event follows and handles the rest
    }
  }

  /** The connection is gone (or we gave it up): reject what was sent, then reconnect. */
  _lost(code, reason, byUs, immediately = false) {
    const ws = this._ws;
    if (!ws) return;
    this._ws = null;
    detach(ws);
    if (byUs) {
      try { ws.close(code >= 4000 && code < 5000 ? code : 4000, reason); } catch { /* already gone */ }
    }
    this._stopTimers();
    // Calls already sent have an unknown outcome; queued ones are still safe to send later.
    for (const call of [...this._pending.values()]) this._settle(call, new WirebusDisconnectedError(), null);
    if (this._openedAt && now() - this._openedAt >= this.options.stableAfterMs) this._attempt = 0;
    const wasOpen = this._openedAt !== 0;
    this._openedAt = 0;
    this._emit('close', { code, reason, dropped: byUs });
    // a gateway that dropped us or could not be reached may be gone: try the next one. One we
    // dropped ourselves (dropConnection, a slow-consumer cut) is tried again.
    if (!byUs) this._nextEndpoint();
    // a drop from an open connection to another gateway resumes at once; the backoff is for retries
    this._scheduleReconnect(immediately || (!byUs && wasOpen && this.urls.length > 1 && this._attempt === 0));
  }

  _scheduleReconnect(immediately = false) {
    if (this._state === 'closed' || this._reconnectTimer) return;
    const { minBackoffMs, maxBackoffMs } = this.options;
    const ceiling = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(this._attempt, 30));
    const delay = immediately ? 0 : minBackoffMs + Math.random() * (ceiling - minBackoffMs);
    this._attempt++;
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (this._state === 'closed') return;
      this._connect();
    }, delay);
    this._setState('reconnecting', { reconnectInMs: Math.round(delay) });
  }

  _startPing() {
    const { pingIntervalMs } = this.options;
    if (!(pingIntervalMs > 0)) return;
    this._pingTimer = setInterval(() => {
      const ws = this._ws;
      this.ping().catch((e) => {
        if (e.code === 'TIMEOUT' && ws === this._ws) this._lost(4001, 'ping timeout', true);
      });
    }, pingIntervalMs);
  }

  _stopTimers() {
    clearInterval(this._pingTimer);
    this._pingTimer = null;
  }

  _id() {
    return 'c' + this._nextId++;
  }

  _setState(state, extra = {}) {
    if (this._state === state) return;
    this._state = state;
    if (state === 'closed') {
      clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
    }
    this._emit('state', { state, ...extra });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _emitError(error) {
    this._emit('error', { error });
  }

  _unsubscribe(sub) {
    if (this._subs.get(sub.stream) !== sub) return;
    this._subs.delete(sub.stream);
    if (this._state === 'open') this._send({ op: 'unsubscribe', id: this._id(), stream: sub.stream });
  }
}

/** A subscription handle: `stream`, `lastSeq` (last delivered sequence or null) and `close()`. */
class Subscription {
  constructor(socket, stream, opts) {
    this._socket = socket;
    this.stream = stream;
    this.encoding = opts.encoding === 'base64' ? 'base64' : 'text';
    this._from = opts.from ?? 'end';
    if (!(this._from === 'end' || this._from === 'beginning' || (Number.isInteger(this._from) && this._from >= 1))) {
      throw new TypeError("from must be a sequence >= 1, 'beginning' or 'end'");
    }
    this._onMessage = opts.onMessage || (() => {});
    this._onError = opts.onError || (() => {});
    this._onSubscribed = opts.onSubscribed || (() => {});
    this._next = null; // the next sequence to deliver, once known
    this._requestId = null; // the id of the current subscribe: its answer and its messages carry it
    this._confirmed = false; // 'subscribed' came for _requestId: its messages may be delivered
    this._active = true;
    this.lastSeq = null;
    this.gaps = 0;
  }

  /** Stops the subscription; no more messages are delivered. */
  close() {
    if (!this._active) return;
    this._active = false;
    this._socket._unsubscribe(this);
  }

  _resumeFrom() {
    return this._next !== null ? this._next : this._from;
  }

  _subscribed(m) {
    this._confirmed = true;
    if (this._next === null && typeof m.from === 'number') this._next = m.from;
    this._call(this._onSubscribed, { stream: this.stream, from: m.from });
  }

  /** The gateway refused or ended this subscription. */
  _ended(err) {
    // STREAM_RESET: the broker lost the stream's history; resuming would silently skip, so never retry
    const retryable = err.code !== 'STREAM_RESET'
      && (err.retryAfterMs !== undefined || err.code === 'RATE_LIMITED' || err.code === 'TOO_MANY_IN_FLIGHT');
    if (retryable) {
      // subscribe again after the gateway's hint, from the first sequence not yet delivered
      if (typeof err.resumeFrom === 'number' && err.resumeFrom >= 1 && this._next === null) this._next = err.resumeFrom;
      const socket = this._socket;
      const ws = socket._ws;
      this._requestId = null;
      this._confirmed = false;
      setTimeout(() => {
        // on a new connection, _onOpen has resubscribed already
        if (this._active && socket._subs.get(this.stream) === this && socket.state === 'open' && socket._ws === ws) {
          socket._sendSubscribe(this);
        }
      }, err.retryAfterMs ?? 500);
      this._error(err);
      return;
    }
    // anything else ends the subscription (e.g. SEQUENCE_NOT_RETAINED: err.resumeFrom says where to start)
    this._active = false;
    this._socket._subs.delete(this.stream);
    this._error(err);
  }

  _deliver(m) {
    if (!this._active || typeof m.seq !== 'number') return;
    if (this.lastSeq !== null && m.seq <= this.lastSeq) return; // a duplicate after a resume
    if (this._next !== null && m.seq < this._next) return;
    if (this._next !== null && m.seq > this._next) {
      this.gaps++;
      this._error(new WirebusError('SEQUENCE_GAP', `expected ${this._next}, got ${m.seq}`, { expected: this._next, seq: m.seq }));
    }
    this.lastSeq = m.seq;
    this._next = m.seq + 1;
    this._call(this._onMessage, { stream: this.stream, seq: m.seq, data: decodeData(m) });
  }

  _error(err) {
    this._call(this._onError, err);
  }

  _call(fn, arg) {
    try {
      fn(arg);
    } catch (e) {
      // a throwing callback must not break the connection
      setTimeout(() => { throw e; });
    }
  }
}

function detach(ws) {
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
}

function now() {
  return (globalThis.performance && performance.now()) || Date.now();
}

function encodeData(data) {
  if (typeof data === 'string') return { data };
  let bytes;
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else throw new TypeError('data must be a string, Uint8Array or ArrayBuffer');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { base64: btoa(s) };
}

function decodeData(m) {
  if (typeof m.base64 === 'string') {
    const s = atob(m.base64);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes;
  }
  return m.data ?? '';
}
