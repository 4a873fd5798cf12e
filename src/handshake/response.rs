//! The owned HTTP response: built by a server (101 or a refusal), received by a client.

use crate::http;

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
    pub fn from_http(resp: &http::ResponseHead<'_>, body: &[u8]) -> Response {
        Response {
            status: resp.status,
            reason: resp.reason.to_owned(),
            headers: super::owned_headers(&resp.headers),
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
    pub(super) fn with_close(mut self) -> Response {
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
