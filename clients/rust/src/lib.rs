//! wirebus client for Rust: std only, threads and blocking calls with deadlines.
//!
//! ```no_run
//! use std::time::Duration;
//! use wirebus::{Client, ClientOptions, Start, SubscribeOptions};
//! let client = Client::connect(ClientOptions::new(&["unix:///tmp/wirebus.sock", "tcp://127.0.0.1:7440"]).name("node-1"))?;
//! let seq = client.publish("blocks", b"block 1")?;
//! let sub = client.subscribe("blocks", SubscribeOptions::from(Start::Sequence(seq)))?;
//! let m = sub.recv_timeout(Duration::from_secs(5))?;
//! assert_eq!(m.sequence, seq);
//! # Ok::<(), wirebus::Error>(())
//! ```
//!
//! Parts, each with one job: [`codec`] (frames <-> bytes), [`connection`] (addresses, socket,
//! handshake, backoff), [`calls`] (request ids, in-flight window, answers by id), [`subscription`]
//! (cursor, credits, resume), [`responder`] (handlers), [`batching`] (the batching publisher),
//! and [`client`] tying them together. [`json`] is a minimal JSON reader/writer for the
//! conformance driver and the protocol vectors.

pub mod batching;
pub mod calls;
pub mod client;
pub mod codec;
pub mod connection;
pub mod error;
pub mod json;
pub mod responder;
pub mod subscription;

pub use batching::{BatchingOptions, BatchingPublisher, WhenFull};
pub use client::{AuthInfo, StreamPage, Client, ClientOptions, IdempotentProducer, ConnectionState, Event, FetchResult, PendingAck, PublishAck, PublishOptions, Responder, StreamConsumers, Subscription};
pub use codec::{ErrorCode, ErrorFields, StreamEntry};
pub use connection::ReconnectPolicy;
pub use error::{Error, Result};
pub use responder::Request;
pub use subscription::{AckMode, Message, Start, SubscribeOptions};
