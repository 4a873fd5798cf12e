//! The owned request head the application sees: path, query, headers, connection, and
//! the redacted forms for logs.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use super::{percent_decode, HandshakeError};
use crate::error::{Error, Result};
use crate::http::{self, Limits, Status};

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
    pub fn from_http(req: &http::RequestHead<'_>) -> Request {
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
            headers: super::owned_headers(&req.headers),
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
    /// ```
    /// use std::sync::mpsc;
    /// use ws6455::handshake::{Accept, Decision, Request};
    /// let (tx, rx) = mpsc::channel();
    /// let tx = std::sync::Mutex::new(tx);
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?
    ///     .on_upgrade(|req| {
    ///         assert!(req.connection_id().is_some() && req.peer_addr().is_some());
    ///         Decision::Accept(Accept::default())
    ///     })
    ///     .spawn(move |ws| {
    ///         let req = ws.request().unwrap();
    ///         let _ = tx.lock().unwrap().send((req.connection_id(), req.peer_addr()));
    ///     })?;
    /// let (ws, _) = ws6455::client::connect(&format!("ws://{}/", server.local_addr()))?;
    /// let (id, peer) = rx.recv().unwrap();
    /// assert_eq!((id, peer), (Some(1), Some(ws.get_ref().local_addr()?)));
    /// # server.shutdown();
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
