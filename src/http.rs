//! A small, strict, zero-copy HTTP/1.1 head parser (RFC 9112 / RFC 9110).
//!
//! It parses only what a WebSocket opening handshake needs: a request head (request line and
//! header fields up to the blank line) and a response head (status line and header fields).
//! Parsing is incremental in the simplest way: call [`parse_request`] / [`parse_response`] with
//! everything received so far; it answers [`Status::Partial`] until the blank line that ends the
//! head has arrived, then the parsed head and the number of bytes it used. Bytes after the head
//! (for example the first WebSocket frames of an eager peer) are left for the caller.
//!
//! Before parsing, a fast scan looks for the end of the head, so calling again on every read is
//! cheap, even when the head arrives a byte at a time.
//!
//! ```
//! use ws6455::http::{parse_request, Limits, Status};
//! let buf = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, Upgrade\r\n\r\n\x81\x00";
//! let Status::Complete((req, used)) = parse_request(buf, &Limits::default()).unwrap() else {
//!     panic!("head is complete");
//! };
//! assert_eq!(req.target, "/chat");
//! assert!(req.has_token("connection", "upgrade"));
//! assert_eq!(&buf[used..], b"\x81\x00"); // the first frame is kept
//! ```

use std::fmt;

use crate::config::Config;

/// The result of an incremental parse: more bytes needed, or a complete value.
///
/// ```
/// use ws6455::http::Status;
/// let s: Status<u8> = Status::Complete(3);
/// assert!(s.is_complete());
/// assert_eq!(s.map(|x| x + 1), Status::Complete(4));
/// assert!(Status::<u8>::Partial.is_partial());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// The head is not complete yet: read more bytes and call again with all of them.
    Partial,
    /// The head is complete.
    Complete(T),
}

impl<T> Status<T> {
    /// True for [`Status::Complete`].
    ///
    /// ```
    /// assert!(ws6455::http::Status::Complete(()).is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        matches!(self, Status::Complete(_))
    }

    /// True for [`Status::Partial`].
    ///
    /// ```
    /// assert!(ws6455::http::Status::<()>::Partial.is_partial());
    /// ```
    pub fn is_partial(&self) -> bool {
        matches!(self, Status::Partial)
    }

    /// Maps the complete value.
    ///
    /// ```
    /// use ws6455::http::Status;
    /// assert_eq!(Status::Complete(2).map(|x| x * 2), Status::Complete(4));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Partial => Status::Partial,
            Status::Complete(t) => Status::Complete(f(t)),
        }
    }

    /// The complete value, if any.
    ///
    /// ```
    /// assert_eq!(ws6455::http::Status::Complete(1).complete(), Some(1));
    /// ```
    pub fn complete(self) -> Option<T> {
        match self {
            Status::Partial => None,
            Status::Complete(t) => Some(t),
        }
    }
}

/// One header field, borrowed from the parsed buffer. The name keeps its original case; compare
/// it with [`str::eq_ignore_ascii_case`] (or use [`header`]). The value has no leading or trailing
/// whitespace; it may hold non-ASCII bytes (obs-text), hence `&[u8]`.
///
/// ```
/// use ws6455::http::Header;
/// let h = Header { name: "Host", value: b"example.com" };
/// assert!(h.is("host"));
/// assert_eq!(h.value_str(), Some("example.com"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'b> {
    /// The field name (a token), as sent.
    pub name: &'b str,
    /// The field value without surrounding whitespace.
    pub value: &'b [u8],
}

impl<'b> Header<'b> {
    /// Whether the name matches, ignoring ASCII case.
    ///
    /// ```
    /// assert!(ws6455::http::Header { name: "Upgrade", value: b"" }.is("UPGRADE"));
    /// ```
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value as text, when it is valid UTF-8.
    ///
    /// ```
    /// assert_eq!(ws6455::http::Header { name: "X", value: b"\xff" }.value_str(), None);
    /// ```
    pub fn value_str(&self) -> Option<&'b str> {
        std::str::from_utf8(self.value).ok()
    }
}

/// A parsed request head, borrowing from the buffer it was parsed from ([`crate::handshake::Request`]
/// is the owned copy the application gets).
///
/// ```
/// use ws6455::http::{parse_request, Limits};
/// let (req, _) = parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &Limits::default())
///     .unwrap()
///     .complete()
///     .unwrap();
/// assert_eq!((req.method, req.target, req.version), ("GET", "/", 1));
/// assert_eq!(req.header("HOST"), Some(&b"a"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead<'b> {
    /// The method, e.g. `GET` (case-sensitive, as sent).
    pub method: &'b str,
    /// The request target as sent, e.g. `/chat?room=1`.
    pub target: &'b str,
    /// The minor version: 1 for `HTTP/1.1`, 0 for `HTTP/1.0` (the major version is always 1).
    pub version: u8,
    /// The header fields in the order received, duplicates included.
    pub headers: Vec<Header<'b>>,
}

impl<'b> RequestHead<'b> {
    /// The value of the first header field with this name (case-insensitive).
    ///
    /// ```
    /// use ws6455::http::{parse_request, Limits};
    /// let (req, _) = parse_request(b"GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\n", &Limits::default())
    ///     .unwrap().complete().unwrap();
    /// assert_eq!(req.header("x-a"), Some(&b"1"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        header(&self.headers, name)
    }

    /// Whether any header field with this name holds `token` in its comma-separated list
    /// (both compared ignoring ASCII case).
    ///
    /// ```
    /// use ws6455::http::{parse_request, Limits};
    /// let (req, _) = parse_request(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\r\n", &Limits::default())
    ///     .unwrap().complete().unwrap();
    /// assert!(req.has_token("Connection", "upgrade"));
    /// ```
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        has_token(&self.headers, name, token)
    }
}

/// A parsed response head, borrowing from the buffer it was parsed from ([`crate::handshake::Response`]
/// is the owned form).
///
/// ```
/// use ws6455::http::{parse_response, Limits};
/// let (resp, _) = parse_response(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!", &Limits::default())
///     .unwrap().complete().unwrap();
/// assert_eq!((resp.status, resp.reason), (403, "Forbidden"));
/// assert_eq!(resp.content_length(), Some(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead<'b> {
    /// The minor version: 1 for `HTTP/1.1`.
    pub version: u8,
    /// The status code (100-999).
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: &'b str,
    /// The header fields in the order received, duplicates included.
    pub headers: Vec<Header<'b>>,
}

impl<'b> ResponseHead<'b> {
    /// The value of the first header field with this name (case-insensitive).
    ///
    /// ```
    /// use ws6455::http::{parse_response, Limits};
    /// let (resp, _) = parse_response(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", &Limits::default())
    ///     .unwrap().complete().unwrap();
    /// assert_eq!(resp.header("upgrade"), Some(&b"websocket"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        header(&self.headers, name)
    }

    /// Whether any header field with this name holds `token` in its list (ignoring ASCII case).
    ///
    /// ```
    /// use ws6455::http::{parse_response, Limits};
    /// let (resp, _) = parse_response(b"HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n\r\n", &Limits::default())
    ///     .unwrap().complete().unwrap();
    /// assert!(resp.has_token("connection", "UPGRADE"));
    /// ```
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        has_token(&self.headers, name, token)
    }

    /// The body length announced by `Content-Length`: `None` when absent, malformed, or when
    /// several fields disagree (then the body length is unknown).
    ///
    /// ```
    /// use ws6455::http::{parse_response, Limits};
    /// let (resp, _) = parse_response(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 12\r\n\r\n", &Limits::default())
    ///     .unwrap().complete().unwrap();
    /// assert_eq!(resp.content_length(), Some(12));
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        let mut found: Option<u64> = None;
        for h in self.headers.iter().filter(|h| h.is("content-length")) {
            // A list of identical values ("5, 5") is tolerated (RFC 9110 §8.6).
            for item in h.value.split(|&b| b == b',') {
                let item = trim_ows(item);
                if item.is_empty() || item.len() > 19 || !item.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let n = item
                    .iter()
                    .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
                match found {
                    Some(prev) if prev != n => return None,
                    _ => found = Some(n),
                }
            }
        }
        found
    }
}

/// Bounds on a head: what a peer can make us buffer and allocate.
///
/// ```
/// use ws6455::http::Limits;
/// let l = Limits::default();
/// assert_eq!((l.max_head_size, l.max_headers), (16 * 1024, 64));
/// let from_config = Limits::from(&ws6455::Config::default().max_headers(10));
/// assert_eq!(from_config.max_headers, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest head accepted, in bytes, including the line ending of the blank line
    /// (default 16 KiB). Longer: [`HttpErrorKind::HeadTooLarge`].
    pub max_head_size: usize,
    /// Most header fields accepted (default 64). More: [`HttpErrorKind::TooManyHeaders`].
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head_size: 16 << 10,
            max_headers: 64,
        }
    }
}

impl From<&Config> for Limits {
    fn from(c: &Config) -> Limits {
        Limits {
            max_head_size: c.max_head_size,
            max_headers: c.max_headers,
        }
    }
}

/// What is wrong with a head.
///
/// ```
/// use ws6455::http::HttpErrorKind;
/// assert_eq!(HttpErrorKind::ObsFold.to_string(), "obsolete line folding");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// The head did not end within the limit.
    HeadTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// More header fields than the limit.
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The method is not a token followed by a single space.
    InvalidMethod,
    /// The request target is empty or holds a byte that is not visible ASCII.
    InvalidTarget,
    /// The version is not `HTTP/1.<digit>` (or the line has something after it).
    InvalidVersion,
    /// The status code is not three digits (100-999).
    InvalidStatus,
    /// The reason phrase holds a control character or is not UTF-8.
    InvalidReason,
    /// A header name is empty or holds a byte that is not a token character.
    InvalidHeaderName,
    /// Whitespace between a header name and its colon (forbidden by RFC 9112 §5.1).
    WhitespaceBeforeColon,
    /// A header line without a colon.
    MissingColon,
    /// A header value holds a control character.
    InvalidHeaderValue,
    /// A header line starts with whitespace: obsolete line folding (RFC 9112 §5.2).
    ObsFold,
    /// A carriage return not followed by a line feed.
    BareCr,
}

impl fmt::Display for HttpErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpErrorKind::HeadTooLarge { limit } => {
                write!(f, "head larger than the limit of {limit} bytes")
            }
            HttpErrorKind::TooManyHeaders { limit } => {
                write!(f, "more than {limit} header fields")
            }
            HttpErrorKind::InvalidMethod => f.write_str("invalid method"),
            HttpErrorKind::InvalidTarget => f.write_str("invalid request target"),
            HttpErrorKind::InvalidVersion => f.write_str("invalid HTTP version"),
            HttpErrorKind::InvalidStatus => f.write_str("invalid status code"),
            HttpErrorKind::InvalidReason => f.write_str("invalid reason phrase"),
            HttpErrorKind::InvalidHeaderName => f.write_str("invalid header name"),
            HttpErrorKind::WhitespaceBeforeColon => {
                f.write_str("whitespace between header name and colon")
            }
            HttpErrorKind::MissingColon => f.write_str("header line without a colon"),
            HttpErrorKind::InvalidHeaderValue => f.write_str("control character in header value"),
            HttpErrorKind::ObsFold => f.write_str("obsolete line folding"),
            HttpErrorKind::BareCr => f.write_str("carriage return without line feed"),
        }
    }
}

/// A malformed or oversized HTTP head: what is wrong and at which byte offset of the buffer.
///
/// ```
/// use ws6455::http::{parse_request, HttpErrorKind, Limits};
/// let err = parse_request(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", &Limits::default()).unwrap_err();
/// assert_eq!(err.kind, HttpErrorKind::WhitespaceBeforeColon);
/// assert_eq!(err.offset, 20);
/// assert_eq!(err.to_string(), "whitespace between header name and colon at byte 20");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    /// What is wrong.
    pub kind: HttpErrorKind,
    /// Offset of the offending byte in the buffer given to the parser.
    pub offset: usize,
}

impl HttpError {
    fn new(kind: HttpErrorKind, offset: usize) -> HttpError {
        HttpError { kind, offset }
    }

    /// True when the head was too large (a server answers 431 rather than 400).
    ///
    /// ```
    /// use ws6455::http::{parse_request, Limits};
    /// let limits = Limits { max_head_size: 8, max_headers: 64 };
    /// assert!(parse_request(b"GET / HTTP/1.1\r\n", &limits).unwrap_err().is_too_large());
    /// ```
    pub fn is_too_large(&self) -> bool {
        matches!(
            self.kind,
            HttpErrorKind::HeadTooLarge { .. } | HttpErrorKind::TooManyHeaders { .. }
        )
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for HttpError {}

// ---------------------------------------------------------------------------------------------
// Byte classes.

const TCHAR: u8 = 1;
const VALUE: u8 = 2;
const VCHAR: u8 = 4;

const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        let visible = b >= 0x21 && b <= 0x7e;
        if visible || b == b' ' || b == b'\t' || b >= 0x80 {
            c |= VALUE;
        }
        if visible {
            c |= VCHAR;
        }
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            )
        {
            c |= TCHAR;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = build_classes();

#[inline]
fn is_class(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// Whether `s` is a non-empty token (RFC 9110 §5.6.2): the syntax of header names, methods,
/// subprotocol names.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| is_class(b, TCHAR))
}

/// Whether `b` is a token character (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    is_class(b, TCHAR)
}

/// Whether `v` may be sent as a header value: no control characters (CR, LF, NUL...) other
/// than horizontal tab.
pub(crate) fn is_valid_value(v: &[u8]) -> bool {
    v.iter().all(|&b| is_class(b, VALUE))
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Header helpers.

/// The value of the first header field named `name` (case-insensitive).
pub(crate) fn header<'b>(headers: &[Header<'b>], name: &str) -> Option<&'b [u8]> {
    headers.iter().find(|h| h.is(name)).map(|h| h.value)
}

/// The elements of a comma-separated list value (RFC 9110 §5.6.1): split on commas, with
/// optional whitespace trimmed and empty elements skipped. Elements that are not UTF-8 are
/// skipped too.
pub(crate) fn tokens(value: &[u8]) -> impl Iterator<Item = &str> + '_ {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
        .filter_map(|e| std::str::from_utf8(e).ok())
}

/// Whether any header field named `name` lists `token` (both compared ignoring ASCII case).
/// Several fields with the same name count as one list, as RFC 9110 §5.3 says.
pub(crate) fn has_token(headers: &[Header<'_>], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.is(name))
        .any(|h| tokens(h.value).any(|t| t.eq_ignore_ascii_case(token)))
}

// ---------------------------------------------------------------------------------------------
// Scanning.

/// Skips empty lines before the start line (RFC 9112 §2.2 lets a recipient ignore them).
/// Returns the start offset, or `None` when the buffer ends in the middle of a CRLF.
fn skip_leading_empty_lines(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        match &buf[i..] {
            [b'\n', ..] => i += 1,
            [b'\r', b'\n', ..] => i += 2,
            [b'\r'] => return None,
            _ => return Some(i),
        }
    }
}

const LF_WORD: u64 = 0x0a0a_0a0a_0a0a_0a0a;
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The index of the first `\n` in `buf[from..]`, eight bytes at a time.
#[inline]
fn find_lf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 8 <= buf.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&buf[i..i + 8]);
        let x = u64::from_le_bytes(word) ^ LF_WORD;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            // The lowest flagged byte is always a true zero byte.
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    buf[i..].iter().position(|&b| b == b'\n').map(|p| i + p)
}

/// Finds the end of a head: the index just past the blank line (`\r\n\r\n`, `\n\n`, or a mix)
/// that ends it, searching for line feeds from `from`.
///
/// To resume a search after more bytes arrived, pass the previous buffer length minus 3 (or 0):
/// a terminator may straddle the old end. The start line must already be non-empty (leading
/// empty lines are handled by [`parse_request`], not here).
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(lf) = find_lf(buf, i) {
        match buf.get(lf + 1..) {
            Some([b'\n', ..]) => return Some(lf + 2),
            Some([b'\r', b'\n', ..]) => return Some(lf + 3),
            _ => i = lf + 1,
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/// Parses a request head from the start of `buf`.
///
/// Returns [`Status::Partial`] until the blank line that ends the head is in `buf`; then the
/// request and the length of the head (the WebSocket stream starts at `buf[len..]`). Errors name
/// what is wrong and where; [`HttpErrorKind::HeadTooLarge`] as soon as `buf` holds
/// `limits.max_head_size` bytes without the end of the head. An obviously invalid method is
/// reported before the head is complete.
///
/// ```
/// use ws6455::http::{parse_request, Limits, Status};
/// let limits = Limits::default();
/// let full = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\r\n";
/// assert_eq!(parse_request(&full[..30], &limits).unwrap(), Status::Partial);
/// let Status::Complete((req, len)) = parse_request(full, &limits).unwrap() else { panic!() };
/// assert_eq!(len, full.len());
/// assert_eq!(req.headers.len(), 2);
/// assert_eq!(req.headers[1].name, "Upgrade");
/// ```
pub fn parse_request<'b>(
    buf: &'b [u8],
    limits: &Limits,
) -> Result<Status<(RequestHead<'b>, usize)>, HttpError> {
    // Only the first `max_head_size` bytes are ever looked at, so the answer for a longer
    // buffer is the answer for any prefix that is at least that long.
    let window = &buf[..buf.len().min(limits.max_head_size)];
    let Some(start) = skip_leading_empty_lines(window) else {
        return incomplete(buf, limits);
    };
    let Some(end) = find_head_end(window, start) else {
        // Not complete: reject garbage early, then wait (or give up at the limit).
        check_method_prefix(window, start)?;
        return incomplete(buf, limits);
    };
    let head = &buf[..end];
    let text = std::str::from_utf8(head).ok();
    let lf = find_lf(head, start).unwrap_or(end - 1);
    let (method, target, version) = parse_request_line(head, text, start, line_end(head, lf))?;
    let headers = parse_headers(head, text, lf + 1, limits)?;
    Ok(Status::Complete((
        RequestHead {
            method,
            target,
            version,
            headers,
        },
        end,
    )))
}

/// Parses a response head from the start of `buf`; like [`parse_request`].
///
/// ```
/// use ws6455::http::{parse_response, Limits, Status};
/// let buf = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi";
/// let Status::Complete((resp, len)) = parse_response(buf, &Limits::default()).unwrap() else { panic!() };
/// assert_eq!(resp.status, 101);
/// assert_eq!(&buf[len..], b"\x81\x02hi");
/// ```
pub fn parse_response<'b>(
    buf: &'b [u8],
    limits: &Limits,
) -> Result<Status<(ResponseHead<'b>, usize)>, HttpError> {
    let window = &buf[..buf.len().min(limits.max_head_size)];
    let Some(start) = skip_leading_empty_lines(window) else {
        return incomplete(buf, limits);
    };
    let Some(end) = find_head_end(window, start) else {
        check_version_prefix(&window[start..])
            .map_err(|i| HttpError::new(HttpErrorKind::InvalidVersion, start + i))?;
        return incomplete(buf, limits);
    };
    let head = &buf[..end];
    let lf = find_lf(head, start).unwrap_or(end - 1);
    let (version, status, reason) = parse_status_line(head, start, line_end(head, lf))?;
    let headers = parse_headers(head, std::str::from_utf8(head).ok(), lf + 1, limits)?;
    Ok(Status::Complete((
        ResponseHead {
            version,
            status,
            reason,
            headers,
        },
        end,
    )))
}

fn incomplete<T>(buf: &[u8], limits: &Limits) -> Result<Status<T>, HttpError> {
    if buf.len() >= limits.max_head_size {
        Err(HttpError::new(
            HttpErrorKind::HeadTooLarge {
                limit: limits.max_head_size,
            },
            limits.max_head_size,
        ))
    } else {
        Ok(Status::Partial)
    }
}

/// The end of the line content for a line ending at the `\n` at `lf` (a preceding `\r` dropped).
fn line_end(head: &[u8], lf: usize) -> usize {
    if lf > 0 && head[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    }
}

/// Method token then a space. Used both on a complete line and on an incomplete prefix, so
/// that early errors are exactly the errors the complete head would give.
fn scan_method(buf: &[u8], start: usize, end: usize) -> Result<Option<usize>, HttpError> {
    let i = start + run_of(&buf[start..end], TCHAR);
    if i == end {
        return Ok(None);
    }
    if i == start || buf[i] != b' ' {
        return Err(HttpError::new(HttpErrorKind::InvalidMethod, i));
    }
    Ok(Some(i))
}

fn check_method_prefix(buf: &[u8], start: usize) -> Result<(), HttpError> {
    scan_method(buf, start, buf.len()).map(|_| ())
}

fn parse_request_line<'b>(
    head: &'b [u8],
    text: Option<&'b str>,
    start: usize,
    end: usize,
) -> Result<(&'b str, &'b str, u8), HttpError> {
    let Some(sp1) = scan_method(head, start, end)? else {
        return Err(HttpError::new(HttpErrorKind::InvalidMethod, end));
    };
    let i = sp1 + 1 + run_of(&head[sp1 + 1..end], VCHAR);
    if i == sp1 + 1 || i == end || head[i] != b' ' {
        return Err(HttpError::new(HttpErrorKind::InvalidTarget, i));
    }
    let sp2 = i;
    let version = parse_version(head, sp2 + 1, end)?;
    if version.1 != end {
        return Err(HttpError::new(HttpErrorKind::InvalidVersion, version.1));
    }
    Ok((
        ascii(head, text, start, sp1),
        ascii(head, text, sp1 + 1, sp2),
        version.0,
    ))
}

/// Compares with `HTTP/1.`: `Err(i)` at the first byte that differs.
fn check_version_prefix(bytes: &[u8]) -> Result<(), usize> {
    match bytes.iter().zip(b"HTTP/1.").position(|(a, b)| a != b) {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

/// `HTTP/1.<digit>` at `at`; returns the minor version and the index after it.
fn parse_version(head: &[u8], at: usize, end: usize) -> Result<(u8, usize), HttpError> {
    let bytes = &head[at..end];
    check_version_prefix(bytes)
        .map_err(|i| HttpError::new(HttpErrorKind::InvalidVersion, at + i))?;
    match bytes.get(7) {
        Some(d) if d.is_ascii_digit() => Ok((d - b'0', at + 8)),
        _ => Err(HttpError::new(
            HttpErrorKind::InvalidVersion,
            at + bytes.len().min(7),
        )),
    }
}

fn parse_status_line(head: &[u8], start: usize, end: usize) -> Result<(u8, u16, &str), HttpError> {
    let (version, mut i) = parse_version(head, start, end)?;
    if i == end || head[i] != b' ' {
        return Err(HttpError::new(HttpErrorKind::InvalidVersion, i));
    }
    i += 1;
    let code = &head[i..end.min(i + 3)];
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        let bad = code.iter().position(|b| !b.is_ascii_digit()).unwrap_or(0);
        return Err(HttpError::new(HttpErrorKind::InvalidStatus, i + bad));
    }
    let status = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    i += 3;
    let reason = if i == end {
        ""
    } else if head[i] != b' ' {
        return Err(HttpError::new(HttpErrorKind::InvalidStatus, i));
    } else {
        let r = &head[i + 1..end];
        if let Some(bad) = r.iter().position(|&b| !is_class(b, VALUE)) {
            return Err(HttpError::new(HttpErrorKind::InvalidReason, i + 1 + bad));
        }
        std::str::from_utf8(r)
            .map_err(|e| HttpError::new(HttpErrorKind::InvalidReason, i + 1 + e.valid_up_to()))?
    };
    Ok((version, status, reason))
}

/// Text of `head[a..b]`, bytes already checked to be ASCII. `text` is the whole head as `&str`
/// when it is UTF-8 (the usual case): slicing it costs nothing, where re-validating every piece
/// would cost a call each.
#[inline]
fn ascii<'b>(head: &'b [u8], text: Option<&'b str>, a: usize, b: usize) -> &'b str {
    match text.and_then(|t| t.get(a..b)) {
        Some(s) => s,
        // Callers only pass token or visible-ASCII bytes, so this cannot fail.
        None => std::str::from_utf8(&head[a..b]).unwrap_or_default(),
    }
}

/// Length of the leading run of bytes of `class`.
#[inline]
fn run_of(bytes: &[u8], class: u8) -> usize {
    bytes
        .iter()
        .position(|&b| !is_class(b, class))
        .unwrap_or(bytes.len())
}

/// Length of the leading run of header-value bytes, eight at a time: the words' control
/// characters (below 0x20, or DEL) are flagged, and the lowest flag is exactly the first one
/// (the borrow tricks only give false flags above a true one). Tab is the one allowed control
/// character: skip it and go on.
#[inline]
fn value_run(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let below_space = x.wrapping_sub(0x2020_2020_2020_2020) & !x & HI;
        let y = x ^ 0x7f7f_7f7f_7f7f_7f7f;
        let del = y.wrapping_sub(LO) & !y & HI;
        let flags = below_space | del;
        if flags == 0 {
            i += 8;
            continue;
        }
        let at = i + (flags.trailing_zeros() / 8) as usize;
        if bytes[at] != b'\t' {
            return at;
        }
        i = at + 1;
    }
    i + run_of(&bytes[i..], VALUE)
}

/// Parses header lines from `pos` up to and including the blank line that ends `head`.
fn parse_headers<'b>(
    head: &'b [u8],
    text: Option<&'b str>,
    mut pos: usize,
    limits: &Limits,
) -> Result<Vec<Header<'b>>, HttpError> {
    let mut headers = Vec::with_capacity(16);
    loop {
        // `head` ends with the blank line, so every line below ends inside it.
        match head.get(pos..) {
            Some([b'\n', ..]) | Some([b'\r', b'\n', ..]) | None | Some([]) => return Ok(headers),
            Some([b' ' | b'\t', ..]) => return Err(HttpError::new(HttpErrorKind::ObsFold, pos)),
            _ => {}
        }
        if headers.len() == limits.max_headers {
            return Err(HttpError::new(
                HttpErrorKind::TooManyHeaders {
                    limit: limits.max_headers,
                },
                pos,
            ));
        }
        // Name.
        let name_start = pos;
        pos += run_of(&head[pos..], TCHAR);
        let named = pos > name_start;
        match head.get(pos) {
            Some(b':') if named => {}
            Some(b' ' | b'\t') if named => {
                return Err(HttpError::new(HttpErrorKind::WhitespaceBeforeColon, pos))
            }
            Some(b'\r' | b'\n') | None if named => {
                return Err(HttpError::new(HttpErrorKind::MissingColon, pos))
            }
            _ => return Err(HttpError::new(HttpErrorKind::InvalidHeaderName, pos)),
        }
        let name = ascii(head, text, name_start, pos);
        pos += 1;
        // Value.
        while let Some(b' ' | b'\t') = head.get(pos) {
            pos += 1;
        }
        let value_start = pos;
        pos += value_run(&head[pos..]);
        let mut value_end = pos;
        match head.get(pos..) {
            Some([b'\n', ..]) => pos += 1,
            Some([b'\r', b'\n', ..]) => pos += 2,
            Some([b'\r', ..]) => return Err(HttpError::new(HttpErrorKind::BareCr, pos)),
            _ => return Err(HttpError::new(HttpErrorKind::InvalidHeaderValue, pos)),
        }
        while value_end > value_start && matches!(head[value_end - 1], b' ' | b'\t') {
            value_end -= 1;
        }
        headers.push(Header {
            name,
            value: &head[value_start..value_end],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(buf: &[u8]) -> Result<Status<(RequestHead<'_>, usize)>, HttpError> {
        parse_request(buf, &Limits::default())
    }

    fn err(buf: &[u8]) -> HttpError {
        req(buf).unwrap_err()
    }

    #[test]
    fn find_lf_agrees_with_naive() {
        let data: Vec<u8> = (0..200u32)
            .map(|i| if i % 37 == 5 { b'\n' } else { b'a' })
            .collect();
        for from in 0..data.len() {
            let naive = data[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|p| p + from);
            assert_eq!(find_lf(&data, from), naive, "from {from}");
        }
        // Bytes just above and below LF must not confuse the word trick.
        let tricky = [0x0b, 0x09, 0x8a, 0x0a, 0x0b, 0x00, 0x01, 0x0a, 0x0a];
        assert_eq!(find_lf(&tricky, 0), Some(3));
        assert_eq!(find_lf(&tricky, 4), Some(7));
    }

    #[test]
    fn value_run_agrees_with_naive() {
        let naive = |b: &[u8]| {
            b.iter()
                .position(|&c| !is_class(c, VALUE))
                .unwrap_or(b.len())
        };
        let mut data: Vec<u8> = (0..=255u8).collect();
        data.extend((0..=255u8).rev());
        for start in 0..data.len() {
            for len in [0, 1, 7, 8, 9, 17, 64] {
                let s = &data[start..(start + len).min(data.len())];
                assert_eq!(value_run(s), naive(s));
            }
        }
        for bad in [0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x7f] {
            for pos in 0..20 {
                let mut v = vec![b'a'; 20];
                v[pos] = bad;
                assert_eq!(value_run(&v), naive(&v), "{bad:#x} at {pos}");
            }
        }
        let mut hi = vec![0x80u8; 20];
        hi[13] = 0x7f;
        assert_eq!(value_run(&hi), 13);
        // Tabs are skipped, whatever their position in a word.
        let mut tabs = vec![b'a'; 40];
        for t in [0, 3, 7, 8, 15, 16, 17] {
            tabs[t] = b'\t';
        }
        assert_eq!(value_run(&tabs), 40);
        tabs[30] = b'\r';
        assert_eq!(value_run(&tabs), 30);
        // Every byte value at every position of a word, after a tab.
        for pos in 0..16 {
            for b in 0..=255u8 {
                let mut v = vec![b'x'; 24];
                v[2] = b'\t';
                v[pos + 3] = b;
                assert_eq!(value_run(&v), naive(&v), "{b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn typical_upgrade_request() {
        let buf = b"GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let Status::Complete((r, n)) = req(buf).unwrap() else {
            panic!()
        };
        assert_eq!(n, buf.len());
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "/chat?x=1");
        assert_eq!(r.version, 1);
        assert_eq!(r.headers.len(), 7);
        assert_eq!(
            r.header("sec-websocket-key"),
            Some(&b"dGhlIHNhbXBsZSBub25jZQ=="[..])
        );
        let protos: Vec<_> = tokens(r.header("Sec-WebSocket-Protocol").unwrap()).collect();
        assert_eq!(protos, ["chat", "superchat"]);
    }

    #[test]
    fn bare_lf_and_ows() {
        let buf = b"GET / HTTP/1.0\nHost:a\nX-Y: \t v  w \t\n\nrest";
        let Status::Complete((r, n)) = req(buf).unwrap() else {
            panic!()
        };
        assert_eq!(&buf[n..], b"rest");
        assert_eq!(r.version, 0);
        assert_eq!(r.header("host"), Some(&b"a"[..]));
        assert_eq!(r.header("x-y"), Some(&b"v  w"[..]));
    }

    #[test]
    fn empty_value_and_duplicates() {
        let buf = b"GET / HTTP/1.1\r\nA:\r\nB: 1\r\nb: 2\r\n\r\n";
        let (r, _) = req(buf).unwrap().complete().unwrap();
        assert_eq!(r.header("a"), Some(&b""[..]));
        let bs: Vec<_> = r
            .headers
            .iter()
            .filter(|h| h.is("B"))
            .map(|h| h.value)
            .collect();
        assert_eq!(bs, [&b"1"[..], &b"2"[..]]);
    }

    #[test]
    fn leading_empty_lines_are_ignored() {
        let buf = b"\r\n\nGET / HTTP/1.1\r\n\r\n";
        let (r, n) = req(buf).unwrap().complete().unwrap();
        assert_eq!(r.target, "/");
        assert_eq!(n, buf.len());
        assert_eq!(req(b"\r").unwrap(), Status::Partial);
    }

    #[test]
    fn obs_text_in_value_is_kept() {
        let buf = b"GET / HTTP/1.1\r\nX: caf\xc3\xa9 \xff\r\n\r\n";
        let (r, _) = req(buf).unwrap().complete().unwrap();
        assert_eq!(r.header("x"), Some(&b"caf\xc3\xa9 \xff"[..]));
    }

    #[test]
    fn errors_say_what_and_where() {
        use HttpErrorKind::*;
        let cases: &[(&[u8], HttpErrorKind, usize)] = &[
            (b"GE(T / HTTP/1.1\r\n\r\n", InvalidMethod, 2),
            (b" GET / HTTP/1.1\r\n\r\n", InvalidMethod, 0),
            (b"GET  / HTTP/1.1\r\n\r\n", InvalidTarget, 4),
            (b"GET /a\x7fb HTTP/1.1\r\n\r\n", InvalidTarget, 6),
            (b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", InvalidTarget, 5),
            (b"GET /\r\n\r\n", InvalidTarget, 5),
            (b"GET / HTTP/2.0\r\n\r\n", InvalidVersion, 11),
            (b"GET / HTTP/1.x\r\n\r\n", InvalidVersion, 13),
            (b"GET / HTTP/1.1 \r\n\r\n", InvalidVersion, 14),
            (b"GET / http/1.1\r\n\r\n", InvalidVersion, 6),
            (
                b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
                WhitespaceBeforeColon,
                20,
            ),
            (b"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", InvalidHeaderName, 18),
            (b"GET / HTTP/1.1\r\n: a\r\n\r\n", InvalidHeaderName, 16),
            (b"GET / HTTP/1.1\r\nHost\r\n\r\n", MissingColon, 20),
            (
                b"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",
                InvalidHeaderValue,
                23,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
                InvalidHeaderValue,
                23,
            ),
            (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", BareCr, 23),
            (b"GET / HTTP/1.1\r\nA: b\r\n  c\r\n\r\n", ObsFold, 22),
            (b"GET / HTTP/1.1\r\n\tA: b\r\n\r\n", ObsFold, 16),
        ];
        for (buf, kind, offset) in cases {
            let e = err(buf);
            assert_eq!(
                (e.kind, e.offset),
                (*kind, *offset),
                "{:?}",
                String::from_utf8_lossy(buf)
            );
            assert!(e.to_string().contains(&format!("at byte {offset}")));
        }
    }

    #[test]
    fn garbage_is_rejected_before_the_head_ends() {
        let e = err(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
        assert_eq!((e.kind, e.offset), (HttpErrorKind::InvalidMethod, 0));
        assert_eq!(req(b"GET / HT").unwrap(), Status::Partial);
    }

    #[test]
    fn limits() {
        let limits = Limits {
            max_head_size: 64,
            max_headers: 2,
        };
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(64, b'a');
        let e = parse_request(&big, &limits).unwrap_err();
        assert_eq!(e.kind, HttpErrorKind::HeadTooLarge { limit: 64 });
        assert!(e.is_too_large());
        assert_eq!(parse_request(&big[..63], &limits).unwrap(), Status::Partial);
        // A head of exactly the limit is fine.
        let mut exact = b"GET / HTTP/1.1\r\nX: ".to_vec();
        exact.resize(60, b'a');
        exact.extend_from_slice(b"\r\n\r\n");
        assert!(parse_request(&exact, &limits).unwrap().is_complete());
        let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        let e = parse_request(many, &limits).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (HttpErrorKind::TooManyHeaders { limit: 2 }, 28)
        );
    }

    #[test]
    fn responses() {
        let l = Limits::default();
        let (r, _) = parse_response(b"HTTP/1.1 101\r\n\r\n", &l)
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!((r.status, r.reason), (101, ""));
        let e = parse_response(b"HTTP/1.1 1x1 OK\r\n\r\n", &l).unwrap_err();
        assert_eq!((e.kind, e.offset), (HttpErrorKind::InvalidStatus, 10));
        let e = parse_response(b"HTTP/1.1 10\r\n\r\n", &l).unwrap_err();
        assert_eq!(e.kind, HttpErrorKind::InvalidStatus);
        let e = parse_response(b"HTTP/1.1 1011 OK\r\n\r\n", &l).unwrap_err();
        assert_eq!((e.kind, e.offset), (HttpErrorKind::InvalidStatus, 12));
        let e = parse_response(b"HTTP/1.1 200 O\x01K\r\n\r\n", &l).unwrap_err();
        assert_eq!((e.kind, e.offset), (HttpErrorKind::InvalidReason, 14));
        let e = parse_response(b"HTTX", &l).unwrap_err();
        assert_eq!((e.kind, e.offset), (HttpErrorKind::InvalidVersion, 3));
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n", &l).unwrap(),
            Status::Partial
        );
    }

    #[test]
    fn content_length_rules() {
        let l = Limits::default();
        let cl = |h: &[u8]| {
            let mut b = b"HTTP/1.1 400 Bad\r\n".to_vec();
            b.extend_from_slice(h);
            b.extend_from_slice(b"\r\n");
            let (r, _) = parse_response(&b, &l).unwrap().complete().unwrap();
            r.content_length()
        };
        assert_eq!(cl(b""), None);
        assert_eq!(cl(b"Content-Length: 42\r\n"), Some(42));
        assert_eq!(cl(b"Content-Length: 4, 4\r\n"), Some(4));
        assert_eq!(cl(b"Content-Length: 4\r\ncontent-length: 5\r\n"), None);
        assert_eq!(cl(b"Content-Length: -1\r\n"), None);
        assert_eq!(cl(b"Content-Length: 99999999999999999999\r\n"), None);
    }

    #[test]
    fn helper_examples() {
        assert!(is_token("chat.v2"));
        assert!(!is_token("a b"));
        assert!(!is_token(""));
        assert!(is_valid_value(b"Bearer abc"));
        assert!(!is_valid_value(b"x\r\nInjected: 1"));
        let hs = [Header {
            name: "Origin",
            value: b"https://a",
        }];
        assert_eq!(header(&hs, "origin"), Some(&b"https://a"[..]));
        assert_eq!(header(&hs, "host"), None);
        let hs = [Header {
            name: "Connection",
            value: b"keep-alive, Upgrade",
        }];
        assert!(has_token(&hs, "connection", "upgrade"));
        assert!(!has_token(&hs, "connection", "close"));
        assert_eq!(
            find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest", 0),
            Some(27)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nHost: a\n\n", 0), Some(24));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
    }

    #[test]
    fn token_lists_follow_rfc9110_list_rules() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"keep-alive, Upgrade", &["keep-alive", "Upgrade"]),
            (b"chat, superchat", &["chat", "superchat"]),
            (b",,chat ,\t, superchat,", &["chat", "superchat"]),
            (b"", &[]),
            (b" , ", &[]),
            (b"Upgrade", &["Upgrade"]),
        ];
        for (value, want) in cases {
            let got: Vec<&str> = tokens(value).collect();
            assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(value));
        }
    }

    #[test]
    fn head_end_scan() {
        assert_eq!(find_head_end(b"a\r\n\r\n", 0), Some(5));
        assert_eq!(find_head_end(b"a\n\r\n", 0), Some(4));
        assert_eq!(find_head_end(b"a\r\n\n", 0), Some(4));
        assert_eq!(find_head_end(b"a\r\n\r", 0), None);
        assert_eq!(find_head_end(b"a\r\nb\r\nc\r\n", 0), None);
        // Resuming from an earlier length finds a terminator that straddles it.
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for old_len in 0..buf.len() {
            assert_eq!(
                find_head_end(buf, old_len.saturating_sub(3)),
                Some(buf.len())
            );
        }
    }
}
