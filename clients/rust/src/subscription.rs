//! Subscriptions: a cursor per subscription (the sequence after the last message received), a
//! credit window, a bounded buffer, and the frame that opens it again after a reconnect at
//! last delivered + 1 (SUBSCRIBE from SEQUENCE, or CONSUME with resume 1): no gap, no duplicate.

use crate::codec::{Frame, StartKind};
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where a subscription (or a durable consumer seen for the first time) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Earliest,
    Latest,
    Sequence(u64),
}

/// When a durable consumer's position advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    /// As messages are delivered.
    OnDelivery,
    /// Only on `Subscription::ack`.
    Explicit,
}

#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    pub start: Start,
    /// Subscribe as this durable consumer (CONSUME) instead of a plain subscription.
    pub consumer: Option<String>,
    pub ack_mode: AckMode,
    /// With a consumer: the lag at which it holds publishers back (0: never).
    pub max_lag: u32,
    /// Credits window W (None: the client's default). CREDIT W/2 goes out after W/2 received.
    pub credits: Option<u32>,
    /// Deadline for the broker's SUBSCRIBED (None: the client's request timeout).
    pub timeout: Option<Duration>,
}

impl SubscribeOptions {
    pub fn from(start: Start) -> SubscribeOptions {
        SubscribeOptions { start, consumer: None, ack_mode: AckMode::Explicit, max_lag: 0, credits: None, timeout: None }
    }
    /// A durable consumer `name` with explicit acks.
    pub fn consumer(name: &str, start: Start) -> SubscribeOptions {
        SubscribeOptions { consumer: Some(name.to_string()), ..SubscribeOptions::from(start) }
    }
    pub fn max_lag(mut self, lag: u32) -> Self {
        self.max_lag = lag;
        self
    }
    pub fn ack_mode(mut self, m: AckMode) -> Self {
        self.ack_mode = m;
        self
    }
    pub fn credits(mut self, w: u32) -> Self {
        self.credits = Some(w);
        self
    }
}

/// A message received by a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub sequence: u64,
    pub payload: Vec<u8>,
}

struct SubState {
    /// Sequence after the last message received; 0 before the first SUBSCRIBED.
    next_sequence: u64,
    buffer: VecDeque<Message>,
    taken_since_grant: u32,
    started: Option<u64>,
    ended: Option<Error>,
}

/// The state of one subscription, shared by the reader thread and the application's handle.
pub struct SubShared {
    pub id: u32,
    pub stream: String,
    pub opts: SubscribeOptions,
    pub window: u32,
    st: Mutex<SubState>,
    cv: Condvar,
}

impl SubShared {
    pub fn new(id: u32, stream: &str, opts: SubscribeOptions, default_window: u32) -> SubShared {
        let window = opts.credits.unwrap_or(default_window).clamp(2, i32::MAX as u32);
        SubShared {
            id,
            stream: stream.to_string(),
            opts,
            window,
            st: Mutex::new(SubState { next_sequence: 0, buffer: VecDeque::new(), taken_since_grant: 0, started: None, ended: None }),
            cv: Condvar::new(),
        }
    }

    pub fn is_open(&self) -> bool {
        self.st.lock().unwrap().ended.is_none()
    }

    /// The SUBSCRIBE or CONSUME frame that opens the subscription, first time or after a reconnect.
    pub fn open_frame(&self, request_id: u64) -> Frame {
        let mut st = self.st.lock().unwrap();
        let credits = self.window.saturating_sub(st.buffer.len() as u32).max(1);
        st.taken_since_grant = 0;
        let (kind, seq) = if st.next_sequence > 0 {
            (StartKind::Sequence, st.next_sequence)
        } else {
            match self.opts.start {
                Start::Earliest => (StartKind::Earliest, 0),
                Start::Latest => (StartKind::Latest, 0),
                Start::Sequence(n) => (StartKind::Sequence, n),
            }
        };
        match &self.opts.consumer {
            Some(c) => Frame::Consume {
                request_id,
                subscription_id: self.id,
                stream: self.stream.clone(),
                consumer: c.clone(),
                start_kind: kind,
                start_sequence: seq,
                credits,
                ack_mode: (self.opts.ack_mode == AckMode::Explicit) as u8,
                max_lag: self.opts.max_lag,
                resume: st.next_sequence > 0,
            },
            None => Frame::Subscribe { request_id, subscription_id: self.id, stream: self.stream.clone(), start_kind: kind, start_sequence: seq, credits },
        }
    }

    /// SUBSCRIBED arrived (reader thread). A re-subscription must start where the cursor is.
    pub fn on_subscribed(&self, start: u64) -> std::result::Result<(), String> {
        let mut st = self.st.lock().unwrap();
        if st.next_sequence == 0 {
            st.next_sequence = start;
        } else if st.next_sequence != start {
            return Err(format!(
                "re-subscription of '{}' from {} was confirmed from {}",
                self.stream, st.next_sequence, start
            ));
        }
        if st.started.is_none() {
            st.started = Some(start);
        }
        drop(st);
        self.cv.notify_all();
        Ok(())
    }

    /// DELIVER arrived (reader thread). Refuses a gap or a duplicate (Err: the caller reconnects).
    pub fn on_deliver(&self, first: u64, records: Vec<Vec<u8>>) -> std::result::Result<(), String> {
        let mut st = self.st.lock().unwrap();
        if st.ended.is_some() {
            return Ok(());
        }
        if first != st.next_sequence {
            return Err(format!(
                "subscription to '{}' expected sequence {} but the broker delivered {}",
                self.stream, st.next_sequence, first
            ));
        }
        let n = records.len() as u64;
        for (i, payload) in records.into_iter().enumerate() {
            st.buffer.push_back(Message { sequence: first + i as u64, payload });
        }
        st.next_sequence += n;
        drop(st);
        self.cv.notify_all();
        Ok(())
    }

    /// The subscription ended (broker, store change, client closed). Buffered messages can
    /// still be taken; then `err` is returned.
    pub fn end(&self, err: Error) {
        let mut st = self.st.lock().unwrap();
        if st.ended.is_none() {
            st.ended = Some(err);
        }
        drop(st);
        self.cv.notify_all();
    }

    /// Waits for SUBSCRIBED (its start sequence) or the end, until `deadline`.
    pub fn wait_started(&self, deadline: Instant) -> Result<u64> {
        let mut st = self.st.lock().unwrap();
        loop {
            if let Some(s) = st.started {
                return Ok(s);
            }
            if let Some(e) = &st.ended {
                return Err(e.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::timeout(format!("no SUBSCRIBED for stream '{}' by the deadline", self.stream)));
            }
            st = self.cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    /// Takes the next message, waiting until `deadline`. Returns credits to grant when half the
    /// window has been taken since the last grant.
    pub fn take(&self, deadline: Instant) -> Result<(Message, Option<u32>)> {
        let mut st = self.st.lock().unwrap();
        loop {
            if let Some(m) = st.buffer.pop_front() {
                st.taken_since_grant += 1;
                let mut grant = None;
                if st.taken_since_grant >= self.window / 2 && st.ended.is_none() {
                    grant = Some(st.taken_since_grant);
                    st.taken_since_grant = 0;
                }
                return Ok((m, grant));
            }
            if let Some(e) = &st.ended {
                return Err(e.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::timeout(format!("no message on stream '{}' by the deadline", self.stream)));
            }
            st = self.cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    /// Where the subscription started (SUBSCRIBED's startSequence), once confirmed.
    pub fn started(&self) -> Option<u64> {
        self.st.lock().unwrap().started
    }

    /// Messages buffered now.
    pub fn buffered(&self) -> usize {
        self.st.lock().unwrap().buffer.len()
    }

    /// Sequence after the last message received (0 before SUBSCRIBED).
    pub fn next_sequence(&self) -> u64 {
        self.st.lock().unwrap().next_sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| vec![i as u8]).collect()
    }

    #[test]
    fn resubscribes_at_the_cursor_without_gap_or_duplicate() {
        let s = SubShared::new(1, "s", SubscribeOptions::from(Start::Earliest).credits(8), 256);
        assert!(matches!(s.open_frame(1), Frame::Subscribe { start_kind: StartKind::Earliest, credits: 8, .. }));
        s.on_subscribed(5).unwrap();
        s.on_deliver(5, msgs(3)).unwrap();
        assert!(s.on_deliver(9, msgs(1)).is_err(), "a gap is refused");
        assert!(s.on_deliver(7, msgs(1)).is_err(), "a duplicate is refused");
        // reconnect: from 8, with credits for what the buffer can still take
        match s.open_frame(2) {
            Frame::Subscribe { start_kind: StartKind::Sequence, start_sequence: 8, credits: 5, .. } => {}
            f => panic!("{:?}", f),
        }
        assert!(s.on_subscribed(7).is_err());
        s.on_subscribed(8).unwrap();
        let d = Instant::now() + Duration::from_secs(1);
        assert_eq!(s.take(d).unwrap().0.sequence, 5);
    }

    #[test]
    fn consumer_resumes_with_resume_flag_and_credits_flow_per_half_window() {
        let s = SubShared::new(2, "s", SubscribeOptions::consumer("c", Start::Latest).max_lag(10).credits(4), 256);
        assert!(matches!(s.open_frame(1), Frame::Consume { start_kind: StartKind::Latest, resume: false, max_lag: 10, ack_mode: 1, .. }));
        s.on_subscribed(1).unwrap();
        s.on_deliver(1, msgs(4)).unwrap();
        let d = Instant::now() + Duration::from_secs(1);
        assert_eq!(s.take(d).unwrap().1, None);
        assert_eq!(s.take(d).unwrap().1, Some(2));
        assert!(matches!(s.open_frame(2), Frame::Consume { start_kind: StartKind::Sequence, start_sequence: 5, resume: true, credits: 2, .. }));
    }

    #[test]
    fn end_drains_the_buffer_first_and_deadlines_hold() {
        let s = SubShared::new(3, "s", SubscribeOptions::from(Start::Earliest), 16);
        let d = Instant::now() + Duration::from_millis(5);
        assert_eq!(s.wait_started(d).unwrap_err().name(), "CLIENT_TIMEOUT");
        s.on_subscribed(1).unwrap();
        assert_eq!(s.take(Instant::now() + Duration::from_millis(5)).unwrap_err().name(), "CLIENT_TIMEOUT");
        s.on_deliver(1, msgs(1)).unwrap();
        s.end(Error::from_wire(11, "retains sequences from 9".into(), &[]));
        let d = Instant::now() + Duration::from_secs(1);
        assert_eq!(s.take(d).unwrap().0.sequence, 1);
        assert_eq!(s.take(d).unwrap_err(), Error::SequenceNotRetained { first_retained_sequence: Some(9), message: "retains sequences from 9".into() });
    }
}
