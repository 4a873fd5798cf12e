//! Limits and settings, with builder-style setters.

use std::time::Duration;

/// Limits and settings for a connection, a server and a client.
///
/// Every field has a sane default; the setters consume and return `self` so they chain.
///
/// ```
/// use std::time::Duration;
/// use ws6455::Config;
/// let c = Config::default()
///     .max_message_size(1 << 20)
///     .idle_timeout(Some(Duration::from_secs(30)));
/// assert_eq!(c.max_message_size, 1 << 20);
/// assert_eq!(c.max_frame_size, 16 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    // --- protocol (sans-IO core) ---
    /// Largest frame payload accepted, in bytes (default 16 MiB). Larger frames fail with 1009
    /// as soon as their header arrives.
    pub max_frame_size: usize,
    /// Largest message accepted (sum of its fragments), in bytes (default 64 MiB). Exceeding it
    /// fails with 1009 before the excess is buffered.
    pub max_message_size: usize,
    /// Most fragments accepted in one message (default 100 000); bounds floods of empty
    /// fragments. Exceeding it fails with 1009.
    pub max_fragments: usize,
    /// Answer pings with pongs automatically (default true).
    pub auto_pong: bool,
    /// Outgoing messages larger than this are split into frames of this size
    /// (default `usize::MAX`: never split).
    pub fragment_size: usize,
    /// Bound on bytes queued for the peer (default 16 MiB, and always room for one message):
    /// past it, sends fail with [`crate::Error::WriteBufferFull`] and reading stops queueing pongs.
    pub max_write_buffer: usize,
    /// Initial read buffer size per connection (default 4 KiB); it grows for large frames and
    /// shrinks back afterwards.
    pub read_buffer_size: usize,

    // --- HTTP head ---
    /// Largest HTTP head (request or response line plus headers), in bytes (default 16 KiB).
    pub max_head_size: usize,
    /// Most header fields in an HTTP head (default 64).
    pub max_headers: usize,

    // --- timeouts ---
    /// Time allowed to complete the opening handshake (default 10 s).
    pub handshake_timeout: Option<Duration>,
    /// Time a connection may stay silent before reads fail with [`crate::Error::Timeout`]
    /// (default: none).
    pub idle_timeout: Option<Duration>,
    /// Time allowed for the peer to answer our close frame, from the moment it is queued
    /// (default 5 s). Past it the connection ends without the peer's close: reads return
    /// [`crate::Error::ConnectionClosed`]. A close held behind a frame still being sent
    /// frame by frame counts from when it was queued too: past the deadline the unfinished
    /// frame is abandoned and TCP closed.
    pub close_timeout: Option<Duration>,
    /// Keepalive: after this long without a byte from the peer, a reader sends a ping
    /// (default 30 s; `None` = never). Needs a socket made by [`crate::server`] or
    /// [`crate::client`] (the reader sets the TCP read timeout to wake up).
    pub ping_interval: Option<Duration>,
    /// Keepalive: a peer that sends nothing (no pong, no data) for this long after our
    /// keepalive ping is closed with 1001 and the read fails with
    /// [`crate::Error::PingTimeout`] (default 30 s; `None` = wait forever).
    pub ping_timeout: Option<Duration>,
    /// Time allowed for a TCP connect by the client (default 10 s).
    pub connect_timeout: Option<Duration>,
    /// Time a blocked write may wait (default 30 s).
    pub write_timeout: Option<Duration>,

    // --- server ---
    /// Most concurrent connections a server accepts; more get `503` (default 10 000).
    pub max_connections: usize,
    /// Stack size of each connection thread, in bytes (default 128 KiB).
    pub thread_stack_size: usize,
    /// Most connection threads a server keeps waiting for the next connection once theirs
    /// ended (default 64; 0 ends each thread with its connection).
    pub max_idle_threads: usize,
    /// Time a waiting connection thread stays before it ends (default 10 s).
    pub idle_thread_timeout: Duration,
    /// Time graceful shutdown waits for connections to finish (default 5 s).
    pub shutdown_timeout: Duration,
    /// Set `TCP_NODELAY` on accepted and connected sockets (default true).
    pub nodelay: bool,

    // --- extensions ---
    /// permessage-deflate (RFC 7692) settings: offered by a client, accepted by a server
    /// (default: on). See [`DeflateConfig`].
    pub deflate: DeflateConfig,
}

/// permessage-deflate (RFC 7692) settings for one side of a connection.
///
/// A client offers what these fields say ([`crate::handshake::deflate_offer`]); a server
/// accepts the first offer it can honour, answered within them
/// ([`crate::handshake::negotiate_deflate`]). "Server" and "client" name the direction:
/// `server_*` fields are about what the server compresses (and the client inflates),
/// `client_*` about the other direction. Each field means, per role:
///
/// | field | as a server | as a client |
/// |---|---|---|
/// | `enabled` | accept an offer at all | offer at all |
/// | `server_max_window_bits` | the window we compress with; `None` = 12. Always answered when below 15, and lowered to an offered smaller one | `Some(n)`: ask `server_max_window_bits=n` (the server must answer ≤ n); `None` (default): ask nothing |
/// | `client_max_window_bits` | the largest window we accept from the client; `None` = 12. Answered when the client offered the parameter; when it did not (a bare offer), and this is below 15, we answer `client_no_context_takeover` instead | `None` (default): offer bare `client_max_window_bits` ("you may bound my window"); `Some(n)`: offer `client_max_window_bits=n` and never compress with more |
/// | `server_no_context_takeover` | always answer it: we reset our compressor after each message | ask for it (the answer must carry it) |
/// | `client_no_context_takeover` | always answer it: the client must reset, we free our inflater after each message | offer the hint, and reset our compressor after each message whatever the answer |
/// | `level`, `threshold` | how we compress | how we compress |
///
/// Window bits are 8..=15; the setters clamp other values into that range. The server's 12-bit
/// default keeps an idle connection's codec state at about 42 KiB (both directions, see
/// `docs/compression.md` → Memory) against about 258 KiB at 15 bits, for a slightly worse ratio
/// on large messages.
///
/// ```
/// use ws6455::{Config, DeflateConfig};
/// let c = Config::default().deflate(DeflateConfig::default().level(6).threshold(64));
/// assert!(c.deflate.enabled);
/// assert_eq!(c.deflate.level, 6);
/// assert_eq!(c.deflate.server_max_window_bits, None); // 12 as a server, nothing asked as a client
/// assert!(!Config::default().deflate(DeflateConfig::off()).deflate.enabled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Negotiate the extension at all (default true).
    pub enabled: bool,
    /// Window (as a power of two, 8..=15) for messages the server compresses. As a server:
    /// the window we compress with (`None`, the default: [`DeflateConfig::SERVER_WINDOW_BITS`]).
    /// As a client: the window we ask the server to stay within (`None`: we ask nothing).
    pub server_max_window_bits: Option<u8>,
    /// Window (8..=15) for messages the client compresses. As a server: the largest window we
    /// accept from a client that lets us bound it (`None`, the default:
    /// [`DeflateConfig::SERVER_WINDOW_BITS`]). As a client: `None` offers a bare
    /// `client_max_window_bits`, `Some(n)` offers `client_max_window_bits=n`.
    pub client_max_window_bits: Option<u8>,
    /// The server resets its compressor after every message (default false). A server
    /// always answers it; a client asks for it.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message (default false). A server always
    /// answers it; a client offers it and resets whatever the answer.
    pub client_no_context_takeover: bool,
    /// Compression level, 1 (fastest) ..= 9 (smallest).
    pub level: u8,
    /// Messages shorter than this many bytes are sent uncompressed.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            enabled: true,
            server_max_window_bits: None,
            client_max_window_bits: None,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            level: 1,
            threshold: 0,
        }
    }
}

impl DeflateConfig {
    /// The window bits a server uses in both directions unless told otherwise: 12 (4 KiB), so
    /// that an idle connection with context takeover stays well under 64 KiB.
    ///
    /// ```
    /// assert_eq!(ws6455::DeflateConfig::SERVER_WINDOW_BITS, 12);
    /// ```
    pub const SERVER_WINDOW_BITS: u8 = 12;

    /// Settings that never negotiate the extension.
    ///
    /// ```
    /// assert!(!ws6455::DeflateConfig::off().enabled);
    /// ```
    #[must_use]
    pub fn off() -> DeflateConfig {
        DeflateConfig {
            enabled: false,
            ..DeflateConfig::default()
        }
    }

    /// Sets [`DeflateConfig::server_max_window_bits`] to `Some(bits)`, clamped to 8..=15.
    ///
    /// ```
    /// let d = ws6455::DeflateConfig::default().server_max_window_bits(10);
    /// assert_eq!(d.server_max_window_bits, Some(10));
    /// assert_eq!(ws6455::DeflateConfig::default().server_max_window_bits(20).server_max_window_bits, Some(15));
    /// ```
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.server_max_window_bits = Some(bits.clamp(8, 15));
        self
    }

    /// Sets [`DeflateConfig::client_max_window_bits`] to `Some(bits)`, clamped to 8..=15.
    ///
    /// ```
    /// let d = ws6455::DeflateConfig::default().client_max_window_bits(9);
    /// assert_eq!(d.client_max_window_bits, Some(9));
    /// ```
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: u8) -> DeflateConfig {
        self.client_max_window_bits = Some(bits.clamp(8, 15));
        self
    }

    /// The window a server compresses with.
    pub(crate) fn server_window_bits_as_server(&self) -> u8 {
        self.server_max_window_bits
            .unwrap_or(DeflateConfig::SERVER_WINDOW_BITS)
            .clamp(8, 15)
    }

    /// The largest client window a server accepts.
    pub(crate) fn client_window_bits_as_server(&self) -> u8 {
        self.client_max_window_bits
            .unwrap_or(DeflateConfig::SERVER_WINDOW_BITS)
            .clamp(8, 15)
    }
}

macro_rules! deflate_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl DeflateConfig {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> DeflateConfig {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

deflate_setters! {
    /// Sets [`DeflateConfig::enabled`].
    ///
    /// ```
    /// assert!(!ws6455::DeflateConfig::default().enabled(false).enabled);
    /// ```
    enabled: bool;
    /// Sets [`DeflateConfig::server_no_context_takeover`].
    ///
    /// ```
    /// let d = ws6455::DeflateConfig::default().server_no_context_takeover(true);
    /// assert!(d.server_no_context_takeover);
    /// ```
    server_no_context_takeover: bool;
    /// Sets [`DeflateConfig::client_no_context_takeover`].
    ///
    /// ```
    /// let d = ws6455::DeflateConfig::default().client_no_context_takeover(true);
    /// assert!(d.client_no_context_takeover);
    /// ```
    client_no_context_takeover: bool;
    /// Sets [`DeflateConfig::level`].
    ///
    /// ```
    /// assert_eq!(ws6455::DeflateConfig::default().level(9).level, 9);
    /// ```
    level: u8;
    /// Sets [`DeflateConfig::threshold`].
    ///
    /// ```
    /// assert_eq!(ws6455::DeflateConfig::default().threshold(32).threshold, 32);
    /// ```
    threshold: usize;
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 100_000,
            auto_pong: true,
            fragment_size: usize::MAX,
            max_write_buffer: 16 << 20,
            read_buffer_size: 4 << 10,
            max_head_size: 16 << 10,
            max_headers: 64,
            handshake_timeout: Some(Duration::from_secs(10)),
            idle_timeout: None,
            close_timeout: Some(Duration::from_secs(5)),
            ping_interval: Some(Duration::from_secs(30)),
            ping_timeout: Some(Duration::from_secs(30)),
            connect_timeout: Some(Duration::from_secs(10)),
            write_timeout: Some(Duration::from_secs(30)),
            max_connections: 10_000,
            thread_stack_size: 128 << 10,
            max_idle_threads: 64,
            idle_thread_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
            nodelay: true,
            deflate: DeflateConfig::default(),
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl Config {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Config {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`Config::max_frame_size`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_frame_size(10).max_frame_size, 10);
    /// ```
    max_frame_size: usize;
    /// Sets [`Config::max_message_size`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_message_size(10).max_message_size, 10);
    /// ```
    max_message_size: usize;
    /// Sets [`Config::max_fragments`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_fragments(10).max_fragments, 10);
    /// ```
    max_fragments: usize;
    /// Sets [`Config::auto_pong`].
    ///
    /// ```
    /// assert!(!ws6455::Config::default().auto_pong(false).auto_pong);
    /// ```
    auto_pong: bool;
    /// Sets [`Config::fragment_size`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().fragment_size(4096).fragment_size, 4096);
    /// ```
    fragment_size: usize;
    /// Sets [`Config::max_write_buffer`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_write_buffer(1 << 20).max_write_buffer, 1 << 20);
    /// ```
    max_write_buffer: usize;
    /// Sets [`Config::read_buffer_size`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().read_buffer_size(8192).read_buffer_size, 8192);
    /// ```
    read_buffer_size: usize;
    /// Sets [`Config::max_head_size`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_head_size(8192).max_head_size, 8192);
    /// ```
    max_head_size: usize;
    /// Sets [`Config::max_headers`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_headers(16).max_headers, 16);
    /// ```
    max_headers: usize;
    /// Sets [`Config::handshake_timeout`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().handshake_timeout(None).handshake_timeout, None);
    /// ```
    handshake_timeout: Option<std::time::Duration>;
    /// Sets [`Config::idle_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = ws6455::Config::default().idle_timeout(Some(Duration::from_secs(1)));
    /// assert_eq!(c.idle_timeout, Some(Duration::from_secs(1)));
    /// ```
    idle_timeout: Option<std::time::Duration>;
    /// Sets [`Config::close_timeout`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().close_timeout(None).close_timeout, None);
    /// ```
    close_timeout: Option<std::time::Duration>;
    /// Sets [`Config::ping_interval`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().ping_interval(None).ping_interval, None);
    /// ```
    ping_interval: Option<std::time::Duration>;
    /// Sets [`Config::ping_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = ws6455::Config::default().ping_timeout(Some(Duration::from_secs(5)));
    /// assert_eq!(c.ping_timeout, Some(Duration::from_secs(5)));
    /// ```
    ping_timeout: Option<std::time::Duration>;
    /// Sets [`Config::connect_timeout`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().connect_timeout(None).connect_timeout, None);
    /// ```
    connect_timeout: Option<std::time::Duration>;
    /// Sets [`Config::write_timeout`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().write_timeout(None).write_timeout, None);
    /// ```
    write_timeout: Option<std::time::Duration>;
    /// Sets [`Config::max_connections`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_connections(5).max_connections, 5);
    /// ```
    max_connections: usize;
    /// Sets [`Config::thread_stack_size`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().thread_stack_size(256 << 10).thread_stack_size, 256 << 10);
    /// ```
    thread_stack_size: usize;
    /// Sets [`Config::max_idle_threads`].
    ///
    /// ```
    /// assert_eq!(ws6455::Config::default().max_idle_threads(0).max_idle_threads, 0);
    /// ```
    max_idle_threads: usize;
    /// Sets [`Config::idle_thread_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = ws6455::Config::default().idle_thread_timeout(Duration::from_secs(1));
    /// assert_eq!(c.idle_thread_timeout, Duration::from_secs(1));
    /// ```
    idle_thread_timeout: std::time::Duration;
    /// Sets [`Config::shutdown_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = ws6455::Config::default().shutdown_timeout(Duration::from_secs(1));
    /// assert_eq!(c.shutdown_timeout, Duration::from_secs(1));
    /// ```
    shutdown_timeout: std::time::Duration;
    /// Sets [`Config::nodelay`].
    ///
    /// ```
    /// assert!(!ws6455::Config::default().nodelay(false).nodelay);
    /// ```
    nodelay: bool;
    /// Sets [`Config::deflate`].
    ///
    /// ```
    /// let c = ws6455::Config::default().deflate(ws6455::DeflateConfig::off());
    /// assert!(!c.deflate.enabled);
    /// ```
    deflate: DeflateConfig;
}
