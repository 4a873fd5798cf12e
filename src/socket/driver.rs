//! The one read loop between a stream and the core, used by [`super::WebSocket`] and by the
//! reading half of a split connection ([`super::WsReader`]); how it reaches the sending side
//! is a [`Link`]: the connection's own [`Sender`] or the shared writing half.
//!
//! Bytes go one way: the stream is read into the [`Receiver`]'s buffer (or, for the payload of
//! a large frame read chunk by chunk, straight into the caller's buffer, then handed to the
//! receiver); the receiver yields messages or chunks; what they call for (a pong, the close
//! echo, the close that fails the connection) goes to the link as a [`Reaction`].

use std::io::{ErrorKind, IoSliceMut, Read};

use super::finish::{going_away, Eof, EofPolicy};
use super::timers::{TimeoutHooks, Timers, Wake};
use crate::protocol::{Chunk, Piece, Reaction, Receiver};
use crate::{CloseCode, CloseFrame, Config, Error, Message, ProtocolError, Result};

/// How the read loop reaches the sending side of its connection.
pub(super) trait Link<S> {
    /// Queues the sender's reaction to what was read. An error if the reaction failed the
    /// connection (pongs past the write bound): the close is queued, reading must stop.
    fn react(&mut self, stream: &mut S, r: Reaction<'_>) -> std::result::Result<(), ProtocolError>;
    /// Replies (or other bytes) are queued and not written.
    fn has_pending(&self) -> bool;
    /// A frame sent piece by piece is open: what is queued is its start, which goes out
    /// with its next piece.
    fn in_frame(&self) -> bool;
    /// Writes what is queued, as far as the stream takes it now. A timeout leaves the rest
    /// queued; a broken write side drops it (what the peer sent must stay readable).
    fn flush_best_effort(&mut self, stream: &mut S) -> Result<()>;
    /// Our close frame is queued (or owed: the echo of the peer's).
    fn close_queued(&self) -> bool;
    /// Queues a close of ours (unless one is queued) and writes it, best effort.
    fn send_close(&mut self, stream: &mut S, frame: CloseFrame);
    /// Queues a keepalive ping and writes it, best effort.
    fn send_ping(&mut self, stream: &mut S);
    /// The connection is over: write what is left and hand the transport to the role's
    /// finisher. True if the peer's FIN was seen.
    fn finish(&mut self, stream: &mut S) -> bool;
}

/// The reading side of a connection.
pub(super) struct Driver<S> {
    pub(super) rx: Receiver,
    pub(super) eof: EofPolicy,
    timers: Timers,
    hooks: Option<TimeoutHooks<S>>,
    read_buffer_size: usize,
    close_timeout: Option<std::time::Duration>,
    finished: bool,
}

impl<S: Read> Driver<S> {
    pub(super) fn new(rx: Receiver, config: &Config) -> Driver<S> {
        Driver {
            rx,
            eof: EofPolicy::default(),
            timers: Timers::new(config),
            hooks: None,
            read_buffer_size: config.read_buffer_size,
            close_timeout: config.close_timeout,
            finished: false,
        }
    }

    /// Lets the clocks set the stream's read timeout (a TCP stream).
    pub(super) fn set_hooks(&mut self, hooks: TimeoutHooks<S>) {
        self.hooks = Some(hooks);
    }

    pub(super) fn finished(&self) -> bool {
        self.finished
    }

    /// Our close is queued (`queued`) and its deadline has passed.
    pub(super) fn close_overdue(&mut self, queued: bool) -> bool {
        self.timers.close_queued(queued);
        self.timers.close_overdue()
    }

    /// Hands what a read calls for (if anything) to the link; true if there was something.
    fn react<L: Link<S>>(
        &mut self,
        stream: &mut S,
        link: &mut L,
        reaction: Option<Reaction<'_>>,
    ) -> Result<bool> {
        let Some(r) = reaction else {
            return Ok(false);
        };
        if let Err(e) = link.react(stream, r) {
            return Err(self.fail(stream, link, e));
        }
        Ok(true)
    }

    /// The next whole message.
    pub(super) fn read<L: Link<S>>(&mut self, stream: &mut S, link: &mut L) -> Result<Message> {
        loop {
            let got = self.rx.next_message();
            let reacted = self.react(stream, link, Reaction::to_message(&got))?;
            match got {
                Ok(Some(msg)) if self.eof.draining() && !msg.is_close() => continue,
                Ok(Some(msg)) => {
                    self.delivered(stream, link, reacted)?;
                    return Ok(msg);
                }
                Ok(None) => {}
                // Reads of both kinds mixed within a message: refused, nothing lost.
                Err(e @ Error::ReadMode(_)) => return Err(e),
                Err(e) => {
                    self.end(stream, link);
                    return Err(e);
                }
            }
            self.fill(stream, link)?;
        }
    }

    /// The next chunk of the incoming stream (see [`Chunk`]), payload into `buf`.
    pub(super) fn read_chunk<L: Link<S>>(
        &mut self,
        stream: &mut S,
        link: &mut L,
        buf: &mut [u8],
    ) -> Result<Chunk> {
        match self.read_pieces(stream, link, buf, false)? {
            Piece::Chunk(chunk) => Ok(chunk),
            // Only handed out when asked for (`whole`).
            Piece::Whole { .. } => unreachable!("a whole piece from a chunk read"),
        }
    }

    /// The next piece of the incoming stream (see [`Piece`]): a small message whole when it
    /// is at hand (looked for before each chunk, so also right after a read brought it), else
    /// the next chunk, payload into `buf`.
    pub(super) fn read_piece<L: Link<S>>(
        &mut self,
        stream: &mut S,
        link: &mut L,
        buf: &mut [u8],
    ) -> Result<Piece> {
        self.read_pieces(stream, link, buf, true)
    }

    /// Chunk reads, with whole small messages if `whole`.
    fn read_pieces<L: Link<S>>(
        &mut self,
        stream: &mut S,
        link: &mut L,
        buf: &mut [u8],
        whole: bool,
    ) -> Result<Piece> {
        if buf.is_empty() {
            return Err(Error::Io(std::io::Error::new(
                ErrorKind::InvalidInput,
                "read_chunk needs a buffer of at least one byte",
            )));
        }
        loop {
            // While draining after the peer's end of input, data is skipped: the chunk read
            // below does that.
            if whole && !self.eof.draining() {
                if let Some(piece) = self.rx.next_whole(buf) {
                    self.delivered(stream, link, false)?;
                    return Ok(piece);
                }
            }
            let got = self.rx.next_chunk(buf);
            let reacted = self.react(stream, link, Reaction::to_chunk(&got))?;
            match got {
                Ok(Some(chunk)) if self.eof.draining() && !is_close(&chunk) => continue,
                Ok(Some(chunk)) => {
                    // Only a piece that ends short of its frame's end may grow (a small
                    // frame, the common case, skips the call and its moves of the chunk).
                    let chunk = match chunk {
                        data @ Chunk::Data {
                            end_of_frame: false,
                            ..
                        } => self.extend_chunk(stream, link, buf, data)?,
                        other => other,
                    };
                    self.delivered(stream, link, reacted)?;
                    return Ok(Piece::Chunk(chunk));
                }
                Ok(None) => {}
                // Reads of both kinds mixed within a message: refused, nothing lost.
                Err(e @ Error::ReadMode(_)) => return Err(e),
                Err(e) => {
                    self.end(stream, link);
                    return Err(e);
                }
            }
            if !self.rx.wants_direct_chunk_read() {
                self.fill(stream, link)?;
                continue;
            }
            // Payload of a large frame: read it straight into the caller's buffer.
            let want = self.rx.frame_remaining().min(buf.len() as u64) as usize;
            if let Some(chunk) = self.read_payload(stream, link, &mut buf[..want])? {
                self.delivered(stream, link, false)?;
                return Ok(Piece::Chunk(chunk));
            }
        }
    }

    /// One read of a chunked frame's payload straight into `into`; `None` when nothing came
    /// (the end of input was handled, or a clock woke us).
    fn read_payload<L: Link<S>>(
        &mut self,
        stream: &mut S,
        link: &mut L,
        into: &mut [u8],
    ) -> Result<Option<Chunk>> {
        if link.has_pending() {
            link.flush_best_effort(stream)?;
        }
        let rx = &mut self.rx;
        let got = read_with_clocks(&mut self.timers, self.hooks, stream, link, |s| {
            let len = into.len();
            read_to_frame_end(s, into, rx.room_after_frame(len))
        });
        let n = match self.settle(stream, link, got)? {
            0 => return Ok(None),
            n => n,
        };
        match self.rx.chunk_read_direct(into, n) {
            Ok(_) if self.eof.draining() => Ok(None),
            Ok(chunk) => Ok(Some(chunk)),
            Err(e) => Err(self.fail_read(stream, link, e)),
        }
    }

    /// A chunk of `have` bytes came from the input buffer, which is now empty, and more of
    /// its frame is on the way: one read straight into the rest of `buf` makes it a bigger
    /// chunk (the first piece of a large frame is usually what came with its header). Waits
    /// only for that one read; a timeout or the end of input is left for the next call.
    fn extend_chunk<L: Link<S>>(
        &mut self,
        stream: &mut S,
        link: &mut L,
        buf: &mut [u8],
        chunk: Chunk,
    ) -> Result<Chunk> {
        let have = match chunk {
            Chunk::Data {
                len,
                end_of_frame: false,
                ..
            } if len < buf.len() && self.rx.wants_direct_chunk_read() => len,
            _ => return Ok(chunk),
        };
        if link.has_pending() && !link.in_frame() {
            link.flush_best_effort(stream)?;
        }
        let want = self.rx.frame_remaining().min((buf.len() - have) as u64) as usize;
        let into = &mut buf[have..have + want];
        let n = loop {
            match read_to_frame_end(stream, into, self.rx.room_after_frame(want)) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break 0,
            }
        };
        if n == 0 {
            return Ok(chunk);
        }
        self.timers.heard();
        match self.rx.chunk_read_direct(into, n) {
            Ok(Chunk::Data {
                len,
                end_of_frame,
                end_of_message,
            }) => Ok(Chunk::Data {
                len: have + len,
                end_of_frame,
                end_of_message,
            }),
            Ok(other) => Ok(other),
            Err(e) => Err(self.fail_read(stream, link, e)),
        }
    }

    /// Housekeeping after handing something read to the caller; `reacted`: what it is called
    /// for a reply of the library's own (a pong, the close echo).
    fn delivered<L: Link<S>>(&mut self, stream: &mut S, link: &mut L, reacted: bool) -> Result<()> {
        // A close echo queued just now starts the close deadline.
        self.timers.close_queued(link.close_queued());
        if self.rx.buffered() == 0 {
            self.rx.shrink();
        }
        if self.is_done(link) {
            self.end(stream, link);
        } else if reacted && link.has_pending() && self.rx.buffered() == 0 && !link.in_frame() {
            // A pong (or other reply of ours) is queued and no more input is waiting: send it
            // now, with whatever the application queued before, even if the application
            // takes its time before the next read; on WouldBlock it stays queued for the
            // next call. (Not while a frame we send piece by piece is open: what is queued is
            // that frame's start, which goes out with its next piece, and replies are held
            // behind it anyway.) The application's own replies wait for its next read, or
            // its flush: so every reply to what one read brought goes out in one write,
            // the reply to the last message of the batch included.
            link.flush_best_effort(stream)?;
        }
        Ok(())
    }

    /// Both close frames are exchanged, or the connection failed. Our close is not out while
    /// it waits behind a frame still being sent piece by piece: the application has until
    /// the close timeout to finish that frame (see [`super::WebSocket::write_chunk`]).
    pub(super) fn is_done<L: Link<S>>(&self, link: &L) -> bool {
        self.rx.is_failed() || (self.rx.close_received() && link.close_queued() && !link.in_frame())
    }

    /// Reads once from the stream into the receiver's buffer.
    fn fill<L: Link<S>>(&mut self, stream: &mut S, link: &mut L) -> Result<()> {
        // Send anything queued first, so the peer is never kept waiting for a reply while we
        // wait for it.
        if link.has_pending() {
            link.flush_best_effort(stream)?;
        }
        let want = self.rx.read_size_hint(self.read_buffer_size);
        let rx = &mut self.rx;
        let got = read_with_clocks(&mut self.timers, self.hooks, stream, link, |stream| {
            if let Some((message, limit)) = rx.append_target(want) {
                // The payload of a large frame goes straight into the message buffer, read
                // into its spare capacity (no zero-fill first; `io::copy` into a `Vec` does
                // that for readers that support it, such as `TcpStream`). It returns once
                // `limit` bytes (never past the frame's end) came, or on an error; bytes
                // that came before a timeout count as a read.
                let before = message.len();
                let res = std::io::copy(&mut stream.by_ref().take(limit.min(want) as u64), message);
                let n = message.len() - before;
                if n > 0 {
                    rx.commit(n);
                }
                return match res {
                    Err(e)
                        if n > 0
                            && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                    {
                        Ok(n)
                    }
                    Err(e) => Err(e),
                    Ok(_) => Ok(n),
                };
            }
            let buf = rx.read_buf(want);
            let len = buf.len().min(want);
            let n = stream.read(&mut buf[..len])?;
            if n > 0 {
                rx.commit(n);
            }
            Ok(n)
        });
        self.settle(stream, link, got).map(|_| ())
    }

    /// What a read with the clocks running means for the connection: the bytes that came
    /// (0 when nothing did: the end of input was handled, or a clock did its work).
    fn settle<L: Link<S>>(
        &mut self,
        stream: &mut S,
        link: &mut L,
        got: Result<Got>,
    ) -> Result<usize> {
        match got {
            Ok(Got::Bytes(0)) => {
                self.on_eof(stream, link)?;
                Ok(0)
            }
            Ok(Got::Bytes(n)) => Ok(n),
            Ok(Got::Nothing) => Ok(0),
            Ok(Got::Over(e)) => {
                self.end(stream, link);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The stream ended (or a server shutdown woke us by shutting down its read half).
    fn on_eof<L: Link<S>>(&mut self, stream: &mut S, link: &mut L) -> Result<()> {
        match self.eof.on_eof(self.is_done(link), self.close_timeout) {
            Eof::SayGoingAway => {
                link.send_close(stream, going_away());
                Ok(())
            }
            Eof::Retry => Ok(()),
            Eof::Over(e) => {
                self.end(stream, link);
                Err(e)
            }
        }
    }

    /// Bytes read straight from the stream broke the protocol: queue the close that fails
    /// the connection and end it.
    fn fail_read<L: Link<S>>(&mut self, stream: &mut S, link: &mut L, e: Error) -> Error {
        if let Error::Protocol(p) = &e {
            let _ = link.react(stream, Reaction::Fail(p));
        }
        self.end(stream, link);
        e
    }

    /// The sending side failed the connection (see [`Link::react`]): stop reading, end it.
    fn fail<L: Link<S>>(&mut self, stream: &mut S, link: &mut L, e: ProtocolError) -> Error {
        let e = self.rx.fail(e);
        self.end(stream, link);
        e
    }

    /// Once the connection is over: send what is left and close the transport, once.
    pub(super) fn end<L: Link<S>>(&mut self, stream: &mut S, link: &mut L) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        link.finish(stream);
    }
}

/// What one read with the clocks running brought.
enum Got {
    /// The read returned this many bytes (0: end of input).
    Bytes(usize),
    /// A clock woke us and did its work (a keepalive ping); look again.
    Nothing,
    /// The connection is over (a clock ran out): end it with this error.
    Over(Error),
}

/// One blocking read, with the close deadline and keepalive enforced around it.
fn read_with_clocks<S, L: Link<S>>(
    timers: &mut Timers,
    hooks: Option<TimeoutHooks<S>>,
    stream: &mut S,
    link: &mut L,
    mut read: impl FnMut(&mut S) -> std::io::Result<usize>,
) -> Result<Got> {
    timers.close_queued(link.close_queued());
    if timers.close_overdue() {
        return Ok(Got::Over(Error::ConnectionClosed));
    }
    timers.arm(stream, hooks);
    loop {
        match read(stream) {
            Ok(n) => {
                if n > 0 {
                    timers.heard();
                }
                return Ok(Got::Bytes(n));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                match timers.on_timeout(stream, hooks) {
                    Wake::Caller => return Err(Error::Timeout),
                    Wake::Again => {
                        timers.arm(stream, hooks);
                        return Ok(Got::Nothing);
                    }
                    Wake::Ping => {
                        link.send_ping(stream);
                        timers.arm(stream, hooks);
                        return Ok(Got::Nothing);
                    }
                    Wake::PingUnanswered => {
                        link.send_close(
                            stream,
                            CloseFrame::new(CloseCode::Away, "no answer to ping"),
                        );
                        return Ok(Got::Over(Error::PingTimeout));
                    }
                    Wake::CloseOverdue => return Ok(Got::Over(Error::ConnectionClosed)),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One read of a frame's payload into `into`. With `after` (the read can finish the frame),
/// a vectored read: the kernel fills `into` first and puts what follows the frame (the next
/// frame's header, usually) in `after`, saving the system call that would read that header
/// on its own. A stream without vectored reads fills `into` only, as a plain read does.
fn read_to_frame_end<S: Read>(
    stream: &mut S,
    into: &mut [u8],
    after: Option<&mut [u8]>,
) -> std::io::Result<usize> {
    match after {
        Some(after) => stream.read_vectored(&mut [IoSliceMut::new(into), IoSliceMut::new(after)]),
        None => stream.read(into),
    }
}

fn is_close(chunk: &Chunk) -> bool {
    matches!(chunk, Chunk::Control(m) if m.is_close())
}
