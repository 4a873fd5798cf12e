//! `ws://` and `wss://` URLs.

use crate::error::{Error, Result};

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
