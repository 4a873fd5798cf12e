//! How a connection ends on the transport: who closes TCP first (RFC 6455 §7.1.1), and the
//! server shutdown that wakes blocked readers.

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::CloseCodes;
use crate::{CloseCode, CloseFrame, Error};

/// What happens to the transport once the connection is over; set by the server and the
/// client, which know the concrete stream type. It also learns the close codes exchanged.
/// Returns true when the peer's FIN was seen (nothing is left to linger for).
pub(crate) type Finisher<S> = Box<dyn FnMut(&mut S, CloseCodes) -> bool + Send>;

/// How a server's connection ended, for the server to report once the handler returns.
#[derive(Debug, Default)]
pub(crate) struct Ending {
    /// The client's FIN was seen: nothing left to linger for.
    pub(crate) fin: AtomicBool,
    /// The close codes exchanged, once the connection was finished.
    pub(crate) codes: Mutex<Option<CloseCodes>>,
}

/// Shared flag through which a server asks its connections to go away.
#[derive(Debug, Default)]
pub(crate) struct ShutdownSignal {
    pub(crate) requested: AtomicBool,
}

/// What a reader does when its stream reports end of input.
pub(super) enum Eof {
    /// A server shutdown woke us: send close 1001 now (once), then keep reading.
    SayGoingAway,
    /// Still waiting (bounded) for the peer's reply to our 1001: read again.
    Retry,
    /// The connection is over, with this error for the caller: `ConnectionClosed` after a
    /// close handshake (or our bounded wait for one), [`lost`] when the peer vanished
    /// without one.
    Over(Error),
}

/// End-of-input handling. A server shutdown wakes blocked readers by shutting down the read
/// half of their sockets, so reads return 0 at once from then on; the reader then says
/// "going away" and polls, bounded by the close timeout, for the peer's close reply.
#[derive(Debug, Default)]
pub(super) struct EofPolicy {
    pub(super) signal: Option<Arc<ShutdownSignal>>,
    draining_since: Option<Instant>,
}

impl EofPolicy {
    /// Shutting down: data that arrives now is dropped (we said "going away", so the
    /// application can no longer answer) while we wait for the peer's close.
    pub(super) fn draining(&self) -> bool {
        self.draining_since.is_some()
    }

    pub(super) fn on_eof(&mut self, handshake_done: bool, close_timeout: Option<Duration>) -> Eof {
        let shutting_down = self
            .signal
            .as_ref()
            .is_some_and(|s| s.requested.load(Ordering::Acquire));
        if handshake_done {
            return Eof::Over(Error::ConnectionClosed);
        }
        if !shutting_down {
            return Eof::Over(lost());
        }
        match self.draining_since {
            None => {
                self.draining_since = Some(Instant::now());
                Eof::SayGoingAway
            }
            Some(since) if since.elapsed() < close_timeout.unwrap_or(Duration::from_secs(1)) => {
                std::thread::sleep(Duration::from_millis(5));
                Eof::Retry
            }
            Some(_) => Eof::Over(Error::ConnectionClosed),
        }
    }
}

/// The error for a peer that closed TCP without a close frame.
pub(super) fn lost() -> Error {
    Error::Io(std::io::Error::new(
        ErrorKind::UnexpectedEof,
        "the peer closed the connection without a close frame",
    ))
}

/// Our close frame when the server shuts down.
pub(super) fn going_away() -> CloseFrame {
    CloseFrame::new(CloseCode::Away, "server shutting down")
}

/// Client side of the end of a connection: RFC 6455 §7.1.1 wants the server to close TCP
/// first, so wait (bounded) for its FIN before dropping ours. True if the FIN came.
pub(crate) fn wait_for_server_close(stream: &mut TcpStream, timeout: Option<Duration>) -> bool {
    let limit = timeout.unwrap_or(Duration::from_secs(1));
    let deadline = Instant::now() + limit;
    let mut scratch = [0u8; 512];
    let mut fin = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut scratch) {
            Ok(0) => {
                fin = true;
                break;
            }
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    fin
}

/// Server side of the end of a connection: close TCP first (RFC 6455 §7.1.1), then read what
/// the client may still send (its close reply), so that closing with unread data does not
/// turn our FIN into a reset. True if the client's FIN came.
pub(crate) fn server_finish(stream: &mut TcpStream) -> bool {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut scratch = [0u8; 512];
    for _ in 0..64 {
        match stream.read(&mut scratch) {
            Ok(0) => return true,
            Err(_) => return false,
            Ok(_) => {}
        }
    }
    false
}
