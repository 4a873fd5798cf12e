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

use crate::handshake::{self, ClientHandshake, HandshakeError, Response, WsUrl};
use crate::http;
use crate::socket::WebSocket;
use crate::{Config, Error, Result, Role};

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

/// Builds a client connection: extra headers, subprotocols, limits and timeouts, and
/// permessage-deflate per [`Config::deflate`] (offered by default as
/// `permessage-deflate; client_max_window_bits`; an answer the client did not ask for or cannot
/// honour fails the connection with [`HandshakeError::UnexpectedExtension`] or
/// [`HandshakeError::InvalidExtension`]).
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
        stream.set_write_timeout(self.config.write_timeout)?;
        let idle = self.config.idle_timeout;
        let arm: handshake::ArmTimeout<TcpStream> = |s, t| s.set_read_timeout(t);
        let (mut ws, resp) = self.handshake(&url, stream, Some(arm))?;
        ws.get_ref().set_read_timeout(idle)?;
        ws.install_client_finisher();
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
        let url = handshake::parse_url_for_stream(&self.url)?;
        self.handshake(&url, stream, None)
    }

    fn handshake<S: Read + Write>(
        self,
        url: &WsUrl,
        mut stream: S,
        arm: Option<handshake::ArmTimeout<S>>,
    ) -> Result<(WebSocket<S>, Response)> {
        let limits = http::Limits::from(&self.config);
        let mut hs = ClientHandshake::new(url, &self.protocols, &self.headers, limits)?
            .with_deflate(&self.config.deflate);
        stream.write_all(hs.request())?;
        stream.flush()?;
        let deadline = self.config.handshake_timeout.map(|t| Instant::now() + t);
        let mut chunk = [0u8; 2048];
        loop {
            // One deadline for the whole response, however slowly it arrives.
            let n = match handshake::read_by(&mut stream, &mut chunk, deadline, arm) {
                Ok(0) => return Err(hs.finish()),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // A refusal whose body stopped arriving still reports its status.
                    let err = hs.finish();
                    return Err(match err {
                        Error::Handshake(HandshakeError::Incomplete) => e.into(),
                        refusal => refusal,
                    });
                }
            };
            if let Some(done) = hs.feed(&chunk[..n])? {
                let mut ws = WebSocket::from_partially_read(
                    stream,
                    &done.leftover,
                    Role::Client,
                    self.config,
                );
                ws.set_handshake_info(done.subprotocol, None, Some(done.response.clone()));
                if let Some(agreement) = done.deflate {
                    ws.set_deflate(agreement);
                }
                return Ok((ws, done.response));
            }
        }
    }
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
