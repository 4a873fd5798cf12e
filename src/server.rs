//! A thread-per-connection WebSocket server, and [`accept`] for any stream.
//!
//! Each accepted connection runs on its own thread with a small stack
//! ([`Config::thread_stack_size`], 128 KiB by default). A thread whose connection ended waits
//! a while ([`Config::idle_thread_timeout`], up to [`Config::max_idle_threads`] of them) and
//! takes the next connection, so short connections do not pay for a new thread each. Each
//! connection reads the HTTP head with a deadline
//! ([`Config::handshake_timeout`]), runs the RFC 6455 §4.2 checks and the application's hook, and
//! then hands the [`WebSocket`] to the handler.
//!
//! ```no_run
//! use ws6455::server::Server;
//!
//! // An echo server.
//! Server::bind("127.0.0.1:9001")?.serve(|mut ws| {
//!     while let Ok(msg) = ws.read() {
//!         if msg.is_text() || msg.is_binary() {
//!             if ws.write(msg).is_err() {
//!                 break;
//!             }
//!         }
//!     }
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::handshake::{self, Decision, Incoming, Request, Response, ServerHandshake};
use crate::http;
use crate::pool::Pool;
use crate::socket::{self, ShutdownSignal, WebSocket};
use crate::{Config, Error, Result, Role};

/// Decides whether to accept an upgrade request (auth, origin, subprotocol).
pub type UpgradeHook = dyn Fn(&Request) -> Decision + Send + Sync;
/// Answers plain HTTP requests (no upgrade), e.g. to serve a page.
pub type HttpHook = dyn Fn(&Request) -> Response + Send + Sync;

/// How much the server logs to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing.
    Quiet,
    /// Refusals, errors and abnormal closes.
    Normal,
    /// Also every connect, upgrade and normal close.
    Verbose,
}

/// A thread-per-connection WebSocket server.
///
/// ```no_run
/// use ws6455::handshake::{Accept, Decision, Response};
/// use ws6455::server::Server;
///
/// Server::bind("127.0.0.1:9001")?
///     .on_upgrade(|req| match req.query_param("accessToken").as_deref() {
///         Some("s3cret") => Decision::Accept(Accept::default()),
///         _ => Decision::Reject(Response::new(403).body("forbidden")),
///     })
///     .serve(|mut ws| {
///         let _ = ws.send_text("welcome");
///     })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    listener: TcpListener,
    config: Config,
    upgrade_hook: Arc<UpgradeHook>,
    http_hook: Option<Arc<HttpHook>>,
    log: LogLevel,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// State shared by the accept loop, the connection threads and shutdown handles.
struct Shared {
    signal: Arc<ShutdownSignal>,
    active: AtomicUsize,
    next_id: AtomicU64,
    /// Open connections, for shutdown: a clone of each stream.
    conns: Mutex<Vec<(u64, TcpStream)>>,
    /// Most file descriptors the process may hold (the soft `RLIMIT_NOFILE`), when known.
    fd_limit: usize,
    idle: Condvar,
    idle_lock: Mutex<()>,
    local_addr: SocketAddr,
    shutdown_timeout: Duration,
    /// Connection threads waiting for their next connection.
    pool: Arc<Pool>,
}

thread_local! {
    /// The connection this thread is serving: id and peer address.
    static CURRENT: Cell<Option<(u64, SocketAddr)>> = const { Cell::new(None) };
}

/// The id the server gave the connection served on this thread: set while the upgrade hook,
/// the HTTP hook and the handler run (the same id as in the server's log lines), `None`
/// anywhere else.
///
/// ```no_run
/// use ws6455::handshake::{Accept, Decision};
/// use ws6455::server::{self, Server};
///
/// Server::bind("127.0.0.1:9001")?
///     .on_upgrade(|req| {
///         println!("[{:?}] {} from {:?}", server::connection_id(), req.target, server::peer_addr());
///         Decision::Accept(Accept::default())
///     })
///     .serve(|_ws| println!("serving connection {:?}", server::connection_id()))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn connection_id() -> Option<u64> {
    CURRENT.with(|c| c.get()).map(|(id, _)| id)
}

/// The peer address of the connection served on this thread (see [`connection_id`]).
///
/// ```
/// // Outside a server's hooks and handler there is none.
/// assert_eq!(ws6455::server::peer_addr(), None);
/// ```
pub fn peer_addr() -> Option<SocketAddr> {
    CURRENT.with(|c| c.get()).map(|(_, peer)| peer)
}

/// Clears [`CURRENT`] when the connection's work ends, even by a panic.
struct CurrentGuard;

impl CurrentGuard {
    fn set(id: u64, peer: SocketAddr) -> CurrentGuard {
        CURRENT.with(|c| c.set(Some((id, peer))));
        CurrentGuard
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(None));
    }
}

/// Stops a running [`Server`]: no new connections, close 1001 to every open one, then a bounded
/// wait for them to finish. Cheap to clone; usable from any thread (a Ctrl-C handler, a test).
///
/// ```no_run
/// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
/// let handle = server.shutdown_handle();
/// std::thread::spawn(move || server.serve(|_ws| {}));
/// handle.shutdown();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle").finish_non_exhaustive()
    }
}

impl ShutdownHandle {
    /// Stops accepting, sends close 1001 (going away) to every connection, and waits up to
    /// [`Config::shutdown_timeout`] for the connections to end. Returns how many were still open
    /// when the wait ended (0 when all closed in time).
    ///
    /// ```no_run
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// let handle = server.shutdown_handle();
    /// let t = std::thread::spawn(move || server.serve(|_ws| {}));
    /// assert_eq!(handle.shutdown(), 0);
    /// t.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self) -> usize {
        let s = &self.shared;
        if !s.signal.requested.swap(true, Ordering::AcqRel) {
            // Wake the accept loop with a connection of our own.
            let mut wake = s.local_addr;
            if wake.ip().is_unspecified() {
                wake.set_ip(match wake {
                    SocketAddr::V4(_) => [127, 0, 0, 1].into(),
                    SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
            // Wake every connection blocked in a read: it sees the end of input, notices the
            // shutdown, sends close 1001 and waits for the reply.
            for (_, stream) in lock(&s.conns).iter() {
                let _ = stream.shutdown(Shutdown::Read);
            }
        }
        let deadline = Instant::now() + s.shutdown_timeout;
        let mut guard = lock(&s.idle_lock);
        while s.active.load(Ordering::Acquire) > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = s
                .idle
                .wait_timeout(guard, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        s.active.load(Ordering::Acquire)
    }

    /// True once [`ShutdownHandle::shutdown`] has been called.
    ///
    /// ```no_run
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// assert!(!server.shutdown_handle().is_shutting_down());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_shutting_down(&self) -> bool {
        self.shared.signal.requested.load(Ordering::Acquire)
    }

    /// Number of connections currently open.
    ///
    /// ```no_run
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// assert_eq!(server.shutdown_handle().active_connections(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::Acquire)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// File descriptors kept free for `accept` and the application when deciding whether a
/// connection may take a second descriptor (its shutdown clone).
fn fd_reserve(limit: usize) -> usize {
    (limit / 64).max(64)
}

/// The soft limit on open files (`Max open files` in `/proc/self/limits`; Linux only).
fn fd_limit() -> Option<usize> {
    parse_fd_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

/// The soft limit in the text of `/proc/self/limits`; `unlimited` is `usize::MAX`.
fn parse_fd_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    match line["Max open files".len()..].split_whitespace().next()? {
        "unlimited" => Some(usize::MAX),
        soft => soft.parse().ok(),
    }
}

/// True when `accept` failed for want of a file descriptor (`EMFILE`: this process's limit,
/// `ENFILE`: the system's).
fn out_of_fds(e: &io::Error) -> bool {
    cfg!(unix) && matches!(e.raw_os_error(), Some(23 | 24))
}

/// A file descriptor held in reserve by the accept loop (see [`Server::accept_at_fd_limit`]).
fn spare_fd() -> Option<std::fs::File> {
    if cfg!(unix) {
        std::fs::File::open("/dev/null").ok()
    } else {
        None
    }
}

/// Accepts every well-formed upgrade with no subprotocol.
fn default_upgrade(_: &Request) -> Decision {
    Decision::Accept(handshake::Accept::default())
}

impl Server {
    /// Binds a listening socket with the default [`Config`].
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// assert!(server.local_addr()?.port() > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Server::bind_with_config(addr, Config::default())
    }

    /// Binds a listening socket with `config`.
    ///
    /// ```
    /// let config = ws6455::Config::default().max_connections(100);
    /// let server = ws6455::server::Server::bind_with_config("127.0.0.1:0", config)?;
    /// assert_eq!(server.config().max_connections, 100);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_with_config(addr: impl ToSocketAddrs, config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        Ok(Server {
            listener,
            upgrade_hook: Arc::new(default_upgrade),
            http_hook: None,
            log: LogLevel::Normal,
            shared: Arc::new(Shared {
                signal: Arc::new(ShutdownSignal::default()),
                active: AtomicUsize::new(0),
                next_id: AtomicU64::new(1),
                conns: Mutex::new(Vec::new()),
                fd_limit: fd_limit().unwrap_or(usize::MAX),
                idle: Condvar::new(),
                idle_lock: Mutex::new(()),
                local_addr,
                shutdown_timeout: config.shutdown_timeout,
                pool: Pool::new(
                    config.max_idle_threads,
                    config.idle_thread_timeout,
                    config.thread_stack_size,
                ),
            }),
            config,
        })
    }

    /// The address the server listens on (the real port when bound to port 0).
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// assert!(server.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The configuration in force.
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// assert_eq!(server.config().thread_stack_size, 128 << 10);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sets the hook that decides each upgrade after the RFC checks passed: accept (with a
    /// subprotocol and extra headers) or refuse with a response such as `403`.
    ///
    /// ```
    /// use ws6455::handshake::{Accept, Decision, Response};
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?.on_upgrade(|req| {
    ///     if req.header("x-ws-auth-key") == Some("s3cret") {
    ///         Decision::Accept(Accept::default())
    ///     } else {
    ///         Decision::Reject(Response::new(403))
    ///     }
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_upgrade(
        mut self,
        hook: impl Fn(&Request) -> Decision + Send + Sync + 'static,
    ) -> Server {
        self.upgrade_hook = Arc::new(hook);
        self
    }

    /// Sets the hook that answers plain HTTP requests (no `Upgrade: websocket`), e.g. to serve a
    /// page at `GET /`. Without it such requests get `426 Upgrade Required`.
    ///
    /// ```
    /// use ws6455::handshake::Response;
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?.on_http(|req| {
    ///     if req.path() == "/" {
    ///         Response::new(200).header("Content-Type", "text/plain").body("hello")
    ///     } else {
    ///         Response::new(404)
    ///     }
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_http(
        mut self,
        hook: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        self.http_hook = Some(Arc::new(hook));
        self
    }

    /// Sets how much is logged to stderr (default [`LogLevel::Normal`]).
    ///
    /// ```
    /// use ws6455::server::{LogLevel, Server};
    /// let server = Server::bind("127.0.0.1:0")?.log_level(LogLevel::Quiet);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn log_level(mut self, level: LogLevel) -> Server {
        self.log = level;
        self
    }

    /// A handle that shuts this server down gracefully.
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// let handle = server.shutdown_handle();
    /// assert_eq!(handle.active_connections(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// Accepts connections until shut down, running `handler` on its own thread for every
    /// successful upgrade. Returns after a shutdown once the connections have ended (bounded by
    /// [`Config::shutdown_timeout`]). A failed thread spawn, the connection limit or running out
    /// of file descriptors refuses that one connection with `503` and is logged; it never stops
    /// the server.
    ///
    /// ```no_run
    /// ws6455::server::Server::bind("127.0.0.1:9001")?.serve(|mut ws| {
    ///     let _ = ws.send_text("hello");
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve(
        self,
        handler: impl Fn(WebSocket<TcpStream>) + Send + Sync + 'static,
    ) -> io::Result<()> {
        let handler: Arc<dyn Fn(WebSocket<TcpStream>) + Send + Sync> = Arc::new(handler);
        let shared = self.shared.clone();
        let config = Arc::new(self.config.clone());
        let mut spare = spare_fd();
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(s) => s,
                Err(e) => {
                    if shared.signal.requested.load(Ordering::Acquire) {
                        break;
                    }
                    match e.kind() {
                        ErrorKind::Interrupted
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::ConnectionReset
                        | ErrorKind::WouldBlock => continue,
                        _ if out_of_fds(&e) => match self.accept_at_fd_limit(&mut spare) {
                            Some(s) => s,
                            None => continue,
                        },
                        _ => {
                            // ENOBUFS, ENOMEM and friends: log, back off briefly, keep serving.
                            if self.log >= LogLevel::Normal {
                                eprintln!("ws6455: accept failed: {e}");
                            }
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                    }
                }
            };
            if shared.signal.requested.load(Ordering::Acquire) {
                refuse(stream, 503, "server shutting down");
                break;
            }
            let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
            if shared.active.load(Ordering::Acquire) >= config.max_connections {
                if self.log >= LogLevel::Normal {
                    eprintln!("ws6455: [{id}] {peer} refused: connection limit reached");
                }
                refuse(stream, 503, "too many connections");
                continue;
            }
            shared.active.fetch_add(1, Ordering::AcqRel);
            let ctx = ConnContext {
                id,
                peer,
                config: config.clone(),
                upgrade_hook: self.upgrade_hook.clone(),
                http_hook: self.http_hook.clone(),
                handler: handler.clone(),
                shared: shared.clone(),
                log: self.log,
            };
            // The stream travels in a slot so that a failed spawn gives it back to be refused.
            let slot = Arc::new(Mutex::new(Some(stream)));
            let job_slot = slot.clone();
            let started = shared.pool.run(Box::new(move || {
                if let Some(stream) = lock(&job_slot).take() {
                    ctx.run(stream);
                }
            }));
            if let Err(e) = started {
                shared.active.fetch_sub(1, Ordering::AcqRel);
                if self.log >= LogLevel::Normal {
                    eprintln!("ws6455: [{id}] {peer} refused: cannot start a thread: {e}");
                }
                if let Some(stream) = lock(&slot).take() {
                    refuse(stream, 503, "server busy");
                }
            }
        }
        // Shutting down: wait (bounded) for connections to end; parked threads end now, the
        // others when their connection does.
        shared.pool.close();
        self.shutdown_handle().shutdown();
        Ok(())
    }

    /// `accept` failed for want of a file descriptor: a client would wait in the backlog until
    /// its handshake timed out. Gives up the spare descriptor to take a waiting connection
    /// without blocking; returns it to be served if descriptors were freed meanwhile (the spare
    /// could be re-opened), else refuses it at once with `503`. With nothing waiting, or no
    /// spare to give up, it pauses briefly so that the loop does not spin (`accept` fails at
    /// once while the process is out of descriptors, whether or not anyone is waiting).
    fn accept_at_fd_limit(
        &self,
        spare: &mut Option<std::fs::File>,
    ) -> Option<(TcpStream, SocketAddr)> {
        const PAUSE: Duration = Duration::from_millis(10);
        if spare.take().is_none() {
            std::thread::sleep(PAUSE);
            *spare = spare_fd();
            return None;
        }
        let accepted = self
            .listener
            .set_nonblocking(true)
            .and_then(|()| self.listener.accept());
        let _ = self.listener.set_nonblocking(false);
        *spare = spare_fd();
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(_) => {
                std::thread::sleep(PAUSE);
                return None;
            }
        };
        // Some systems pass the listener's non-blocking mode on to accepted sockets.
        if stream.set_nonblocking(false).is_err() {
            return None;
        }
        if spare.is_some() || self.shared.signal.requested.load(Ordering::Acquire) {
            return Some((stream, peer));
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        if self.log >= LogLevel::Normal {
            eprintln!("ws6455: [{id}] {peer} refused: out of file descriptors");
        }
        refuse(stream, 503, "server busy");
        *spare = spare_fd();
        None
    }
}

/// Writes a short error response and closes without a reset.
fn refuse(mut stream: TcpStream, status: u16, why: &str) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
    let resp = Response::new(status)
        .header("Connection", "close")
        .header("Retry-After", "1")
        .body(format!("{why}\n"));
    let _ = stream.write_all(&resp.to_bytes());
    linger_close(stream);
}

/// Half-closes, then reads what the peer still sends (until it closes, goes quiet for 100 ms, or
/// one second has passed), so that closing with unread bytes does not turn into a reset that
/// could destroy our last response or close frame in flight.
fn linger_close(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut scratch = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

struct ConnContext {
    id: u64,
    peer: SocketAddr,
    config: Arc<Config>,
    upgrade_hook: Arc<UpgradeHook>,
    http_hook: Option<Arc<HttpHook>>,
    handler: Arc<dyn Fn(WebSocket<TcpStream>) + Send + Sync>,
    shared: Arc<Shared>,
    log: LogLevel,
}

impl ConnContext {
    fn run(self, stream: TcpStream) {
        let _current = CurrentGuard::set(self.id, self.peer);
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
        socket::FINISHED_CLEANLY.with(|f| f.set(false));
        self.serve_one(stream);
        let clean = socket::FINISHED_CLEANLY.with(|f| f.replace(false));
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
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
        let _g = lock(&self.shared.idle_lock);
        self.shared.idle.notify_all();
    }

    fn serve_one(&self, stream: TcpStream) {
        let (id, peer) = (self.id, self.peer);
        if self.config.nodelay {
            let _ = stream.set_nodelay(true);
        }
        let _ = stream.set_write_timeout(self.config.write_timeout);
        let http_hook = self.http_hook.as_deref();
        match accept_inner(
            stream,
            &self.config,
            &*self.upgrade_hook,
            http_hook,
            Some(self.shared.signal.clone()),
            Some(arm_tcp),
        ) {
            Ok(Outcome::Upgraded(ws)) => {
                let mut ws = *ws;
                if self.log >= LogLevel::Verbose {
                    eprintln!(
                        "ws6455: [{id}] {peer} connected {}",
                        ws.request().map(|r| r.target.as_str()).unwrap_or("")
                    );
                }
                let _ = ws.get_ref().set_read_timeout(self.config.idle_timeout);
                ws.install_server_finisher();
                (self.handler)(ws);
                if self.log >= LogLevel::Verbose {
                    eprintln!("ws6455: [{id}] {peer} closed");
                }
            }
            Ok(Outcome::Answered(status)) => {
                if self.log >= LogLevel::Verbose || (self.log >= LogLevel::Normal && status >= 400)
                {
                    eprintln!("ws6455: [{id}] {peer} answered HTTP {status}");
                }
            }
            Err(e) => {
                if self.log >= LogLevel::Normal {
                    eprintln!("ws6455: [{id}] {peer} handshake failed: {e}");
                }
            }
        }
    }
}

/// Sets a TCP stream's read timeout (for [`handshake::read_by`]).
fn arm_tcp(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout)
}

enum Outcome<S> {
    Upgraded(Box<WebSocket<S>>),
    /// A plain HTTP request or a refused upgrade was answered with this status.
    Answered(u16),
}

/// Runs the server side of the opening handshake on any stream: reads the request head (bounded
/// by [`Config::max_head_size`]), checks it (RFC 6455 §4.2.1), asks `hook`, and writes the
/// response. On success the returned [`WebSocket`] already holds any bytes the client sent after
/// its request. A refused or malformed request is answered (`400`, `403`, `405`, `426`, `431`, …)
/// and returned as [`Error::Handshake`] ([`HandshakeError::Refused`](handshake::HandshakeError::Refused))
/// or [`Error::Http`].
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
    match accept_inner(stream, &config, &hook, None, None, None)? {
        Outcome::Upgraded(ws) => Ok(*ws),
        Outcome::Answered(status) => Err(Error::Handshake(handshake::HandshakeError::Refused {
            status,
            reason: handshake::reason_phrase(status).to_owned(),
        })),
    }
}

fn accept_inner<S: Read + Write>(
    mut stream: S,
    config: &Config,
    hook: &dyn Fn(&Request) -> Decision,
    http_hook: Option<&HttpHook>,
    signal: Option<Arc<ShutdownSignal>>,
    arm: Option<handshake::ArmTimeout<S>>,
) -> Result<Outcome<S>> {
    let mut hs = ServerHandshake::new(http::Limits::from(config));
    // One deadline for the whole head, however it trickles in: each read may only wait for
    // what is left of it (when the stream's timeout can be set), and a head completed after
    // it is not served.
    let deadline = config.handshake_timeout.map(|t| Instant::now() + t);
    let mut chunk = [0u8; 2048];
    let Incoming { request, leftover } = loop {
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
                return Err(bad.into());
            }
        }
    };
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(Error::Timeout);
    }

    if !request.is_websocket_upgrade() {
        if let Some(h) = http_hook {
            let resp = h(&request).header("Connection", "close");
            let status = resp.status;
            stream.write_all(&resp.to_bytes())?;
            stream.flush()?;
            return Ok(Outcome::Answered(status));
        }
    }
    let outcome = handshake::server_handshake(&request, hook);
    stream.write_all(&outcome.response.to_bytes())?;
    stream.flush()?;
    if !outcome.accepted {
        return Ok(Outcome::Answered(outcome.response.status));
    }
    let mut ws = WebSocket::from_partially_read(stream, &leftover, Role::Server, config.clone());
    ws.set_handshake_info(outcome.subprotocol, Some(request), None);
    if let Some(signal) = signal {
        ws.set_shutdown_signal(signal);
    }
    Ok(Outcome::Upgraded(Box::new(ws)))
}

impl WebSocket<TcpStream> {
    pub(crate) fn install_server_finisher(&mut self) {
        self.set_finisher(socket::server_finish);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_open_files_limit_is_read() {
        let limit = fd_limit().expect("a soft limit or 'unlimited'");
        assert!(limit >= 16, "{limit}");
        assert!(fd_reserve(limit) >= 64 && fd_reserve(limit) < limit.max(128));
    }

    #[test]
    fn the_open_files_limit_is_parsed() {
        let limits = |soft: &str, hard: &str| {
            format!(
                "Limit                     Soft Limit           Hard Limit           Units     \n\
                 Max processes             unlimited            unlimited            processes \n\
                 Max open files            {soft:<20} {hard:<20} files     \n\
                 Max locked memory         8388608              8388608              bytes     \n"
            )
        };
        assert_eq!(parse_fd_limit(&limits("20000", "20000")), Some(20000));
        assert_eq!(parse_fd_limit(&limits("1024", "unlimited")), Some(1024));
        assert_eq!(
            parse_fd_limit(&limits("unlimited", "unlimited")),
            Some(usize::MAX)
        );
        assert_eq!(parse_fd_limit("Max processes 10 10 processes\n"), None);
        // With no limit, every connection may keep its clone.
        let reserve = fd_reserve(usize::MAX);
        assert!(10_000usize.saturating_add(reserve) < usize::MAX);
    }
}
