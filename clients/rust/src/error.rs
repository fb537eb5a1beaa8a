//! Typed errors: a wire error keeps its code, message and the v2 fields; local failures
//! (deadline, connection, misuse) are their own variants.

use crate::codec::{ErrorCode, ErrorFields};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// SEQUENCE_MISMATCH: nothing was appended; `last_sequence` is where the stream is.
    SequenceMismatch { last_sequence: Option<u64>, message: String },
    /// SEQUENCE_NOT_RETAINED: asked below the retained range (or a subscription fell behind it).
    SequenceNotRetained { first_retained_sequence: Option<u64>, message: String },
    /// BACKPRESSURE from the broker: retry later.
    Backpressure { retry_after_millis: Option<u64>, message: String },
    /// PRODUCER_SEQUENCE: an idempotent batch at or below the producer's last one, not remembered.
    ProducerSequence { last_producer_sequence: Option<u64>, message: String },
    /// STORE_CHANGED from the broker, or a reconnect that found another store (storeId changed):
    /// a subscription cannot resume by sequence.
    StoreChanged { message: String },
    /// PERMISSION_DENIED: the connection's principal may not do this operation on this stream,
    /// subject or consumer (the message names them). The connection stays open.
    PermissionDenied { message: String },
    /// AUTH_FAILED: the broker refused the credential and closed the connection. `connect`
    /// returns it; after a reconnect it closes the client (the same credential cannot succeed).
    AuthFailed { message: String },
    /// AUTH_EXPIRED: the credential expired with no fresh AUTH; the broker closed the connection
    /// (an `Event::Error`; the client reconnects and authenticates again, asking the token
    /// provider anew).
    AuthExpired { message: String },
    /// Any other ERROR (or SUBSCRIPTION_CLOSED) from the broker. `wire_code` is the number as sent
    /// (`code` is `Unknown` for numbers this client does not know).
    Server { code: ErrorCode, wire_code: u16, message: String, fields: ErrorFields },
    /// The broker broke the protocol (a frame that does not decode), or refused the handshake.
    Protocol { code: ErrorCode, message: String },
    /// A local deadline passed before the answer came.
    Timeout { message: String },
    /// Not connected, or the connection was lost before the answer came (outcome unknown).
    Connection { message: String },
    /// Misuse or local refusal: invalid argument, queue full with reject, closed handle.
    Client { message: String },
}

impl Error {
    /// Builds the typed error of an ERROR / SUBSCRIPTION_CLOSED frame.
    pub fn from_wire(code: u16, message: String, fields: &[(u8, u64)]) -> Error {
        let f = ErrorFields::from_wire(code, &message, fields);
        match ErrorCode::from_u16(code) {
            ErrorCode::SequenceMismatch => Error::SequenceMismatch { last_sequence: f.last_sequence, message },
            ErrorCode::SequenceNotRetained => {
                Error::SequenceNotRetained { first_retained_sequence: f.first_retained_sequence, message }
            }
            ErrorCode::Backpressure => Error::Backpressure { retry_after_millis: f.retry_after_millis, message },
            ErrorCode::ProducerSequence => {
                Error::ProducerSequence { last_producer_sequence: f.last_producer_sequence, message }
            }
            ErrorCode::StoreChanged => Error::StoreChanged { message },
            ErrorCode::PermissionDenied => Error::PermissionDenied { message },
            ErrorCode::AuthFailed => Error::AuthFailed { message },
            ErrorCode::AuthExpired => Error::AuthExpired { message },
            c @ (ErrorCode::MalformedFrame
            | ErrorCode::FrameTooLarge
            | ErrorCode::UnknownFrameType
            | ErrorCode::UnsupportedVersion
            | ErrorCode::HandshakeRequired) => Error::Protocol { code: c, message },
            c => Error::Server { code: c, wire_code: code, message, fields: f },
        }
    }

    pub(crate) fn timeout(m: impl Into<String>) -> Error {
        Error::Timeout { message: m.into() }
    }
    pub(crate) fn connection(m: impl Into<String>) -> Error {
        Error::Connection { message: m.into() }
    }
    pub(crate) fn client(m: impl Into<String>) -> Error {
        Error::Client { message: m.into() }
    }

    /// The wire code, or None for local failures.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            Error::SequenceMismatch { .. } => ErrorCode::SequenceMismatch,
            Error::SequenceNotRetained { .. } => ErrorCode::SequenceNotRetained,
            Error::Backpressure { .. } => ErrorCode::Backpressure,
            Error::ProducerSequence { .. } => ErrorCode::ProducerSequence,
            Error::StoreChanged { .. } => ErrorCode::StoreChanged,
            Error::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Error::AuthFailed { .. } => ErrorCode::AuthFailed,
            Error::AuthExpired { .. } => ErrorCode::AuthExpired,
            Error::Server { code, .. } => *code,
            Error::Protocol { code, .. } => *code,
            _ => return None,
        })
    }

    /// The number on the wire (-1 for local failures), as the conformance driver reports it.
    pub fn wire_code(&self) -> i32 {
        match self {
            Error::Server { wire_code, .. } => *wire_code as i32,
            e => e.code().map(|c| c.code() as i32).unwrap_or(-1),
        }
    }

    /// The code's name, or CLIENT_TIMEOUT / CONNECTION / CLIENT for local failures.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Timeout { .. } => "CLIENT_TIMEOUT",
            Error::Connection { .. } => "CONNECTION",
            Error::Client { .. } => "CLIENT",
            e => e.code().unwrap().name(),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::SequenceMismatch { message, .. }
            | Error::SequenceNotRetained { message, .. }
            | Error::Backpressure { message, .. }
            | Error::ProducerSequence { message, .. }
            | Error::StoreChanged { message }
            | Error::PermissionDenied { message }
            | Error::AuthFailed { message }
            | Error::AuthExpired { message }
            | Error::Server { message, .. }
            | Error::Protocol { message, .. }
            | Error::Timeout { message }
            | Error::Connection { message }
            | Error::Client { message } => message,
        }
    }

    /// The v2 error fields this error carries (empty for local failures).
    pub fn fields(&self) -> ErrorFields {
        let mut f = ErrorFields::default();
        match self {
            Error::SequenceMismatch { last_sequence, .. } => f.last_sequence = *last_sequence,
            Error::SequenceNotRetained { first_retained_sequence, .. } => {
                f.first_retained_sequence = *first_retained_sequence
            }
            Error::Backpressure { retry_after_millis, .. } => f.retry_after_millis = *retry_after_millis,
            Error::ProducerSequence { last_producer_sequence, .. } => f.last_producer_sequence = *last_producer_sequence,
            Error::Server { fields, .. } => f = *fields,
            _ => {}
        }
        f
    }

    /// True when the request's outcome is unknown because the connection failed.
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.message())?;
        for (k, v) in self.fields().named() {
            write!(f, " [{}={}]", k, v)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_errors_are_typed_with_fields() {
        let e = Error::from_wire(10, "m".into(), &[(1, 41)]);
        assert_eq!(e, Error::SequenceMismatch { last_sequence: Some(41), message: "m".into() });
        assert_eq!((e.wire_code(), e.name()), (10, "SEQUENCE_MISMATCH"));
        let e = Error::from_wire(15, "m".into(), &[(4, 9)]);
        assert_eq!(e.fields().last_producer_sequence, Some(9));
        let e = Error::from_wire(77, "new".into(), &[]);
        assert_eq!((e.wire_code(), e.name(), e.code()), (77, "UNKNOWN", Some(ErrorCode::Unknown)));
        let e = Error::from_wire(32, "slow down".into(), &[(3, 250)]);
        assert_eq!(e.fields().retry_after_millis, Some(250));
        assert!(e.to_string().contains("retryAfterMillis=250"));
        assert_eq!(Error::timeout("x").wire_code(), -1);
        assert_eq!(Error::timeout("x").name(), "CLIENT_TIMEOUT");
        let e = Error::from_wire(33, "publish on 'blocks' is not permitted for 'observer'".into(), &[]);
        assert!(matches!(e, Error::PermissionDenied { .. }));
        assert_eq!((e.wire_code(), e.name()), (33, "PERMISSION_DENIED"));
        assert_eq!(Error::from_wire(40, "x".into(), &[]), Error::AuthFailed { message: "x".into() });
        assert_eq!(Error::from_wire(41, "x".into(), &[]).name(), "AUTH_EXPIRED");
        assert_eq!(Error::from_wire(42, "x".into(), &[]).name(), "UNAVAILABLE");
    }
}
