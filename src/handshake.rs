//! The opening handshake (RFC 6455 §4), both sides, sans-IO.
//!
//! Server side: parse the request head with [`ServerHandshake`] (or [`crate::http::parse_request`]),
//! turn it into an owned [`Request`], then [`server_handshake`] runs the §4.2.1 checks and the
//! application's hook and gives the response to write. Client side: [`parse_url`],
//! [`ClientHandshake`] (request bytes, then response verification with [`verify_response`]).
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
use std::net::SocketAddr;

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::http::{self, HttpError, Limits, Status};

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
    /// The server answered with a status other than 101.
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
    /// The server selected an extension we did not offer (we offer none).
    UnexpectedExtension(String),
    /// An extra request header has an invalid name or value (e.g. CR/LF), or is one the
    /// handshake sets itself.
    InvalidHeader(String),
    /// A subprotocol name to offer is not a token.
    InvalidProtocol(String),
    /// The connection closed before the handshake response was complete.
    Incomplete,
    /// We (the server) refused the request with this status; the response was sent.
    Refused {
        /// Status code sent.
        status: u16,
        /// Why.
        reason: String,
    },
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
            H::InvalidHeader(h) => f.debug_tuple("InvalidHeader").field(h).finish(),
            H::InvalidProtocol(p) => f.debug_tuple("InvalidProtocol").field(p).finish(),
            H::Incomplete => f.write_str("Incomplete"),
            H::Refused { status, reason } => f
                .debug_struct("Refused")
                .field("status", status)
                .field("reason", reason)
                .finish(),
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
            HandshakeError::InvalidHeader(h) => write!(f, "invalid request header {h:?}"),
            HandshakeError::InvalidProtocol(p) => {
                write!(f, "subprotocol {p:?} is not a valid token")
            }
            HandshakeError::Incomplete => {
                f.write_str("connection closed before the handshake completed")
            }
            HandshakeError::Refused { status, reason } => {
                write!(f, "refused the upgrade request with {status}: {reason}")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

// ---------------------------------------------------------------------------------------------
// Owned request.

/// An owned copy of a request head, kept for the application (routing, auth, origin checks).
///
/// ```
/// use ws6455::handshake::Request;
/// let r = Request::parse(b"GET /room/1?accessToken=a%2Bb&x HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
/// assert_eq!(r.path(), "/room/1");
/// assert_eq!(r.query(), Some("accessToken=a%2Bb&x"));
/// assert_eq!(r.query_param("accessToken").as_deref(), Some("a+b"));
/// assert_eq!(r.header("host"), Some("h"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target as sent.
    pub target: String,
    /// The path part of the target (without query), e.g. `/chat`. For an absolute-form target
    /// (`http://host/chat`) the path only.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Minor HTTP version (1 for HTTP/1.1).
    pub version: u8,
    /// Header fields in order (values that are not UTF-8 are converted lossily).
    pub headers: Vec<(String, String)>,
    /// The server's id for the connection and the peer's address, when a [`crate::server`]
    /// received the request.
    connection: Option<(u64, SocketAddr)>,
}

/// Query parameters whose values are credentials: never shown in logs (compared ignoring case).
const SECRET_PARAMS: [&str; 10] = [
    "accesstoken",
    "access_token",
    "token",
    "auth",
    "authorization",
    "key",
    "apikey",
    "api_key",
    "password",
    "secret",
];

/// Header fields whose values are credentials (compared ignoring case).
const SECRET_HEADERS: [&str; 5] = [
    "x-ws-auth-key",
    "authorization",
    "proxy-authorization",
    "cookie",
    "sec-websocket-key",
];

/// `target` with the value of every credential query parameter (`accessToken`, `token`,
/// `key`, `password`, … ignoring case) replaced by `***`; borrowed when there is none.
fn redact_target(target: &str) -> Cow<'_, str> {
    let Some((before, query)) = target.split_once('?') else {
        return Cow::Borrowed(target);
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let secret = |pair: &str| {
        let name = pair.split_once('=').map_or(pair, |(k, _)| k);
        pair.contains('=')
            && SECRET_PARAMS
                .iter()
                .any(|s| percent_decode(name).eq_ignore_ascii_case(s))
    };
    if !query.split('&').any(secret) {
        return Cow::Borrowed(target);
    }
    let mut out = String::with_capacity(target.len());
    out.push_str(before);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((k, _)) if secret(pair) => {
                out.push_str(k);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Cow::Owned(out)
}

/// Shows the request with credentials redacted (see [`Request::redacted_target`]), so that
/// logging a request with `{:?}` cannot leak a token.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let secret = SECRET_HEADERS.iter().any(|s| k.eq_ignore_ascii_case(s));
                (k.as_str(), if secret { "***" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.redacted_target())
            .field("version", &self.version)
            .field("headers", &headers)
            .field("connection_id", &self.connection_id())
            .field("peer_addr", &self.peer_addr())
            .finish()
    }
}

impl Request {
    /// An owned copy of a parsed head.
    ///
    /// ```
    /// use ws6455::{handshake::Request, http::{parse_request, Limits}};
    /// let (h, _) = parse_request(b"GET /a?b=c HTTP/1.1\r\n\r\n", &Limits::default()).unwrap().complete().unwrap();
    /// let r = Request::from_http(&h);
    /// assert_eq!((r.path(), r.query()), ("/a", Some("b=c")));
    /// ```
    pub fn from_http(req: &http::Request<'_>) -> Request {
        let target = req.target;
        // Absolute form: keep only path and query.
        let rel = match target.find("://") {
            Some(i) if !target.starts_with('/') => {
                let after = &target[i + 3..];
                match after.find(['/', '?']) {
                    Some(j) => &after[j..],
                    None => "",
                }
            }
            _ => target,
        };
        let rel = rel.split('#').next().unwrap_or("");
        let (path, query) = match rel.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (rel, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        Request {
            method: req.method.to_owned(),
            target: target.to_owned(),
            path: path.to_owned(),
            query,
            version: req.version,
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            connection: None,
        }
    }

    /// Records which connection the request came on (done by the server).
    pub(crate) fn set_connection(&mut self, id: u64, peer: SocketAddr) {
        self.connection = Some((id, peer));
    }

    /// The id the [`Server`](crate::server::Server) gave the connection this request came on
    /// (the same id as in its [`Event`](crate::server::Event)s); `None` for a request parsed
    /// by hand. In a handler, the accepted request is
    /// [`WebSocket::request`](crate::socket::WebSocket::request).
    ///
    /// ```no_run
    /// use ws6455::handshake::{Accept, Decision, Request};
    /// ws6455::server::Server::bind("127.0.0.1:9001")?
    ///     .on_upgrade(|req| {
    ///         println!("[{:?}] {} from {:?}", req.connection_id(), req.redacted_target(), req.peer_addr());
    ///         Decision::Accept(Accept::default())
    ///     })
    ///     .serve(|ws| {
    ///         let id = ws.request().and_then(Request::connection_id);
    ///         println!("serving connection {id:?}");
    ///     })?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn connection_id(&self) -> Option<u64> {
        self.connection.map(|(id, _)| id)
    }

    /// The peer's address, when a server received the request (see [`Request::connection_id`]).
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    /// assert_eq!(r.peer_addr(), None);
    /// ```
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.connection.map(|(_, peer)| peer)
    }

    /// The request target with the value of every credential query parameter (`accessToken`,
    /// `token`, `key`, `password`, … compared ignoring case) replaced by `***`: the form to log.
    /// The `Debug` form of a request is redacted the same way, and hides credential headers
    /// (`X-WS-AUTH-KEY`, `Authorization`, `Cookie`).
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(
    ///     b"GET /chat?name=ann&accessToken=s3cret HTTP/1.1\r\nX-WS-AUTH-KEY: k3y\r\n\r\n").unwrap();
    /// assert_eq!(r.redacted_target(), "/chat?name=ann&accessToken=***");
    /// let debug = format!("{r:?}");
    /// assert!(!debug.contains("s3cret") && !debug.contains("k3y"), "{debug}");
    /// ```
    pub fn redacted_target(&self) -> Cow<'_, str> {
        redact_target(&self.target)
    }

    /// Parses a complete request head (convenient in tests and examples).
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    /// assert_eq!(r.method, "GET");
    /// assert!(ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\n").is_err());
    /// ```
    pub fn parse(head: &[u8]) -> Result<Request> {
        match http::parse_request(head, &Limits::default())? {
            Status::Complete((r, _)) => Ok(Request::from_http(&r)),
            Status::Partial => Err(Error::Handshake(HandshakeError::Incomplete)),
        }
    }

    /// The value of the first header with this name (case-insensitive).
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\nX-WS-AUTH-KEY: k\r\n\r\n").unwrap();
    /// assert_eq!(r.header("x-ws-auth-key"), Some("k"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of headers with this name, in order.
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\nA: 1\r\na: 2\r\n\r\n").unwrap();
    /// assert_eq!(r.header_all("A").collect::<Vec<_>>(), ["1", "2"]);
    /// ```
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a header with this name lists `token` (case-insensitive), across duplicates.
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n").unwrap();
    /// assert!(r.has_token("connection", "upgrade"));
    /// ```
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_all(name)
            .any(|v| http::tokens(v.as_bytes()).any(|t| t.eq_ignore_ascii_case(token)))
    }

    /// All header fields in order.
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\nA: 1\r\n\r\n").unwrap();
    /// assert_eq!(r.headers(), &[("A".to_string(), "1".to_string())]);
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The path, without the query string.
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Request::parse(b"GET /p?q HTTP/1.1\r\n\r\n").unwrap().path(), "/p");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query string without `?`.
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Request::parse(b"GET /p HTTP/1.1\r\n\r\n").unwrap().query(), None);
    /// ```
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The first query parameter with this name, percent-decoded (`+` as space). A parameter
    /// without `=` has the empty value.
    ///
    /// Like [`Request::header`] it gives text to read; it is a [`Cow`] because decoding needs
    /// an owned string, but a value with no escapes is borrowed from the request. Compare it
    /// with `as_deref()`, or take it with `into_owned()`.
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET /?accessToken=x%3Dy&flag&n=ann HTTP/1.1\r\n\r\n").unwrap();
    /// assert_eq!(r.query_param("accessToken").as_deref(), Some("x=y"));
    /// assert_eq!(r.query_param("flag").as_deref(), Some(""));
    /// assert_eq!(r.query_param("nope"), None);
    /// // Header or query, the same type:
    /// let n = r.query_param("n");
    /// let name: Option<&str> = r.header("x-name").or(n.as_deref());
    /// assert_eq!(name, Some("ann"));
    /// ```
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }

    /// The subprotocols the client offers (`Sec-WebSocket-Protocol`), in order; elements that
    /// are not tokens (RFC 6455 §4.1) are left out.
    ///
    /// ```
    /// let r = ws6455::handshake::Request::parse(b"GET / HTTP/1.1\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n").unwrap();
    /// assert_eq!(r.protocols(), ["chat", "superchat"]);
    /// ```
    pub fn protocols(&self) -> Vec<&str> {
        self.header_all("sec-websocket-protocol")
            .flat_map(|v| http::tokens(v.as_bytes()))
            .filter(|p| http::is_token(p))
            .collect()
    }

    /// Whether this looks like a WebSocket upgrade attempt: `Upgrade` lists `websocket`, or a
    /// `Sec-WebSocket-Key`/`Sec-WebSocket-Version` header is present. A plain `GET` (a browser
    /// loading a page) is not, so a server can hand it to the application instead.
    ///
    /// ```
    /// use ws6455::handshake::Request;
    /// assert!(!Request::parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap().is_websocket_upgrade());
    /// assert!(Request::parse(b"GET / HTTP/1.1\r\nUpgrade: WebSocket\r\n\r\n").unwrap().is_websocket_upgrade());
    /// ```
    pub fn is_websocket_upgrade(&self) -> bool {
        self.has_token("upgrade", "websocket")
            || self.header("sec-websocket-key").is_some()
            || self.header("sec-websocket-version").is_some()
    }
}

// ---------------------------------------------------------------------------------------------
// Response.

/// An HTTP response: what a server sends (101, or a refusal), and what a client received.
///
/// ```
/// use ws6455::handshake::Response;
/// let r = Response::new(403).header("Content-Type", "text/plain").body("go away");
/// let bytes = String::from_utf8(r.to_bytes()).unwrap();
/// assert!(bytes.starts_with("HTTP/1.1 403 Forbidden\r\n"));
/// assert!(bytes.contains("Content-Length: 7\r\n"));
/// assert!(bytes.ends_with("\r\n\r\ngo away"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields, in order (`Content-Length` is computed by [`Response::to_bytes`]).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// The standard reason phrase for a status code ("" when unknown).
///
/// ```
/// assert_eq!(ws6455::handshake::reason_phrase(426), "Upgrade Required");
/// ```
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

impl Response {
    /// A response with the standard reason phrase, no headers, no body.
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Response::new(404).reason, "Not Found");
    /// ```
    pub fn new(status: u16) -> Response {
        Response {
            status,
            reason: reason_phrase(status).to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with a `text/plain` body.
    ///
    /// ```
    /// let r = ws6455::handshake::Response::text(403, "bad key");
    /// assert_eq!(r.get_header("content-type"), Some("text/plain; charset=utf-8"));
    /// assert_eq!(r.body, b"bad key");
    /// ```
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body.into())
    }

    /// Adds a header field.
    ///
    /// ```
    /// let r = ws6455::handshake::Response::new(200).header("X-A", "1");
    /// assert_eq!(r.get_header("x-a"), Some("1"));
    /// ```
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Response::new(200).body("hi").body, b"hi");
    /// ```
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// The value of the first header with this name (case-insensitive).
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Response::new(200).header("A", "b").get_header("a"), Some("b"));
    /// ```
    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_header(&self, name: &str) -> bool {
        self.get_header(name).is_some()
    }

    /// An owned copy of a parsed response head plus its body.
    ///
    /// ```
    /// use ws6455::{handshake::Response, http::{parse_response, Limits}};
    /// let (h, _) = parse_response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", &Limits::default())
    ///     .unwrap().complete().unwrap();
    /// let r = Response::from_http(&h, b"");
    /// assert_eq!((r.status, r.get_header("upgrade")), (101, Some("websocket")));
    /// ```
    pub fn from_http(resp: &http::Response<'_>, body: &[u8]) -> Response {
        Response {
            status: resp.status,
            reason: resp.reason.to_owned(),
            headers: resp
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
        }
    }

    /// Appends the wire form to `out`. It never produces a malformed head: header fields whose
    /// name is not a token are skipped, control characters in values and in the reason become
    /// spaces, and `Content-Length` (for every status except 1xx and 204) is always computed
    /// from the body, replacing any given one; `Transfer-Encoding` is dropped.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// ws6455::handshake::Response::new(200).header("Bad\r\nName", "x").header("A", "1\r\n2").write_to(&mut out);
    /// assert_eq!(out, b"HTTP/1.1 200 OK\r\nA: 1  2\r\nContent-Length: 0\r\n\r\n");
    /// ```
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(64 + self.body.len() + self.headers.len() * 32);
        out.extend_from_slice(b"HTTP/1.1 ");
        let status = self.status.clamp(100, 999);
        out.extend_from_slice(status.to_string().as_bytes());
        out.push(b' ');
        push_sanitized(out, self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (k, v) in &self.headers {
            if !http::is_token(k)
                || k.eq_ignore_ascii_case("content-length")
                || k.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            push_sanitized(out, v.trim_matches([' ', '\t']).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if status >= 200 && status != 204 {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(self.body.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The wire form (see [`Response::write_to`]).
    ///
    /// ```
    /// let b = ws6455::handshake::Response::new(101).header("Upgrade", "websocket").to_bytes();
    /// assert_eq!(b, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// Adds `Connection: close` unless a `Connection` header is present.
    fn with_close(mut self) -> Response {
        if !self.has_header("connection") {
            self.headers.push(("Connection".into(), "close".into()));
        }
        self
    }
}

fn push_sanitized(out: &mut Vec<u8>, v: &[u8]) {
    out.extend(
        v.iter()
            .map(|&b| if http::is_valid_value(&[b]) { b } else { b' ' }),
    );
}

// ---------------------------------------------------------------------------------------------
// Server.

/// What the application decided about an upgrade request.
///
/// ```
/// use ws6455::handshake::{Accept, Decision, Response};
/// let d = Decision::Reject(Response::text(403, "forbidden"));
/// assert!(matches!(d, Decision::Reject(_)));
/// let _ = Decision::Accept(Accept::new().subprotocol("chat"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Upgrade.
    Accept(Accept),
    /// Refuse with this response (sent with `Connection: close`).
    Reject(Response),
}

/// Details of an accepted upgrade.
///
/// ```
/// let a = ws6455::handshake::Accept::new().subprotocol("chat").header("X-Server", "ws6455");
/// assert_eq!(a.subprotocol.as_deref(), Some("chat"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    /// The subprotocol to select; ignored unless the client offered it.
    pub subprotocol: Option<String>,
    /// Extra response headers (those the handshake sets itself are ignored).
    pub headers: Vec<(String, String)>,
}

impl Accept {
    /// Accept with no subprotocol and no extra headers.
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Accept::new().subprotocol, None);
    /// ```
    pub fn new() -> Accept {
        Accept::default()
    }

    /// Selects a subprotocol.
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Accept::new().subprotocol("echo").subprotocol.as_deref(), Some("echo"));
    /// ```
    #[must_use]
    pub fn subprotocol(mut self, p: impl Into<String>) -> Accept {
        self.subprotocol = Some(p.into());
        self
    }

    /// Adds a response header.
    ///
    /// ```
    /// assert_eq!(ws6455::handshake::Accept::new().header("A", "b").headers.len(), 1);
    /// ```
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Accept {
        self.headers.push((name.into(), value.into()));
        self
    }
}

fn bad_request(why: &str) -> Response {
    Response::text(400, format!("{why}\n")).with_close()
}

/// The RFC 6455 §4.2.1 checks on an upgrade request. `Ok` holds the `Sec-WebSocket-Key`;
/// `Err` the response to send: 405 (with `Allow: GET`) for another method, 426 (with
/// `Sec-WebSocket-Version: 13`) for a missing or other version, 400 with a short text body
/// naming the failed check otherwise. A request that announces a body (`Transfer-Encoding`, or
/// `Content-Length` other than 0) gets 400 before any other check: after a 101 its bytes would
/// be run as frames, a request-smuggling vector behind a proxy (RFC 9112 §6.3). Every failure
/// response has `Connection: close`.
///
/// ```
/// use ws6455::handshake::{check_request, Request};
/// let ok = Request::parse(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
/// assert_eq!(check_request(&ok).unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
/// let v8 = Request::parse(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n").unwrap();
/// let resp = check_request(&v8).unwrap_err();
/// assert_eq!(resp.status, 426);
/// assert_eq!(resp.get_header("Sec-WebSocket-Version"), Some("13"));
/// let with_body = Request::parse(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
/// Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
/// Content-Length: 8\r\n\r\n").unwrap();
/// assert_eq!(check_request(&with_body).unwrap_err().status, 400);
/// ```
pub fn check_request(req: &Request) -> std::result::Result<String, Response> {
    if let Some(why) = body_framing_problem(req) {
        return Err(bad_request(why));
    }
    if req.method != "GET" {
        return Err(
            Response::text(405, "a WebSocket upgrade must use the GET method\n")
                .header("Allow", "GET")
                .with_close(),
        );
    }
    if req.version < 1 {
        return Err(bad_request("HTTP/1.1 or higher is required"));
    }
    match req.header_all("host").count() {
        0 => return Err(bad_request("missing Host header")),
        1 => {}
        _ => return Err(bad_request("more than one Host header")),
    }
    if !req.has_token("upgrade", "websocket") {
        return Err(bad_request("Upgrade header must contain websocket"));
    }
    if !req.has_token("connection", "upgrade") {
        return Err(bad_request("Connection header must contain Upgrade"));
    }
    let mut versions = req.header_all("sec-websocket-version");
    if versions.next().map(str::trim) != Some("13") || versions.next().is_some() {
        return Err(Response::text(426, "Sec-WebSocket-Version must be 13\n")
            .header("Sec-WebSocket-Version", "13")
            .with_close());
    }
    let mut keys = req.header_all("sec-websocket-key");
    let key = match (keys.next(), keys.next()) {
        (Some(k), None) => k.trim(),
        (None, _) => return Err(bad_request("missing Sec-WebSocket-Key header")),
        (Some(_), Some(_)) => return Err(bad_request("more than one Sec-WebSocket-Key header")),
    };
    match B64.decode(key) {
        Ok(raw) if raw.len() == 16 => Ok(key.to_owned()),
        _ => Err(bad_request("Sec-WebSocket-Key must be base64 of 16 bytes")),
    }
}

/// Why an upgrade request's message framing is refused, if it is (RFC 9112 §6.3). After a 101
/// the bytes that follow the head are WebSocket frames, so a request that announces a body is
/// ambiguous: an intermediary that does not understand the upgrade would take those bytes as the
/// body (or as a next request) while we take them as frames — request smuggling. So any
/// `Transfer-Encoding`, and any `Content-Length` other than 0 (or not a valid number), is refused;
/// both together always are, whatever their values.
fn body_framing_problem(req: &Request) -> Option<&'static str> {
    if req.header("transfer-encoding").is_some() {
        return Some(if req.header("content-length").is_some() {
            "an upgrade request must not have both Transfer-Encoding and Content-Length"
        } else {
            "an upgrade request must not have a body (Transfer-Encoding)"
        });
    }
    let zero = |v: &str| {
        v.split(',').all(|n| {
            let n = n.trim_matches([' ', '\t']);
            !n.is_empty() && n.bytes().all(|b| b == b'0')
        })
    };
    if req.header_all("content-length").any(|v| !zero(v)) {
        return Some("an upgrade request must not have a body (Content-Length other than 0)");
    }
    None
}

/// The 101 response for a checked request. The subprotocol in `accept` is sent only if the
/// client offered it (exact match); otherwise none is sent. Extra headers that the handshake
/// sets itself (`Upgrade`, `Connection`, `Sec-WebSocket-*`) are ignored.
///
/// ```
/// use ws6455::handshake::{accept_response, Accept, Request};
/// let req = Request::parse(b"GET / HTTP/1.1\r\nSec-WebSocket-Protocol: chat\r\n\r\n").unwrap();
/// let r = accept_response(&req, "dGhlIHNhbXBsZSBub25jZQ==", &Accept::new().subprotocol("chat"));
/// assert_eq!(r.get_header("sec-websocket-protocol"), Some("chat"));
/// let r = accept_response(&req, "dGhlIHNhbXBsZSBub25jZQ==", &Accept::new().subprotocol("other"));
/// assert_eq!(r.get_header("sec-websocket-protocol"), None);
/// ```
pub fn accept_response(req: &Request, key: &str, accept: &Accept) -> Response {
    let mut r = Response::new(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", accept_key(key.as_bytes()));
    if let Some(p) = selected_protocol(req, accept) {
        r = r.header("Sec-WebSocket-Protocol", p);
    }
    for (k, v) in &accept.headers {
        let reserved = [
            "upgrade",
            "connection",
            "content-length",
            "transfer-encoding",
        ]
        .iter()
        .any(|n| k.eq_ignore_ascii_case(n))
            || k.len() >= 14 && k[..14].eq_ignore_ascii_case("sec-websocket-");
        if !reserved {
            r = r.header(k.clone(), v.clone());
        }
    }
    r
}

fn selected_protocol<'a>(req: &Request, accept: &'a Accept) -> Option<&'a str> {
    let p = accept.subprotocol.as_deref()?;
    req.protocols().contains(&p).then_some(p)
}

/// Result of [`server_handshake`].
///
/// ```
/// use ws6455::handshake::{server_handshake, Decision, Request, Response};
/// let req = Request::parse(b"POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").unwrap();
/// let out = server_handshake(&req, &|_: &Request| Decision::Reject(Response::new(403)));
/// assert!(!out.accepted);
/// assert_eq!(out.response.status, 405);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOutcome {
    /// The response to send.
    pub response: Response,
    /// True when the response is 101 and the connection is now a WebSocket.
    pub accepted: bool,
    /// The selected subprotocol, when accepted with one.
    pub subprotocol: Option<String>,
}

/// The whole server decision: the §4.2.1 checks, then the application's hook (which only sees
/// requests that passed them). A rejection gets `Connection: close`; a rejection with a 1xx
/// status would confuse the client and is sent as 500 instead.
///
/// ```
/// use ws6455::handshake::{constant_time_eq, server_handshake, Accept, Decision, Request, Response};
/// let req = Request::parse(b"GET /chat?accessToken=s3cret HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
/// Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
/// Sec-WebSocket-Protocol: superchat, chat\r\n\r\n").unwrap();
/// let hook = |r: &Request| {
///     let token = r.query_param("accessToken").unwrap_or_default();
///     if !constant_time_eq(token.as_bytes(), b"s3cret") {
///         return Decision::Reject(Response::text(403, "bad token"));
///     }
///     Decision::Accept(Accept::new().subprotocol("chat"))
/// };
/// let out = server_handshake(&req, &hook);
/// assert!(out.accepted);
/// assert_eq!(out.subprotocol.as_deref(), Some("chat"));
/// assert_eq!(out.response.status, 101);
/// ```
pub fn server_handshake(req: &Request, hook: &dyn Fn(&Request) -> Decision) -> ServerOutcome {
    let rejected = |response: Response| ServerOutcome {
        response,
        accepted: false,
        subprotocol: None,
    };
    let key = match check_request(req) {
        Ok(k) => k,
        Err(resp) => return rejected(resp),
    };
    match hook(req) {
        Decision::Accept(accept) => ServerOutcome {
            response: accept_response(req, &key, &accept),
            accepted: true,
            subprotocol: selected_protocol(req, &accept).map(str::to_owned),
        },
        Decision::Reject(mut resp) => {
            if resp.status < 200 {
                resp = Response::text(500, "internal error\n");
            }
            rejected(resp.with_close())
        }
    }
}

/// The response for a request head that failed to parse: 431 Request Header Fields Too Large
/// for an oversized head or too many fields, 400 Bad Request (with the error as text) otherwise.
///
/// ```
/// use ws6455::{handshake::error_response, http::{parse_request, Limits}};
/// let e = parse_request(b"GET / HTTP/1.1\r\nA : b\r\n\r\n", &Limits::default()).unwrap_err();
/// assert_eq!(error_response(&e).status, 400);
/// ```
pub fn error_response(err: &HttpError) -> Response {
    let status = if err.is_too_large() { 431 } else { 400 };
    Response::text(status, format!("{err}\n")).with_close()
}

/// A complete request head received by [`ServerHandshake::feed`].
///
/// ```
/// let mut hs = ws6455::handshake::ServerHandshake::new(Default::default());
/// let incoming = hs.feed(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\x88\x80").unwrap().unwrap();
/// assert_eq!(incoming.request.path(), "/a");
/// assert_eq!(incoming.leftover, b"\x88\x80");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The request.
    pub request: Request,
    /// Bytes received after the head (the start of the WebSocket stream): never drop them.
    pub leftover: Vec<u8>,
}

/// A request head that failed to parse, with the response to send before closing.
///
/// ```
/// let mut hs = ws6455::handshake::ServerHandshake::new(Default::default());
/// let bad = hs.feed(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n").unwrap_err();
/// assert_eq!(bad.response.status, 400);
/// assert_eq!(bad.error.offset, 20);
/// let err: ws6455::Error = bad.into();
/// assert!(matches!(err, ws6455::Error::Http(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// What was wrong.
    pub error: HttpError,
    /// 400 or 431, with `Connection: close`.
    pub response: Response,
}

impl From<BadRequest> for Error {
    fn from(b: BadRequest) -> Error {
        Error::Http(b.error)
    }
}

/// Sans-IO server side: accumulates bytes until the request head is complete.
///
/// ```
/// use ws6455::handshake::ServerHandshake;
/// use ws6455::http::Limits;
/// let mut hs = ServerHandshake::new(Limits::default());
/// assert!(hs.feed(b"GET / HTTP/1.1\r\nHo").unwrap().is_none());
/// let got = hs.feed(b"st: a\r\n\r\n\x81\x80").unwrap().unwrap();
/// assert_eq!(got.request.header("host"), Some("a"));
/// assert_eq!(got.leftover, b"\x81\x80");
/// let bad = ServerHandshake::new(Limits::default()).feed(b"GET / HTTP/1.1\r\nA : b\r\n\r\n").unwrap_err();
/// assert_eq!(bad.response.status, 400);
/// ```
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    buf: Vec<u8>,
    limits: Limits,
}

impl ServerHandshake {
    /// A new handshake with these head limits (`Limits::from(&config)`).
    ///
    /// ```
    /// let hs = ws6455::handshake::ServerHandshake::new(ws6455::http::Limits::default());
    /// assert_eq!(hs.buffered(), 0);
    /// ```
    pub fn new(limits: Limits) -> ServerHandshake {
        ServerHandshake {
            buf: Vec::new(),
            limits,
        }
    }

    /// Bytes buffered so far.
    ///
    /// ```
    /// let mut hs = ws6455::handshake::ServerHandshake::new(Default::default());
    /// hs.feed(b"GET").unwrap();
    /// assert_eq!(hs.buffered(), 3);
    /// ```
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds received bytes. `Ok(None)`: need more. `Ok(Some(_))`: the head is complete (the
    /// buffer is then emptied, so the value can be reused for a next request on the same
    /// connection). `Err`: send `response` and close.
    ///
    /// ```
    /// let mut hs = ws6455::handshake::ServerHandshake::new(Default::default());
    /// let got = hs.feed(b"GET /x HTTP/1.1\r\n\r\n").unwrap().unwrap();
    /// assert_eq!(got.request.path(), "/x");
    /// ```
    pub fn feed(&mut self, data: &[u8]) -> std::result::Result<Option<Incoming>, BadRequest> {
        self.buf.extend_from_slice(data);
        match http::parse_request(&self.buf, &self.limits) {
            Ok(Status::Partial) => Ok(None),
            Ok(Status::Complete((req, used))) => {
                let request = Request::from_http(&req);
                let leftover = self.buf[used..].to_vec();
                self.buf.clear();
                Ok(Some(Incoming { request, leftover }))
            }
            Err(error) => {
                self.buf.clear();
                Err(BadRequest {
                    error,
                    response: error_response(&error),
                })
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client.

/// A parsed `ws://` URL.
///
/// ```
/// let u = ws6455::handshake::parse_url("ws://[::1]:9001/chat?x=1").unwrap();
/// assert_eq!((u.host.as_str(), u.port, u.resource.as_str()), ("::1", 9001, "/chat?x=1"));
/// assert_eq!(u.host_header, "[::1]:9001");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// Host name or IP address, without IPv6 brackets (ready for `TcpStream::connect`).
    pub host: String,
    /// Port (default 80 for `ws`, 443 for `wss`).
    pub port: u16,
    /// Path and query for the request line (`/` when empty).
    pub resource: String,
    /// Value of the `Host` header: host (bracketed for IPv6), with `:port` unless default.
    pub host_header: String,
    /// True for `wss://` (only from [`parse_url_for_stream`]).
    pub secure: bool,
}

/// Parses a `ws://host[:port][/path][?query]` URL for a plain TCP connection. `wss://` is
/// refused: TLS needs a stream you supply (`ws6455::client::client_with_stream`).
///
/// ```
/// use ws6455::handshake::parse_url;
/// let u = parse_url("ws://example.com").unwrap();
/// assert_eq!((u.port, u.resource.as_str(), u.host_header.as_str()), (80, "/", "example.com"));
/// assert!(parse_url("wss://example.com").unwrap_err().to_string().contains("client_with_stream"));
/// assert!(parse_url("http://example.com").is_err());
/// assert!(parse_url("ws://user:pw@example.com").is_err());
/// ```
pub fn parse_url(url: &str) -> Result<WsUrl> {
    let u = parse_url_for_stream(url)?;
    if u.secure {
        return Err(Error::Url(format!(
            "{url}: wss:// needs TLS, which this crate does not include; open a TLS stream \
             yourself and use ws6455::client::client_with_stream"
        )));
    }
    Ok(u)
}

/// Like [`parse_url`] but also accepts `wss://` (default port 443), for use over a stream the
/// caller supplies (e.g. a TLS stream).
///
/// ```
/// let u = ws6455::handshake::parse_url_for_stream("wss://example.com/x").unwrap();
/// assert!(u.secure);
/// assert_eq!((u.port, u.host_header.as_str()), (443, "example.com"));
/// ```
pub fn parse_url_for_stream(url: &str) -> Result<WsUrl> {
    let bad = |why: &str| Err(Error::Url(format!("{url}: {why}")));
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad("expected ws://host[:port]/path");
    };
    let (secure, default_port) = if scheme.eq_ignore_ascii_case("ws") {
        (false, 80)
    } else if scheme.eq_ignore_ascii_case("wss") {
        (true, 443)
    } else {
        return bad("scheme must be ws:// (or wss:// over your own TLS stream)");
    };
    if rest.contains('#') {
        return bad("fragments (#...) are not allowed in WebSocket URLs");
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, resource) = rest.split_at(split);
    if authority.contains('@') {
        return bad("user information (user@host) is not supported");
    }
    let (host, port_str, ipv6) = if let Some(inner) = authority.strip_prefix('[') {
        let Some((h, after)) = inner.split_once(']') else {
            return bad("unclosed [ in IPv6 address");
        };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("invalid IPv6 address");
        }
        let port = match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => Some(p),
                None => return bad("unexpected text after ]"),
            },
        };
        (h, port, true)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p), false),
            None => (authority, None, false),
        }
    };
    if host.is_empty() {
        return bad("missing host");
    }
    if !ipv6
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return bad("invalid character in host");
    }
    let port = match port_str {
        None | Some("") => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return bad("invalid port"),
        },
    };
    let mut res = String::with_capacity(resource.len() + 1);
    if !resource.starts_with('/') {
        res.push('/');
    }
    for b in resource.bytes() {
        if (0x21..=0x7e).contains(&b) {
            res.push(b as char);
        } else {
            res.push_str(&format!("%{b:02X}"));
        }
    }
    let bracketed = if ipv6 {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let host_header = if port == default_port {
        bracketed
    } else {
        format!("{bracketed}:{port}")
    };
    Ok(WsUrl {
        host: host.to_owned(),
        port,
        resource: res,
        host_header,
        secure,
    })
}

/// A fresh `Sec-WebSocket-Key`: base64 of 16 unpredictable bytes.
///
/// ```
/// let k = ws6455::handshake::generate_key();
/// assert_eq!(k.len(), 24);
/// assert_ne!(k, ws6455::handshake::generate_key());
/// ```
pub fn generate_key() -> String {
    let mut raw = [0u8; 16];
    crate::rand::fill(&mut raw);
    B64.encode(raw)
}

const CLIENT_RESERVED: [&str; 6] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
];

/// The client's upgrade request. Fails if a subprotocol is not a token, or an extra header has
/// an invalid name or value (CR/LF injection) or is one the handshake sets itself.
///
/// ```
/// use ws6455::handshake::{client_request, parse_url};
/// let url = parse_url("ws://localhost:9001/chat").unwrap();
/// let req = client_request(&url, "dGhlIHNhbXBsZSBub25jZQ==", &["chat".into()],
///     &[("Authorization".into(), "Bearer t".into())]).unwrap();
/// let text = String::from_utf8(req).unwrap();
/// assert!(text.starts_with("GET /chat HTTP/1.1\r\nHost: localhost:9001\r\n"));
/// assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));
/// assert!(text.ends_with("Authorization: Bearer t\r\n\r\n"));
/// assert!(client_request(&url, "k", &[], &[("X".into(), "a\r\nB: c".into())]).is_err());
/// ```
pub fn client_request(
    url: &WsUrl,
    key: &str,
    protocols: &[String],
    headers: &[(String, String)],
) -> Result<Vec<u8>> {
    for p in protocols {
        if !http::is_token(p) {
            return Err(HandshakeError::InvalidProtocol(p.clone()).into());
        }
    }
    for (k, v) in headers {
        if !http::is_token(k)
            || !http::is_valid_value(v.as_bytes())
            || CLIENT_RESERVED.iter().any(|r| k.eq_ignore_ascii_case(r))
        {
            return Err(HandshakeError::InvalidHeader(k.clone()).into());
        }
    }
    let mut out = Vec::with_capacity(256);
    let mut line = |parts: &[&str]| {
        for p in parts {
            out.extend_from_slice(p.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    };
    line(&["GET ", &url.resource, " HTTP/1.1"]);
    line(&["Host: ", &url.host_header]);
    line(&["Upgrade: websocket"]);
    line(&["Connection: Upgrade"]);
    line(&["Sec-WebSocket-Key: ", key]);
    line(&["Sec-WebSocket-Version: 13"]);
    if !protocols.is_empty() {
        line(&["Sec-WebSocket-Protocol: ", &protocols.join(", ")]);
    }
    for (k, v) in headers {
        line(&[k, ": ", v.trim_matches([' ', '\t'])]);
    }
    line(&[]);
    Ok(out)
}

/// The client's §4.1 checks on the server's response: status 101 (else
/// [`HandshakeError::Rejected`] with `body`), `Upgrade: websocket`, `Connection: Upgrade`,
/// the accept key, no extension, and a subprotocol only if it is one we offered. Returns the
/// selected subprotocol.
///
/// ```
/// use ws6455::handshake::{verify_response, HandshakeError};
/// use ws6455::http::{parse_response, Limits};
/// let head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
/// let (resp, _) = parse_response(head, &Limits::default()).unwrap().complete().unwrap();
/// let key = "dGhlIHNhbXBsZSBub25jZQ==";
/// assert_eq!(verify_response(&resp, b"", key, &["chat".into()]).unwrap().as_deref(), Some("chat"));
/// assert_eq!(verify_response(&resp, b"", key, &[]), Err(HandshakeError::UnexpectedProtocol("chat".into())));
/// ```
pub fn verify_response(
    resp: &http::Response<'_>,
    body: &[u8],
    key: &str,
    protocols: &[String],
) -> std::result::Result<Option<String>, HandshakeError> {
    if resp.status != 101 {
        return Err(HandshakeError::Rejected {
            status: resp.status,
            reason: resp.reason.to_owned(),
            body: body[..body.len().min(MAX_REJECTION_BODY)].to_vec(),
        });
    }
    let all = |name: &'static str| resp.headers.iter().filter(move |h| h.is(name));
    let mut upgrade = all("upgrade");
    match (upgrade.next(), upgrade.next()) {
        (Some(h), None) if h.value.eq_ignore_ascii_case(b"websocket") => {}
        _ => return Err(HandshakeError::MissingUpgrade),
    }
    if !resp.has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnection);
    }
    let mut accept = all("sec-websocket-accept");
    match (accept.next(), accept.next()) {
        (Some(h), None) => {
            if h.value != accept_key(key.as_bytes()).as_bytes() {
                return Err(HandshakeError::BadAccept);
            }
        }
        _ => return Err(HandshakeError::MissingAccept),
    }
    if let Some(h) = all("sec-websocket-extensions").find(|h| !h.value.is_empty()) {
        return Err(HandshakeError::UnexpectedExtension(
            String::from_utf8_lossy(h.value).into_owned(),
        ));
    }
    let mut proto = all("sec-websocket-protocol");
    match (proto.next(), proto.next()) {
        (None, _) => Ok(None),
        (Some(h), None) => {
            let p = String::from_utf8_lossy(h.value).into_owned();
            if protocols.contains(&p) {
                Ok(Some(p))
            } else {
                Err(HandshakeError::UnexpectedProtocol(p))
            }
        }
        (Some(a), Some(b)) => Err(HandshakeError::UnexpectedProtocol(format!(
            "{}, {}",
            String::from_utf8_lossy(a.value),
            String::from_utf8_lossy(b.value)
        ))),
    }
}

/// A successful client handshake.
///
/// ```
/// use ws6455::handshake::{parse_url, ClientHandshake};
/// let url = parse_url("ws://h/").unwrap();
/// let key = "dGhlIHNhbXBsZSBub25jZQ==".to_string();
/// let mut hs = ClientHandshake::with_key(&url, key, &["chat".into()], &[], Default::default()).unwrap();
/// let done = hs.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n").unwrap().unwrap();
/// assert_eq!(done.subprotocol.as_deref(), Some("chat"));
/// assert!(done.leftover.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOutcome {
    /// The server's 101 response.
    pub response: Response,
    /// The subprotocol the server selected (one we offered), if any.
    pub subprotocol: Option<String>,
    /// Bytes received after the response head (the first frames): never drop them.
    pub leftover: Vec<u8>,
}

/// Sans-IO client side: the request bytes to write, then response accumulation and checks.
///
/// ```
/// use ws6455::handshake::{accept_key, parse_url, ClientHandshake};
/// let url = parse_url("ws://127.0.0.1:9001/").unwrap();
/// let mut hs = ClientHandshake::new(&url, &[], &[], Default::default()).unwrap();
/// assert!(hs.request().starts_with(b"GET / HTTP/1.1\r\n"));
/// let resp = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// Sec-WebSocket-Accept: {}\r\n\r\n", accept_key(hs.key().as_bytes()));
/// let mut bytes = resp.into_bytes();
/// bytes.extend_from_slice(b"\x81\x00"); // a first frame, sent eagerly
/// let (a, b) = bytes.split_at(20);
/// assert!(hs.feed(a).unwrap().is_none());
/// let done = hs.feed(b).unwrap().unwrap();
/// assert_eq!(done.leftover, b"\x81\x00");
/// ```
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    key: String,
    protocols: Vec<String>,
    request: Vec<u8>,
    buf: Vec<u8>,
    limits: Limits,
    /// For a refusal with `Content-Length`: the head length and the body length awaited.
    refusal: Option<(usize, usize)>,
}

impl ClientHandshake {
    /// Prepares the request with a fresh key. Fails for invalid protocols or headers (see
    /// [`client_request`]).
    ///
    /// ```
    /// let url = ws6455::handshake::parse_url("ws://h/").unwrap();
    /// let hs = ws6455::handshake::ClientHandshake::new(&url, &["chat".into()], &[], Default::default()).unwrap();
    /// assert!(String::from_utf8_lossy(hs.request()).contains(hs.key()));
    /// ```
    pub fn new(
        url: &WsUrl,
        protocols: &[String],
        headers: &[(String, String)],
        limits: Limits,
    ) -> Result<ClientHandshake> {
        ClientHandshake::with_key(url, generate_key(), protocols, headers, limits)
    }

    /// Like [`ClientHandshake::new`] with a given key (for tests and reproducible fuzzing;
    /// real clients need a fresh random key, which [`ClientHandshake::new`] makes).
    ///
    /// ```
    /// use ws6455::handshake::{parse_url, ClientHandshake};
    /// let url = parse_url("ws://h/").unwrap();
    /// let hs = ClientHandshake::with_key(&url, "dGhlIHNhbXBsZSBub25jZQ==".into(), &[], &[], Default::default()).unwrap();
    /// assert_eq!(hs.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    /// ```
    pub fn with_key(
        url: &WsUrl,
        key: String,
        protocols: &[String],
        headers: &[(String, String)],
        limits: Limits,
    ) -> Result<ClientHandshake> {
        let request = client_request(url, &key, protocols, headers)?;
        Ok(ClientHandshake {
            key,
            protocols: protocols.to_vec(),
            request,
            buf: Vec::new(),
            limits,
            refusal: None,
        })
    }

    /// The request bytes to write.
    ///
    /// ```
    /// let url = ws6455::handshake::parse_url("ws://h/").unwrap();
    /// let hs = ws6455::handshake::ClientHandshake::new(&url, &[], &[], Default::default()).unwrap();
    /// assert!(hs.request().ends_with(b"\r\n\r\n"));
    /// ```
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent.
    ///
    /// ```
    /// let url = ws6455::handshake::parse_url("ws://h/").unwrap();
    /// let hs = ws6455::handshake::ClientHandshake::new(&url, &[], &[], Default::default()).unwrap();
    /// assert_eq!(hs.key().len(), 24);
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Adds received bytes. `Ok(None)`: need more. `Ok(Some(_))`: upgraded. `Err`: a malformed
    /// head ([`Error::Http`]) or a failed check ([`Error::Handshake`]). For a refusal (non-101)
    /// the body is awaited first (up to [`MAX_REJECTION_BODY`]) so that
    /// [`HandshakeError::Rejected`] carries it: the `Content-Length` bytes, or without
    /// `Content-Length` but with `Connection: close` (or HTTP/1.0), everything until the
    /// connection closes. On end of stream (or a timeout) before that, [`ClientHandshake::finish`]
    /// gives the error with what came. With neither, the error comes at once with the bytes
    /// that arrived together with the head, since the server may keep the connection open.
    ///
    /// ```
    /// use ws6455::{Error, handshake::{parse_url, ClientHandshake, HandshakeError}};
    /// let url = parse_url("ws://h/").unwrap();
    /// let mut hs = ClientHandshake::new(&url, &[], &[], Default::default()).unwrap();
    /// assert!(hs.feed(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nno").unwrap().is_none());
    /// match hs.feed(b"pe") {
    ///     Err(Error::Handshake(HandshakeError::Rejected { status, body, .. })) => {
    ///         assert_eq!((status, body.as_slice()), (403, &b"nope"[..]));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn feed(&mut self, data: &[u8]) -> Result<Option<ClientOutcome>> {
        if let Some((head, want)) = self.refusal {
            // Keep no more than the body we want: memory stays bounded.
            let room = (head + want).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&data[..data.len().min(room)]);
            if self.buf.len() - head >= want {
                return Err(self.rejection());
            }
            return Ok(None);
        }
        self.buf.extend_from_slice(data);
        let (resp, used) = match http::parse_response(&self.buf, &self.limits)? {
            Status::Partial => return Ok(None),
            Status::Complete(x) => x,
        };
        if resp.status != 101 {
            // Without Content-Length the body runs to the end of the connection: wait for it
            // (`finish`) only when the server said it will close; otherwise it may keep the
            // connection open, so fail now with what came along with the head.
            let closes = resp.version == 0 || resp.has_token("connection", "close");
            let want = match resp.content_length() {
                _ if resp.status < 200 || resp.status == 204 || resp.status == 304 => 0,
                Some(n) => n.min(MAX_REJECTION_BODY as u64) as usize,
                None if closes => MAX_REJECTION_BODY,
                None => (self.buf.len() - used).min(MAX_REJECTION_BODY),
            };
            self.refusal = Some((used, want));
            if self.buf.len() - used >= want {
                return Err(self.rejection());
            }
            return Ok(None);
        }
        let subprotocol = verify_response(&resp, &[], &self.key, &self.protocols)?;
        let response = Response::from_http(&resp, &[]);
        let leftover = self.buf[used..].to_vec();
        self.buf.clear();
        Ok(Some(ClientOutcome {
            response,
            subprotocol,
            leftover,
        }))
    }

    /// The error to report when the connection ends (EOF or timeout) before [`feed`] finished:
    /// a refusal with the body received so far, or [`HandshakeError::Incomplete`].
    ///
    /// [`feed`]: ClientHandshake::feed
    ///
    /// ```
    /// use ws6455::{Error, handshake::{parse_url, ClientHandshake, HandshakeError}};
    /// let url = parse_url("ws://h/").unwrap();
    /// let mut hs = ClientHandshake::new(&url, &[], &[], Default::default()).unwrap();
    /// hs.feed(b"HTTP/1.1 101 Switching").unwrap();
    /// assert!(matches!(hs.finish(), Error::Handshake(HandshakeError::Incomplete)));
    /// ```
    pub fn finish(&self) -> Error {
        if self.refusal.is_some() {
            self.rejection()
        } else {
            Error::Handshake(HandshakeError::Incomplete)
        }
    }

    fn rejection(&self) -> Error {
        let Some((head, want)) = self.refusal else {
            return Error::Handshake(HandshakeError::Incomplete);
        };
        match http::parse_response(&self.buf[..head], &self.limits) {
            Ok(Status::Complete((resp, _))) => {
                let end = self.buf.len().min(head + want);
                match verify_response(&resp, &self.buf[head..end], &self.key, &self.protocols) {
                    Err(e) => Error::Handshake(e),
                    Ok(_) => Error::Handshake(HandshakeError::Incomplete),
                }
            }
            _ => Error::Handshake(HandshakeError::Incomplete),
        }
    }
}
