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
//! Nothing a peer does blocks accepting: `503` refusals are written without waiting and closed
//! by a refusal thread (see [`Refusal`]). The library prints nothing: what happens is given to
//! the [`Server::on_event`] hook as [`Event`]s, with the connection's id and peer address. The
//! hooks and the handler get those on the [`Request`] ([`Request::connection_id`],
//! [`Request::peer_addr`]; in the handler via [`WebSocket::request`]).
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
//! # Ok::<(), ws6455::Error>(())
//! ```

mod conn;
mod event;
mod refuse;

use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use conn::accept;
pub use event::{Event, Refusal};

use crate::handshake::{self, Decision, Request, Response};
use crate::pool::Pool;
use crate::socket::{ShutdownSignal, WebSocket};
use crate::{Config, Result};
use conn::ConnContext;
use refuse::Refuser;

/// Decides whether to accept an upgrade request (auth, origin, subprotocol); see
/// [`Server::on_upgrade`].
///
/// ```
/// use ws6455::handshake::{Accept, Decision, Request, Response};
/// let hook: Box<ws6455::server::UpgradeHook> = Box::new(|req: &Request| match req.path() {
///     "/chat" => Decision::Accept(Accept::new()),
///     _ => Decision::Reject(Response::new(404)),
/// });
/// let req = Request::parse(b"GET /nope HTTP/1.1\r\n\r\n").unwrap();
/// assert!(matches!(hook(&req), Decision::Reject(r) if r.status == 404));
/// ```
pub type UpgradeHook = dyn Fn(&Request) -> Decision + Send + Sync;
/// Answers plain HTTP requests (no upgrade), e.g. to serve a page; see [`Server::on_http`].
///
/// ```
/// use ws6455::handshake::{Request, Response};
/// let hook: Box<ws6455::server::HttpHook> = Box::new(|_req: &Request| Response::text(200, "hi"));
/// assert_eq!(hook(&Request::parse(b"GET / HTTP/1.1\r\n\r\n").unwrap()).body, b"hi");
/// ```
pub type HttpHook = dyn Fn(&Request) -> Response + Send + Sync;
/// Receives the server's [`Event`]s; see [`Server::on_event`].
///
/// ```
/// use ws6455::server::{Event, EventHook};
/// let hook: Box<EventHook> = Box::new(|ev: &Event| assert_eq!(ev.id(), Some(3)));
/// hook(&Event::Closed { id: 3, peer: "127.0.0.1:1".parse().unwrap(), sent: None, received: None });
/// ```
pub type EventHook = dyn Fn(&Event<'_>) + Send + Sync;
/// Runs each upgraded connection.
type Handler = dyn Fn(WebSocket<TcpStream>) + Send + Sync;

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
/// # Ok::<(), ws6455::Error>(())
/// ```
pub struct Server {
    listener: TcpListener,
    config: Config,
    upgrade_hook: Arc<UpgradeHook>,
    http_hook: Option<Arc<HttpHook>>,
    event_hook: Option<Arc<EventHook>>,
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
    /// Connections that gave their slot back and have yet to report `Event::Closed`: a
    /// shutdown waits for them too, so that every end is reported when it returns.
    reporting: AtomicUsize,
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

/// Stops a running [`Server`]: no new connections, close 1001 to every open one, then a bounded
/// wait for them to finish. Cheap to clone; usable from any thread (a Ctrl-C handler, a test).
///
/// ```no_run
/// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
/// let handle = server.shutdown_handle();
/// std::thread::spawn(move || server.serve(|_ws| {}));
/// handle.shutdown();
/// # Ok::<(), ws6455::Error>(())
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
    /// [`Config::shutdown_timeout`] for the connections to end and their [`Event::Closed`] to
    /// be reported. Returns how many were still open when the wait ended (0 when all closed in
    /// time).
    ///
    /// ```no_run
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// let handle = server.shutdown_handle();
    /// let t = std::thread::spawn(move || server.serve(|_ws| {}));
    /// assert_eq!(handle.shutdown(), 0);
    /// t.join().unwrap()?;
    /// # Ok::<(), ws6455::Error>(())
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
        while s.active.load(Ordering::Acquire) > 0 || s.reporting.load(Ordering::Acquire) > 0 {
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
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn is_shutting_down(&self) -> bool {
        self.shared.signal.requested.load(Ordering::Acquire)
    }

    /// Number of connections currently open.
    ///
    /// ```no_run
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// assert_eq!(server.shutdown_handle().active_connections(), 0);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::Acquire)
    }
}

/// A server running on its own thread (from [`Server::spawn`]).
///
/// ```
/// let server = ws6455::server::Server::bind("127.0.0.1:0")?.spawn(|_ws| {})?;
/// assert!(server.local_addr().port() > 0);
/// assert_eq!(server.shutdown_handle().active_connections(), 0);
/// server.shutdown();
/// server.join()?;
/// # Ok::<(), ws6455::Error>(())
/// ```
pub struct RunningServer {
    local_addr: SocketAddr,
    handle: ShutdownHandle,
    thread: JoinHandle<Result<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The address the server listens on.
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?.spawn(|_ws| {})?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// # server.shutdown();
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that shuts the server down (cheap to clone, usable from any thread).
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?.spawn(|_ws| {})?;
    /// let handle = server.shutdown_handle();
    /// assert!(!handle.is_shutting_down());
    /// # server.shutdown();
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Shuts the server down ([`ShutdownHandle::shutdown`]): returns how many connections were
    /// still open when the bounded wait ended.
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?.spawn(|_ws| {})?;
    /// assert_eq!(server.shutdown(), 0);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn shutdown(&self) -> usize {
        self.handle.shutdown()
    }

    /// Waits for the server's thread to end (after a shutdown) and gives `serve`'s result.
    /// Without a shutdown it waits for ever.
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?.spawn(|_ws| {})?;
    /// server.shutdown();
    /// assert!(server.join().is_ok());
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn join(self) -> Result<()> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the server thread panicked").into()))
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
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> Result<Server> {
        Server::bind_with_config(addr, Config::default())
    }

    /// Binds a listening socket with `config`.
    ///
    /// ```
    /// let config = ws6455::Config::default().max_connections(100);
    /// let server = ws6455::server::Server::bind_with_config("127.0.0.1:0", config)?;
    /// assert_eq!(server.config().max_connections, 100);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn bind_with_config(addr: impl ToSocketAddrs, config: Config) -> Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        Ok(Server {
            listener,
            upgrade_hook: Arc::new(default_upgrade),
            http_hook: None,
            event_hook: None,
            shared: Arc::new(Shared {
                signal: Arc::new(ShutdownSignal::default()),
                active: AtomicUsize::new(0),
                reporting: AtomicUsize::new(0),
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
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The configuration in force.
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// assert_eq!(server.config().thread_stack_size, 128 << 10);
    /// # Ok::<(), ws6455::Error>(())
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
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn on_upgrade(
        mut self,
        hook: impl Fn(&Request) -> Decision + Send + Sync + 'static,
    ) -> Server {
        self.upgrade_hook = Arc::new(hook);
        self
    }

    /// Sets the hook that answers plain HTTP requests (no `Upgrade: websocket`), e.g. to serve a
    /// page at `GET /`. Without it such requests fail the RFC 6455 checks and get `400`.
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
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn on_http(
        mut self,
        hook: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        self.http_hook = Some(Arc::new(hook));
        self
    }

    /// Sets the hook that receives the server's [`Event`]s: refusals, answered requests (with
    /// their status), failed handshakes, upgrades and ends of connections, each with the
    /// connection's id and peer address. It runs on the thread where the event happened (the
    /// accept loop for refusals): keep it quick. Without it the server is silent; the library
    /// never prints.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use ws6455::server::{Event, Server};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let server = Server::bind("127.0.0.1:0")?
    ///     .on_event(move |ev: &Event| log.lock().unwrap().push(ev.to_string()))
    ///     .spawn(|_ws| {})?;
    /// let _ = ws6455::client::connect(&format!("ws://{}/?accessToken=s3cret", server.local_addr()))?;
    /// server.shutdown();
    /// server.join()?;
    /// let seen = seen.lock().unwrap();
    /// assert!(seen[0].starts_with("[1] 127.0.0.1:"), "{seen:?}");
    /// assert!(seen[0].ends_with("upgraded /?accessToken=***"), "{seen:?}");
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Server {
        self.event_hook = Some(Arc::new(hook));
        self
    }

    /// A handle that shuts this server down gracefully.
    ///
    /// ```
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?;
    /// let handle = server.shutdown_handle();
    /// assert_eq!(handle.active_connections(), 0);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// Accepts connections until shut down, running `handler` on its own thread for every
    /// successful upgrade. Returns after a shutdown once the connections have ended (bounded by
    /// [`Config::shutdown_timeout`]). A failed thread spawn, the connection limit or running out
    /// of file descriptors refuses that one connection with `503` (an [`Event::Refused`]) without
    /// waiting for the peer; it never stops the server.
    ///
    /// ```no_run
    /// ws6455::server::Server::bind("127.0.0.1:9001")?.serve(|mut ws| {
    ///     let _ = ws.send_text("hello");
    /// })?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn serve(
        self,
        handler: impl Fn(WebSocket<TcpStream>) + Send + Sync + 'static,
    ) -> Result<()> {
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = self.shared.clone();
        let config = Arc::new(self.config.clone());
        let mut refuser = Refuser::default();
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
                            // ENOBUFS, ENOMEM and friends: report, back off briefly, keep serving.
                            self.emit(&Event::AcceptFailed { error: &e });
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                    }
                }
            };
            let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
            if shared.signal.requested.load(Ordering::Acquire) {
                // Most likely the shutdown's own wake-up connection: answered, not reported.
                refuser.refuse(stream, 503, Refusal::ShuttingDown.body());
                break;
            }
            if shared.active.load(Ordering::Acquire) >= config.max_connections {
                self.refuse(&mut refuser, stream, id, peer, Refusal::ConnectionLimit);
                continue;
            }
            shared.active.fetch_add(1, Ordering::AcqRel);
            let ctx = ConnContext {
                id,
                peer,
                config: config.clone(),
                upgrade_hook: self.upgrade_hook.clone(),
                http_hook: self.http_hook.clone(),
                event_hook: self.event_hook.clone(),
                handler: handler.clone(),
                shared: shared.clone(),
            };
            // The stream travels in a slot so that a failed spawn gives it back to be refused.
            let slot = Arc::new(Mutex::new(Some(stream)));
            let job_slot = slot.clone();
            let started = shared.pool.run(Box::new(move || {
                if let Some(stream) = lock(&job_slot).take() {
                    ctx.run(stream);
                }
            }));
            if started.is_err() {
                shared.active.fetch_sub(1, Ordering::AcqRel);
                if let Some(stream) = lock(&slot).take() {
                    self.refuse(&mut refuser, stream, id, peer, Refusal::NoThread);
                }
            }
        }
        // Shutting down: wait (bounded) for connections to end; parked threads end now, the
        // others when their connection does.
        shared.pool.close();
        self.shutdown_handle().shutdown();
        Ok(())
    }

    /// Runs [`Server::serve`] on a thread of its own and returns at once with a handle: the
    /// address, a shutdown, and a join for the server's end.
    ///
    /// ```
    /// use ws6455::Message;
    /// let server = ws6455::server::Server::bind("127.0.0.1:0")?.spawn(|mut ws| {
    ///     while let Ok(m) = ws.read() {
    ///         if m.is_text() && ws.write(m).is_err() {
    ///             break;
    ///         }
    ///     }
    /// })?;
    /// let (mut ws, _) = ws6455::client::connect(&format!("ws://{}/", server.local_addr()))?;
    /// ws.send_text("hi")?;
    /// assert_eq!(ws.read()?, Message::text("hi"));
    /// ws.close(ws6455::CloseCode::Normal, "bye")?;
    /// while ws.read().is_ok() {}
    /// server.shutdown();
    /// server.join()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn spawn(
        self,
        handler: impl Fn(WebSocket<TcpStream>) + Send + Sync + 'static,
    ) -> Result<RunningServer> {
        let local_addr = self.shared.local_addr;
        let handle = self.shutdown_handle();
        let thread = std::thread::Builder::new()
            .name("ws-accept".into())
            .spawn(move || self.serve(handler))?;
        Ok(RunningServer {
            local_addr,
            handle,
            thread,
        })
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
        // The descriptor is needed back now: no lingering.
        let why = Refusal::OutOfFileDescriptors;
        Refuser::refuse_and_close(stream, 503, why.body());
        self.emit(&Event::Refused {
            id,
            peer,
            status: 503,
            why,
        });
        *spare = spare_fd();
        None
    }

    fn emit(&self, ev: &Event<'_>) {
        if let Some(h) = &self.event_hook {
            h(ev);
        }
    }

    /// Refuses a connection with 503 without waiting for its peer (see [`Refuser`]).
    fn refuse(
        &self,
        refuser: &mut Refuser,
        stream: TcpStream,
        id: u64,
        peer: SocketAddr,
        why: Refusal,
    ) {
        refuser.refuse(stream, 503, why.body());
        self.emit(&Event::Refused {
            id,
            peer,
            status: 503,
            why,
        });
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
