//! Responders: the handlers registered per subject (RESPOND_ON is sent again after each
//! reconnect) and a small bounded pool that runs them; a handler's answer goes back as RESPONSE,
//! its failure (or a full queue) as ERROR.

use crate::codec::{ErrorCode, Frame};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;

/// A request handed to a responder's handler.
#[derive(Debug, Clone)]
pub struct Request {
    pub subject: String,
    pub payload: Vec<u8>,
    /// Time left until the requester's deadline when the broker forwarded the request.
    pub timeout: std::time::Duration,
}

/// Answers a request: Ok(reply), or Err(message) to fail it (the requester gets RESPONDER_FAILED).
pub type Handler = Arc<dyn Fn(&Request) -> Result<Vec<u8>, String> + Send + Sync>;

struct Job {
    request_id: u64,
    request: Request,
    handler: Handler,
}

/// Runs handlers on `threads` threads with at most `max_queued` requests waiting; `send` writes
/// an answer frame to the connection.
pub struct ResponderPool {
    tx: Mutex<Option<SyncSender<Job>>>,
    max_queued: usize,
}

impl ResponderPool {
    pub fn new(threads: usize, max_queued: usize, send: Arc<dyn Fn(Frame) + Send + Sync>) -> ResponderPool {
        let (tx, rx) = mpsc::sync_channel::<Job>(max_queued);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx: Arc<Mutex<Receiver<Job>>> = rx.clone();
            let send = send.clone();
            let _ = thread::Builder::new().name(format!("wirebus-responder-{}", i)).spawn(move || loop {
                let job = match rx.lock().unwrap().recv() {
                    Ok(j) => j,
                    Err(_) => return, // pool closed
                };
                send(answer(job));
            });
        }
        ResponderPool { tx: Mutex::new(Some(tx)), max_queued }
    }

    /// Queues a request for its handler; when the queue is full, returns the ERROR to send now.
    pub fn submit(&self, request_id: u64, request: Request, handler: Handler) -> Option<Frame> {
        let g = self.tx.lock().unwrap();
        let tx = match g.as_ref() {
            Some(t) => t,
            None => return Some(error(request_id, ErrorCode::ShuttingDown, "responder is closing".into())),
        };
        match tx.try_send(Job { request_id, request, handler }) {
            Ok(()) => None,
            Err(TrySendError::Full(_)) => Some(error(
                request_id,
                ErrorCode::Backpressure,
                format!("responder has {} requests queued", self.max_queued),
            )),
            Err(TrySendError::Disconnected(_)) => Some(error(request_id, ErrorCode::ShuttingDown, "responder is closing".into())),
        }
    }

    /// Stops the threads once the queued requests are handled.
    pub fn close(&self) {
        self.tx.lock().unwrap().take();
    }
}

fn error(request_id: u64, code: ErrorCode, message: String) -> Frame {
    Frame::Error { request_id, code: code.code(), message, fields: Vec::new() }
}

/// Runs the handler; a panic is a failure like an Err.
fn answer(job: Job) -> Frame {
    let Job { request_id, request, handler } = job;
    match catch_unwind(AssertUnwindSafe(|| handler(&request))) {
        Ok(Ok(payload)) => Frame::Response { request_id, payload },
        Ok(Err(msg)) => error(request_id, ErrorCode::ResponderFailed, msg),
        Err(_) => error(request_id, ErrorCode::ResponderFailed, format!("handler for '{}' panicked", request.subject)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_failures_and_overload() {
        let (tx, rx) = mpsc::channel::<Frame>();
        let tx = Mutex::new(tx);
        let pool = ResponderPool::new(1, 1, Arc::new(move |f| tx.lock().unwrap().send(f).unwrap()));
        let echo: Handler = Arc::new(|r: &Request| Ok(r.payload.clone()));
        let fail: Handler = Arc::new(|_: &Request| Err("db down".to_string()));
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let g2 = gate.clone();
        let slow: Handler = Arc::new(move |_: &Request| {
            drop(g2.lock().unwrap());
            Ok(vec![])
        });
        let req = |p: &[u8]| Request { subject: "s".into(), payload: p.to_vec(), timeout: Duration::from_secs(1) };
        assert!(pool.submit(1, req(b"hi"), echo.clone()).is_none());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Frame::Response { request_id: 1, payload: b"hi".to_vec() });
        assert!(pool.submit(2, req(b""), fail).is_none());
        match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
            Frame::Error { request_id: 2, code: 23, message, .. } => assert_eq!(message, "db down"),
            f => panic!("{:?}", f),
        }
        // the one thread blocks in `slow`; one more fits the queue; the next is refused
        assert!(pool.submit(3, req(b""), slow.clone()).is_none());
        let mut refused = None;
        for id in 4..100 {
            if let Some(f) = pool.submit(id, req(b""), slow.clone()) {
                refused = Some(f);
                break;
            }
        }
        assert!(matches!(refused, Some(Frame::Error { code: 32, .. })));
        drop(held);
        pool.close();
    }
}
