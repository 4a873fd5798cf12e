//! Server side: the RFC 6455 §4.2.1 checks, the application's decision, the 101, and the
//! sans-IO driver that collects a request head.

use base64::Engine as _;

use super::{accept_key, negotiate_deflate, PerMessageDeflate, Request, Response, B64};
use crate::config::DeflateConfig;
use crate::error::Error;
use crate::http::{self, HttpError, Limits, Status};

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
    /// permessage-deflate settings for this connection instead of the server's
    /// [`crate::Config::deflate`] (`None`, the default: the server's).
    pub deflate: Option<DeflateConfig>,
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

    /// Allows permessage-deflate on this connection (`true`, the default: as the server's
    /// settings say) or refuses it whatever the client offers (`false`), e.g. for a connection
    /// that will carry secrets next to attacker-controlled text (RFC 7692 §8).
    ///
    /// ```
    /// use ws6455::handshake::Accept;
    /// assert_eq!(Accept::new().deflate(false).deflate, Some(ws6455::DeflateConfig::off()));
    /// assert_eq!(Accept::new().deflate(true).deflate, None);
    /// ```
    #[must_use]
    pub fn deflate(mut self, on: bool) -> Accept {
        self.deflate = (!on).then(DeflateConfig::off);
        self
    }

    /// Uses these permessage-deflate settings for this connection instead of the server's.
    ///
    /// ```
    /// use ws6455::{handshake::Accept, DeflateConfig};
    /// let a = Accept::new().deflate_config(DeflateConfig::default().server_max_window_bits(15));
    /// assert_eq!(a.deflate.unwrap().server_max_window_bits, Some(15));
    /// ```
    #[must_use]
    pub fn deflate_config(mut self, config: DeflateConfig) -> Accept {
        self.deflate = Some(config);
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
    /// The permessage-deflate agreement, when accepted with one (the response then carries its
    /// `Sec-WebSocket-Extensions`).
    pub deflate: Option<PerMessageDeflate>,
}

/// The whole server decision: the §4.2.1 checks, then the application's hook (which only sees
/// requests that passed them). A rejection gets `Connection: close`; a rejection with a 1xx
/// status would confuse the client and is sent as 500 instead. This form never negotiates an
/// extension (as [`server_handshake_with`] with [`DeflateConfig::off`]): a caller that runs the
/// connection itself must apply what it agrees to.
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
    server_handshake_with(req, hook, &DeflateConfig::off())
}

/// [`server_handshake`] with permessage-deflate negotiated within `deflate` (or the hook's
/// [`Accept::deflate`] settings): the response carries the answer
/// ([`negotiate_deflate`]) and [`ServerOutcome::deflate`] the agreement to apply.
///
/// ```
/// use ws6455::handshake::{server_handshake_with, Accept, Decision, Request};
/// use ws6455::DeflateConfig;
/// let req = Request::parse(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
/// Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
/// Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n").unwrap();
/// let out = server_handshake_with(&req, &|_: &Request| Decision::Accept(Accept::new()), &DeflateConfig::default());
/// assert_eq!(out.response.get_header("sec-websocket-extensions"),
///     Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"));
/// assert_eq!(out.deflate.unwrap().server_max_window_bits, 12);
/// // The hook may refuse compression for one connection.
/// let out = server_handshake_with(&req, &|_: &Request| Decision::Accept(Accept::new().deflate(false)),
///     &DeflateConfig::default());
/// assert_eq!((out.deflate, out.response.get_header("sec-websocket-extensions")), (None, None));
/// ```
pub fn server_handshake_with(
    req: &Request,
    hook: &dyn Fn(&Request) -> Decision,
    deflate: &DeflateConfig,
) -> ServerOutcome {
    let rejected = |response: Response| ServerOutcome {
        response,
        accepted: false,
        subprotocol: None,
        deflate: None,
    };
    let key = match check_request(req) {
        Ok(k) => k,
        Err(resp) => return rejected(resp),
    };
    match hook(req) {
        Decision::Accept(accept) => {
            let mut response = accept_response(req, &key, &accept);
            let settings = accept.deflate.as_ref().unwrap_or(deflate);
            let negotiated =
                negotiate_deflate(req.header_all("sec-websocket-extensions"), settings);
            let deflate = negotiated.map(|(agreement, header)| {
                response
                    .headers
                    .push(("Sec-WebSocket-Extensions".into(), header));
                agreement
            });
            ServerOutcome {
                response,
                accepted: true,
                subprotocol: selected_protocol(req, &accept).map(str::to_owned),
                deflate,
            }
        }
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
