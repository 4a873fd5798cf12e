//! The opening handshake (RFC 6455 §4), both sides, sans-IO.
//!
//! Server side: parse the request head with [`ServerHandshake`] (or [`crate::http::parse_request`]),
//! turn it into an owned [`Request`], then [`server_handshake`] runs the §4.2.1 checks and the
//! application's hook and gives the response to write. Client side: [`parse_url`],
//! [`ClientHandshake`] (request bytes, then response verification with [`verify_response`]).
//!
//! | file | what |
//! |---|---|
//! | `handshake/mod.rs` | the accept key, constant-time comparison, percent-decoding, [`HandshakeError`] |
//! | `handshake/request.rs` | [`Request`]: the owned head the hooks see, with its connection and redacted forms |
//! | `handshake/response.rs` | [`Response`]: built by a server, received by a client |
//! | `handshake/server.rs` | [`check_request`], [`server_handshake`], [`ServerHandshake`] |
//! | `handshake/url.rs` | [`parse_url`], [`WsUrl`] |
//! | `handshake/extension.rs` | permessage-deflate: [`negotiate_deflate`], [`deflate_offer`], [`accept_deflate_response`], [`PerMessageDeflate`] |
//! | `handshake/client.rs` | [`client_request`], [`verify_response`], [`ClientHandshake`] |
//!
//! ```
//! use ws6455::handshake::{server_handshake, Accept, Decision, Request, ServerHandshake};
//! use ws6455::http::Limits;
//! let mut hs = ServerHandshake::new(Limits::default());
//! let incoming = hs
//!     .feed(b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//! Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
//!     .unwrap()
//!     .expect("complete head");
//! assert!(incoming.request.is_websocket_upgrade());
//! let out = server_handshake(&incoming.request, &|_req: &Request| Decision::Accept(Accept::new()));
//! assert!(out.accepted);
//! assert_eq!(out.response.get_header("Sec-WebSocket-Accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
//! ```

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;

mod client;
mod extension;
mod request;
mod response;
mod server;
mod url;

/// The header fields of a parsed head, owned (values as lossy UTF-8), for `Request` and
/// `Response`.
fn owned_headers(headers: &[crate::http::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

pub use client::*;
pub use extension::*;
pub use request::*;
pub use response::*;
pub use server::*;
pub use url::*;

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
///
/// ```
/// assert_eq!(ws6455::handshake::GUID.len(), 36);
/// ```
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Largest body of a refusal (non-101) response the client keeps for the error message.
///
/// ```
/// assert_eq!(ws6455::handshake::MAX_REJECTION_BODY, 64 * 1024);
/// ```
pub const MAX_REJECTION_BODY: usize = 64 << 10;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + [`GUID`])).
///
/// ```
/// assert_eq!(
///     ws6455::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    B64.encode(sha.digest().bytes())
}

/// Compares two byte strings in time that depends only on their lengths, not on where they
/// differ: use it for auth keys and tokens.
///
/// ```
/// use ws6455::handshake::constant_time_eq;
/// assert!(constant_time_eq(b"secret", b"secret"));
/// assert!(!constant_time_eq(b"secret", b"secreT"));
/// assert!(!constant_time_eq(b"secret", b"secret2"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

/// Decodes `%XX` escapes (and `+` as a space, as in HTML form encoding). Invalid escapes are
/// kept as they are; bytes that do not form UTF-8 are replaced with U+FFFD.
///
/// Borrows `s` when there is nothing to decode.
///
/// ```
/// assert_eq!(ws6455::handshake::percent_decode("a%20b+c%2Bd%zz"), "a b c+d%zz");
/// assert!(matches!(ws6455::handshake::percent_decode("plain"), std::borrow::Cow::Borrowed("plain")));
/// ```
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Sets a stream's read timeout (`None`: block), for [`read_by`].
pub(crate) type ArmTimeout<S> = fn(&S, Option<std::time::Duration>) -> std::io::Result<()>;

/// One read of a handshake that must end by `deadline`: the read may only wait for what is left
/// of it (when `arm` can set the stream's read timeout), and fails with `TimedOut` once it has
/// passed. A handshake timeout is one deadline for the whole exchange, not a time per read, so a
/// peer that trickles bytes cannot stretch it.
pub(crate) fn read_by<S: std::io::Read>(
    stream: &mut S,
    buf: &mut [u8],
    deadline: Option<std::time::Instant>,
    arm: Option<ArmTimeout<S>>,
) -> std::io::Result<usize> {
    use std::io::{Error as IoError, ErrorKind};
    let timed_out = || IoError::new(ErrorKind::TimedOut, "the handshake took too long");
    if let Some(d) = deadline {
        let left = d.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        if let Some(arm) = arm {
            arm(stream, Some(left))?;
        }
    } else if let Some(arm) = arm {
        arm(stream, None)?;
    }
    match stream.read(buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(timed_out())
        }
        r => r,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// The opening handshake failed.
///
/// ```
/// use ws6455::handshake::HandshakeError;
/// let e = HandshakeError::Rejected { status: 403, reason: "Forbidden".into(), body: b"no".to_vec() };
/// assert_eq!(e.to_string(), "server refused the upgrade: 403 Forbidden: no");
/// // Debug shows a body that is UTF-8 as text, not as a list of bytes.
/// assert_eq!(format!("{e:?}"), r#"Rejected { status: 403, reason: "Forbidden", body: "no" }"#);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The upgrade was answered with a status other than 101: by the server we connected to
    /// (client side), or by us to the peer (server side, [`crate::server::accept`]); one
    /// variant for both.
    Rejected {
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// Body (at most [`MAX_REJECTION_BODY`] bytes).
        body: Vec<u8>,
    },
    /// The 101 response lacks `Upgrade: websocket`.
    MissingUpgrade,
    /// The 101 response lacks `Connection: Upgrade`.
    MissingConnection,
    /// The 101 response lacks `Sec-WebSocket-Accept` (or has several).
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match our key.
    BadAccept,
    /// The server selected a subprotocol we did not offer (or several).
    UnexpectedProtocol(String),
    /// The server selected an extension we did not offer: one other than permessage-deflate,
    /// or any when we offered none (the `Sec-WebSocket-Extensions` values, joined).
    UnexpectedExtension(String),
    /// The server's permessage-deflate answer is one we did not ask for or cannot honour
    /// (RFC 7692 §5, §7.1; see [`accept_deflate_response`]).
    ///
    /// ```
    /// let e = ws6455::handshake::HandshakeError::InvalidExtension {
    ///     value: "permessage-deflate; x=1".into(),
    ///     reason: "unknown parameter",
    /// };
    /// assert_eq!(e.to_string(), "server's extension answer \"permessage-deflate; x=1\" \
    /// cannot be honoured: unknown parameter");
    /// ```
    InvalidExtension {
        /// The `Sec-WebSocket-Extensions` values, joined.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An extra request header has an invalid name or value (e.g. CR/LF), or is one the
    /// handshake sets itself.
    InvalidHeader(String),
    /// A subprotocol name to offer is not a token.
    InvalidProtocol(String),
    /// The connection closed before the handshake response was complete.
    Incomplete,
}

impl fmt::Debug for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HandshakeError as H;
        match self {
            H::Rejected {
                status,
                reason,
                body,
            } => {
                let mut d = f.debug_struct("Rejected");
                d.field("status", status).field("reason", reason);
                match std::str::from_utf8(body) {
                    Ok(text) => d.field("body", &text),
                    Err(_) => d.field("body", body),
                };
                d.finish()
            }
            H::MissingUpgrade => f.write_str("MissingUpgrade"),
            H::MissingConnection => f.write_str("MissingConnection"),
            H::MissingAccept => f.write_str("MissingAccept"),
            H::BadAccept => f.write_str("BadAccept"),
            H::UnexpectedProtocol(p) => f.debug_tuple("UnexpectedProtocol").field(p).finish(),
            H::UnexpectedExtension(e) => f.debug_tuple("UnexpectedExtension").field(e).finish(),
            H::InvalidExtension { value, reason } => f
                .debug_struct("InvalidExtension")
                .field("value", value)
                .field("reason", reason)
                .finish(),
            H::InvalidHeader(h) => f.debug_tuple("InvalidHeader").field(h).finish(),
            H::InvalidProtocol(p) => f.debug_tuple("InvalidProtocol").field(p).finish(),
            H::Incomplete => f.write_str("Incomplete"),
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Rejected {
                status,
                reason,
                body,
            } => {
                write!(f, "server refused the upgrade: {status} {reason}")?;
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
                let text = text.trim();
                if !text.is_empty() {
                    write!(f, ": {text}")?;
                }
                Ok(())
            }
            HandshakeError::MissingUpgrade => {
                f.write_str("response lacks the header Upgrade: websocket")
            }
            HandshakeError::MissingConnection => {
                f.write_str("response lacks the header Connection: Upgrade")
            }
            HandshakeError::MissingAccept => {
                f.write_str("response lacks a single Sec-WebSocket-Accept header")
            }
            HandshakeError::BadAccept => {
                f.write_str("Sec-WebSocket-Accept does not match the key we sent")
            }
            HandshakeError::UnexpectedProtocol(p) => {
                write!(
                    f,
                    "server selected subprotocol {p:?}, which we did not offer"
                )
            }
            HandshakeError::UnexpectedExtension(e) => {
                write!(f, "server selected extension {e:?}, which we did not offer")
            }
            HandshakeError::InvalidExtension { value, reason } => {
                write!(
                    f,
                    "server's extension answer {value:?} cannot be honoured: {reason}"
                )
            }
            HandshakeError::InvalidHeader(h) => write!(f, "invalid request header {h:?}"),
            HandshakeError::InvalidProtocol(p) => {
                write!(f, "subprotocol {p:?} is not a valid token")
            }
            HandshakeError::Incomplete => {
                f.write_str("connection closed before the handshake completed")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}
