//! Client side: the upgrade request, and the checks on the server's answer.

use base64::Engine as _;

use super::{
    accept_deflate_response, accept_key, deflate_offer, HandshakeError, PerMessageDeflate,
    Response, WsUrl, B64, MAX_REJECTION_BODY,
};
use crate::config::DeflateConfig;
use crate::error::{Error, Result};
use crate::http::{self, Limits, Status};

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

const CLIENT_RESERVED: [&str; 7] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
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
/// the accept key, no extension (we offered none: see [`ClientHandshake::with_deflate`] for the
/// checks when we offer permessage-deflate), and a subprotocol only if it is one we offered.
/// Returns the selected subprotocol.
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
    resp: &http::ResponseHead<'_>,
    body: &[u8],
    key: &str,
    protocols: &[String],
) -> std::result::Result<Option<String>, HandshakeError> {
    verify(resp, body, key, protocols, &DeflateConfig::off()).map(|(p, _)| p)
}

/// [`verify_response`] for a request that offered permessage-deflate per `deflate`: also gives
/// the agreement ([`accept_deflate_response`]).
fn verify(
    resp: &http::ResponseHead<'_>,
    body: &[u8],
    key: &str,
    protocols: &[String],
    deflate: &DeflateConfig,
) -> std::result::Result<(Option<String>, Option<PerMessageDeflate>), HandshakeError> {
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
    let extensions: Vec<String> = all("sec-websocket-extensions")
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .collect();
    let agreement = accept_deflate_response(extensions.iter().map(String::as_str), deflate)?;
    let mut proto = all("sec-websocket-protocol");
    match (proto.next(), proto.next()) {
        (None, _) => Ok((None, agreement)),
        (Some(h), None) => {
            let p = String::from_utf8_lossy(h.value).into_owned();
            if protocols.contains(&p) {
                Ok((Some(p), agreement))
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
    /// The permessage-deflate agreement, when we offered it and the server accepted.
    pub deflate: Option<PerMessageDeflate>,
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
    /// What we offered for permessage-deflate (off: nothing).
    deflate: DeflateConfig,
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
            deflate: DeflateConfig::off(),
            refusal: None,
        })
    }

    /// Offers permessage-deflate per `config` ([`deflate_offer`]; nothing when it is disabled),
    /// and checks the answer against it ([`accept_deflate_response`]): a response we did not ask
    /// for or cannot honour fails [`ClientHandshake::feed`] with
    /// [`HandshakeError::UnexpectedExtension`] or [`HandshakeError::InvalidExtension`], and the
    /// caller must then close the connection without a frame (RFC 6455 §4.1). The agreement is in
    /// [`ClientOutcome::deflate`]. Without this call nothing is offered.
    ///
    /// ```
    /// use ws6455::{handshake::{accept_key, parse_url, ClientHandshake}, DeflateConfig};
    /// let url = parse_url("ws://h/").unwrap();
    /// let mut hs = ClientHandshake::new(&url, &[], &[], Default::default()).unwrap()
    ///     .with_deflate(&DeflateConfig::default());
    /// let request = String::from_utf8(hs.request().to_vec()).unwrap();
    /// assert!(request.ends_with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"));
    /// let resp = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    /// Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n\r\n",
    ///     accept_key(hs.key().as_bytes()));
    /// let done = hs.feed(resp.as_bytes()).unwrap().unwrap();
    /// assert_eq!(done.deflate.unwrap().server_max_window_bits, 12);
    /// ```
    #[must_use]
    pub fn with_deflate(mut self, config: &DeflateConfig) -> ClientHandshake {
        self.deflate = *config;
        if let Some(offer) = deflate_offer(config) {
            // The request ends with the empty line: put the header before it.
            self.request.truncate(self.request.len() - 2);
            self.request
                .extend_from_slice(b"Sec-WebSocket-Extensions: ");
            self.request.extend_from_slice(offer.as_bytes());
            self.request.extend_from_slice(b"\r\n\r\n");
        }
        self
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
        let (subprotocol, deflate) = verify(&resp, &[], &self.key, &self.protocols, &self.deflate)?;
        let response = Response::from_http(&resp, &[]);
        let leftover = self.buf[used..].to_vec();
        self.buf.clear();
        Ok(Some(ClientOutcome {
            response,
            subprotocol,
            deflate,
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
