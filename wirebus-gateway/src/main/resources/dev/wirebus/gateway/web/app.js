// The demo page: one stream read over the gateway's WebSocket with wirebus.js, a button that
// starts the gateway's demo token producer, and a button that drops the connection.
// window.wirebusDemo exposes what the page received, for browser tests.

import { WirebusSocket } from '/wirebus.js';

const $ = (id) => document.getElementById(id);
const els = {
  status: $('status'), statusText: $('status-text'),
  form: $('stream-form'), stream: $('stream'),
  start: $('start'), drop: $('drop'), clear: $('clear'),
  rate: $('rate'), received: $('received'), drops: $('drops'),
  subscribers: $('subscribers'), lastSeq: $('last-seq'), lag: $('lag'),
  output: $('output'), outputStream: $('output-stream'), outputHint: $('output-hint'),
  log: $('log'),
};

const demo = {
  stream: null,
  received: [],   // sequences delivered to the page, in order
  text: '',       // the shown text: the concatenation of the delivered payloads
  drops: 0,       // times "Drop connection" was used
  state: 'connecting',
  lastSeq: null,  // the stream's last sequence, as the gateway last reported it
  subscribers: null,
  errors: [],     // codes of errors the subscription reported
};
window.wirebusDemo = demo;

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
const socket = new WirebusSocket(wsUrl, { minBackoffMs: 200, maxBackoffMs: 5000 });
let subscription = null;
let arrivals = []; // timestamps of recent messages, for messages/s

// ---- connection -----------------------------------------------------------------------------

socket.addEventListener('state', (e) => {
  demo.state = e.detail.state;
  els.status.className = `pill pill-${e.detail.state}`;
  els.statusText.textContent = e.detail.state;
  if (e.detail.state === 'reconnecting') log(`reconnecting in ${e.detail.reconnectInMs} ms`);
});
socket.addEventListener('open', () => {
  log(subscription && subscription.lastSeq !== null
    ? `connected — resuming ${subscription.stream} at seq ${subscription.lastSeq + 1}`
    : 'connected');
});
socket.addEventListener('close', (e) => {
  log(e.detail.dropped ? `connection dropped (${e.detail.reason})` : `connection closed (code ${e.detail.code})`, 'warn');
});
socket.addEventListener('error', (e) => log(`error ${e.detail.error.code}: ${e.detail.error.message}`, 'error'));

// ---- stream ---------------------------------------------------------------------------------

function openStream(name) {
  if (subscription) subscription.close();
  demo.stream = name;
  demo.received = [];
  demo.text = '';
  demo.errors = [];
  demo.lastSeq = null;
  demo.subscribers = null;
  arrivals = [];
  els.output.textContent = '';
  els.outputStream.textContent = name;
  els.outputHint.textContent = 'Waiting for messages…';
  const url = new URL(location.href);
  url.searchParams.set('stream', name);
  history.replaceState(null, '', url);
  subscription = socket.subscribe(name, {
    from: 'beginning',
    onSubscribed: (s) => log(`subscribed to ${s.stream} from seq ${s.from}`),
    onMessage: (m) => {
      demo.received.push(m.seq);
      demo.text += m.data;
      els.output.append(m.data); // a text node per token: cheap, and the panel stays plain text
      arrivals.push(performance.now());
      scheduleRender();
    },
    onError: (err) => {
      demo.errors.push(err.code);
      log(`${err.code}: ${err.message}`, 'error');
    },
  });
  log(`opened stream ${name}`);
  render();
  pollStream();
}

async function startTokens() {
  const name = els.stream.value.trim();
  if (!name) return;
  if (name !== demo.stream) openStream(name);
  els.start.disabled = true;
  try {
    const res = await fetch(`/v1/demo/streams/${encodeURIComponent(demo.stream)}/tokens?count=200&interval_ms=25`,
      { method: 'POST' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
    log(`token stream started: ${body.count ?? 200} chunks` + (body.first_seq ? ` from seq ${body.first_seq}` : ''));
  } catch (e) {
    log(`could not start the token stream: ${e.message}`, 'error');
  } finally {
    setTimeout(() => { els.start.disabled = false; }, 500);
  }
}

// ---- counters -------------------------------------------------------------------------------

let pollTimer = null;
async function pollStream() {
  clearTimeout(pollTimer);
  const stream = demo.stream;
  if (!stream) return;
  try {
    const res = await fetch(`/v1/streams/${encodeURIComponent(stream)}`, { cache: 'no-store' });
    if (stream === demo.stream) {
      if (res.ok) {
        const info = await res.json();
        demo.lastSeq = info.last_seq ?? null;
        demo.subscribers = info.subscribers ?? null;
      } else if (res.status === 404) {
        demo.lastSeq = 0;
        demo.subscribers = 0;
      }
      render();
    }
  } catch {
    // the gateway may be restarting; the next poll tries again
  }
  if (stream === demo.stream) pollTimer = setTimeout(pollStream, 1000);
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const t = performance.now();
  while (arrivals.length && arrivals[0] < t - 1000) arrivals.shift();
  els.rate.textContent = String(arrivals.length);
  els.received.textContent = String(demo.received.length);
  els.drops.textContent = String(demo.drops);
  els.subscribers.textContent = demo.subscribers === null ? '–' : String(demo.subscribers);
  els.lastSeq.textContent = demo.lastSeq === null ? '–' : String(demo.lastSeq);
  const last = demo.received.length ? demo.received[demo.received.length - 1] : 0;
  els.lag.textContent = demo.lastSeq === null ? '–' : String(Math.max(0, demo.lastSeq - last));
  if (demo.stream) {
    els.outputHint.textContent = arrivals.length ? 'Streaming…'
      : demo.received.length ? `Idle · ${demo.received.length} messages` : 'Waiting for messages…';
  }
  els.output.scrollTop = els.output.scrollHeight;
}
setInterval(render, 250); // lets messages/s fall back to 0

function log(text, level = 'info') {
  const li = document.createElement('li');
  li.className = level;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  li.append(time, ' ', text);
  els.log.prepend(li);
  while (els.log.children.length > 50) els.log.lastElementChild.remove();
}

// ---- wiring ---------------------------------------------------------------------------------

els.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = els.stream.value.trim();
  if (name) openStream(name);
});
els.start.addEventListener('click', startTokens);
els.drop.addEventListener('click', () => {
  demo.drops++;
  socket.dropConnection();
  render();
});
els.clear.addEventListener('click', () => {
  els.output.textContent = '';
  demo.text = '';
  demo.received = [];
  arrivals = [];
  render();
});

const initial = new URLSearchParams(location.search).get('stream');
els.stream.value = initial || `chat-${Math.random().toString(36).slice(2, 6)}`;
if (initial) openStream(initial);
render();
