//! # ws6455
//!
//! A small, strictly conformant WebSocket (RFC 6455) library: server and client, blocking, on
//! `std`, with two runtime dependencies (`sha1_smol` and `base64`) and no `unsafe`.
//!
//! ```toml
//! [dependencies]
//! ws6455 = { version = "0.1", path = "../ws6455" }   # a checkout next to your project
//! ```
//!
//! or `cargo add ws6455 --path ../ws6455` (`cargo add ws6455 --git URL` for a git remote).
//!
//! ## Quick start
//!
//! A server on a free port that lets in only clients that know a key (in an `X-WS-AUTH-KEY`
//! header or `?accessToken=`) and answers every text message in upper case; a client that
//! knows the key, and one that does not:
//!
//! ```
//! use ws6455::client::{self, ClientBuilder};
//! use ws6455::handshake::{constant_time_eq, Accept, Decision, HandshakeError, Response};
//! use ws6455::server::Server;
//! use ws6455::{CloseCode, Error, Message};
//!
//! let server = Server::bind("127.0.0.1:0")?.on_upgrade(|req| {
//!     // Runs before the upgrade is answered: accept, or refuse with any HTTP response.
//!     let token = req.query_param("accessToken");
//!     let key = req.header("x-ws-auth-key").or(token.as_deref()).unwrap_or("");
//!     if constant_time_eq(key.as_bytes(), b"s3cret") {
//!         Decision::Accept(Accept::default())
//!     } else {
//!         Decision::Reject(Response::text(403, "send the key"))
//!     }
//! });
//! let addr = server.local_addr()?;
//! let stop = server.shutdown_handle();
//! // `serve` blocks: each connection runs the handler on a thread of its own.
//! let running = std::thread::spawn(move || {
//!     server.serve(|mut ws| {
//!         while let Ok(msg) = ws.read() {
//!             if let Message::Text(text) = msg {
//!                 if ws.send_text(&text.to_uppercase()).is_err() {
//!                     break;
//!                 }
//!             }
//!         }
//!     })
//! });
//!
//! // A client with the key: a message there and back, then the close handshake.
//! let url = format!("ws://{addr}/chat");
//! let (mut ws, _response) = ClientBuilder::new(&url)
//!     .header("X-WS-AUTH-KEY", "s3cret")
//!     .connect()?;
//! ws.send_text("hello")?;
//! assert_eq!(ws.read()?, Message::text("HELLO"));
//! ws.close(CloseCode::Normal, "bye")?;
//! while !matches!(ws.read(), Ok(Message::Close(_)) | Err(_)) {}
//!
//! // The key in the URL works too; no key gets the hook's 403.
//! let (mut ws, _) = client::connect(&format!("{url}?accessToken=s3cret"))?;
//! ws.send_text("again")?;
//! assert_eq!(ws.read()?, Message::text("AGAIN"));
//! match client::connect(&url) {
//!     Err(Error::Handshake(HandshakeError::Rejected { status, .. })) => assert_eq!(status, 403),
//!     Err(e) => panic!("unexpected error {e}"),
//!     Ok(_) => panic!("the upgrade should have been refused"),
//! }
//!
//! // Close 1001 to everyone still connected, then `serve` returns.
//! stop.shutdown();
//! running.join().expect("server thread")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What is where
//!
//! | to | use |
//! | --- | --- |
//! | accept connections on a TCP port | [`server::Server`]: `bind`, `serve`, [`shutdown_handle`](server::Server::shutdown_handle) |
//! | check a key or an `Origin`, pick a subprotocol | [`Server::on_upgrade`](server::Server::on_upgrade) with a [`handshake::Request`], answering a [`handshake::Decision`] |
//! | answer plain HTTP (a page at `GET /`) | [`Server::on_http`](server::Server::on_http) returning a [`handshake::Response`] |
//! | connect to a `ws://` URL | [`client::connect`], or [`client::ClientBuilder`] for headers, subprotocols, [`Config`] |
//! | use a stream of your own (TLS, a Unix socket) | [`server::accept`], [`client::client_with_stream`], [`socket::WebSocket`] |
//! | read and write from two threads | [`WebSocket::split`](socket::WebSocket::split) into [`socket::WsReader`] and [`socket::WsWriter`] |
//! | stream a large message frame by frame | [`WebSocket::read_chunk`](socket::WebSocket::read_chunk), [`write_frame_start`](socket::WebSocket::write_frame_start) / `write_chunk` |
//! | run the protocol over your own I/O (an event loop) | [`protocol::Protocol`]: bytes in, messages out; messages in, bytes out |
//! | set limits and timeouts | [`Config`] (every limit has a default; see its fields) |
//! | messages and close codes | [`Message`], [`MessageRef`] (zero-copy), [`CloseCode`], [`CloseFrame`] |
//! | handle errors | [`Error`] (with [`ProtocolError`] and [`handshake::HandshakeError`] inside) |
//! | parse HTTP/1.1 heads, build or check a handshake by hand | [`http`], [`handshake`] |
//! | the wire format's pieces | [`frame`], [`mask`], [`utf8`], [`rand`] (masking keys) |
//!
//! Layers, from the bottom: [`mask`], [`utf8`], [`frame`] → [`protocol`] (sans-IO) →
//! [`http`], [`handshake`] → [`socket`] (blocking, any `Read + Write`) → [`server`], [`client`].
//! The repository's README has more examples and the `ws-server`, `ws-client` and
//! `ws-conformance` binaries.

#![forbid(unsafe_code)]
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
/// The masking-key generator; public only for the fuzz targets and benches (`internals`).
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod rand;
#[cfg(not(feature = "internals"))]
mod rand;
pub mod server;
pub mod socket;
pub mod utf8;

pub use config::{Config, DeflateConfig};
pub use error::{Error, ProtocolError, Result};
pub use handshake::PerMessageDeflate;
pub use message::{CloseCode, CloseFrame, Message, MessageRef, Role};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
