//! A blocking `ws://` client.
//!
//! ```no_run
//! use ws6455::Message;
//!
//! let (mut ws, response) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
//! assert_eq!(response.status, 101);
//! ws.send_text("hello")?;
//! if let Message::Text(reply) = ws.read()? {
//!     println!("SERVER >> {reply}");
//! }
//! ws.close(ws6455::CloseCode::Normal, "bye")?;
//! # Ok::<(), ws6455::Error>(())
//! ```

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use crate::handshake::{self, HandshakeError, Response, WsUrl};
use crate::http::{self, Status};
use crate::socket::{self, WebSocket};
use crate::{Config, Error, Result, Role};

/// Largest response body read from a server that refused the upgrade.
const MAX_ERROR_BODY: usize = 64 << 10;

/// Connects to a `ws://` URL with the default [`Config`] and runs the opening handshake.
///
/// ```no_run
/// let (mut ws, _response) = ws6455::client::connect("ws://localhost:5000/chat")?;
/// ws.send_text("hi")?;
/// # Ok::<(), ws6455::Error>(())
/// ```
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response)> {
    ClientBuilder::new(url).connect()
}

/// Runs the client side of the opening handshake over a stream you connected yourself (a TLS
/// stream, a Unix socket, a proxy tunnel). The URL gives the `Host` header and the resource; its
/// scheme may be `ws` or `wss`.
///
/// ```no_run
/// let tcp = std::net::TcpStream::connect("127.0.0.1:5000")?;
/// let (mut ws, _) = ws6455::client::client_with_stream("ws://127.0.0.1:5000/", tcp)?;
/// ws.send_text("hi")?;
/// # Ok::<(), ws6455::Error>(())
/// ```
pub fn client_with_stream<S: Read + Write>(
    url: &str,
    stream: S,
) -> Result<(WebSocket<S>, Response)> {
    ClientBuilder::new(url).connect_with_stream(stream)
}

/// Builds a client connection: extra headers, subprotocols, limits and timeouts.
///
/// ```no_run
/// use ws6455::client::ClientBuilder;
/// let (ws, _) = ClientBuilder::new("ws://127.0.0.1:5000/?accessToken=s3cret")
///     .header("X-WS-AUTH-KEY", "s3cret")
///     .subprotocol("chat")
///     .connect()?;
/// println!("agreed on {:?}", ws.subprotocol());
/// # Ok::<(), ws6455::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    headers: Vec<(String, String)>,
    protocols: Vec<String>,
    config: Config,
}

impl ClientBuilder {
    /// A builder for `url` with the default [`Config`].
    ///
    /// ```
    /// let b = ws6455::client::ClientBuilder::new("ws://localhost:5000/");
    /// ```
    pub fn new(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            headers: Vec::new(),
            protocols: Vec::new(),
            config: Config::default(),
        }
    }

    /// Adds a header to the upgrade request (e.g. `Authorization`, `X-WS-AUTH-KEY`, `Origin`).
    ///
    /// ```
    /// let b = ws6455::client::ClientBuilder::new("ws://localhost:5000/").header("X-WS-AUTH-KEY", "k");
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientBuilder {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Offers a subprotocol (call again to offer several, in order of preference).
    ///
    /// ```
    /// let b = ws6455::client::ClientBuilder::new("ws://localhost:5000/").subprotocol("chat");
    /// ```
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> ClientBuilder {
        self.protocols.push(protocol.into());
        self
    }

    /// Sets limits and timeouts.
    ///
    /// ```
    /// let b = ws6455::client::ClientBuilder::new("ws://localhost:5000/")
    ///     .config(ws6455::Config::default().max_message_size(1 << 20));
    /// ```
    pub fn config(mut self, config: Config) -> ClientBuilder {
        self.config = config;
        self
    }

    /// Connects over TCP (bounded by [`Config::connect_timeout`]) and runs the handshake
    /// (bounded by [`Config::handshake_timeout`]).
    ///
    /// ```no_run
    /// let (ws, resp) = ws6455::client::ClientBuilder::new("ws://127.0.0.1:5000/").connect()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn connect(self) -> Result<(WebSocket<TcpStream>, Response)> {
        let url = handshake::parse_url(&self.url)?;
        let stream = tcp_connect(&url, &self.config)?;
        if self.config.nodelay {
            let _ = stream.set_nodelay(true);
        }
        stream.set_read_timeout(self.config.handshake_timeout)?;
        stream.set_write_timeout(self.config.write_timeout)?;
        let idle = self.config.idle_timeout;
        let (mut ws, resp) = self.handshake(&url, stream)?;
        ws.get_ref().set_read_timeout(idle)?;
        ws.set_finisher(socket::client_finish);
        Ok((ws, resp))
    }

    /// Runs the handshake over a stream you connected yourself.
    ///
    /// ```no_run
    /// let tcp = std::net::TcpStream::connect("127.0.0.1:5000")?;
    /// let (ws, _) = ws6455::client::ClientBuilder::new("ws://127.0.0.1:5000/")
    ///     .subprotocol("chat")
    ///     .connect_with_stream(tcp)?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn connect_with_stream<S: Read + Write>(
        self,
        stream: S,
    ) -> Result<(WebSocket<S>, Response)> {
        let url = handshake::parse_url_any_scheme(&self.url)?;
        self.handshake(&url, stream)
    }

    fn handshake<S: Read + Write>(
        self,
        url: &WsUrl,
        mut stream: S,
    ) -> Result<(WebSocket<S>, Response)> {
        let key = handshake::generate_key();
        let request = handshake::client_request(url, &key, &self.protocols, &self.headers)?;
        stream.write_all(&request)?;
        stream.flush()?;

        let limits = http::Limits::from(&self.config);
        let deadline = self.config.handshake_timeout.map(|t| Instant::now() + t);
        let mut buf: Vec<u8> = Vec::with_capacity(1024);
        loop {
            let parsed = match http::parse_response(&buf, &limits)? {
                Status::Complete(r) => Some(r),
                Status::Partial => None,
            };
            if let Some((resp, head_len)) = parsed {
                if resp.status != 101 {
                    let (status, reason) = (resp.status, resp.reason.to_owned());
                    let wanted = resp.content_length().unwrap_or(0).min(MAX_ERROR_BODY as u64);
                    drop(resp);
                    let body = read_body(&mut stream, &mut buf, head_len, wanted as usize);
                    return Err(Error::Handshake(HandshakeError::Rejected {
                        status,
                        reason,
                        body,
                    }));
                }
                let subprotocol = handshake::verify_response(&resp, &key, &self.protocols)?;
                let owned = Response::from_http(&resp);
                let mut ws = WebSocket::from_partially_read(
                    stream,
                    &buf[head_len..],
                    Role::Client,
                    self.config,
                );
                ws.set_handshake_info(subprotocol, None, Some(owned.clone()));
                return Ok((ws, owned));
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return Err(Error::Timeout);
                }
            }
            let start = buf.len();
            buf.resize(start + 1024, 0);
            let n = loop {
                match stream.read(&mut buf[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            buf.truncate(start + n);
            if n == 0 {
                return Err(Error::Io(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the server closed the connection before answering the upgrade",
                )));
            }
        }
    }
}

/// Reads up to `wanted` body bytes after a refused upgrade (best effort: errors end it).
fn read_body<S: Read>(stream: &mut S, buf: &mut Vec<u8>, head_len: usize, wanted: usize) -> Vec<u8> {
    let mut body: Vec<u8> = buf[head_len..].to_vec();
    let mut chunk = [0u8; 1024];
    while body.len() < wanted {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(wanted);
    body
}

fn tcp_connect(url: &WsUrl, config: &Config) -> Result<TcpStream> {
    let addrs: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::Io(io::Error::new(
                e.kind(),
                format!("cannot resolve {}: {e}", url.host),
            ))
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        let attempt = match config.connect_timeout {
            Some(t) => TcpStream::connect_timeout(addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::new(ErrorKind::NotFound, "no address found"));
    Err(Error::Io(io::Error::new(
        e.kind(),
        format!("cannot connect to {}:{}: {e}", url.host, url.port),
    )))
}
