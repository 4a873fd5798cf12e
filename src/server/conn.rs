//! One connection's life on its thread: the opening handshake (one deadline), the hooks, the
//! handler, the lingering close; and [`accept`], the same handshake over any stream.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::refuse::linger_close;
use super::{fd_reserve, lock, Event, EventHook, Handler, HttpHook, Shared, UpgradeHook};
use crate::handshake::{self, Decision, Incoming, Request, ServerHandshake};
use crate::http;
use crate::protocol::CloseCodes;
use crate::socket::{Ending, ShutdownSignal, WebSocket};
use crate::{Config, Error, Result, Role};

/// What a connection thread needs: everything passed explicitly, nothing in thread-locals.
pub(super) struct ConnContext {
    pub(super) id: u64,
    pub(super) peer: SocketAddr,
    pub(super) config: Arc<Config>,
    pub(super) upgrade_hook: Arc<UpgradeHook>,
    pub(super) http_hook: Option<Arc<HttpHook>>,
    pub(super) event_hook: Option<Arc<EventHook>>,
    pub(super) handler: Arc<Handler>,
    pub(super) shared: Arc<Shared>,
}

impl ConnContext {
    fn emit(&self, ev: Event<'_>) {
        if let Some(h) = &self.event_hook {
            h(&ev);
        }
    }

    pub(super) fn run(self, stream: TcpStream) {
        // The clone is a second file descriptor per connection. Near the open-files limit it
        // would take the descriptor the next `accept` needs, and that client would wait in the
        // backlog until its handshake timed out; there the connection goes without the clone
        // (no wake-up by a shutdown, no lingering close) rather than lose the next one.
        let s = &self.shared;
        let registered = {
            let mut conns = lock(&s.conns);
            let in_use = s.active.load(Ordering::Acquire) + conns.len();
            let affordable = in_use.saturating_add(fd_reserve(s.fd_limit)) < s.fd_limit;
            affordable
                .then(|| stream.try_clone().ok())
                .flatten()
                .map(|clone| conns.push((self.id, clone)))
        };
        // A shutdown that began before we registered would not have woken us.
        if self.shared.signal.requested.load(Ordering::Acquire) {
            let _ = stream.shutdown(Shutdown::Read);
        }
        let ending = Arc::new(Ending::default());
        // The handshake and the handler each run in a frame of their own, one after the
        // other, never inlined here: a stack page touched once stays resident for the
        // thread's life, so the handler's frames reuse the handshake's pages instead of
        // adding theirs below them (and this frame, under both, stays small).
        // A panic in the handler (or a hook) is the application's bug: it ends this connection
        // only. Caught here so that what follows still runs: the connection is unregistered
        // and ended (with a FIN, no close frame: what the handler left half-sent is unknown),
        // and its slot under `max_connections` is given back. The panic itself was reported
        // by the panic hook as usual.
        // `Some(codes)` once an upgraded connection's handler returned, `Some(None)` after a
        // panic, `None` when there was no upgrade.
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.upgrade(stream)
                .map(|ws| self.serve_upgraded(ws, &ending))
        }))
        .unwrap_or(Some(None));
        let clean = ending.fin.load(Ordering::Acquire);
        if registered.is_some() {
            let mine = {
                let mut conns = lock(&self.shared.conns);
                let at = conns.iter().position(|(id, _)| *id == self.id);
                at.map(|i| conns.swap_remove(i).1)
            };
            // The handler may have returned while the peer was still sending: end with a FIN
            // and read what is in flight, so that closing never turns into a reset that could
            // destroy data we sent before.
            // (Not needed when the connection already ended with both FINs.)
            if let Some(clone) = mine.filter(|_| !clean) {
                linger_close(clone);
            }
        }
        // Reported after the slot is given back: when the hook hears of the end, the socket
        // is closed and the slot under `max_connections` is free for the next client. Counted
        // as reporting first, so that a shutdown still waits for the report.
        self.shared.reporting.fetch_add(1, Ordering::AcqRel);
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
        if let Some(codes) = served {
            self.emit(Event::Closed {
                id: self.id,
                peer: self.peer,
                sent: codes.and_then(|c| c.sent),
                received: codes.and_then(|c| c.received),
            });
        }
        self.shared.reporting.fetch_sub(1, Ordering::AcqRel);
        let _g = lock(&self.shared.idle_lock);
        self.shared.idle.notify_all();
    }

    /// Runs the handler on an upgraded connection: the close codes exchanged, if any.
    #[inline(never)]
    fn serve_upgraded(
        &self,
        mut ws: Box<WebSocket<TcpStream>>,
        ending: &Arc<Ending>,
    ) -> Option<CloseCodes> {
        let _ = ws.get_ref().set_read_timeout(self.config.idle_timeout);
        ws.install_server_finisher(ending.clone());
        // Unboxed straight into the handler's argument (one copy of the socket in this frame),
        // the box freed before the handler runs: moving out of `*ws` where `ws` lives would
        // keep the allocation until this function returns, that is for the connection's life.
        (self.handler)({
            let boxed = ws;
            *boxed
        });
        *ending.codes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The handshake and its events: the socket when upgraded.
    #[inline(never)]
    fn upgrade(&self, stream: TcpStream) -> Option<Box<WebSocket<TcpStream>>> {
        let (id, peer) = (self.id, self.peer);
        if self.config.nodelay {
            let _ = stream.set_nodelay(true);
        }
        let _ = stream.set_write_timeout(self.config.write_timeout);
        let hooks = Hooks {
            upgrade: &*self.upgrade_hook,
            http: self.http_hook.as_deref(),
            events: self.event_hook.as_deref(),
            conn: Some((id, peer)),
        };
        match handshake_on(
            stream,
            &self.config,
            &hooks,
            Some(self.shared.signal.clone()),
            Some(arm_tcp),
        ) {
            Ok(Some(ws)) => {
                if let Some(request) = ws.request() {
                    self.emit(Event::Upgraded { id, peer, request });
                }
                Some(ws)
            }
            Ok(None) => None,
            // A malformed head was answered (400/431): reported as `Answered` already.
            Err(Error::Http(_)) => None,
            Err(error) => {
                self.emit(Event::HandshakeFailed {
                    id,
                    peer,
                    error: &error,
                });
                None
            }
        }
    }
}

/// Sets a TCP stream's read timeout (for [`handshake::read_by`]).
fn arm_tcp(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout)
}

/// The hooks a handshake consults, and the connection it runs on.
struct Hooks<'a> {
    upgrade: &'a dyn Fn(&Request) -> Decision,
    http: Option<&'a HttpHook>,
    events: Option<&'a EventHook>,
    conn: Option<(u64, SocketAddr)>,
}

impl Hooks<'_> {
    fn answered(&self, request: Option<&Request>, response: &handshake::Response) {
        if let (Some(h), Some((id, peer))) = (self.events, self.conn) {
            h(&Event::Answered {
                id,
                peer,
                request,
                response,
            });
        }
    }
}

/// Runs the server side of the opening handshake on any stream: reads the request head (bounded
/// by [`Config::max_head_size`]), checks it (RFC 6455 §4.2.1), asks `hook`, and writes the
/// response. On success the returned [`WebSocket`] already holds any bytes the client sent after
/// its request. A refused or malformed request is answered (`400`, `403`, `405`, `426`, `431`, …)
/// and returned as [`Error::Handshake`] ([`HandshakeError::Rejected`](handshake::HandshakeError::Rejected),
/// with the response's status, reason and body) or [`Error::Http`].
///
/// Set a read timeout on the stream first if the peer may be slow or hostile: the
/// [`Config::handshake_timeout`] deadline is checked after each read, and a head completed after
/// it is refused with [`Error::Timeout`], but a read that blocks is only ended by the stream.
///
/// ```
/// use std::io::{Cursor, Read, Write};
/// use ws6455::handshake::{Accept, Decision};
///
/// // An in-memory stream: the request goes in, the response comes out.
/// struct Duplex { input: Cursor<Vec<u8>>, output: Vec<u8> }
/// impl Read for Duplex { fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> { self.input.read(b) } }
/// impl Write for Duplex {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.output.write(b) }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
/// let request = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 13\r\n\r\n";
/// let stream = Duplex { input: Cursor::new(request.as_bytes().to_vec()), output: Vec::new() };
/// let ws = ws6455::server::accept(stream, ws6455::Config::default(), |_req| {
///     Decision::Accept(Accept::default())
/// })?;
/// let response = String::from_utf8(ws.get_ref().output.clone()).unwrap();
/// assert!(response.starts_with("HTTP/1.1 101"));
/// assert!(response.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
/// # Ok::<(), ws6455::Error>(())
/// ```
pub fn accept<S: Read + Write>(
    stream: S,
    config: Config,
    hook: impl Fn(&Request) -> Decision,
) -> Result<WebSocket<S>> {
    let hooks = Hooks {
        upgrade: &hook,
        http: None,
        events: None,
        conn: None,
    };
    let mut sent = None;
    let answered =
        |r: &handshake::Response| sent = Some((r.status, r.reason.clone(), r.body.clone()));
    match handshake_with(stream, &config, &hooks, None, None, answered)? {
        Some(ws) => Ok(*ws),
        None => {
            let (status, reason, mut body) = sent.unwrap_or_default();
            body.truncate(handshake::MAX_REJECTION_BODY);
            Err(Error::Handshake(handshake::HandshakeError::Rejected {
                status,
                reason,
                body,
            }))
        }
    }
}

fn handshake_on<S: Read + Write>(
    stream: S,
    config: &Config,
    hooks: &Hooks<'_>,
    signal: Option<Arc<ShutdownSignal>>,
    arm: Option<handshake::ArmTimeout<S>>,
) -> Result<Option<Box<WebSocket<S>>>> {
    handshake_with(stream, config, hooks, signal, arm, |_| {})
}

/// The handshake: `Ok(Some(ws))` upgraded, `Ok(None)` answered with an HTTP status (given to
/// `answered` and reported as [`Event::Answered`]), `Err` ended without an answer (or a
/// malformed head, answered with 400/431).
fn handshake_with<S: Read + Write>(
    mut stream: S,
    config: &Config,
    hooks: &Hooks<'_>,
    signal: Option<Arc<ShutdownSignal>>,
    arm: Option<handshake::ArmTimeout<S>>,
    mut answered: impl FnMut(&handshake::Response),
) -> Result<Option<Box<WebSocket<S>>>> {
    let mut hs = ServerHandshake::new(http::Limits::from(config));
    // One deadline for the whole head, however it trickles in: each read may only wait for
    // what is left of it (when the stream's timeout can be set), and a head completed after
    // it is not served.
    let deadline = config.handshake_timeout.map(|t| Instant::now() + t);
    // On the heap: on the stack it would be under every frame of the handshake.
    let mut chunk = vec![0u8; 2048];
    let Incoming {
        mut request,
        leftover,
    } = loop {
        let n = match handshake::read_by(&mut stream, &mut chunk, deadline, arm) {
            Ok(0) => {
                return Err(Error::Io(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "connection closed before the request head was complete",
                )))
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        match hs.feed(&chunk[..n]) {
            Ok(Some(incoming)) => break incoming,
            Ok(None) => {}
            Err(bad) => {
                let _ = stream.write_all(&bad.response.to_bytes());
                let _ = stream.flush();
                hooks.answered(None, &bad.response);
                return Err(bad.into());
            }
        }
    };
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(Error::Timeout);
    }
    if let Some((id, peer)) = hooks.conn {
        request.set_connection(id, peer);
    }

    if !request.is_websocket_upgrade() {
        if let Some(h) = hooks.http {
            let resp = h(&request).header("Connection", "close");
            stream.write_all(&resp.to_bytes())?;
            stream.flush()?;
            answered(&resp);
            hooks.answered(Some(&request), &resp);
            return Ok(None);
        }
    }
    let outcome = handshake::server_handshake_with(&request, hooks.upgrade, &config.deflate);
    stream.write_all(&outcome.response.to_bytes())?;
    stream.flush()?;
    if !outcome.accepted {
        answered(&outcome.response);
        hooks.answered(Some(&request), &outcome.response);
        return Ok(None);
    }
    let mut ws = WebSocket::from_partially_read(stream, &leftover, Role::Server, config.clone());
    if let Some(agreement) = outcome.deflate {
        ws.set_deflate(agreement);
    }
    ws.set_handshake_info(outcome.subprotocol, Some(request), None);
    if let Some(signal) = signal {
        ws.set_shutdown_signal(signal);
    }
    Ok(Some(Box::new(ws)))
}
