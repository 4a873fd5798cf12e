//! Refusing connections without ever blocking the accept loop.
//!
//! A `503` refusal is tiny (about 120 bytes) and goes to a socket that was just accepted, so
//! its send buffer is empty: the accept thread writes it with a non-blocking write, which never
//! waits. What takes time is the lingering close afterwards (half-close, then read what the
//! peer still sends so that closing does not turn into a reset that destroys the 503 in
//! flight). That is done by one refusal thread for every refused connection at once, each with
//! a one-second limit, and the number it holds is bounded ([`MAX_LINGERING`]): past it, a
//! refused connection is closed at once (its 503 was written; at worst a reset races it). So a
//! flood of refused peers costs one thread and a bounded number of sockets, and accepting never
//! waits for any of them.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{
    sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError,
};
use std::time::{Duration, Instant};

use crate::handshake::Response;

/// Most refused connections being drained at once.
const MAX_LINGERING: usize = 256;

/// Most refused connections waiting for the refusal thread.
const QUEUE: usize = 64;

/// How long a refused connection may linger.
const LINGER: Duration = Duration::from_secs(1);

/// How often the refusal thread looks at its connections.
const POLL: Duration = Duration::from_millis(10);

/// How long the refusal thread waits, with nothing to do, before it ends (it is started again
/// at the next refusal): a server that refuses nothing has no such thread.
const IDLE: Duration = Duration::from_secs(2);

/// The wire form of a refusal with status `status` and text `why`.
pub(crate) fn refusal_bytes(status: u16, why: &str) -> Vec<u8> {
    Response::new(status)
        .header("Connection", "close")
        .header("Retry-After", "1")
        .body(format!("{why}\n"))
        .to_bytes()
}

/// Writes `bytes` without waiting: what does not fit in the send buffer at once is dropped.
pub(crate) fn write_now(stream: &mut TcpStream, bytes: &[u8]) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        match stream.write(rest) {
            Ok(0) => break,
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// The refusal thread's intake (the thread starts at the first refusal). Dropping it ends the
/// thread once its connections are done.
#[derive(Default)]
pub(crate) struct Refuser {
    tx: Option<SyncSender<TcpStream>>,
}

impl Refuser {
    /// Starts a refusal thread; `None` if it cannot (then refused connections are closed at
    /// once after their response).
    fn start() -> Option<SyncSender<TcpStream>> {
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("ws-refuse".into())
            .stack_size(64 << 10)
            .spawn(move || linger_all(rx))
            .ok()
            .map(|_| tx)
    }

    /// Answers `stream` with `status` and hands it to the refusal thread to close. Never blocks.
    pub(crate) fn refuse(&mut self, mut stream: TcpStream, status: u16, why: &str) {
        write_now(&mut stream, &refusal_bytes(status, why));
        let _ = stream.shutdown(Shutdown::Write);
        let stream = match &self.tx {
            Some(tx) => match tx.try_send(stream) {
                // Queued; or the queue is full (a flood): closed now.
                Ok(()) | Err(TrySendError::Full(_)) => return,
                // The thread ended while idle: start another.
                Err(TrySendError::Disconnected(s)) => s,
            },
            None => stream,
        };
        self.tx = Refuser::start();
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(stream);
        }
    }

    /// Answers `stream` and closes it at once, keeping nothing (used out of file descriptors,
    /// where the descriptor is needed back now).
    pub(crate) fn refuse_and_close(mut stream: TcpStream, status: u16, why: &str) {
        write_now(&mut stream, &refusal_bytes(status, why));
        let _ = stream.shutdown(Shutdown::Write);
    }
}

/// The refusal thread: drains every refused connection (each already half-closed, non-blocking)
/// until its peer closes, it errs, or [`LINGER`] has passed.
fn linger_all(rx: Receiver<TcpStream>) {
    let mut lingering: Vec<(TcpStream, Instant)> = Vec::new();
    let mut scratch = [0u8; 4096];
    let mut open = true;
    while open || !lingering.is_empty() {
        if lingering.is_empty() {
            match rx.recv_timeout(IDLE) {
                Ok(s) => lingering.push((s, Instant::now() + LINGER)),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        while lingering.len() < MAX_LINGERING {
            match rx.try_recv() {
                Ok(s) => lingering.push((s, Instant::now() + LINGER)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let now = Instant::now();
        lingering.retain_mut(|(s, deadline)| now < *deadline && still_sending(s, &mut scratch));
        if !lingering.is_empty() {
            std::thread::sleep(POLL);
        }
    }
}

/// Reads what a lingering peer sent (a bounded amount per look, so that one peer that keeps
/// sending cannot hold up the others); false once it closed or failed.
fn still_sending(stream: &mut TcpStream, scratch: &mut [u8]) -> bool {
    for _ in 0..16 {
        match stream.read(scratch) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Half-closes, then reads what the peer still sends (until it closes, goes quiet for 100 ms, or
/// one second has passed), so that closing with unread bytes does not turn into a reset that
/// could destroy our last response or close frame in flight. Blocks: for connection threads.
pub(crate) fn linger_close(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let deadline = Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
