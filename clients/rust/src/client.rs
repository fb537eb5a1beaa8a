//! The client: one connection at a time, a reader thread that also reconnects, and a blocking
//! API whose every call has a deadline. Callers write their frames to the socket themselves
//! (under one lock, so frames never interleave); the reader thread matches answers by request id.
//!
//! When the connection drops: calls already written fail with `Error::Connection` (their outcome
//! is unknown), except idempotent publishes, which are written again after the reconnect in
//! their original order; calls not yet written wait for the reconnect (until their deadline);
//! subscriptions re-open at last received + 1, consumers with resume 1; responders register again.

use crate::calls::{CallTable, Completion, PendingCall};
use crate::codec::{self, ConsumerEntry, Frame, ReadError};
use crate::connection::{connect_and_authenticate, Address, Connected, ReconnectPolicy, Transport};
use crate::error::{Error, Result};
use crate::responder::{Handler, Request, ResponderPool};
use crate::subscription::{Message, SubShared, SubscribeOptions};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Settings of a client.
#[derive(Clone)]
pub struct ClientOptions {
    /// Broker addresses, tried in turn: `unix:///path`, `tcp://host:port`.
    pub addresses: Vec<String>,
    /// The name the broker sees.
    pub name: String,
    /// Deadline of one connect + handshake attempt.
    pub connect_timeout: Duration,
    /// Deadline of every call without a timeout of its own.
    pub request_timeout: Duration,
    pub reconnect: ReconnectPolicy,
    /// Most calls awaiting answers at once (publishes, requests); more wait for a slot.
    pub max_in_flight: usize,
    /// Default credits window of a subscription.
    pub subscription_window: u32,
    pub responder_threads: usize,
    pub max_queued_requests: usize,
    /// Hears of connection events and errors not tied to a call (lost, reconnected, GOAWAY...).
    pub listener: Option<Arc<dyn Fn(Event) + Send + Sync>>,
    /// A bearer credential (static token or JWT) sent in AUTH right after WELCOME on every
    /// connection; None: no AUTH.
    pub token: Option<String>,
    /// Asked for the credential on every connection instead of `token` (a fresh token after
    /// AUTH_EXPIRED, for example).
    pub token_provider: Option<Arc<dyn Fn() -> std::result::Result<String, String> + Send + Sync>>,
    /// With a token provider and a credential that expires, ask the provider for a fresh token when
    /// three quarters of the remaining lifetime have passed and send AUTH on the open connection,
    /// so it is not ended with AUTH_EXPIRED (default true).
    pub token_refresh: bool,
}

impl ClientOptions {
    pub fn new(addresses: &[&str]) -> ClientOptions {
        ClientOptions {
            addresses: addresses.iter().map(|s| s.to_string()).collect(),
            name: "wirebus-rust".to_string(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            reconnect: ReconnectPolicy::default(),
            max_in_flight: 65_536,
            subscription_window: 4096,
            responder_threads: 4,
            max_queued_requests: 4096,
            listener: None,
            token: None,
            token_provider: None,
            token_refresh: true,
        }
    }
    /// Turns the refresh of an expiring credential on or off (see `token_refresh`).
    pub fn token_refresh(mut self, on: bool) -> Self {
        self.token_refresh = on;
        self
    }
    /// A bearer token (static token or JWT) presented in AUTH on every connection.
    pub fn token(mut self, t: &str) -> Self {
        self.token = Some(t.to_string());
        self
    }
    /// Asks `p` for the token on every connection.
    pub fn token_provider(mut self, p: impl Fn() -> std::result::Result<String, String> + Send + Sync + 'static) -> Self {
        self.token_provider = Some(Arc::new(p));
        self
    }
    pub fn name(mut self, n: &str) -> Self {
        self.name = n.to_string();
        self
    }
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }
    pub fn reconnect(mut self, p: ReconnectPolicy) -> Self {
        self.reconnect = p;
        self
    }
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }
    pub fn listener(mut self, l: impl Fn(Event) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(l));
        self
    }
}

/// Something that happened to the connection.
#[derive(Debug, Clone)]
pub enum Event {
    Connected { address: String, version: u16 },
    Lost { reason: String },
    GoAway { code: u16, message: String },
    /// An error not tied to a call: a bad frame from the broker, ERROR with request id 0, a
    /// responder registration refused after a reconnect, a subscription ended by the broker.
    Error(Error),
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Connected,
    /// Lost; reconnecting (or going away after GOAWAY).
    Reconnecting,
    Closed,
}

/// Options of one publish.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// 0: append wherever the stream is; else only as this sequence (SEQUENCE_MISMATCH otherwise).
    pub expected_sequence: u64,
    /// (producer id, producer sequence): an idempotent publish, resent after a reconnect.
    pub producer: Option<(String, u64)>,
    pub timeout: Option<Duration>,
}

impl PublishOptions {
    pub fn expected(seq: u64) -> Self {
        PublishOptions { expected_sequence: seq, ..Default::default() }
    }
    pub fn idempotent(producer_id: &str, producer_sequence: u64) -> Self {
        PublishOptions { producer: Some((producer_id.to_string(), producer_sequence)), ..Default::default() }
    }
}

/// PUBLISH_ACK: the messages are at `[first_sequence, first_sequence + count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishAck {
    pub first_sequence: u64,
    pub count: u32,
    /// An idempotent batch the broker had appended before (these are its original sequences).
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResult {
    pub last_sequence: u64,
    pub first_sequence: u64,
    pub messages: Vec<Message>,
}

/// What AUTH_OK said: the principal and when its credential expires (epoch ms, 0 = never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInfo {
    pub principal: String,
    pub expires_at_millis: u64,
}

/// One page of `streams`: `more` when names after the last one exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPage {
    pub streams: Vec<codec::StreamEntry>,
    pub more: bool,
}

/// A failure another attempt with the same credential cannot fix.
fn is_final_auth_error(e: &Error) -> bool {
    matches!(e, Error::AuthFailed { .. })
        || matches!(e, Error::Protocol { code: codec::ErrorCode::UnknownFrameType, message } if message.contains("does not support authentication"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConsumers {
    pub last_sequence: u64,
    pub held_publishes: u32,
    pub held_millis: u64,
    pub rejected_publishes: u64,
    pub consumers: Vec<ConsumerEntry>,
}

struct Conn {
    /// Where callers write; None while disconnected or after GOAWAY.
    writer: Option<Transport>,
    /// A handle to shut the current socket (also after GOAWAY).
    shut: Option<Transport>,
    /// Calls made while not connected: written, in order, once reconnected.
    outbound: VecDeque<(u64, Arc<Vec<u8>>)>,
    /// Idempotent publishes to write again first once reconnected.
    resend: Vec<(u64, Arc<Vec<u8>>)>,
    state: ConnectionState,
    version: u16,
    max_frame_length: u32,
    store_id: u64,
    address: Option<String>,
    /// AUTH_OK of the current connection.
    auth: Option<AuthInfo>,
    /// Set by `auth`: the token for later connections (instead of the options').
    token: Option<String>,
    /// Counts installed connections (tells a late GOAWAY of an old one from the current one).
    generation: u64,
}

pub(crate) struct Inner {
    opts: ClientOptions,
    addresses: Vec<Address>,
    pub(crate) calls: Arc<CallTable>,
    conn: Mutex<Conn>,
    conn_cv: Condvar,
    subs: Mutex<HashMap<u32, Arc<SubShared>>>,
    responders: Mutex<HashMap<String, Handler>>,
    /// Runs responders' handlers; made at the first `respond`.
    pool: Mutex<Option<Arc<ResponderPool>>>,
    next_sub: AtomicU32,
    closed: AtomicBool,
    manager: Mutex<Option<JoinHandle<()>>>,
}

/// A connection to a wirebus broker, shared by any number of threads (`&self` methods). Closed
/// on drop.
pub struct Client {
    inner: Arc<Inner>,
}

fn check_name(what: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > codec::MAX_STRING_BYTES {
        return Err(Error::client(format!("{} must be 1 to 65535 UTF-8 bytes", what)));
    }
    Ok(())
}

impl Client {
    /// Connects to the first address that answers and completes the handshake, or says why
    /// none did. From then on the client reconnects by itself.
    pub fn connect(opts: ClientOptions) -> Result<Client> {
        if opts.addresses.is_empty() {
            return Err(Error::client("no broker address given"));
        }
        let addresses = opts.addresses.iter().map(|a| Address::parse(a)).collect::<Result<Vec<_>>>()?;
        let calls = Arc::new(CallTable::new(opts.max_in_flight));
        let mut errors = Vec::new();
        let mut first = None;
        for a in &addresses {
            let cred = credential(&opts, None)?;
            let auth_id = calls.next_id();
            match connect_and_authenticate(a, &opts.name, opts.connect_timeout, calls.next_id(), cred.as_deref().map(|c| (auth_id, c))) {
                Ok(c) => {
                    first = Some(c);
                    break;
                }
                Err(e) if is_final_auth_error(&e) => return Err(e),
                Err(e) => errors.push(e),
            }
        }
        let first = match first {
            Some(c) => c,
            // one address: its own error (typed: a refusal keeps its code); several: all reasons
            None if errors.len() == 1 => return Err(errors.pop().unwrap()),
            None => {
                let why: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                return Err(Error::connection(format!("no broker answered: {}", why.join("; "))));
            }
        };
        let inner = Arc::new(Inner {
            opts,
            addresses,
            calls,
            conn: Mutex::new(Conn {
                writer: None,
                shut: None,
                outbound: VecDeque::new(),
                resend: Vec::new(),
                state: ConnectionState::Reconnecting,
                version: 1,
                max_frame_length: codec::DEFAULT_MAX_FRAME_LENGTH,
                store_id: 0,
                address: None,
                auth: None,
                token: None,
                generation: 0,
            }),
            conn_cv: Condvar::new(),
            subs: Mutex::new(HashMap::new()),
            responders: Mutex::new(HashMap::new()),
            pool: Mutex::new(None),
            next_sub: AtomicU32::new(0),
            closed: AtomicBool::new(false),
            manager: Mutex::new(None),
        });
        let reader = inner.install(first).ok_or_else(|| Error::connection("client closed while connecting"))?;
        let i2 = inner.clone();
        let h = thread::Builder::new()
            .name("wirebus-reader".into())
            .spawn(move || i2.run(reader))
            .map_err(|e| Error::client(format!("cannot start the reader thread: {}", e)))?;
        *inner.manager.lock().unwrap() = Some(h);
        Ok(Client { inner })
    }

    /// The protocol version of the current connection (1 or 2).
    pub fn protocol_version(&self) -> u16 {
        self.inner.conn.lock().unwrap().version
    }

    pub fn state(&self) -> ConnectionState {
        self.inner.conn.lock().unwrap().state
    }

    /// The address of the current (or last) connection.
    pub fn address(&self) -> Option<String> {
        self.inner.conn.lock().unwrap().address.clone()
    }

    /// Waits until connected (e.g. after a reconnect), until `timeout`.
    pub fn wait_connected(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut c = self.inner.conn.lock().unwrap();
        loop {
            match c.state {
                ConnectionState::Connected if c.writer.is_some() => return Ok(()),
                ConnectionState::Closed => return Err(Error::connection("client is closed")),
                _ => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::timeout("not connected by the deadline"));
            }
            c = self.inner.conn_cv.wait_timeout(c, deadline - now).unwrap().0;
        }
    }

    fn deadline(&self, t: Option<Duration>) -> Instant {
        Instant::now() + t.unwrap_or(self.inner.opts.request_timeout)
    }

    // ------------------------------------------------------------------------------ publish

    /// Appends a message; returns its sequence.
    pub fn publish(&self, stream: &str, payload: &[u8]) -> Result<u64> {
        self.publish_with(stream, payload, &PublishOptions::default()).map(|a| a.first_sequence)
    }

    /// Appends a message only as sequence `expected_sequence` (else `Error::SequenceMismatch`).
    pub fn publish_expect(&self, stream: &str, payload: &[u8], expected_sequence: u64) -> Result<u64> {
        self.publish_with(stream, payload, &PublishOptions::expected(expected_sequence)).map(|a| a.first_sequence)
    }

    /// Appends one message as `opts` say (expected sequence, idempotent producer).
    pub fn publish_with(&self, stream: &str, payload: &[u8], opts: &PublishOptions) -> Result<PublishAck> {
        if opts.producer.is_some() {
            return self.publish_batch(stream, &[payload], opts);
        }
        self.publish_async(stream, payload, opts)?.wait()
    }

    /// Sends a publish without waiting for its ack (pipelining); `wait` on the result.
    pub fn publish_async(&self, stream: &str, payload: &[u8], opts: &PublishOptions) -> Result<PendingAck> {
        if opts.producer.is_some() {
            return self.publish_batch_async(stream, &[payload], opts);
        }
        check_name("stream", stream)?;
        let id = self.inner.calls.next_id();
        let mut buf = Vec::with_capacity(payload.len() + stream.len() + 24);
        let mut w = codec::Writer::begin(&mut buf, 0x10, 0, id);
        w.string(stream).u64(opts.expected_sequence).bytes(payload);
        w.end();
        let p = self.inner.start_call(id, buf, self.deadline(opts.timeout), true, false, || format!("PUBLISH to '{}'", stream))?;
        Ok(PendingAck { call: p })
    }

    /// Appends messages atomically at consecutive sequences (PUBLISH_BATCH, or PUBLISH_IDEMPOTENT
    /// with a producer: resent after a reconnect, appended at most once).
    pub fn publish_batch<T: AsRef<[u8]>>(&self, stream: &str, payloads: &[T], opts: &PublishOptions) -> Result<PublishAck> {
        self.publish_batch_async(stream, payloads, opts)?.wait()
    }

    pub fn publish_batch_async<T: AsRef<[u8]>>(&self, stream: &str, payloads: &[T], opts: &PublishOptions) -> Result<PendingAck> {
        check_name("stream", stream)?;
        if payloads.is_empty() {
            return Err(Error::client("a batch needs at least one message"));
        }
        let id = self.inner.calls.next_id();
        let size: usize = payloads.iter().map(|p| p.as_ref().len() + 4).sum();
        let mut buf = Vec::with_capacity(size + stream.len() + 64);
        match &opts.producer {
            Some((pid, pseq)) => {
                check_name("producer id", pid)?;
                if *pseq == 0 || *pseq > i64::MAX as u64 {
                    return Err(Error::client("producer sequence must be 1..2^63-1"));
                }
                let mut w = codec::Writer::begin(&mut buf, 0x13, 0, id);
                w.string(stream).u64(opts.expected_sequence).string(pid).u64(*pseq).records(payloads);
                w.end();
            }
            None => {
                let mut w = codec::Writer::begin(&mut buf, 0x11, 0, id);
                w.string(stream).u64(opts.expected_sequence).records(payloads);
                w.end();
            }
        }
        let resend = opts.producer.is_some();
        let p = self.inner.start_call(id, buf, self.deadline(opts.timeout), true, resend, || {
            format!("PUBLISH_BATCH of {} to '{}'", payloads.len(), stream)
        })?;
        Ok(PendingAck { call: p })
    }

    /// Publishes records already laid out as a PUBLISH_BATCH frame body by `encode`
    /// (the batching publisher's path: no copies of the payloads).
    pub(crate) fn publish_encoded(&self, id: u64, frame: Vec<u8>, deadline: Instant) -> Result<PendingAck> {
        let p = self.inner.start_call(id, frame, deadline, true, false, || "PUBLISH_BATCH".to_string())?;
        Ok(PendingAck { call: p })
    }

    pub(crate) fn next_request_id(&self) -> u64 {
        self.inner.calls.next_id()
    }

    // ------------------------------------------------------------------------------ reading

    /// Reads up to `max` messages from `from` at once (no subscription).
    pub fn fetch(&self, stream: &str, from: u64, max: u32) -> Result<FetchResult> {
        check_name("stream", stream)?;
        let f = self.inner.call(
            |id| Frame::Fetch { request_id: id, stream: stream.to_string(), from_sequence: from, max_messages: max },
            self.deadline(None),
            false,
        )?;
        match f {
            Frame::Fetched { last_sequence, first_sequence, records, .. } => Ok(FetchResult {
                last_sequence,
                first_sequence,
                messages: records.into_iter().enumerate().map(|(i, payload)| Message { sequence: first_sequence + i as u64, payload }).collect(),
            }),
            other => Err(unexpected("FETCH", &other)),
        }
    }

    /// Opens a subscription (or a durable consumer's) and waits for the broker's SUBSCRIBED.
    pub fn subscribe(&self, stream: &str, opts: SubscribeOptions) -> Result<Subscription> {
        check_name("stream", stream)?;
        if let Some(c) = &opts.consumer {
            check_name("consumer", c)?;
        } else if opts.max_lag > 0 {
            return Err(Error::client("maxLag needs a durable consumer"));
        }
        let deadline = self.deadline(opts.timeout);
        let id = self.inner.next_sub.fetch_add(1, Ordering::Relaxed) % (i32::MAX as u32) + 1;
        let sub = Arc::new(SubShared::new(id, stream, opts, self.inner.opts.subscription_window));
        {
            let mut c = self.inner.conn.lock().unwrap();
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(Error::connection("client is closed"));
            }
            self.inner.subs.lock().unwrap().insert(id, sub.clone());
            if c.writer.is_some() {
                let mut buf = Vec::new();
                self.inner.open_subscription(&sub, &mut buf);
                self.inner.write_locked(&mut c, &buf);
            } // else: opened with the others once reconnected
        }
        let s = Subscription { inner: self.inner.clone(), sub };
        match s.sub.wait_started(deadline) {
            Ok(_) => Ok(s),
            Err(e) => {
                s.forget();
                Err(e)
            }
        }
    }

    /// The stream's durable consumers, their positions and the gate's counters.
    pub fn consumers(&self, stream: &str) -> Result<StreamConsumers> {
        check_name("stream", stream)?;
        match self.inner.call(|id| Frame::Consumers { request_id: id, stream: stream.to_string() }, self.deadline(None), false)? {
            Frame::ConsumerList { last_sequence, held_publishes, held_millis, rejected_publishes, consumers, .. } => {
                Ok(StreamConsumers { last_sequence, held_publishes, held_millis, rejected_publishes, consumers })
            }
            other => Err(unexpected("CONSUMERS", &other)),
        }
    }

    // ------------------------------------------------------------------------------ request/reply

    /// Sends a request to one responder of `subject`; the reply, or the error, by `timeout`.
    pub fn request(&self, subject: &str, payload: &[u8], timeout: Duration) -> Result<Vec<u8>> {
        check_name("subject", subject)?;
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as u32;
        // the broker answers TIMEOUT at the deadline; the client's own deadline is a little later
        let deadline = Instant::now() + timeout + timeout.min(Duration::from_secs(1));
        let id = self.inner.calls.next_id();
        let mut buf = Vec::with_capacity(payload.len() + subject.len() + 24);
        let mut w = codec::Writer::begin(&mut buf, 0x30, 0, id);
        w.string(subject).u32(ms).bytes(payload);
        w.end();
        let p = self.inner.start_call(id, buf, deadline, true, false, || format!("REQUEST on '{}'", subject))?;
        match p.wait()? {
            Frame::Response { payload, .. } => Ok(payload),
            other => Err(unexpected("REQUEST", &other)),
        }
    }

    /// Answers requests on `subject` with `handler` (run on the client's responder threads);
    /// returns once the broker confirmed. Registered again after every reconnect.
    pub fn respond<F>(&self, subject: &str, handler: F) -> Result<Responder>
    where
        F: Fn(&Request) -> std::result::Result<Vec<u8>, String> + Send + Sync + 'static,
    {
        check_name("subject", subject)?;
        let inner = &self.inner;
        let mut pool = inner.pool.lock().unwrap();
        if pool.is_none() {
            let weak: Weak<Inner> = Arc::downgrade(inner);
            *pool = Some(Arc::new(ResponderPool::new(
                inner.opts.responder_threads,
                inner.opts.max_queued_requests,
                Arc::new(move |f: Frame| {
                    if let Some(i) = weak.upgrade() {
                        i.send_oneway(&f);
                    }
                }),
            )));
        }
        drop(pool);
        {
            let mut r = inner.responders.lock().unwrap();
            if r.contains_key(subject) {
                return Err(Error::client(format!("this client already responds on '{}'", subject)));
            }
            r.insert(subject.to_string(), Arc::new(handler));
        }
        match inner.call(|id| Frame::RespondOn { request_id: id, subject: subject.to_string() }, self.deadline(None), false) {
            Ok(_) => Ok(Responder { inner: inner.clone(), subject: subject.to_string(), open: true }),
            Err(e) => {
                inner.responders.lock().unwrap().remove(subject);
                Err(e)
            }
        }
    }

    // ------------------------------------------------------------------------------ access control

    /// AUTH_OK of the current connection (None without a credential or while disconnected).
    pub fn principal(&self) -> Option<AuthInfo> {
        self.inner.conn.lock().unwrap().auth.clone()
    }

    /// Presents a fresh bearer token on the current connection (e.g. before the current one
    /// expires); the broker replaces the connection's principal. Once AUTH_OK came the token is
    /// used for later connections too. `Error::AuthFailed`: refused (the broker closes the
    /// connection; the client reconnects with the previous credential).
    pub fn auth(&self, token: &str) -> Result<AuthInfo> {
        if token.is_empty() {
            return Err(Error::client("empty token"));
        }
        let f = self.inner.call(
            |id| Frame::Auth { request_id: id, mechanism: "bearer".to_string(), credential: token.as_bytes().to_vec() },
            self.deadline(None),
            false,
        )?;
        match f {
            Frame::AuthOk { principal, expires_at_millis, .. } => {
                let info = AuthInfo { principal, expires_at_millis };
                let mut g = self.inner.conn.lock().unwrap();
                g.token = Some(token.to_string());
                g.auth = Some(info.clone());
                Ok(info)
            }
            other => Err(unexpected("AUTH", &other)),
        }
    }

    /// Up to `max` (1..1000) streams the principal may administer, names after `after`.
    pub fn streams(&self, after: &str, max: u32) -> Result<StreamPage> {
        if !(1..=1000).contains(&max) {
            return Err(Error::client("max must be 1..1000"));
        }
        match self.inner.call(|id| Frame::Streams { request_id: id, after: after.to_string(), max }, self.deadline(None), false)? {
            Frame::StreamList { streams, more, .. } => Ok(StreamPage { streams, more }),
            other => Err(unexpected("STREAMS", &other)),
        }
    }

    /// Deletes a stream, its records and durable consumers (NOT_FOUND if absent).
    pub fn delete_stream(&self, stream: &str) -> Result<()> {
        check_name("stream", stream)?;
        self.admin_ok("DELETE_STREAM", |id| Frame::DeleteStream { request_id: id, stream: stream.to_string() })
    }

    /// Drops records below `before_sequence` as far as the storage granularity allows.
    pub fn trim_stream(&self, stream: &str, before_sequence: u64) -> Result<()> {
        check_name("stream", stream)?;
        self.admin_ok("TRIM_STREAM", |id| Frame::TrimStream { request_id: id, stream: stream.to_string(), before_sequence })
    }

    /// Deletes a durable consumer and its position (NOT_FOUND if absent).
    pub fn delete_consumer(&self, stream: &str, consumer: &str) -> Result<()> {
        check_name("stream", stream)?;
        check_name("consumer", consumer)?;
        self.admin_ok("DELETE_CONSUMER", |id| Frame::DeleteConsumer {
            request_id: id,
            stream: stream.to_string(),
            consumer: consumer.to_string(),
        })
    }

    fn admin_ok(&self, what: &str, build: impl FnOnce(u64) -> Frame) -> Result<()> {
        match self.inner.call(build, self.deadline(None), false)? {
            Frame::Ok { .. } => Ok(()),
            other => Err(unexpected(what, &other)),
        }
    }

    /// Round trip to the broker.
    pub fn ping(&self) -> Result<Duration> {
        let t = Instant::now();
        self.inner.call(|id| Frame::Ping { request_id: id }, self.deadline(None), false)?;
        Ok(t.elapsed())
    }

    /// Closes the connection: pending calls fail with `Error::Connection`, subscriptions end.
    pub fn close(&self) {
        self.inner.close("client closed");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

/// Milliseconds since 1970.
fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Asks the token provider for a fresh token when three quarters of the credential's remaining
/// lifetime have passed and sends AUTH on the connection of `generation`, as long as it is the
/// current one (the wait is on the connection condvar: a reconnect or close ends it at once). A
/// failure is reported; the broker then ends the connection with AUTH_EXPIRED and the reconnect
/// authenticates afresh.
fn refresh_credential(weak: Weak<Inner>, generation: u64, mut expires: u64) {
    loop {
        let now = now_millis();
        let until = Instant::now() + Duration::from_millis(expires.saturating_sub(now) * 3 / 4);
        let inner = match weak.upgrade() {
            Some(i) => i,
            None => return,
        };
        {
            let mut g = inner.conn.lock().unwrap();
            loop {
                if inner.closed.load(Ordering::SeqCst) || g.generation != generation || g.token.is_some() {
                    return;
                }
                let now = Instant::now();
                if now >= until {
                    break;
                }
                g = inner.conn_cv.wait_timeout(g, until - now).unwrap().0;
            }
        }
        let provider = match &inner.opts.token_provider {
            Some(p) => p.clone(),
            None => return,
        };
        let result = provider().map_err(|e| Error::client(format!("the token provider failed: {}", e))).and_then(|t| {
            inner.call(
                |id| Frame::Auth { request_id: id, mechanism: "bearer".to_string(), credential: t.into_bytes() },
                Instant::now() + inner.opts.request_timeout,
                false,
            )
        });
        match result {
            Ok(Frame::AuthOk { principal, expires_at_millis, .. }) => {
                let mut g = inner.conn.lock().unwrap();
                if g.generation != generation {
                    return;
                }
                g.auth = Some(AuthInfo { principal, expires_at_millis });
                expires = expires_at_millis;
                if expires == 0 {
                    return;
                }
            }
            Ok(other) => {
                inner.event(Event::Error(unexpected("AUTH", &other)));
                return;
            }
            Err(e) => {
                inner.event(Event::Error(Error::client(format!("refreshing the credential before it expires: {}", e))));
                return;
            }
        }
    }
}

/// The credential for a new connection: the token set by `auth`, else the provider's, else the
/// options' token; None: no AUTH.
fn credential(opts: &ClientOptions, set_by_auth: Option<String>) -> Result<Option<Vec<u8>>> {
    if let Some(t) = set_by_auth {
        return Ok(Some(t.into_bytes()));
    }
    if let Some(p) = &opts.token_provider {
        let t = p().map_err(|e| Error::client(format!("the token provider failed: {}", e)))?;
        if t.is_empty() {
            return Err(Error::client("the token provider returned an empty token"));
        }
        return Ok(Some(t.into_bytes()));
    }
    Ok(opts.token.as_ref().map(|t| t.clone().into_bytes()))
}

fn unexpected(what: &str, f: &Frame) -> Error {
    Error::Protocol { code: codec::ErrorCode::MalformedFrame, message: format!("{} answered with {}", what, f.type_name()) }
}

/// A publish in flight.
pub struct PendingAck {
    call: PendingCall,
}

impl PendingAck {
    /// Waits for the ack until the publish's deadline.
    pub fn wait(self) -> Result<PublishAck> {
        match self.call.wait()? {
            Frame::PublishAck { first_sequence, count, duplicate, .. } => Ok(PublishAck { first_sequence, count, duplicate }),
            other => Err(unexpected("PUBLISH", &other)),
        }
    }
}

/// A subscription: take messages in sequence order with deadlines (`recv_timeout`), each once,
/// across reconnects. Unsubscribes on drop.
pub struct Subscription {
    inner: Arc<Inner>,
    sub: Arc<SubShared>,
}

impl Subscription {
    pub fn stream(&self) -> &str {
        &self.sub.stream
    }
    pub fn id(&self) -> u32 {
        self.sub.id
    }
    /// The next message, waiting at most `timeout` (`Error::Timeout` then); the subscription's
    /// error once it ended and everything received before was taken.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message> {
        self.recv_deadline(Instant::now() + timeout)
    }
    pub fn recv_deadline(&self, deadline: Instant) -> Result<Message> {
        let (m, grant) = self.sub.take(deadline)?;
        if let Some(n) = grant {
            self.inner.send_oneway(&Frame::Credit { request_id: 0, subscription_id: self.sub.id, credits: n });
        }
        Ok(m)
    }
    /// A message if one is buffered now.
    pub fn try_recv(&self) -> Option<Message> {
        self.recv_deadline(Instant::now()).ok()
    }
    /// Iterates messages, each waited for at most `timeout`; ends at the first error.
    pub fn iter_timeout(&self, timeout: Duration) -> impl Iterator<Item = Message> + '_ {
        std::iter::from_fn(move || self.recv_timeout(timeout).ok())
    }
    /// Acknowledges every message up to `sequence` (durable consumers), confirmed by the broker.
    /// Sent again after a reconnect if the connection drops before the confirmation.
    pub fn ack(&self, sequence: u64) -> Result<()> {
        if self.sub.opts.consumer.is_none() {
            return Err(Error::client("not a durable consumer's subscription: nothing to ack"));
        }
        // cumulative and never moving back: safe to send again after a reconnect (after the
        // CONSUME that reopens the subscription), like an idempotent publish
        let id = self.inner.calls.next_id();
        let f = Frame::Ack { request_id: id, subscription_id: self.sub.id, sequence };
        let deadline = Instant::now() + self.inner.opts.request_timeout;
        self.inner.start_call(id, codec::encode(&f, 1), deadline, false, true, || "ACK".to_string())?.wait().map(|_| ())
    }
    /// The first sequence this subscription delivered or will deliver (SUBSCRIBED's).
    pub fn start_sequence(&self) -> u64 {
        self.sub.started().unwrap_or(0)
    }
    /// Sequence after the last message received (where a resume starts).
    pub fn next_sequence(&self) -> u64 {
        self.sub.next_sequence()
    }
    pub fn buffered(&self) -> usize {
        self.sub.buffered()
    }
    pub fn is_open(&self) -> bool {
        self.sub.is_open()
    }
    /// Unsubscribes (waits for the broker's OK up to the request timeout).
    pub fn close(self) -> Result<()> {
        self.forget_and_unsubscribe(true)
    }

    fn forget(&self) {
        let _ = self.forget_and_unsubscribe(false);
    }

    fn forget_and_unsubscribe(&self, wait: bool) -> Result<()> {
        let was = self.inner.subs.lock().unwrap().remove(&self.sub.id).is_some();
        let open = self.sub.is_open();
        self.sub.end(Error::client("subscription closed"));
        if !was || !open || self.inner.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let id = self.sub.id;
        let r = self.inner.call_nowait(|rid| Frame::Unsubscribe { request_id: rid, subscription_id: id }, Instant::now() + self.inner.opts.request_timeout);
        match (wait, r) {
            (true, Ok(p)) => match p.wait() {
                Ok(_) | Err(Error::Server { code: codec::ErrorCode::UnknownSubscription, .. }) => Ok(()),
                Err(e) => Err(e),
            },
            (_, Err(e)) => Err(e),
            _ => Ok(()),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.inner.subs.lock().unwrap().contains_key(&self.sub.id) {
            self.forget();
        }
    }
}

/// A responder registration; `close` stops answering (RESPOND_OFF).
pub struct Responder {
    inner: Arc<Inner>,
    subject: String,
    open: bool,
}

impl Responder {
    pub fn subject(&self) -> &str {
        &self.subject
    }
    pub fn close(mut self) -> Result<()> {
        self.stop(true)
    }
    fn stop(&mut self, wait: bool) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        self.inner.responders.lock().unwrap().remove(&self.subject);
        if self.inner.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let s = self.subject.clone();
        let p = self.inner.call_nowait(|id| Frame::RespondOff { request_id: id, subject: s }, Instant::now() + self.inner.opts.request_timeout)?;
        if wait {
            p.wait()?;
        }
        Ok(())
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.stop(false);
    }
}

// ---------------------------------------------------------------------------------- internals

impl Inner {
    fn event(&self, e: Event) {
        if let Some(l) = &self.opts.listener {
            l(e);
        }
    }

    /// Writes to the current socket (lock held); a failed write shuts it so the reader reconnects.
    fn write_locked(&self, c: &mut Conn, bytes: &[u8]) -> bool {
        if let Some(w) = c.writer.as_mut() {
            if w.write_all(bytes).is_ok() {
                return true;
            }
            w.shutdown();
            c.writer = None;
        }
        false
    }

    /// A frame that expects no answer; dropped when not connected (credits and answers to
    /// forwarded requests mean nothing on a later connection).
    pub(crate) fn send_oneway(&self, f: &Frame) {
        let mut c = self.conn.lock().unwrap();
        if c.writer.is_some() {
            let b = codec::encode(f, c.version);
            self.write_locked(&mut c, &b);
        }
    }

    /// Registers a call and writes it now, or queues it for the reconnect.
    fn start_call(
        &self,
        id: u64,
        bytes: Vec<u8>,
        deadline: Instant,
        counts: bool,
        resendable: bool,
        what: impl FnOnce() -> String,
    ) -> Result<PendingCall> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::connection("client is closed"));
        }
        let what = what();
        if counts && !self.calls.window.acquire(deadline) {
            return Err(Error::timeout(format!(
                "{} calls already await answers; {} was not sent by its deadline",
                self.calls.window.size, what
            )));
        }
        let bytes = Arc::new(bytes);
        let rx = self.calls.insert_waiting(id, counts, if resendable { Some(bytes.clone()) } else { None });
        let pending = PendingCall { id, rx, deadline, table: self.calls.clone(), what };
        let mut c = self.conn.lock().unwrap();
        if bytes.len() - 4 > c.max_frame_length as usize {
            let max = c.max_frame_length;
            drop(c);
            self.calls.complete(id, Err(Error::client(format!("frame of {} bytes exceeds the broker's maximum of {}", bytes.len() - 4, max))));
            return Ok(pending);
        }
        if c.state == ConnectionState::Closed {
            drop(c);
            self.calls.complete(id, Err(Error::connection("client is closed")));
        } else if c.writer.is_some() {
            self.calls.mark_written(id);
            self.write_locked(&mut c, &bytes);
        } else {
            c.outbound.push_back((id, bytes));
        }
        Ok(pending)
    }

    fn call_nowait(&self, build: impl FnOnce(u64) -> Frame, deadline: Instant) -> Result<PendingCall> {
        let id = self.calls.next_id();
        let f = build(id);
        let what = f.type_name();
        let version = self.conn.lock().unwrap().version;
        self.start_call(id, codec::encode(&f, version), deadline, false, false, || what.to_string())
    }

    fn call(&self, build: impl FnOnce(u64) -> Frame, deadline: Instant, counts: bool) -> Result<Frame> {
        let id = self.calls.next_id();
        let f = build(id);
        let what = f.type_name();
        let version = self.conn.lock().unwrap().version;
        self.start_call(id, codec::encode(&f, version), deadline, counts, false, || what.to_string())?.wait()
    }

    /// Appends the SUBSCRIBE/CONSUME of `sub` to `buf` and registers its answer (conn lock held).
    fn open_subscription(self: &Arc<Inner>, sub: &Arc<SubShared>, buf: &mut Vec<u8>) {
        let id = self.calls.next_id();
        let f = sub.open_frame(id);
        let s2 = sub.clone();
        let weak = Arc::downgrade(self);
        self.calls.insert(
            id,
            Completion::Callback(Box::new(move |r| match r {
                Ok(Frame::Error { code, message, fields, .. }) => {
                    let e = Error::from_wire(code, message, &fields);
                    if let Some(i) = weak.upgrade() {
                        i.subs.lock().unwrap().remove(&s2.id);
                        i.event(Event::Error(e.clone()));
                    }
                    s2.end(e);
                }
                // Ok(SUBSCRIBED) was applied by the reader already; a connection error means the
                // reconnect opens it again
                _ => {}
            })),
            false,
            None,
        );
        self.calls.mark_written(id);
        codec::encode_into(&f, 1, buf);
    }

    /// A handshaken connection becomes the current one: subscriptions, responders, idempotent
    /// resends, then queued calls are written before anyone else can write. Returns the reader.
    fn install(self: &Arc<Inner>, c: Connected) -> Option<(codec::FrameReader<Transport>, u64)> {
        let Connected { address, writer, reader, welcome } = c;
        let _ = writer.set_write_timeout(Some(self.opts.request_timeout));
        let mut ended = Vec::new();
        let mut g = self.conn.lock().unwrap();
        if self.closed.load(Ordering::SeqCst) {
            writer.shutdown();
            return None;
        }
        if g.store_id != 0 && g.store_id != welcome.store_id {
            // another store: the streams' history is not the one read; resuming by sequence
            // would silently skip or repeat
            let mut subs = self.subs.lock().unwrap();
            for (_, s) in subs.drain() {
                ended.push(s);
            }
        }
        g.store_id = welcome.store_id;
        g.version = welcome.version;
        g.max_frame_length = welcome.max_frame_length;
        g.address = Some(address.to_string());
        g.auth = welcome.principal.clone().map(|principal| AuthInfo { principal, expires_at_millis: welcome.expires_at_millis });
        g.generation += 1;
        let generation = g.generation;
        let mut buf = Vec::new();
        let mut subs: Vec<Arc<SubShared>> = self.subs.lock().unwrap().values().cloned().collect();
        subs.sort_by_key(|s| s.id);
        for s in subs.iter().filter(|s| s.is_open()) {
            self.open_subscription(s, &mut buf);
        }
        let subjects: Vec<String> = self.responders.lock().unwrap().keys().cloned().collect();
        for subject in subjects {
            let id = self.calls.next_id();
            let weak = Arc::downgrade(self);
            let s2 = subject.clone();
            self.calls.insert(
                id,
                Completion::Callback(Box::new(move |r| {
                    if let Ok(Frame::Error { code, message, fields, .. }) = r {
                        if let Some(i) = weak.upgrade() {
                            let e = Error::from_wire(code, format!("RESPOND_ON '{}' after reconnect: {}", s2, message), &fields);
                            i.event(Event::Error(e));
                        }
                    }
                })),
                false,
                None,
            );
            self.calls.mark_written(id);
            codec::encode_into(&Frame::RespondOn { request_id: id, subject }, 1, &mut buf);
        }
        let resend = std::mem::take(&mut g.resend);
        let outbound: Vec<_> = g.outbound.drain(..).collect();
        for (id, b) in resend.into_iter().chain(outbound) {
            if self.calls.contains(id) {
                self.calls.mark_written(id);
                buf.extend_from_slice(&b);
            }
        }
        let shut = writer.try_clone().ok();
        g.writer = Some(writer);
        g.shut = shut;
        g.state = ConnectionState::Connected;
        if !buf.is_empty() {
            self.write_locked(&mut g, &buf);
        }
        drop(g);
        self.conn_cv.notify_all();
        let store_msg = "the broker came back with a different store: the streams' history was lost, so the subscription cannot resume without a gap; subscribe again";
        for s in ended {
            s.end(Error::StoreChanged { message: store_msg.to_string() });
        }
        self.event(Event::Connected { address: address.to_string(), version: welcome.version });
        if welcome.expires_at_millis != 0 && self.opts.token_provider.is_some() && self.opts.token_refresh {
            let weak = Arc::downgrade(self);
            let expires = welcome.expires_at_millis;
            let _ = thread::Builder::new().name("wirebus-refresh".into()).spawn(move || refresh_credential(weak, generation, expires));
        }
        Some((reader, generation))
    }

    /// The reader thread: reads until the connection ends, then reconnects, until closed.
    fn run(self: Arc<Inner>, first: (codec::FrameReader<Transport>, u64)) {
        let mut reader = Some(first);
        loop {
            if let Some((mut r, generation)) = reader.take() {
                let why = self.read_loop(&mut r, generation);
                self.on_disconnected(&why);
            }
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            match self.reconnect() {
                Some(c) => reader = self.install(c),
                None => return,
            }
        }
    }

    fn read_loop(self: &Arc<Inner>, r: &mut codec::FrameReader<Transport>, generation: u64) -> String {
        loop {
            match r.read_frame() {
                Ok(f) => {
                    if let Err(why) = self.dispatch(f, generation) {
                        self.event(Event::Error(Error::Protocol { code: codec::ErrorCode::MalformedFrame, message: why.clone() }));
                        return why;
                    }
                }
                Err(ReadError::Eof) => return "connection closed by the broker".into(),
                Err(ReadError::Io(e)) => return format!("connection failed: {}", e),
                Err(ReadError::Frame(e)) => {
                    let why = format!("broker sent a bad frame: {}", e);
                    self.event(Event::Error(Error::Protocol { code: e.code, message: why.clone() }));
                    return why;
                }
            }
        }
    }

    /// Handles one frame from the broker (reader thread). Err: drop the connection.
    fn dispatch(self: &Arc<Inner>, f: Frame, generation: u64) -> std::result::Result<(), String> {
        match f {
            Frame::Deliver { subscription_id, first_sequence, records, .. } => {
                let s = self.subs.lock().unwrap().get(&subscription_id).cloned();
                if let Some(s) = s {
                    s.on_deliver(first_sequence, records)?;
                }
            }
            Frame::Subscribed { request_id, subscription_id, start_sequence } => {
                let s = self.subs.lock().unwrap().get(&subscription_id).cloned();
                if let Some(s) = s {
                    s.on_subscribed(start_sequence)?;
                }
                self.calls.complete(request_id, Ok(Frame::Subscribed { request_id, subscription_id, start_sequence }));
            }
            Frame::SubscriptionClosed { subscription_id, code, message, fields, .. } => {
                let s = self.subs.lock().unwrap().remove(&subscription_id);
                if let Some(s) = s {
                    let e = Error::from_wire(code, message, &fields);
                    self.event(Event::Error(e.clone()));
                    s.end(e);
                }
            }
            Frame::Request { request_id, subject, payload, timeout_millis } => {
                let h = self.responders.lock().unwrap().get(&subject).cloned();
                let pool = self.pool.lock().unwrap().clone();
                let answer = match (h, pool) {
                    (Some(h), Some(pool)) => {
                        let timeout = Duration::from_millis(timeout_millis as u64);
                        pool.submit(request_id, Request { subject, payload, timeout }, h)
                    }
                    _ => Some(Frame::Error {
                        request_id,
                        code: codec::ErrorCode::ResponderFailed.code(),
                        message: format!("this client no longer responds on subject '{}'", subject),
                        fields: vec![],
                    }),
                };
                if let Some(a) = answer {
                    self.send_from_reader(a);
                }
            }
            Frame::Ping { request_id } => self.send_from_reader(Frame::Pong { request_id }),
            Frame::GoAway { code, message, .. } => {
                // stop sending new work here (new calls wait for the reconnect); answers still
                // come until the broker closes. Not on this thread: it never waits for the
                // write lock (a caller may be blocked writing while the broker waits for us).
                let weak = Arc::downgrade(self);
                let _ = thread::Builder::new().name("wirebus-goaway".into()).spawn(move || {
                    if let Some(i) = weak.upgrade() {
                        let mut g = i.conn.lock().unwrap();
                        if g.generation == generation {
                            g.writer = None;
                        }
                    }
                });
                self.event(Event::GoAway { code, message });
            }
            Frame::Error { request_id: 0, code, message, fields } => {
                self.event(Event::Error(Error::from_wire(code, message, &fields)));
            }
            other => {
                let id = other.request_id();
                self.calls.complete(id, Ok(other));
            }
        }
        Ok(())
    }

    /// The reader never waits for the write lock (a caller may be blocked writing while the
    /// broker waits for us to read): its rare frames go out from a short-lived thread.
    fn send_from_reader(self: &Arc<Inner>, f: Frame) {
        let weak = Arc::downgrade(self);
        let _ = thread::Builder::new().name("wirebus-reply".into()).spawn(move || {
            if let Some(i) = weak.upgrade() {
                i.send_oneway(&f);
            }
        });
    }

    fn on_disconnected(&self, why: &str) {
        let address = {
            let mut g = self.conn.lock().unwrap();
            g.writer = None;
            if let Some(s) = g.shut.take() {
                s.shutdown();
            }
            if g.state != ConnectionState::Closed {
                g.state = ConnectionState::Reconnecting;
            }
            g.address.clone().unwrap_or_default()
        };
        let resend = self.calls.on_disconnect(&format!("connection to {} lost ({})", address, why));
        {
            let mut g = self.conn.lock().unwrap();
            let mut all = resend;
            all.append(&mut g.resend);
            all.sort_by_key(|(id, _)| *id);
            g.resend = all;
        }
        self.conn_cv.notify_all();
        if !self.closed.load(Ordering::SeqCst) {
            self.event(Event::Lost { reason: format!("{}: {}", address, why) });
        }
    }

    /// Tries every address per attempt, with backoff between attempts; None when closed or
    /// out of attempts (then the client closes, failing what waits).
    fn reconnect(self: &Arc<Inner>) -> Option<Connected> {
        let mut attempt = 0u32;
        let mut last = String::from("no attempt made");
        loop {
            attempt += 1;
            if attempt > self.opts.reconnect.max_attempts {
                self.close(&format!("gave up reconnecting after {} attempts: {}", attempt - 1, last));
                return None;
            }
            let until = Instant::now() + self.opts.reconnect.delay(attempt);
            {
                let mut g = self.conn.lock().unwrap();
                loop {
                    if self.closed.load(Ordering::SeqCst) {
                        return None;
                    }
                    let now = Instant::now();
                    if now >= until {
                        break;
                    }
                    g = self.conn_cv.wait_timeout(g, until - now).unwrap().0;
                }
            }
            for a in &self.addresses {
                let token = self.conn.lock().unwrap().token.clone();
                let cred = match credential(&self.opts, token) {
                    Ok(c) => c,
                    Err(e) => {
                        last = e.to_string();
                        continue;
                    }
                };
                let auth_id = self.calls.next_id();
                let auth = cred.as_deref().map(|c| (auth_id, c));
                match connect_and_authenticate(a, &self.opts.name, self.opts.connect_timeout, self.calls.next_id(), auth) {
                    Ok(c) => return Some(c),
                    Err(e) if is_final_auth_error(&e) => {
                        self.event(Event::Error(e.clone()));
                        self.close(&format!("reconnecting to {} failed for good: {}", a, e));
                        return None;
                    }
                    Err(e) => last = e.to_string(),
                }
            }
        }
    }

    fn close(&self, why: &str) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        {
            let mut g = self.conn.lock().unwrap();
            g.state = ConnectionState::Closed;
            g.writer = None;
            if let Some(s) = g.shut.take() {
                s.shutdown();
            }
            g.outbound.clear();
            g.resend.clear();
        }
        self.conn_cv.notify_all();
        self.calls.fail_all(why);
        let subs: Vec<_> = self.subs.lock().unwrap().drain().map(|(_, s)| s).collect();
        for s in subs {
            s.end(Error::connection(why.to_string()));
        }
        let pool = self.pool.lock().unwrap().take();
        if let Some(p) = pool {
            p.close();
        }
        let h = self.manager.lock().unwrap().take();
        if let Some(h) = h {
            if h.thread().id() != thread::current().id() {
                let _ = h.join();
            }
        }
        self.event(Event::Closed);
    }
}

/// An idempotent producer: numbers its batches itself (strictly increasing producer sequences
/// from `first_sequence`) and publishes each as PUBLISH_IDEMPOTENT, so a batch whose ack was lost
/// with the connection is sent again after the reconnect and appended at most once.
pub struct IdempotentProducer<'a> {
    client: &'a Client,
    producer_id: String,
    next: std::sync::atomic::AtomicU64,
}

impl<'a> IdempotentProducer<'a> {
    /// `first_sequence` must be above the producer's last appended sequence (a restarted
    /// producer can take, for example, the wall clock in microseconds: gaps are allowed).
    pub fn new(client: &'a Client, producer_id: &str, first_sequence: u64) -> IdempotentProducer<'a> {
        IdempotentProducer { client, producer_id: producer_id.to_string(), next: std::sync::atomic::AtomicU64::new(first_sequence.max(1)) }
    }

    /// Publishes `payloads` as one batch with the next producer sequence.
    pub fn publish_batch<T: AsRef<[u8]>>(&self, stream: &str, payloads: &[T]) -> Result<PublishAck> {
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        self.client.publish_batch(stream, payloads, &PublishOptions::idempotent(&self.producer_id, seq))
    }

    pub fn publish(&self, stream: &str, payload: &[u8]) -> Result<PublishAck> {
        self.publish_batch(stream, &[payload])
    }

    /// The producer sequence the next batch gets.
    pub fn next_sequence(&self) -> u64 {
        self.next.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_says_why_no_address_answered() {
        let e = Client::connect(ClientOptions::new(&["unix:///nonexistent/wirebus.sock", "tcp://127.0.0.1:1"])).err().unwrap();
        assert!(e.is_connection(), "{:?}", e);
        let m = e.message();
        assert!(m.contains("unix:///nonexistent/wirebus.sock") && m.contains("no such socket file"), "{}", m);
        assert!(m.contains("tcp://127.0.0.1:1"), "{}", m);
        let e = Client::connect(ClientOptions::new(&["ftp://x"])).err().unwrap();
        assert_eq!(e.name(), "CLIENT");
        assert_eq!(Client::connect(ClientOptions::new(&[])).err().unwrap().name(), "CLIENT");
    }
}
