//! The batching publisher: callers put messages in bounded queues, one per worker, where each
//! message is copied straight into the PUBLISH_BATCH frame being filled for its stream; N
//! workers, each with its own persistent connection, send those frames whole, keeping a few
//! batches in flight per connection. A stream always
//! goes to the same worker (hash of its name), so messages queued from one thread reach the
//! stream in order.
//!
//! When a queue is full a caller waits up to a deadline (`WhenFull::Block`) or is refused at
//! once (`WhenFull::Reject`). `publish` gives a ticket per message (its sequence or its error);
//! `send` is fire-and-forget: failures after queuing go to the error listener and
//! `failed_count`. Every message is sent at most once; nothing is dropped silently.

use crate::client::{Client, ClientOptions, PendingAck};
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Wait for room up to this long, then fail with `Error::Timeout`.
    Block(Duration),
    /// Fail at once with `Error::Backpressure`.
    Reject,
}

#[derive(Clone)]
pub struct BatchingOptions {
    /// Addresses, name prefix, deadlines of the workers' connections.
    pub client: ClientOptions,
    pub workers: usize,
    /// Messages the queues hold at most, split evenly over the workers.
    pub queue_capacity: usize,
    pub max_batch_messages: usize,
    pub max_batch_bytes: usize,
    /// Batches each worker keeps awaiting acknowledgement at once.
    pub max_in_flight_batches: usize,
    pub when_full: WhenFull,
    /// Hears of failed fire-and-forget messages (count, error).
    pub error_listener: Option<Arc<dyn Fn(usize, &Error) + Send + Sync>>,
}

impl BatchingOptions {
    pub fn new(client: ClientOptions) -> BatchingOptions {
        BatchingOptions {
            client,
            workers: 1,
            queue_capacity: 65_536,
            max_batch_messages: 1000,
            max_batch_bytes: 256 * 1024,
            max_in_flight_batches: 8,
            when_full: WhenFull::Block(Duration::from_secs(10)),
            error_listener: None,
        }
    }
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }
    pub fn when_full(mut self, w: WhenFull) -> Self {
        self.when_full = w;
        self
    }
    pub fn max_batch_messages(mut self, n: usize) -> Self {
        self.max_batch_messages = n.max(1);
        self
    }
    pub fn max_in_flight_batches(mut self, n: usize) -> Self {
        self.max_in_flight_batches = n.max(1);
        self
    }
}

/// A queued message's outcome.
pub struct Ticket {
    rx: Receiver<Result<u64>>,
}

impl Ticket {
    /// Its sequence once acknowledged, or why it failed; `Error::Timeout` after `timeout`.
    pub fn wait(&self, timeout: Duration) -> Result<u64> {
        match self.rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(Error::timeout("message not acknowledged by the deadline")),
            Err(RecvTimeoutError::Disconnected) => Err(Error::connection("publisher dropped the message")),
        }
    }
}

/// A PUBLISH_BATCH being filled by callers: records are copied straight into the frame (no
/// allocation per message); the worker only patches in the request id.
struct Batch {
    stream: Arc<str>,
    frame: Vec<u8>,
    count_at: usize,
    count: u32,
    bytes: usize,
    /// (index in the batch, where its sequence goes) for messages queued with `publish`.
    tickets: Vec<(u32, SyncSender<Result<u64>>)>,
}

impl Batch {
    fn new(stream: Arc<str>, capacity: usize) -> Batch {
        let mut frame = Vec::with_capacity(capacity + stream.len() + 32);
        frame.extend_from_slice(&[0, 0, 0, 0, 0x11, 0]); // length, PUBLISH_BATCH, flags
        frame.extend_from_slice(&0u64.to_be_bytes()); // request id, set when sent
        frame.extend_from_slice(&(stream.len() as u16).to_be_bytes());
        frame.extend_from_slice(stream.as_bytes());
        frame.extend_from_slice(&0u64.to_be_bytes()); // expected sequence: none
        let count_at = frame.len();
        frame.extend_from_slice(&0u32.to_be_bytes());
        Batch { stream, frame, count_at, count: 0, bytes: 0, tickets: Vec::new() }
    }

    fn push(&mut self, payload: &[u8], ticket: Option<SyncSender<Result<u64>>>) {
        if let Some(t) = ticket {
            self.tickets.push((self.count, t));
        }
        self.frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        self.frame.extend_from_slice(payload);
        self.count += 1;
        self.bytes += payload.len() + 4;
    }

    /// The whole frame, with `request_id`.
    fn finish(&mut self, request_id: u64) -> Vec<u8> {
        let len = (self.frame.len() - 4) as u32;
        self.frame[0..4].copy_from_slice(&len.to_be_bytes());
        self.frame[6..14].copy_from_slice(&request_id.to_be_bytes());
        let c = self.count.to_be_bytes();
        self.frame[self.count_at..self.count_at + 4].copy_from_slice(&c);
        std::mem::take(&mut self.frame)
    }
}

struct QState {
    /// Batches closed for more messages, in queue order; then the one being filled.
    sealed: VecDeque<Batch>,
    current: Option<Batch>,
    /// Messages in `sealed` and `current`.
    queued: usize,
    closed: bool,
}

struct Queue {
    st: Mutex<QState>,
    not_empty: Condvar,
    not_full: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct Counts {
    acked: u64,
    failed: u64,
    rejected: u64,
}

struct Shared {
    /// Messages queued so far (an atomic: one per message, no lock).
    queued: AtomicU64,
    counts: Mutex<Counts>,
    settled: Condvar,
    opts: BatchingOptions,
}

pub struct BatchingPublisher {
    queues: Vec<Arc<Queue>>,
    workers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// FNV-1a: the same stream always maps to the same worker.
fn stream_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

impl BatchingPublisher {
    /// Connects the workers (each its own connection) or says why one could not connect.
    pub fn new(opts: BatchingOptions) -> Result<BatchingPublisher> {
        let mut clients = Vec::new();
        for i in 0..opts.workers {
            let mut co = opts.client.clone();
            co.name = format!("{}-{}", opts.client.name, i);
            co.max_in_flight = opts.max_in_flight_batches * 2;
            clients.push(Client::connect(co)?);
        }
        let shared = Arc::new(Shared { queued: AtomicU64::new(0), counts: Mutex::new(Counts::default()), settled: Condvar::new(), opts: opts.clone() });
        let per = (opts.queue_capacity / opts.workers).max(1);
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for (i, client) in clients.into_iter().enumerate() {
            let q = Arc::new(Queue {
                st: Mutex::new(QState { sealed: VecDeque::new(), current: None, queued: 0, closed: false }),
                not_empty: Condvar::new(),
                not_full: Condvar::new(),
                capacity: per,
            });
            queues.push(q.clone());
            let sh = shared.clone();
            let h = thread::Builder::new()
                .name(format!("wirebus-batch-{}", i))
                .spawn(move || Worker { client, queue: q, shared: sh, in_flight: VecDeque::new() }.run())
                .map_err(|e| Error::client(format!("cannot start a worker: {}", e)))?;
            workers.push(h);
        }
        Ok(BatchingPublisher { queues, workers, shared })
    }

    /// Queues a message; the ticket gives its sequence once acknowledged.
    pub fn publish(&self, stream: &str, payload: impl AsRef<[u8]>) -> Result<Ticket> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.enqueue(stream, payload.as_ref(), Some(tx))?;
        Ok(Ticket { rx })
    }

    /// Queues a message without a ticket (fire-and-forget). Err when it was not queued.
    pub fn send(&self, stream: &str, payload: impl AsRef<[u8]>) -> Result<()> {
        self.enqueue(stream, payload.as_ref(), None)
    }

    fn enqueue(&self, stream: &str, payload: &[u8], ticket: Option<SyncSender<Result<u64>>>) -> Result<()> {
        if stream.is_empty() || stream.len() > 65535 {
            return Err(Error::client("stream must be 1 to 65535 UTF-8 bytes"));
        }
        let opts = &self.shared.opts;
        let q = &self.queues[(stream_hash(stream) % self.queues.len() as u64) as usize];
        let mut st = q.st.lock().unwrap();
        // the deadline is read from the clock only once the queue is found full
        let mut deadline: Option<Instant> = None;
        loop {
            if st.closed {
                drop(st);
                self.shared.counts.lock().unwrap().rejected += 1;
                return Err(Error::connection("publisher is closed"));
            }
            if st.queued < q.capacity {
                break;
            }
            let now = Instant::now();
            if let (None, WhenFull::Block(d)) = (deadline, opts.when_full) {
                deadline = Some(now + d);
            }
            match deadline {
                Some(d) if now < d => st = q.not_full.wait_timeout(st, d - now).unwrap().0,
                Some(_) => {
                    drop(st);
                    self.shared.counts.lock().unwrap().rejected += 1;
                    return Err(Error::timeout(format!("publish queue of {} messages stayed full past the deadline", q.capacity)));
                }
                None => {
                    drop(st);
                    self.shared.counts.lock().unwrap().rejected += 1;
                    return Err(Error::Backpressure { retry_after_millis: None, message: format!("publish queue of {} messages is full", q.capacity) });
                }
            }
        }
        // a new batch for another stream, or when the current one is full
        let fits = match &st.current {
            Some(b) => {
                &*b.stream == stream
                    && (b.count as usize) < opts.max_batch_messages
                    && b.bytes + payload.len() + 4 <= opts.max_batch_bytes
            }
            None => false,
        };
        if !fits {
            let name: Arc<str> = match st.current.take() {
                Some(b) => {
                    let name = if &*b.stream == stream { b.stream.clone() } else { Arc::from(stream) };
                    st.sealed.push_back(b);
                    name
                }
                None => Arc::from(stream),
            };
            let hint = (payload.len() + 4) * opts.max_batch_messages.min(64);
            st.current = Some(Batch::new(name, hint.min(opts.max_batch_bytes)));
        }
        st.current.as_mut().unwrap().push(payload, ticket);
        st.queued += 1;
        let wake = st.queued == 1;
        drop(st);
        if wake {
            q.not_empty.notify_one();
        }
        // counted after queuing: flush() waits for what was queued before it was called
        self.shared.queued.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Waits until every message queued so far was acknowledged or failed; false at the deadline.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let target = self.shared.queued.load(Ordering::SeqCst);
        let mut c = self.shared.counts.lock().unwrap();
        while c.acked + c.failed < target {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            c = self.shared.settled.wait_timeout(c, deadline - now).unwrap().0;
        }
        true
    }

    pub fn acked_count(&self) -> u64 {
        self.shared.counts.lock().unwrap().acked
    }
    pub fn failed_count(&self) -> u64 {
        self.shared.counts.lock().unwrap().failed
    }
    pub fn rejected_count(&self) -> u64 {
        self.shared.counts.lock().unwrap().rejected
    }

    /// Stops taking messages, sends what is queued (acks awaited up to the request timeout),
    /// closes the connections.
    pub fn close(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        for q in &self.queues {
            q.st.lock().unwrap().closed = true;
            q.not_empty.notify_all();
            q.not_full.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

impl Drop for BatchingPublisher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    client: Client,
    queue: Arc<Queue>,
    shared: Arc<Shared>,
    in_flight: VecDeque<(PendingAck, Batch)>,
}

enum Next {
    Send(Batch),
    Settle,
    Exit,
}

impl Worker {
    fn run(mut self) {
        loop {
            let next = {
                let mut st = self.queue.st.lock().unwrap();
                loop {
                    let b = match st.sealed.pop_front() {
                        Some(b) => Some(b),
                        None => st.current.take(),
                    };
                    if let Some(b) = b {
                        st.queued -= b.count as usize;
                        self.queue.not_full.notify_all();
                        break Next::Send(b);
                    }
                    if st.closed {
                        break Next::Exit;
                    }
                    if !self.in_flight.is_empty() {
                        break Next::Settle; // nothing new: collect acks rather than sleep on them
                    }
                    st = self.queue.not_empty.wait_timeout(st, Duration::from_millis(200)).unwrap().0;
                }
            };
            match next {
                Next::Send(b) => self.send(b),
                Next::Settle => {
                    let p = self.in_flight.pop_front().unwrap();
                    self.settle(p);
                }
                Next::Exit => {
                    while let Some(p) = self.in_flight.pop_front() {
                        self.settle(p);
                    }
                    return;
                }
            }
        }
    }

    fn send(&mut self, mut b: Batch) {
        while self.in_flight.len() >= self.shared.opts.max_in_flight_batches {
            let p = self.in_flight.pop_front().unwrap();
            self.settle(p);
        }
        let id = self.client.next_request_id();
        let frame = b.finish(id);
        let deadline = Instant::now() + self.shared.opts.client.request_timeout;
        match self.client.publish_encoded(id, frame, deadline) {
            Ok(p) => self.in_flight.push_back((p, b)),
            Err(e) => self.fail(b, &e),
        }
    }

    fn settle(&mut self, (p, b): (PendingAck, Batch)) {
        match p.wait() {
            Ok(ack) => {
                for (k, tx) in b.tickets {
                    let _ = tx.try_send(Ok(ack.first_sequence + k as u64));
                }
                self.shared.counts.lock().unwrap().acked += b.count as u64;
                self.shared.settled.notify_all();
            }
            Err(e) => self.fail(b, &e),
        }
    }

    fn fail(&self, b: Batch, e: &Error) {
        let fire_and_forget = b.count as usize - b.tickets.len();
        for (_, tx) in b.tickets {
            let _ = tx.try_send(Err(e.clone()));
        }
        self.shared.counts.lock().unwrap().failed += b.count as u64;
        self.shared.settled.notify_all();
        if fire_and_forget > 0 {
            if let Some(l) = &self.shared.opts.error_listener {
                l(fire_and_forget, e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_the_publish_batch_frame_of_its_records() {
        let mut b = Batch::new(Arc::from("blocks"), 16);
        let (tx, rx) = mpsc::sync_channel(1);
        b.push(b"a", None);
        b.push(b"", Some(tx));
        b.push(b"bc", None);
        assert_eq!((b.count, b.bytes, b.tickets.len()), (3, 3 + 12, 1));
        assert_eq!(b.tickets[0].0, 1);
        let frame = b.finish(42);
        let want = crate::codec::Frame::PublishBatch {
            request_id: 42,
            stream: "blocks".into(),
            expected_sequence: 0,
            records: vec![b"a".to_vec(), vec![], b"bc".to_vec()],
        };
        assert_eq!(frame, crate::codec::encode(&want, 1));
        drop(rx);
    }

    #[test]
    fn a_stream_always_maps_to_one_worker() {
        assert_eq!(stream_hash("blocks"), stream_hash("blocks"));
        assert_ne!(stream_hash("a") % 7, stream_hash("b") % 7);
    }
}
