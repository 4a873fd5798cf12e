//! The tester's own HTTP/1.1 handshake pieces (RFC 6455 §4): URL parsing, request and response
//! heads, the accept key. Deliberately minimal and lenient so that the tester can send and
//! receive heads a WebSocket library would refuse to produce.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Heads larger than this are refused.
const MAX_HEAD: usize = 64 * 1024;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes())
}

/// A fresh random `Sec-WebSocket-Key`: base64 of 16 random bytes.
pub fn new_key() -> String {
    let mut raw = [0u8; 16];
    crate::random::fill(&mut raw);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Whether `key` is base64 of exactly 16 bytes.
pub fn is_valid_key(key: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .is_ok_and(|raw| raw.len() == 16)
}

/// A `ws://` URL taken apart.
#[derive(Debug, Clone)]
pub struct Url {
    /// Host name or address, without IPv6 brackets.
    pub host: String,
    /// TCP port (80 when absent).
    pub port: u16,
    /// Path and query, `/` when empty.
    pub resource: String,
    /// The value for the `Host` header.
    pub host_header: String,
}

impl Url {
    /// Parses `ws://host[:port][/path]`.
    pub fn parse(s: &str) -> Result<Url, String> {
        let rest = s
            .strip_prefix("ws://")
            .ok_or_else(|| format!("`{s}`: only ws:// URLs are supported"))?;
        let (authority, resource) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let resource = if resource.starts_with('?') {
            format!("/{resource}")
        } else {
            resource
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| format!("`{s}`: unclosed `[`"))?;
            let port = v6[end + 1..].strip_prefix(':');
            (v6[..end].to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{s}`: no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("`{s}`: bad port `{p}`"))?,
            None => 80,
        };
        Ok(Url {
            host,
            port,
            resource,
            host_header: authority.to_string(),
        })
    }

    /// Opens a TCP connection to the URL's host within `timeout`, with Nagle disabled so that
    /// chopped writes leave as separate segments.
    pub fn connect(&self, timeout: Duration) -> Result<TcpStream, String> {
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?;
        let mut last = format!("{} resolves to no address", self.host);
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        Err(last)
    }

    /// A correct opening request for this URL (RFC 6455 §4.1) with `key` and extra header lines.
    pub fn request(&self, key: &str, extra: &[(&str, &str)]) -> String {
        let mut req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
            self.resource, self.host_header
        );
        for (name, value) in extra {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        req.push_str("\r\n");
        req
    }
}

/// A parsed HTTP head: the start line and the header fields in order.
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// `GET /x HTTP/1.1` or `HTTP/1.1 101 Switching Protocols`.
    pub start_line: String,
    /// Header fields as (name, value), value trimmed.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// Parses a head (the bytes before the empty line).
    pub fn parse(bytes: &[u8]) -> Result<Head, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "HTTP head is not UTF-8".to_string())?;
        let mut lines = text.split("\r\n");
        let start_line = lines.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("malformed header line `{line}`"))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        Ok(Head {
            start_line,
            headers,
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many times header `name` appears.
    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// All comma-separated tokens of every `name` header.
    pub fn tokens(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// Whether header `name` lists `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(token))
    }

    /// The status code of a response head.
    pub fn status(&self) -> Option<u16> {
        let mut parts = self.start_line.split(' ');
        let version = parts.next()?;
        if !version.starts_with("HTTP/") {
            return None;
        }
        parts.next()?.parse().ok()
    }
}

/// Reads a head terminated by an empty line, before `deadline`. Returns the head and the bytes
/// that followed it in the same reads (they belong to the WebSocket stream).
pub fn read_head(stream: &mut TcpStream, deadline: Instant) -> Result<(Head, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find_end(&buf) {
            let head = Head::parse(&buf[..end])?;
            return Ok((head, buf[end + 4..].to_vec()));
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("HTTP head longer than {MAX_HEAD} bytes"));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no complete HTTP head in time ({} bytes)",
                buf.len()
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) if buf.is_empty() => {
                return Err("connection closed without an HTTP response".into())
            }
            Ok(0) => {
                return Err(format!(
                    "connection closed inside the HTTP head ({} bytes)",
                    buf.len()
                ))
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!(
                    "no complete HTTP head in time ({} bytes)",
                    buf.len()
                ))
            }
            Err(e) => return Err(format!("reading the HTTP head: {e}")),
        }
    }
}

fn find_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Writes `bytes` in pieces of `chunk` bytes (all at once when `chunk` is 0).
pub fn write_chunked(stream: &mut TcpStream, bytes: &[u8], chunk: usize) -> std::io::Result<()> {
    if chunk == 0 {
        return stream.write_all(bytes);
    }
    for piece in bytes.chunks(chunk) {
        stream.write_all(piece)?;
    }
    Ok(())
}

/// Splits `a=1&b=x%20y` into decoded pairs.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(is_valid_key(&new_key()));
        assert!(!is_valid_key("c2hvcnQ="));
    }

    #[test]
    fn urls() {
        let u = Url::parse("ws://127.0.0.1:9001/echo?x=1").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 9001));
        assert_eq!(u.resource, "/echo?x=1");
        let u = Url::parse("ws://[::1]:80").unwrap();
        assert_eq!((u.host.as_str(), u.resource.as_str()), ("::1", "/"));
        assert_eq!(u.host_header, "[::1]:80");
        assert!(Url::parse("wss://x").is_err());
        assert!(Url::parse("ws://h:notaport/").is_err());
    }

    #[test]
    fn heads_and_queries() {
        let h = Head::parse(b"HTTP/1.1 101 Switching\r\nConnection: keep-alive, Upgrade\r\nX: 1")
            .unwrap();
        assert_eq!(h.status(), Some(101));
        assert!(h.has_token("connection", "upgrade"));
        assert_eq!(h.count("x"), 1);
        assert_eq!(
            query_pairs("case=3&agent=my%20client+x&flag"),
            [
                ("case".to_string(), "3".to_string()),
                ("agent".to_string(), "my client x".to_string()),
                ("flag".to_string(), String::new())
            ]
        );
        assert_eq!(query_pairs("a=%4"), [("a".to_string(), "%4".to_string())]);
    }
}
