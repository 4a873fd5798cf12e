//! # ws6455
//!
//! A small, strictly conformant WebSocket (RFC 6455) library: server and client, on `std`, with
//! two runtime dependencies (`sha1_smol` and `base64`).
//!
//! Layers, from the bottom:
//! - [`mask`], [`utf8`], [`frame`]: the pieces of the wire format;
//! - [`protocol`]: the sans-IO state machine (bytes in, messages out; messages in, bytes out);
//! - [`http`], [`handshake`]: the HTTP/1.1 head parser and the opening handshake;
//! - [`socket`]: a blocking [`WebSocket`](socket::WebSocket) over any `Read + Write` stream;
//! - [`server`], [`client`]: a thread-per-connection server and a blocking `ws://` client.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod client;
pub mod config;
/// DEFLATE for permessage-deflate: unstable, exposed only for fuzzing and benchmarks.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod deflate;
#[cfg(not(feature = "internals"))]
mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod http;
pub mod mask;
pub mod message;
mod pool;
pub mod protocol;
pub mod rand;
pub mod server;
pub mod socket;
pub mod utf8;

pub use config::Config;
pub use error::{Error, ProtocolError, Result};
pub use message::{CloseCode, CloseFrame, Message, MessageRef, Role};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
