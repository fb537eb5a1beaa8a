//! Frames <-> bytes (docs/protocol.md §2-§5, protocol versions 1 and 2).
//!
//! `encode` writes a whole frame (length prefix included); `decode` parses one whole frame and
//! `FrameReader` cuts frames off a byte stream, checking the length field before the body arrives.
//! The protocol version only changes ERROR and SUBSCRIPTION_CLOSED (v2 adds typed fields).

use std::fmt;
use std::io::{self, Read};

pub const MAGIC: u32 = 0x5742_5553;
pub const HEADER_LENGTH: usize = 10;
pub const MAX_STRING_BYTES: usize = 65535;
pub const DEFAULT_MAX_FRAME_LENGTH: u32 = 8 * 1024 * 1024;
pub const FLAG_DUPLICATE: u8 = 0x01;
pub const MIN_VERSION: u16 = 1;
pub const MAX_VERSION: u16 = 2;

/// v2 error field keys (SPEC: ERROR and SUBSCRIPTION_CLOSED in version 2).
pub const FIELD_LAST_SEQUENCE: u8 = 1;
pub const FIELD_FIRST_RETAINED_SEQUENCE: u8 = 2;
pub const FIELD_RETRY_AFTER_MILLIS: u8 = 3;
pub const FIELD_LAST_PRODUCER_SEQUENCE: u8 = 4;

/// Wire error codes (docs/protocol.md §8.1). Codes a receiver does not know map to `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unknown,
    MalformedFrame,
    FrameTooLarge,
    UnknownFrameType,
    UnsupportedVersion,
    HandshakeRequired,
    InvalidArgument,
    SequenceMismatch,
    SequenceNotRetained,
    UnknownSubscription,
    DuplicateSubscription,
    MessageTooLarge,
    ProducerSequence,
    NoResponders,
    Timeout,
    ResponderGone,
    ResponderFailed,
    ShuttingDown,
    Internal,
    Backpressure,
    PermissionDenied,
    StreamLimit,
    ConnectionLimit,
    SlowConsumer,
    ReadTimeout,
    StoreChanged,
    NotFound,
    AuthFailed,
    AuthExpired,
    Unavailable,
}

const CODES: &[(ErrorCode, u16, &str)] = &[
    (ErrorCode::Unknown, 0, "UNKNOWN"),
    (ErrorCode::MalformedFrame, 1, "MALFORMED_FRAME"),
    (ErrorCode::FrameTooLarge, 2, "FRAME_TOO_LARGE"),
    (ErrorCode::UnknownFrameType, 3, "UNKNOWN_FRAME_TYPE"),
    (ErrorCode::UnsupportedVersion, 4, "UNSUPPORTED_VERSION"),
    (ErrorCode::HandshakeRequired, 5, "HANDSHAKE_REQUIRED"),
    (ErrorCode::InvalidArgument, 6, "INVALID_ARGUMENT"),
    (ErrorCode::SequenceMismatch, 10, "SEQUENCE_MISMATCH"),
    (ErrorCode::SequenceNotRetained, 11, "SEQUENCE_NOT_RETAINED"),
    (ErrorCode::UnknownSubscription, 12, "UNKNOWN_SUBSCRIPTION"),
    (ErrorCode::DuplicateSubscription, 13, "DUPLICATE_SUBSCRIPTION"),
    (ErrorCode::MessageTooLarge, 14, "MESSAGE_TOO_LARGE"),
    (ErrorCode::ProducerSequence, 15, "PRODUCER_SEQUENCE"),
    (ErrorCode::NoResponders, 20, "NO_RESPONDERS"),
    (ErrorCode::Timeout, 21, "TIMEOUT"),
    (ErrorCode::ResponderGone, 22, "RESPONDER_GONE"),
    (ErrorCode::ResponderFailed, 23, "RESPONDER_FAILED"),
    (ErrorCode::ShuttingDown, 30, "SHUTTING_DOWN"),
    (ErrorCode::Internal, 31, "INTERNAL"),
    (ErrorCode::Backpressure, 32, "BACKPRESSURE"),
    (ErrorCode::PermissionDenied, 33, "PERMISSION_DENIED"),
    (ErrorCode::StreamLimit, 34, "STREAM_LIMIT"),
    (ErrorCode::ConnectionLimit, 35, "CONNECTION_LIMIT"),
    (ErrorCode::SlowConsumer, 36, "SLOW_CONSUMER"),
    (ErrorCode::ReadTimeout, 37, "READ_TIMEOUT"),
    (ErrorCode::StoreChanged, 38, "STORE_CHANGED"),
    (ErrorCode::NotFound, 39, "NOT_FOUND"),
    (ErrorCode::AuthFailed, 40, "AUTH_FAILED"),
    (ErrorCode::AuthExpired, 41, "AUTH_EXPIRED"),
    (ErrorCode::Unavailable, 42, "UNAVAILABLE"),
];

impl ErrorCode {
    pub fn from_u16(code: u16) -> ErrorCode {
        CODES.iter().find(|c| c.1 == code).map(|c| c.0).unwrap_or(ErrorCode::Unknown)
    }
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        CODES.iter().find(|c| c.2 == name).map(|c| c.0)
    }
    pub fn code(self) -> u16 {
        CODES.iter().find(|c| c.0 == self).map(|c| c.1).unwrap_or(0)
    }
    pub fn name(self) -> &'static str {
        CODES.iter().find(|c| c.0 == self).map(|c| c.2).unwrap_or("UNKNOWN")
    }
    /// Whether the broker closes the connection after an ERROR with this code (§8.1).
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            ErrorCode::MalformedFrame
                | ErrorCode::FrameTooLarge
                | ErrorCode::UnknownFrameType
                | ErrorCode::UnsupportedVersion
                | ErrorCode::HandshakeRequired
                | ErrorCode::ConnectionLimit
                | ErrorCode::SlowConsumer
                | ErrorCode::ReadTimeout
                | ErrorCode::AuthFailed
                | ErrorCode::AuthExpired
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartKind {
    Earliest = 0,
    Latest = 1,
    Sequence = 2,
}

impl StartKind {
    pub fn from_u8(v: u8) -> Option<StartKind> {
        match v {
            0 => Some(StartKind::Earliest),
            1 => Some(StartKind::Latest),
            2 => Some(StartKind::Sequence),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            StartKind::Earliest => "EARLIEST",
            StartKind::Latest => "LATEST",
            StartKind::Sequence => "SEQUENCE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerEntry {
    pub name: String,
    pub acked_sequence: u64,
    pub max_lag: u32,
    pub connected: bool,
}

/// One stream in a STREAM_LIST frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    pub name: String,
    pub first_sequence: u64,
    /// 0 when the stream is empty
    pub last_sequence: u64,
    /// bytes stored (approximate)
    pub bytes: u64,
    /// durable consumers
    pub consumers: u32,
}

/// v2 error fields as (key, value) pairs in wire order; unknown keys are kept (and ignored by users).
pub type ErrorFieldList = Vec<(u8, u64)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Hello { request_id: u64, min_version: u16, max_version: u16, client_name: String },
    Welcome { request_id: u64, version: u16, max_frame_length: u32, store_id: u64, server_name: String },
    Ping { request_id: u64 },
    Pong { request_id: u64 },
    GoAway { request_id: u64, code: u16, message: String },
    Error { request_id: u64, code: u16, message: String, fields: ErrorFieldList },
    Ok { request_id: u64 },
    Publish { request_id: u64, stream: String, expected_sequence: u64, payload: Vec<u8> },
    PublishBatch { request_id: u64, stream: String, expected_sequence: u64, records: Vec<Vec<u8>> },
    PublishAck { request_id: u64, first_sequence: u64, count: u32, duplicate: bool },
    PublishIdempotent {
        request_id: u64,
        stream: String,
        expected_sequence: u64,
        producer_id: String,
        producer_sequence: u64,
        records: Vec<Vec<u8>>,
    },
    Subscribe { request_id: u64, subscription_id: u32, stream: String, start_kind: StartKind, start_sequence: u64, credits: u32 },
    Subscribed { request_id: u64, subscription_id: u32, start_sequence: u64 },
    Deliver { request_id: u64, subscription_id: u32, stream: String, first_sequence: u64, records: Vec<Vec<u8>> },
    Credit { request_id: u64, subscription_id: u32, credits: u32 },
    Unsubscribe { request_id: u64, subscription_id: u32 },
    SubscriptionClosed { request_id: u64, subscription_id: u32, code: u16, message: String, fields: ErrorFieldList },
    Consume {
        request_id: u64,
        subscription_id: u32,
        stream: String,
        consumer: String,
        start_kind: StartKind,
        start_sequence: u64,
        credits: u32,
        ack_mode: u8,
        max_lag: u32,
        resume: bool,
    },
    Ack { request_id: u64, subscription_id: u32, sequence: u64 },
    Consumers { request_id: u64, stream: String },
    ConsumerList {
        request_id: u64,
        last_sequence: u64,
        held_publishes: u32,
        held_millis: u64,
        rejected_publishes: u64,
        consumers: Vec<ConsumerEntry>,
    },
    Fetch { request_id: u64, stream: String, from_sequence: u64, max_messages: u32 },
    Fetched { request_id: u64, last_sequence: u64, first_sequence: u64, records: Vec<Vec<u8>> },
    Request { request_id: u64, subject: String, timeout_millis: u32, payload: Vec<u8> },
    Response { request_id: u64, payload: Vec<u8> },
    RespondOn { request_id: u64, subject: String },
    RespondOff { request_id: u64, subject: String },
    // added to version 2 later (issue 13): authentication and administration
    Auth { request_id: u64, mechanism: String, credential: Vec<u8> },
    AuthOk { request_id: u64, principal: String, expires_at_millis: u64 },
    Streams { request_id: u64, after: String, max: u32 },
    StreamList { request_id: u64, streams: Vec<StreamEntry>, more: bool },
    DeleteStream { request_id: u64, stream: String },
    TrimStream { request_id: u64, stream: String, before_sequence: u64 },
    DeleteConsumer { request_id: u64, stream: String, consumer: String },
}

pub const TYPES: &[(u8, &str)] = &[
    (0x01, "HELLO"),
    (0x02, "WELCOME"),
    (0x03, "PING"),
    (0x04, "PONG"),
    (0x05, "GOAWAY"),
    (0x06, "ERROR"),
    (0x07, "OK"),
    (0x10, "PUBLISH"),
    (0x11, "PUBLISH_BATCH"),
    (0x12, "PUBLISH_ACK"),
    (0x13, "PUBLISH_IDEMPOTENT"),
    (0x20, "SUBSCRIBE"),
    (0x21, "SUBSCRIBED"),
    (0x22, "DELIVER"),
    (0x23, "CREDIT"),
    (0x24, "UNSUBSCRIBE"),
    (0x25, "SUBSCRIPTION_CLOSED"),
    (0x26, "CONSUME"),
    (0x27, "ACK"),
    (0x28, "CONSUMERS"),
    (0x29, "CONSUMER_LIST"),
    (0x2a, "FETCH"),
    (0x2b, "FETCHED"),
    (0x30, "REQUEST"),
    (0x31, "RESPONSE"),
    (0x32, "RESPOND_ON"),
    (0x33, "RESPOND_OFF"),
    (0x08, "AUTH"),
    (0x09, "AUTH_OK"),
    (0x40, "STREAMS"),
    (0x41, "STREAM_LIST"),
    (0x42, "DELETE_STREAM"),
    (0x43, "TRIM_STREAM"),
    (0x44, "DELETE_CONSUMER"),
];

pub fn type_name(t: u8) -> Option<&'static str> {
    TYPES.iter().find(|x| x.0 == t).map(|x| x.1)
}

impl Frame {
    pub fn request_id(&self) -> u64 {
        use Frame::*;
        match self {
            Hello { request_id, .. } | Welcome { request_id, .. } | Ping { request_id } | Pong { request_id }
            | GoAway { request_id, .. } | Error { request_id, .. } | Ok { request_id } | Publish { request_id, .. }
            | PublishBatch { request_id, .. } | PublishAck { request_id, .. } | PublishIdempotent { request_id, .. }
            | Subscribe { request_id, .. } | Subscribed { request_id, .. } | Deliver { request_id, .. }
            | Credit { request_id, .. } | Unsubscribe { request_id, .. } | SubscriptionClosed { request_id, .. }
            | Consume { request_id, .. } | Ack { request_id, .. } | Consumers { request_id, .. }
            | ConsumerList { request_id, .. } | Fetch { request_id, .. } | Fetched { request_id, .. }
            | Request { request_id, .. } | Response { request_id, .. } | RespondOn { request_id, .. }
            | RespondOff { request_id, .. } | Auth { request_id, .. } | AuthOk { request_id, .. }
            | Streams { request_id, .. } | StreamList { request_id, .. } | DeleteStream { request_id, .. }
            | TrimStream { request_id, .. } | DeleteConsumer { request_id, .. } => *request_id,
        }
    }

    pub fn type_code(&self) -> u8 {
        use Frame::*;
        match self {
            Hello { .. } => 0x01,
            Welcome { .. } => 0x02,
            Ping { .. } => 0x03,
            Pong { .. } => 0x04,
            GoAway { .. } => 0x05,
            Error { .. } => 0x06,
            Ok { .. } => 0x07,
            Publish { .. } => 0x10,
            PublishBatch { .. } => 0x11,
            PublishAck { .. } => 0x12,
            PublishIdempotent { .. } => 0x13,
            Subscribe { .. } => 0x20,
            Subscribed { .. } => 0x21,
            Deliver { .. } => 0x22,
            Credit { .. } => 0x23,
            Unsubscribe { .. } => 0x24,
            SubscriptionClosed { .. } => 0x25,
            Consume { .. } => 0x26,
            Ack { .. } => 0x27,
            Consumers { .. } => 0x28,
            ConsumerList { .. } => 0x29,
            Fetch { .. } => 0x2a,
            Fetched { .. } => 0x2b,
            Request { .. } => 0x30,
            Response { .. } => 0x31,
            RespondOn { .. } => 0x32,
            RespondOff { .. } => 0x33,
            Auth { .. } => 0x08,
            AuthOk { .. } => 0x09,
            Streams { .. } => 0x40,
            StreamList { .. } => 0x41,
            DeleteStream { .. } => 0x42,
            TrimStream { .. } => 0x43,
            DeleteConsumer { .. } => 0x44,
        }
    }

    pub fn type_name(&self) -> &'static str {
        type_name(self.type_code()).unwrap_or("?")
    }
}

/// A frame that does not decode: the code to report and the request id to report it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub request_id: u64,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (request id {}): {}", self.code, self.request_id, self.message)
    }
}

// ------------------------------------------------------------------------------------ encoding

/// Appends frames to a byte buffer: `begin` writes the header with a placeholder length, `end`
/// fills it in. Lets hot paths (batches) write records without building a frame value first.
pub struct Writer<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Writer<'a> {
    pub fn begin(buf: &'a mut Vec<u8>, type_code: u8, flags: u8, request_id: u64) -> Writer<'a> {
        let start = buf.len();
        buf.extend_from_slice(&[0, 0, 0, 0, type_code, flags]);
        buf.extend_from_slice(&request_id.to_be_bytes());
        Writer { buf, start }
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A string; callers check lengths first (`check_string`), longer ones are cut to 65535 bytes
    /// at a character boundary rather than written wrongly.
    pub fn string(&mut self, s: &str) -> &mut Self {
        let mut n = s.len().min(MAX_STRING_BYTES);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.u16(n as u16);
        self.buf.extend_from_slice(&s.as_bytes()[..n]);
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    pub fn record(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.buf.extend_from_slice(b);
        self
    }
    pub fn records<T: AsRef<[u8]>>(&mut self, rs: &[T]) -> &mut Self {
        self.u32(rs.len() as u32);
        for r in rs {
            self.record(r.as_ref());
        }
        self
    }
    fn fields(&mut self, fields: &[(u8, u64)]) -> &mut Self {
        self.u8(fields.len().min(255) as u8);
        for (k, v) in fields.iter().take(255) {
            self.u8(*k);
            self.u64(*v);
        }
        self
    }
    pub fn end(self) {
        let len = (self.buf.len() - self.start - 4) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// Encodes `frame` (protocol `version`) and appends it to `out`.
pub fn encode_into(frame: &Frame, version: u16, out: &mut Vec<u8>) {
    use Frame::*;
    let flags = match frame {
        PublishAck { duplicate: true, .. } => FLAG_DUPLICATE,
        _ => 0,
    };
    let mut w = Writer::begin(out, frame.type_code(), flags, frame.request_id());
    match frame {
        Hello { min_version, max_version, client_name, .. } => {
            w.u32(MAGIC).u16(*min_version).u16(*max_version).string(client_name);
        }
        Welcome { version, max_frame_length, store_id, server_name, .. } => {
            w.u16(*version).u32(*max_frame_length).u64(*store_id).string(server_name);
        }
        Ping { .. } | Pong { .. } | Ok { .. } => {}
        GoAway { code, message, .. } => {
            w.u16(*code).string(message);
        }
        Error { code, message, fields, .. } => {
            w.u16(*code).string(message);
            if version >= 2 {
                w.fields(fields);
            }
        }
        Publish { stream, expected_sequence, payload, .. } => {
            w.string(stream).u64(*expected_sequence).bytes(payload);
        }
        PublishBatch { stream, expected_sequence, records, .. } => {
            w.string(stream).u64(*expected_sequence).records(records);
        }
        PublishAck { first_sequence, count, .. } => {
            w.u64(*first_sequence).u32(*count);
        }
        PublishIdempotent { stream, expected_sequence, producer_id, producer_sequence, records, .. } => {
            w.string(stream).u64(*expected_sequence).string(producer_id).u64(*producer_sequence).records(records);
        }
        Subscribe { subscription_id, stream, start_kind, start_sequence, credits, .. } => {
            w.u32(*subscription_id).string(stream).u8(*start_kind as u8).u64(*start_sequence).u32(*credits);
        }
        Subscribed { subscription_id, start_sequence, .. } => {
            w.u32(*subscription_id).u64(*start_sequence);
        }
        Deliver { subscription_id, stream, first_sequence, records, .. } => {
            w.u32(*subscription_id).string(stream).u64(*first_sequence).records(records);
        }
        Credit { subscription_id, credits, .. } => {
            w.u32(*subscription_id).u32(*credits);
        }
        Unsubscribe { subscription_id, .. } => {
            w.u32(*subscription_id);
        }
        SubscriptionClosed { subscription_id, code, message, fields, .. } => {
            w.u32(*subscription_id).u16(*code).string(message);
            if version >= 2 {
                w.fields(fields);
            }
        }
        Consume { subscription_id, stream, consumer, start_kind, start_sequence, credits, ack_mode, max_lag, resume, .. } => {
            w.u32(*subscription_id)
                .string(stream)
                .string(consumer)
                .u8(*start_kind as u8)
                .u64(*start_sequence)
                .u32(*credits)
                .u8(*ack_mode)
                .u32(*max_lag)
                .u8(*resume as u8);
        }
        Ack { subscription_id, sequence, .. } => {
            w.u32(*subscription_id).u64(*sequence);
        }
        Consumers { stream, .. } => {
            w.string(stream);
        }
        ConsumerList { last_sequence, held_publishes, held_millis, rejected_publishes, consumers, .. } => {
            w.u64(*last_sequence).u32(*held_publishes).u64(*held_millis).u64(*rejected_publishes);
            w.u32(consumers.len() as u32);
            for c in consumers {
                w.string(&c.name).u64(c.acked_sequence).u32(c.max_lag).u8(c.connected as u8);
            }
        }
        Fetch { stream, from_sequence, max_messages, .. } => {
            w.string(stream).u64(*from_sequence).u32(*max_messages);
        }
        Fetched { last_sequence, first_sequence, records, .. } => {
            w.u64(*last_sequence).u64(*first_sequence).records(records);
        }
        Request { subject, timeout_millis, payload, .. } => {
            w.string(subject).u32(*timeout_millis).bytes(payload);
        }
        Response { payload, .. } => {
            w.bytes(payload);
        }
        RespondOn { subject, .. } | RespondOff { subject, .. } => {
            w.string(subject);
        }
        Auth { mechanism, credential, .. } => {
            w.string(mechanism).record(credential);
        }
        AuthOk { principal, expires_at_millis, .. } => {
            w.string(principal).u64(*expires_at_millis);
        }
        Streams { after, max, .. } => {
            w.string(after).u32(*max);
        }
        StreamList { streams, more, .. } => {
            w.u32(streams.len() as u32);
            for e in streams {
                w.string(&e.name).u64(e.first_sequence).u64(e.last_sequence).u64(e.bytes).u32(e.consumers);
            }
            w.u8(*more as u8);
        }
        DeleteStream { stream, .. } => {
            w.string(stream);
        }
        TrimStream { stream, before_sequence, .. } => {
            w.string(stream).u64(*before_sequence);
        }
        DeleteConsumer { stream, consumer, .. } => {
            w.string(stream).string(consumer);
        }
    }
    w.end();
}

pub fn encode(frame: &Frame, version: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    encode_into(frame, version, &mut out);
    out
}

// ------------------------------------------------------------------------------------ decoding

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    request_id: u64,
    type_name: &'static str,
}

impl<'a> Cursor<'a> {
    fn malformed(&self, what: impl Into<String>) -> DecodeError {
        DecodeError {
            code: ErrorCode::MalformedFrame,
            request_id: self.request_id,
            message: format!("{} frame: {}", self.type_name, what.into()),
        }
    }
    fn need(&self, n: usize, field: &str) -> Result<(), DecodeError> {
        if self.b.len() - self.pos < n {
            return Err(self.malformed(format!(
                "truncated at field '{}': needs {} bytes, {} remain",
                field,
                n,
                self.b.len() - self.pos
            )));
        }
        Ok(())
    }
    fn u8(&mut self, f: &str) -> Result<u8, DecodeError> {
        self.need(1, f)?;
        self.pos += 1;
        Ok(self.b[self.pos - 1])
    }
    fn u16(&mut self, f: &str) -> Result<u16, DecodeError> {
        self.need(2, f)?;
        let v = u16::from_be_bytes([self.b[self.pos], self.b[self.pos + 1]]);
        self.pos += 2;
        Ok(v)
    }
    fn u32(&mut self, f: &str) -> Result<u32, DecodeError> {
        self.need(4, f)?;
        let v = u32::from_be_bytes(self.b[self.pos..self.pos + 4].try_into().unwrap());
        self.pos += 4;
        Ok(v)
    }
    fn u31(&mut self, f: &str) -> Result<u32, DecodeError> {
        let v = self.u32(f)?;
        if v > i32::MAX as u32 {
            return Err(self.malformed(format!("{} {} exceeds 2^31-1", f, v)));
        }
        Ok(v)
    }
    fn u64(&mut self, f: &str) -> Result<u64, DecodeError> {
        self.need(8, f)?;
        let v = u64::from_be_bytes(self.b[self.pos..self.pos + 8].try_into().unwrap());
        self.pos += 8;
        Ok(v)
    }
    fn u63(&mut self, f: &str) -> Result<u64, DecodeError> {
        let v = self.u64(f)?;
        if v > i64::MAX as u64 {
            return Err(self.malformed(format!("{} {} exceeds 2^63-1", f, v)));
        }
        Ok(v)
    }
    fn string(&mut self, f: &str) -> Result<String, DecodeError> {
        let n = self.u16(f)? as usize;
        self.need(n, f)?;
        let s = std::str::from_utf8(&self.b[self.pos..self.pos + n])
            .map_err(|_| self.malformed(format!("{} is not valid UTF-8", f)))?
            .to_string();
        self.pos += n;
        Ok(s)
    }
    fn rest(&mut self) -> Vec<u8> {
        let v = self.b[self.pos..].to_vec();
        self.pos = self.b.len();
        v
    }
    fn records(&mut self) -> Result<Vec<Vec<u8>>, DecodeError> {
        let count = self.u32("count")? as usize;
        if count > (self.b.len() - self.pos) / 4 {
            return Err(self.malformed(format!("record count {} cannot fit in {} bytes", count, self.b.len() - self.pos)));
        }
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let n = self.u32("record length")?;
            if n > i32::MAX as u32 {
                return Err(self.malformed(format!("record {} length {} exceeds 2^31-1", i, n)));
            }
            let n = n as usize;
            if n > self.b.len() - self.pos {
                return Err(self.malformed(format!("record {} declares {} bytes, {} remain", i, n, self.b.len() - self.pos)));
            }
            out.push(self.b[self.pos..self.pos + n].to_vec());
            self.pos += n;
        }
        Ok(out)
    }
    fn start_kind(&mut self) -> Result<StartKind, DecodeError> {
        let k = self.u8("startKind")?;
        StartKind::from_u8(k).ok_or_else(|| self.malformed(format!("startKind {} is not 0, 1 or 2", k)))
    }
    fn fields(&mut self, version: u16) -> Result<ErrorFieldList, DecodeError> {
        if version < 2 {
            return Ok(Vec::new());
        }
        let n = self.u8("fieldCount")?;
        let mut out: ErrorFieldList = Vec::with_capacity(n as usize);
        let mut seen = [false; 256];
        for _ in 0..n {
            let k = self.u8("field key")?;
            let v = self.u63("field value")?;
            if seen[k as usize] {
                return Err(self.malformed(format!("error field key {} appears twice", k)));
            }
            seen[k as usize] = true;
            // keys this version does not know are skipped (docs/protocol.md section 4.4)
            if (1..=MAX_KNOWN_FIELD_KEY).contains(&k) {
                out.push((k, v));
            }
        }
        out.sort_by_key(|(k, _)| *k);
        Ok(out)
    }
}

/// The highest error field key version 2 defines (lastProducerSequence).
const MAX_KNOWN_FIELD_KEY: u8 = 4;

/// Decodes one whole frame (length prefix included) as protocol `version` defines it.
pub fn decode(bytes: &[u8], version: u16) -> Result<Frame, DecodeError> {
    let conn = |code, msg: String| DecodeError { code, request_id: 0, message: msg };
    if bytes.len() < 4 {
        return Err(conn(ErrorCode::MalformedFrame, "fewer than 4 bytes: no length field".into()));
    }
    let length = u32::from_be_bytes(bytes[0..4].try_into().unwrap()) as usize;
    if length < HEADER_LENGTH {
        return Err(conn(ErrorCode::MalformedFrame, format!("frame length {} is shorter than the 10-byte header", length)));
    }
    if bytes.len() - 4 != length {
        return Err(conn(
            ErrorCode::MalformedFrame,
            format!("frame length {} but {} bytes follow the length field", length, bytes.len() - 4),
        ));
    }
    decode_body(bytes[4], bytes[5], u64::from_be_bytes(bytes[6..14].try_into().unwrap()), &bytes[14..], version)
}

/// Decodes a frame from its type, flags, request id and body.
pub fn decode_body(type_code: u8, flags: u8, request_id: u64, body: &[u8], version: u16) -> Result<Frame, DecodeError> {
    let tname = match type_name(type_code) {
        Some(n) => n,
        None => {
            return Err(DecodeError {
                code: ErrorCode::UnknownFrameType,
                request_id,
                message: format!("unknown frame type 0x{:02x}", type_code),
            })
        }
    };
    let mut r = Cursor { b: body, pos: 0, request_id, type_name: tname };
    let f = match type_code {
        0x01 => {
            let magic = r.u32("magic")?;
            if magic != MAGIC {
                return Err(r.malformed(format!("bad magic 0x{:08x}", magic)));
            }
            Frame::Hello {
                request_id,
                min_version: r.u16("minVersion")?,
                max_version: r.u16("maxVersion")?,
                client_name: r.string("clientName")?,
            }
        }
        0x02 => Frame::Welcome {
            request_id,
            version: r.u16("version")?,
            max_frame_length: r.u31("maxFrameLength")?,
            store_id: r.u63("storeId")?,
            server_name: r.string("serverName")?,
        },
        0x03 => Frame::Ping { request_id },
        0x04 => Frame::Pong { request_id },
        0x05 => Frame::GoAway { request_id, code: r.u16("code")?, message: r.string("message")? },
        0x06 => {
            let code = r.u16("code")?;
            let message = r.string("message")?;
            Frame::Error { request_id, code, message, fields: r.fields(version)? }
        }
        0x07 => Frame::Ok { request_id },
        0x10 => Frame::Publish {
            request_id,
            stream: r.string("stream")?,
            expected_sequence: r.u63("expectedSequence")?,
            payload: r.rest(),
        },
        0x11 => Frame::PublishBatch {
            request_id,
            stream: r.string("stream")?,
            expected_sequence: r.u63("expectedSequence")?,
            records: r.records()?,
        },
        0x12 => Frame::PublishAck {
            request_id,
            first_sequence: r.u63("firstSequence")?,
            count: r.u31("count")?,
            duplicate: flags & FLAG_DUPLICATE != 0,
        },
        0x13 => Frame::PublishIdempotent {
            request_id,
            stream: r.string("stream")?,
            expected_sequence: r.u63("expectedSequence")?,
            producer_id: r.string("producerId")?,
            producer_sequence: r.u63("producerSequence")?,
            records: r.records()?,
        },
        0x20 => Frame::Subscribe {
            request_id,
            subscription_id: r.u32("subscriptionId")?,
            stream: r.string("stream")?,
            start_kind: r.start_kind()?,
            start_sequence: r.u63("startSequence")?,
            credits: r.u31("credits")?,
        },
        0x21 => Frame::Subscribed {
            request_id,
            subscription_id: r.u32("subscriptionId")?,
            start_sequence: r.u63("startSequence")?,
        },
        0x22 => Frame::Deliver {
            request_id,
            subscription_id: r.u32("subscriptionId")?,
            stream: r.string("stream")?,
            first_sequence: r.u63("firstSequence")?,
            records: r.records()?,
        },
        0x23 => Frame::Credit { request_id, subscription_id: r.u32("subscriptionId")?, credits: r.u31("credits")? },
        0x24 => Frame::Unsubscribe { request_id, subscription_id: r.u32("subscriptionId")? },
        0x25 => {
            let subscription_id = r.u32("subscriptionId")?;
            let code = r.u16("code")?;
            let message = r.string("message")?;
            Frame::SubscriptionClosed { request_id, subscription_id, code, message, fields: r.fields(version)? }
        }
        0x26 => {
            let subscription_id = r.u32("subscriptionId")?;
            let stream = r.string("stream")?;
            let consumer = r.string("consumer")?;
            let start_kind = r.start_kind()?;
            let start_sequence = r.u63("startSequence")?;
            let credits = r.u31("credits")?;
            let ack_mode = r.u8("ackMode")?;
            if ack_mode > 1 {
                return Err(r.malformed(format!("ackMode {} is not 0 or 1", ack_mode)));
            }
            let max_lag = r.u31("maxLag")?;
            let resume = r.u8("resume")?;
            if resume > 1 {
                return Err(r.malformed(format!("resume {} is not 0 or 1", resume)));
            }
            Frame::Consume {
                request_id,
                subscription_id,
                stream,
                consumer,
                start_kind,
                start_sequence,
                credits,
                ack_mode,
                max_lag,
                resume: resume == 1,
            }
        }
        0x27 => Frame::Ack { request_id, subscription_id: r.u32("subscriptionId")?, sequence: r.u63("sequence")? },
        0x28 => Frame::Consumers { request_id, stream: r.string("stream")? },
        0x29 => {
            let last_sequence = r.u63("lastSequence")?;
            let held_publishes = r.u31("heldPublishes")?;
            let held_millis = r.u63("heldMillis")?;
            let rejected_publishes = r.u63("rejectedPublishes")?;
            let n = r.u32("count")? as usize;
            if n > (body.len() - r.pos) / 15 {
                return Err(r.malformed(format!("consumer count {} cannot fit", n)));
            }
            let mut consumers = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.string("name")?;
                let acked_sequence = r.u63("ackedSequence")?;
                let max_lag = r.u31("maxLag")?;
                let connected = r.u8("connected")? == 1;
                consumers.push(ConsumerEntry { name, acked_sequence, max_lag, connected });
            }
            Frame::ConsumerList { request_id, last_sequence, held_publishes, held_millis, rejected_publishes, consumers }
        }
        0x2a => Frame::Fetch {
            request_id,
            stream: r.string("stream")?,
            from_sequence: r.u63("fromSequence")?,
            max_messages: r.u31("maxMessages")?,
        },
        0x2b => Frame::Fetched {
            request_id,
            last_sequence: r.u63("lastSequence")?,
            first_sequence: r.u63("firstSequence")?,
            records: r.records()?,
        },
        0x30 => Frame::Request {
            request_id,
            subject: r.string("subject")?,
            timeout_millis: r.u31("timeoutMillis")?,
            payload: r.rest(),
        },
        0x31 => Frame::Response { request_id, payload: r.rest() },
        0x32 => Frame::RespondOn { request_id, subject: r.string("subject")? },
        0x33 => Frame::RespondOff { request_id, subject: r.string("subject")? },
        0x08 => {
            let mechanism = r.string("mechanism")?;
            let n = r.u31("credentialLength")? as usize;
            r.need(n, "credential")?;
            let credential = body[r.pos..r.pos + n].to_vec();
            r.pos += n;
            Frame::Auth { request_id, mechanism, credential }
        }
        0x09 => Frame::AuthOk { request_id, principal: r.string("principal")?, expires_at_millis: r.u63("expiresAtMillis")? },
        0x40 => Frame::Streams { request_id, after: r.string("after")?, max: r.u31("max")? },
        0x41 => {
            let n = r.u32("count")? as usize;
            if n > (body.len() - r.pos) / 30 {
                return Err(r.malformed(format!("stream count {} cannot fit", n)));
            }
            let mut streams = Vec::with_capacity(n);
            for _ in 0..n {
                streams.push(StreamEntry {
                    name: r.string("name")?,
                    first_sequence: r.u63("firstSequence")?,
                    last_sequence: r.u63("lastSequence")?,
                    bytes: r.u63("bytes")?,
                    consumers: r.u31("consumers")?,
                });
            }
            let more = r.u8("more")?;
            if more > 1 {
                return Err(r.malformed(format!("more {} is not 0 or 1", more)));
            }
            Frame::StreamList { request_id, streams, more: more == 1 }
        }
        0x42 => Frame::DeleteStream { request_id, stream: r.string("stream")? },
        0x43 => Frame::TrimStream { request_id, stream: r.string("stream")?, before_sequence: r.u63("beforeSequence")? },
        0x44 => Frame::DeleteConsumer { request_id, stream: r.string("stream")?, consumer: r.string("consumer")? },
        _ => unreachable!("type_name covers every known type"),
    };
    if r.pos != body.len() {
        return Err(r.malformed(format!("{} unexpected bytes after the last field", body.len() - r.pos)));
    }
    Ok(f)
}

/// Why reading a frame off a stream failed.
#[derive(Debug)]
pub enum ReadError {
    /// The stream ended cleanly between frames.
    Eof,
    Io(io::Error),
    Frame(DecodeError),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Eof => f.write_str("connection closed"),
            ReadError::Io(e) => write!(f, "{}", e),
            ReadError::Frame(e) => write!(f, "{}", e),
        }
    }
}

/// Cuts frames off a byte stream. The length field is checked as soon as it has arrived.
pub struct FrameReader<R: Read> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    pub max_frame_length: u32,
    pub version: u16,
}

impl<R: Read> FrameReader<R> {
    pub fn new(inner: R, max_frame_length: u32, version: u16) -> Self {
        FrameReader { inner, buf: vec![0; 64 * 1024], start: 0, end: 0, max_frame_length, version }
    }

    pub fn inner_ref(&self) -> &R {
        &self.inner
    }

    /// Reads until at least `n` bytes are buffered. Err(Eof) if the stream ends first with
    /// nothing of the frame read, a MALFORMED_FRAME if it ends in the middle of one.
    fn fill(&mut self, n: usize) -> Result<(), ReadError> {
        if self.end - self.start >= n {
            return Ok(());
        }
        if self.buf.len() - self.start < n {
            // move the partial frame to the front, growing the buffer if it cannot hold the frame
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < n {
                self.buf.resize(n, 0);
            }
        }
        while self.end - self.start < n {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    if self.end == self.start {
                        return Err(ReadError::Eof);
                    }
                    return Err(ReadError::Frame(DecodeError {
                        code: ErrorCode::MalformedFrame,
                        request_id: 0,
                        message: format!("connection ended in the middle of a frame ({} bytes read)", self.end - self.start),
                    }));
                }
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
        Ok(())
    }

    /// The next frame, or why there is none.
    pub fn read_frame(&mut self) -> Result<Frame, ReadError> {
        self.fill(4)?;
        let length = u32::from_be_bytes(self.buf[self.start..self.start + 4].try_into().unwrap());
        if length > self.max_frame_length {
            return Err(ReadError::Frame(DecodeError {
                code: ErrorCode::FrameTooLarge,
                request_id: 0,
                message: format!("frame length {} exceeds the maximum {}", length, self.max_frame_length),
            }));
        }
        if (length as usize) < HEADER_LENGTH {
            return Err(ReadError::Frame(DecodeError {
                code: ErrorCode::MalformedFrame,
                request_id: 0,
                message: format!("frame length {} is shorter than the 10-byte header", length),
            }));
        }
        let total = 4 + length as usize;
        self.fill(total)?;
        let b = &self.buf[self.start..self.start + total];
        let rid = u64::from_be_bytes(b[6..14].try_into().unwrap());
        let res = decode_body(b[4], b[5], rid, &b[14..], self.version);
        self.start += total;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        res.map_err(ReadError::Frame)
    }
}

/// Error fields of a v2 ERROR by name (SPEC.md), plus a v1 fallback that reads the numbers out of
/// the message text the reference broker writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorFields {
    pub last_sequence: Option<u64>,
    pub first_retained_sequence: Option<u64>,
    pub retry_after_millis: Option<u64>,
    pub last_producer_sequence: Option<u64>,
}

impl ErrorFields {
    pub fn from_wire(code: u16, message: &str, fields: &[(u8, u64)]) -> ErrorFields {
        let mut f = ErrorFields::default();
        for (k, v) in fields {
            match *k {
                FIELD_LAST_SEQUENCE => f.last_sequence = Some(*v),
                FIELD_FIRST_RETAINED_SEQUENCE => f.first_retained_sequence = Some(*v),
                FIELD_RETRY_AFTER_MILLIS => f.retry_after_millis = Some(*v),
                FIELD_LAST_PRODUCER_SEQUENCE => f.last_producer_sequence = Some(*v),
                _ => {} // receivers ignore keys they do not know
            }
        }
        // v1 (no fields): the reference broker states these numbers in the message
        match ErrorCode::from_u16(code) {
            ErrorCode::SequenceMismatch if f.last_sequence.is_none() => {
                f.last_sequence = number_after(message, "last sequence ");
            }
            ErrorCode::SequenceNotRetained if f.first_retained_sequence.is_none() => {
                f.first_retained_sequence = number_after(message, "retains sequences from ")
                    .or_else(|| number_after(message, "first retained sequence "));
            }
            _ => {}
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        *self == ErrorFields::default()
    }

    /// (name, value) of each known field, in key order.
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        let mut v = Vec::new();
        if let Some(x) = self.last_sequence {
            v.push(("lastSequence", x));
        }
        if let Some(x) = self.first_retained_sequence {
            v.push(("firstRetainedSequence", x));
        }
        if let Some(x) = self.retry_after_millis {
            v.push(("retryAfterMillis", x));
        }
        if let Some(x) = self.last_producer_sequence {
            v.push(("lastProducerSequence", x));
        }
        v
    }
}

fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let i = text.find(prefix)? + prefix.len();
    let digits: String = text[i..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(f: Frame, v: u16) {
        let b = encode(&f, v);
        assert_eq!(decode(&b, v).unwrap(), f);
    }

    #[test]
    fn every_frame_roundtrips() {
        let recs = vec![b"a".to_vec(), vec![], b"bc".to_vec()];
        for v in [1, 2] {
            roundtrip(Frame::Hello { request_id: 1, min_version: 1, max_version: 2, client_name: "x".into() }, v);
            roundtrip(Frame::Error { request_id: 7, code: 10, message: "m".into(), fields: if v == 2 { vec![(1, 40)] } else { vec![] } }, v);
            roundtrip(Frame::SubscriptionClosed { request_id: 0, subscription_id: 3, code: 11, message: "m".into(), fields: if v == 2 { vec![(2, 9), (4, 1)] } else { vec![] } }, v);
            roundtrip(Frame::PublishIdempotent { request_id: 3, stream: "s".into(), expected_sequence: 0, producer_id: "p".into(), producer_sequence: 5, records: recs.clone() }, v);
            roundtrip(Frame::Consume { request_id: 4, subscription_id: 1, stream: "s".into(), consumer: "c".into(), start_kind: StartKind::Sequence, start_sequence: 9, credits: 64, ack_mode: 1, max_lag: 5, resume: true }, v);
            roundtrip(Frame::ConsumerList { request_id: 5, last_sequence: 45, held_publishes: 1, held_millis: 2, rejected_publishes: 3, consumers: vec![ConsumerEntry { name: "e".into(), acked_sequence: 41, max_lag: 500, connected: true }] }, v);
            roundtrip(Frame::Fetched { request_id: 6, last_sequence: 9, first_sequence: 3, records: recs.clone() }, v);
            roundtrip(Frame::PublishAck { request_id: 7, first_sequence: 1, count: 2, duplicate: true }, v);
        }
    }

    #[test]
    fn v2_error_fields_are_checked() {
        // duplicate key
        let mut b = encode(&Frame::Error { request_id: 7, code: 10, message: String::new(), fields: vec![(1, 1), (1, 2)] }, 2);
        assert_eq!(decode(&b, 2).unwrap_err().code, ErrorCode::MalformedFrame);
        // value with the top bit set
        b = encode(&Frame::Error { request_id: 7, code: 10, message: String::new(), fields: vec![(1, 1 << 63)] }, 2);
        let e = decode(&b, 2).unwrap_err();
        assert_eq!((e.code, e.request_id), (ErrorCode::MalformedFrame, 7));
        // a v1 ERROR read as v2 lacks its field count
        b = encode(&Frame::Error { request_id: 7, code: 10, message: String::new(), fields: vec![] }, 1);
        assert_eq!(decode(&b, 2).unwrap_err().code, ErrorCode::MalformedFrame);
        // v2 fields read by a v1 reader are trailing bytes
        b = encode(&Frame::Error { request_id: 7, code: 10, message: String::new(), fields: vec![] }, 2);
        assert_eq!(decode(&b, 1).unwrap_err().code, ErrorCode::MalformedFrame);
    }

    #[test]
    fn fields_by_name_and_v1_fallback() {
        let f = ErrorFields::from_wire(10, "x", &[(1, 40), (3, 7), (200, 1)]);
        assert_eq!(f.last_sequence, Some(40));
        assert_eq!(f.retry_after_millis, Some(7));
        let f = ErrorFields::from_wire(10, "stream 'blocks' is at last sequence 40; expected 42", &[]);
        assert_eq!(f.last_sequence, Some(40));
        let f = ErrorFields::from_wire(11, "stream 'b' retains sequences from 1000; sequence 41 is gone", &[]);
        assert_eq!(f.first_retained_sequence, Some(1000));
        assert!(ErrorFields::from_wire(31, "last sequence 5", &[]).is_empty());
    }

    #[test]
    fn reader_splits_a_stream_and_checks_length_first() {
        let mut bytes = encode(&Frame::Ping { request_id: 1 }, 1);
        bytes.extend(encode(&Frame::Pong { request_id: 2 }, 1));
        bytes.extend_from_slice(&[0x00, 0x80, 0x00, 0x01]);
        let mut r = FrameReader::new(&bytes[..], DEFAULT_MAX_FRAME_LENGTH, 1);
        assert_eq!(r.read_frame().unwrap(), Frame::Ping { request_id: 1 });
        assert_eq!(r.read_frame().unwrap(), Frame::Pong { request_id: 2 });
        match r.read_frame() {
            Err(ReadError::Frame(e)) => assert_eq!(e.code, ErrorCode::FrameTooLarge),
            other => panic!("{:?}", other.map(|_| ())),
        }
        let mut r = FrameReader::new(&[][..], DEFAULT_MAX_FRAME_LENGTH, 1);
        assert!(matches!(r.read_frame(), Err(ReadError::Eof)));
    }

    #[test]
    fn big_frames_grow_the_buffer() {
        let payload = vec![7u8; 300_000];
        let bytes = encode(&Frame::Response { request_id: 9, payload: payload.clone() }, 1);
        let mut r = FrameReader::new(&bytes[..], DEFAULT_MAX_FRAME_LENGTH, 1);
        assert_eq!(r.read_frame().unwrap(), Frame::Response { request_id: 9, payload });
    }

    #[test]
    fn codes_map_both_ways() {
        assert_eq!(ErrorCode::from_u16(39), ErrorCode::NotFound);
        assert_eq!(ErrorCode::from_u16(999), ErrorCode::Unknown);
        assert_eq!(ErrorCode::from_name("STORE_CHANGED").unwrap().code(), 38);
    }
}
