//! The call table: request ids from a counter, a bounded in-flight window, answers matched by id,
//! and what happens to calls when the connection drops (fail with a connection error, except
//! idempotent publishes, which are kept to be resent in order).

use crate::codec::Frame;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Where an answer goes: a waiting caller, or a callback run on the reader thread (must be quick).
pub enum Completion {
    Channel(SyncSender<Result<Frame>>),
    Callback(Box<dyn FnOnce(Result<Frame>) + Send>),
}

impl Completion {
    fn complete(self, r: Result<Frame>) {
        match self {
            Completion::Channel(tx) => {
                let _ = tx.try_send(r);
            }
            Completion::Callback(f) => f(r),
        }
    }
}

struct Entry {
    completion: Completion,
    /// Holds one slot of the in-flight window.
    counts: bool,
    /// Written to the current connection (else it waits in the outbound queue).
    written: bool,
    /// The frame, kept for a resend after a reconnect (idempotent publishes only).
    resend: Option<Arc<Vec<u8>>>,
}

/// A counting semaphore with deadlines.
pub struct Window {
    free: Mutex<usize>,
    cv: Condvar,
    pub size: usize,
}

impl Window {
    pub fn new(size: usize) -> Window {
        Window { free: Mutex::new(size), cv: Condvar::new(), size }
    }
    /// Takes a slot, waiting until `deadline`; false if none came free by then.
    pub fn acquire(&self, deadline: Instant) -> bool {
        let mut f = self.free.lock().unwrap();
        loop {
            if *f > 0 {
                *f -= 1;
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            f = self.cv.wait_timeout(f, deadline - now).unwrap().0;
        }
    }
    pub fn release(&self) {
        let mut f = self.free.lock().unwrap();
        *f += 1;
        drop(f);
        self.cv.notify_one();
    }
    pub fn available(&self) -> usize {
        *self.free.lock().unwrap()
    }
}

pub struct CallTable {
    ids: AtomicU64,
    calls: Mutex<HashMap<u64, Entry>>,
    pub window: Window,
}

impl CallTable {
    pub fn new(max_in_flight: usize) -> CallTable {
        CallTable { ids: AtomicU64::new(0), calls: Mutex::new(HashMap::new()), window: Window::new(max_in_flight) }
    }

    /// A fresh non-zero request id.
    pub fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers a call awaiting its answer.
    pub fn insert(&self, id: u64, completion: Completion, counts: bool, resend: Option<Arc<Vec<u8>>>) {
        self.calls.lock().unwrap().insert(id, Entry { completion, counts, written: false, resend });
    }

    /// Registers a call whose caller waits; returns the receiving end.
    pub fn insert_waiting(&self, id: u64, counts: bool, resend: Option<Arc<Vec<u8>>>) -> Receiver<Result<Frame>> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.insert(id, Completion::Channel(tx), counts, resend);
        rx
    }

    pub fn contains(&self, id: u64) -> bool {
        self.calls.lock().unwrap().contains_key(&id)
    }

    pub fn mark_written(&self, id: u64) {
        if let Some(e) = self.calls.lock().unwrap().get_mut(&id) {
            e.written = true;
        }
    }

    /// Completes call `id` with `r`; false if no such call (answered, expired or never made).
    pub fn complete(&self, id: u64, r: Result<Frame>) -> bool {
        let e = self.calls.lock().unwrap().remove(&id);
        match e {
            Some(e) => {
                if e.counts {
                    self.window.release();
                }
                e.completion.complete(r);
                true
            }
            None => false,
        }
    }

    /// The connection dropped: written calls fail with a connection error, except resendable ones,
    /// whose frames are returned in request id order (the order they were made) to be written
    /// again once reconnected.
    pub fn on_disconnect(&self, what: &str) -> Vec<(u64, Arc<Vec<u8>>)> {
        let mut failed = Vec::new();
        let mut resend = Vec::new();
        {
            let mut calls = self.calls.lock().unwrap();
            let ids: Vec<u64> = calls.iter().filter(|(_, e)| e.written).map(|(id, _)| *id).collect();
            for id in ids {
                let e = calls.get_mut(&id).unwrap();
                if let Some(b) = &e.resend {
                    e.written = false;
                    resend.push((id, b.clone()));
                } else {
                    failed.push(calls.remove(&id).unwrap());
                }
            }
        }
        for e in failed {
            if e.counts {
                self.window.release();
            }
            e.completion.complete(Err(Error::connection(format!(
                "{} before the answer came; the request's outcome is unknown",
                what
            ))));
        }
        resend.sort_by_key(|(id, _)| *id);
        resend
    }

    /// Fails every call (the client is closing).
    pub fn fail_all(&self, why: &str) {
        let all: Vec<Entry> = self.calls.lock().unwrap().drain().map(|(_, e)| e).collect();
        for e in all {
            if e.counts {
                self.window.release();
            }
            e.completion.complete(Err(Error::connection(why.to_string())));
        }
    }

    pub fn len(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A call in flight: wait for its answer until its deadline.
pub struct PendingCall {
    pub(crate) id: u64,
    pub(crate) rx: Receiver<Result<Frame>>,
    pub(crate) deadline: Instant,
    pub(crate) table: Arc<CallTable>,
    pub(crate) what: String,
}

impl PendingCall {
    /// The answer frame; an ERROR becomes its typed error; the deadline gives `Error::Timeout`.
    pub fn wait(self) -> Result<Frame> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let r = match self.rx.recv_timeout(left) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => {
                let msg = || {
                    let what = if self.what.is_empty() { format!("request {}", self.id) } else { self.what.clone() };
                    Error::timeout(format!("no answer to {} by its deadline", what))
                };
                if self.table.complete(self.id, Err(Error::timeout(""))) {
                    // we removed it: nobody else will answer
                    return Err(msg());
                }
                // the answer raced in just now
                self.rx.try_recv().unwrap_or_else(|_| Err(msg()))
            }
            Err(RecvTimeoutError::Disconnected) => Err(Error::connection("call dropped")),
        };
        match r {
            Ok(Frame::Error { code, message, fields, .. }) => Err(Error::from_wire(code, message, &fields)),
            other => other,
        }
    }

    pub fn request_id(&self) -> u64 {
        self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_match_by_id_in_any_order() {
        let t = Arc::new(CallTable::new(4));
        let a = t.next_id();
        let b = t.next_id();
        assert_ne!(a, b);
        let ra = t.insert_waiting(a, true, None);
        let rb = t.insert_waiting(b, true, None);
        assert!(t.window.acquire(Instant::now()) && t.window.acquire(Instant::now()));
        assert!(t.complete(b, Ok(Frame::Ok { request_id: b })));
        assert!(t.complete(a, Ok(Frame::Pong { request_id: a })));
        assert!(!t.complete(a, Ok(Frame::Ok { request_id: a })), "answered twice");
        assert_eq!(ra.recv().unwrap().unwrap(), Frame::Pong { request_id: a });
        assert_eq!(rb.recv().unwrap().unwrap(), Frame::Ok { request_id: b });
        assert_eq!(t.window.available(), 4);
    }

    #[test]
    fn window_is_bounded_with_a_deadline() {
        let w = Window::new(1);
        assert!(w.acquire(Instant::now()));
        assert!(!w.acquire(Instant::now() + Duration::from_millis(5)));
        w.release();
        assert!(w.acquire(Instant::now()));
    }

    #[test]
    fn disconnect_fails_written_calls_and_keeps_idempotent_ones_in_order() {
        let t = Arc::new(CallTable::new(8));
        let plain = t.next_id();
        let idem1 = t.next_id();
        let unsent = t.next_id();
        let idem2 = t.next_id();
        let rp = t.insert_waiting(plain, false, None);
        let _r1 = t.insert_waiting(idem2, false, Some(Arc::new(vec![2])));
        let _r2 = t.insert_waiting(idem1, false, Some(Arc::new(vec![1])));
        let ru = t.insert_waiting(unsent, false, None);
        for id in [plain, idem1, idem2] {
            t.mark_written(id);
        }
        let resend = t.on_disconnect("connection lost");
        assert_eq!(resend.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![idem1, idem2]);
        assert!(rp.recv().unwrap().unwrap_err().is_connection());
        assert!(ru.try_recv().is_err(), "an unsent call waits for the reconnect");
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn pending_call_times_out_and_maps_errors() {
        let t = Arc::new(CallTable::new(8));
        let id = t.next_id();
        let rx = t.insert_waiting(id, false, None);
        let p = PendingCall { id, rx, deadline: Instant::now() + Duration::from_millis(1), table: t.clone(), what: "PING".into() };
        assert_eq!(p.wait().unwrap_err().name(), "CLIENT_TIMEOUT");
        assert!(t.is_empty());
        let id = t.next_id();
        let rx = t.insert_waiting(id, false, None);
        t.complete(id, Ok(Frame::Error { request_id: id, code: 10, message: "at last sequence 4".into(), fields: vec![] }));
        let p = PendingCall { id, rx, deadline: Instant::now() + Duration::from_secs(5), table: t, what: "PUBLISH".into() };
        assert_eq!(p.wait().unwrap_err(), Error::SequenceMismatch { last_sequence: Some(4), message: "at last sequence 4".into() });
    }
}
