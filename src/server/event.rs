//! What a [`Server`](super::Server) reports: the [`Event`]s given to its
//! [`on_event`](super::Server::on_event) hook. The library prints nothing itself.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::handshake::{Request, Response};
use crate::{CloseCode, Error};

/// Why a connection was refused with `503` before its request was read.
///
/// ```
/// use ws6455::server::Refusal;
/// assert_eq!(Refusal::ConnectionLimit.to_string(), "connection limit reached");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// [`Config::max_connections`](crate::Config::max_connections) connections are open.
    ConnectionLimit,
    /// The process is out of file descriptors.
    OutOfFileDescriptors,
    /// No thread could be started for the connection.
    NoThread,
    /// The server is shutting down (the accept loop's last connection, usually the shutdown's
    /// own wake-up; answered with `503` but not reported as an event).
    ShuttingDown,
}

impl Refusal {
    /// The text sent as the body of the `503`.
    pub(crate) fn body(self) -> &'static str {
        match self {
            Refusal::ConnectionLimit => "too many connections",
            Refusal::OutOfFileDescriptors | Refusal::NoThread => "server busy",
            Refusal::ShuttingDown => "server shutting down",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::ConnectionLimit => "connection limit reached",
            Refusal::OutOfFileDescriptors => "out of file descriptors",
            Refusal::NoThread => "cannot start a thread",
            Refusal::ShuttingDown => "shutting down",
        })
    }
}

/// Something that happened on a [`Server`](super::Server), given to its
/// [`on_event`](super::Server::on_event) hook (on the thread where it happened: keep the hook
/// quick). Every event about a connection carries the server's id for it and the peer's
/// address. `Display` gives a one-line description in which request targets are redacted
/// ([`Request::redacted_target`]); the `Debug` of a [`Request`] is redacted too.
///
/// ```
/// use ws6455::server::{Event, Refusal};
/// let peer = "127.0.0.1:4000".parse().unwrap();
/// let ev = Event::Refused { id: 7, peer, status: 503, why: Refusal::ConnectionLimit };
/// assert_eq!((ev.id(), ev.peer()), (Some(7), Some(peer)));
/// assert_eq!(ev.to_string(), "[7] 127.0.0.1:4000 refused with 503: connection limit reached");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Refused with `503` before the request was read (the accept loop never waits for it).
    Refused {
        /// Connection id.
        id: u64,
        /// Peer address.
        peer: SocketAddr,
        /// Status sent (503).
        status: u16,
        /// Why.
        why: Refusal,
    },
    /// The upgrade was accepted; the handler runs next.
    Upgraded {
        /// Connection id.
        id: u64,
        /// Peer address.
        peer: SocketAddr,
        /// The request.
        request: &'a Request,
    },
    /// A request was answered with an HTTP status and the connection closed: a plain HTTP
    /// request (the [`on_http`](super::Server::on_http) hook, or `426`), a refused upgrade
    /// (a failed RFC 6455 check, a body, or the upgrade hook's refusal) or a malformed head
    /// (`400`, `431`; then there is no `request`).
    Answered {
        /// Connection id.
        id: u64,
        /// Peer address.
        peer: SocketAddr,
        /// The request, when its head could be parsed.
        request: Option<&'a Request>,
        /// The response sent.
        response: &'a Response,
    },
    /// The handshake ended without an answer: timeout, end of input, transport error.
    HandshakeFailed {
        /// Connection id.
        id: u64,
        /// Peer address.
        peer: SocketAddr,
        /// What went wrong.
        error: &'a Error,
    },
    /// An upgraded connection ended: its handler returned, or a handler or hook panicked (then
    /// both codes are `None`: the connection was ended with a FIN). Reported once the socket
    /// is closed and the connection's slot under `max_connections` is free again, so a client
    /// that connects after this event is not refused for want of that slot.
    Closed {
        /// Connection id.
        id: u64,
        /// Peer address.
        peer: SocketAddr,
        /// The code of the close frame we sent (the error's code when the peer broke the
        /// protocol, 1001 at a shutdown or keepalive timeout, the echo of the peer's code),
        /// `CloseCode::Status` (1005) for one without a code; `None` if we sent none (the
        /// peer vanished, or the handler dropped the socket before the end).
        sent: Option<CloseCode>,
        /// The code of the peer's close frame, likewise; `None` if it sent none.
        received: Option<CloseCode>,
    },
    /// `accept` failed for a reason other than the ones the server handles itself (the server
    /// pauses briefly and goes on).
    AcceptFailed {
        /// The error.
        error: &'a io::Error,
    },
}

impl Event<'_> {
    /// The connection's id (the one [`Request::connection_id`] gives), if the event is about
    /// one.
    ///
    /// ```
    /// let e = std::io::Error::other("x");
    /// assert_eq!(ws6455::server::Event::AcceptFailed { error: &e }.id(), None);
    /// ```
    pub fn id(&self) -> Option<u64> {
        match *self {
            Event::Refused { id, .. }
            | Event::Upgraded { id, .. }
            | Event::Answered { id, .. }
            | Event::HandshakeFailed { id, .. }
            | Event::Closed { id, .. } => Some(id),
            Event::AcceptFailed { .. } => None,
        }
    }

    /// The peer's address, if the event is about a connection.
    ///
    /// ```
    /// let peer = "[::1]:9".parse().unwrap();
    /// let ev = ws6455::server::Event::Closed { id: 1, peer, sent: None, received: None };
    /// assert_eq!(ev.peer(), Some(peer));
    /// ```
    pub fn peer(&self) -> Option<SocketAddr> {
        match *self {
            Event::Refused { peer, .. }
            | Event::Upgraded { peer, .. }
            | Event::Answered { peer, .. }
            | Event::HandshakeFailed { peer, .. }
            | Event::Closed { peer, .. } => Some(peer),
            Event::AcceptFailed { .. } => None,
        }
    }
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Refused {
                id,
                peer,
                status,
                why,
            } => write!(f, "[{id}] {peer} refused with {status}: {why}"),
            Event::Upgraded { id, peer, request } => {
                write!(f, "[{id}] {peer} upgraded {}", request.redacted_target())
            }
            Event::Answered {
                id,
                peer,
                request,
                response,
            } => {
                write!(f, "[{id}] {peer} ")?;
                if let Some(r) = request {
                    write!(f, "{} {} ", r.method, r.redacted_target())?;
                }
                write!(f, "answered {} {}", response.status, response.reason)
            }
            Event::HandshakeFailed { id, peer, error } => {
                write!(f, "[{id}] {peer} handshake failed: {error}")
            }
            Event::Closed {
                id,
                peer,
                sent,
                received,
            } => {
                write!(f, "[{id}] {peer} closed")?;
                let code = |c: &Option<CloseCode>| {
                    c.map_or("none".to_string(), |c| u16::from(c).to_string())
                };
                write!(
                    f,
                    " (close sent: {}, received: {})",
                    code(sent),
                    code(received)
                )
            }
            Event::AcceptFailed { error } => write!(f, "accept failed: {error}"),
        }
    }
}
