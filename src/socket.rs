//! A blocking [`WebSocket`] over any `Read + Write` stream.
//!
//! The socket layer only moves bytes: it reads from the stream into the sans-IO core's buffer,
//! asks the core for messages, and writes the bytes the core queued. Every rule of the protocol
//! lives in [`crate::protocol`].
//!
//! Writes are batched: [`WebSocket::write`] queues a message, [`WebSocket::flush`] sends what is
//! queued, and [`WebSocket::read`] flushes queued bytes itself before it blocks for input, so a
//! loop of `read` then `write` (an echo server) answers a lone message at once but sends a burst of
//! replies to a burst of pipelined messages in one system call. [`WebSocket::send`] is `write` +
//! `flush`.
//!
//! # Using another stream (TLS, Unix sockets)
//!
//! Anything that implements `Read + Write` works; complete the opening handshake over it with
//! [`crate::client::client_with_stream`] (or [`crate::server::accept`] on the server side):
//!
//! ```no_run
//! # use std::io::{Read, Write};
//! # struct TlsStream; // stands for the TLS stream type of the crate you use
//! # impl Read for TlsStream { fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> { Ok(0) } }
//! # impl Write for TlsStream {
//! #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { Ok(b.len()) }
//! #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! # }
//! # fn tls_connect(_host: &str) -> TlsStream { TlsStream }
//! let tls = tls_connect("example.com"); // a TCP connection wrapped by your TLS library
//! let (mut ws, _response) = ws6455::client::client_with_stream("ws://example.com/chat", tls)?;
//! ws.send_text("hello over TLS")?;
//! # Ok::<(), ws6455::Error>(())
//! ```

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::handshake;
use crate::protocol::{Chunk, Protocol, Receiver, Sender};
use crate::{CloseCode, CloseFrame, Config, Error, Message, Result, Role};

/// What happens to the transport once the connection is over; set by the server and the client,
/// which know the concrete stream type.
pub(crate) type Finisher<S> = fn(&mut S, &Config);

/// Shared flag through which a server asks its connections to go away.
#[derive(Debug, Default)]
pub(crate) struct ShutdownSignal {
    pub(crate) requested: AtomicBool,
}

/// What a reader does when its stream reports end of input.
enum Eof {
    /// A server shutdown woke us: send close 1001 now (once), then keep reading.
    SayGoingAway,
    /// Still waiting (bounded) for the peer's reply to our 1001: read again.
    Retry,
    /// The connection is over, with this error for the caller: `ConnectionClosed` after a
    /// close handshake (or our bounded wait for one), [`lost`] when the peer vanished
    /// without one.
    Over(Error),
}

/// End-of-input handling shared by [`WebSocket`] and [`WsReader`]. A server shutdown wakes
/// blocked readers by shutting down the read half of their sockets, so reads return 0 at once
/// from then on; the reader then says "going away" and polls, bounded by the close timeout, for
/// the peer's close reply.
#[derive(Debug, Default)]
struct EofPolicy {
    signal: Option<Arc<ShutdownSignal>>,
    draining_since: Option<Instant>,
}

impl EofPolicy {
    fn on_eof(&mut self, handshake_done: bool, close_timeout: Option<Duration>) -> Eof {
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

fn lost() -> Error {
    Error::Io(io::Error::new(
        ErrorKind::UnexpectedEof,
        "the peer closed the connection without a close frame",
    ))
}

fn going_away() -> CloseFrame {
    CloseFrame::new(CloseCode::Away, "server shutting down")
}

/// A WebSocket connection over a stream `S`, after the opening handshake.
///
/// ```
/// use std::io::Cursor;
/// use ws6455::{socket::WebSocket, Config, Message, Role};
///
/// // A server reading a masked "Hello" frame (RFC 6455 §5.7) from an in-memory stream.
/// let bytes = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let mut ws = WebSocket::from_raw(Cursor::new(bytes), Role::Server, Config::default());
/// assert_eq!(ws.read().unwrap(), Message::text("Hello"));
/// ```
pub struct WebSocket<S> {
    stream: S,
    proto: Protocol,
    config: Config,
    subprotocol: Option<String>,
    request: Option<handshake::Request>,
    response: Option<handshake::Response>,
    finisher: Option<Finisher<S>>,
    eof: EofPolicy,
    finished: bool,
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.proto.role())
            .field("state", &self.proto.state())
            .field("subprotocol", &self.subprotocol)
            .finish_non_exhaustive()
    }
}

impl<S: Read + Write> WebSocket<S> {
    /// Wraps a stream on which the opening handshake is already done.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(Cursor::new(Vec::new()), Role::Client, Config::default());
    /// assert!(ws.subprotocol().is_none());
    /// ```
    pub fn from_raw(stream: S, role: Role, config: Config) -> WebSocket<S> {
        WebSocket::from_partially_read(stream, &[], role, config)
    }

    /// Wraps a stream on which the opening handshake is done, with bytes already read past the
    /// end of the handshake (the first frames of an eager peer): they are processed first.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use ws6455::{socket::WebSocket, Config, Message, Role};
    /// let early = [0x81, 0x02, b'h', b'i'];
    /// let mut ws = WebSocket::from_partially_read(Cursor::new(Vec::new()), &early, Role::Client, Config::default());
    /// assert_eq!(ws.read().unwrap(), Message::text("hi"));
    /// ```
    pub fn from_partially_read(
        stream: S,
        leftover: &[u8],
        role: Role,
        config: Config,
    ) -> WebSocket<S> {
        let mut proto = Protocol::new(role, config.clone());
        if !leftover.is_empty() {
            proto.receive(leftover);
        }
        WebSocket {
            stream,
            proto,
            config,
            subprotocol: None,
            request: None,
            response: None,
            finisher: None,
            eof: EofPolicy::default(),
            finished: false,
        }
    }

    pub(crate) fn set_handshake_info(
        &mut self,
        subprotocol: Option<String>,
        request: Option<handshake::Request>,
        response: Option<handshake::Response>,
    ) {
        self.subprotocol = subprotocol;
        self.request = request;
        self.response = response;
    }

    pub(crate) fn set_finisher(&mut self, finisher: Finisher<S>) {
        self.finisher = Some(finisher);
    }

    pub(crate) fn set_shutdown_signal(&mut self, signal: Arc<ShutdownSignal>) {
        self.eof.signal = Some(signal);
    }

    /// Reads the next message. Pings are answered automatically (unless
    /// [`Config::auto_pong`] is off) and still returned, as are pongs. A close frame is returned
    /// once as [`Message::Close`], after the reply has been sent; every later call returns
    /// [`Error::ConnectionClosed`].
    ///
    /// On [`Error::Timeout`] (a read timeout, or `WouldBlock` on a non-blocking stream) nothing
    /// is lost: call `read` again to resume. On a protocol error the right close frame is sent
    /// before the error is returned.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use ws6455::{socket::WebSocket, Config, Error, Message, Role};
    /// // A server sends an unmasked close frame with code 1000.
    /// let bytes = vec![0x88, 0x02, 0x03, 0xe8];
    /// let mut ws = WebSocket::from_raw(Cursor::new(bytes), Role::Client, Config::default());
    /// assert!(matches!(ws.read().unwrap(), Message::Close(Some(_))));
    /// assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    /// ```
    pub fn read(&mut self) -> Result<Message> {
        loop {
            match self.proto.next_message() {
                Ok(Some(msg)) if self.eof.draining_since.is_some() && !msg.is_close() => {
                    // Server shutdown: we said "going away", so the application can no longer
                    // answer (a reply would fail with AlreadyClosed, and a handler that stops
                    // on that error would drop the socket with the peer's data unread, which
                    // resets the connection). Drop what the peer sent meanwhile and keep
                    // waiting for its close reply.
                    continue;
                }
                Ok(Some(msg)) => {
                    self.delivered()?;
                    return Ok(msg);
                }
                Ok(None) => {}
                Err(Error::ConnectionClosed) => {
                    self.finish();
                    return Err(Error::ConnectionClosed);
                }
                // Reads of both kinds mixed within a message: refused, nothing lost.
                Err(e @ Error::ReadMode(_)) => return Err(e),
                Err(e) => {
                    // The core queued the close frame that fails the connection.
                    self.finish();
                    return Err(e);
                }
            }
            // Need more bytes. First send anything queued, so the peer is never kept waiting
            // for a reply while we wait for it.
            if !self.proto.pending().is_empty() {
                self.flush_pending_best_effort()?;
            }
            self.fill()?;
        }
    }

    /// Housekeeping after handing something read to the application.
    fn delivered(&mut self) -> Result<()> {
        if self.proto.buffered() == 0 {
            self.proto.shrink();
        }
        if self.proto.is_done() {
            self.finish();
        } else if !self.proto.pending().is_empty()
            && self.proto.buffered() == 0
            && !self.proto.sender().in_frame()
        {
            // A pong (or other reply) is queued and no more input is waiting: send it now;
            // on WouldBlock it stays queued for the next call. (Not while a frame we send
            // piece by piece is open: what is queued is that frame's start, which goes out
            // with its next piece, and replies are held behind it anyway.)
            self.flush_pending_best_effort()?;
        }
        Ok(())
    }

    /// Reads the stream data frame by data frame instead of as whole messages (see [`Chunk`]):
    /// payload is written to `buf`, at most `buf.len()` bytes at a time, so a message of any
    /// size is handled in a buffer of fixed size. While a large frame streams in and nothing
    /// else is buffered, the payload is read from the stream straight into `buf`. Control
    /// frames come whole, answered as by [`WebSocket::read`]; errors, timeouts and the close
    /// are as for `read`. Finish a message with the call that began it (this or `read`).
    ///
    /// Forwarding frames as they come (an echo that never holds a whole message):
    ///
    /// ```
    /// use std::io::Cursor;
    /// use ws6455::protocol::Chunk;
    /// use ws6455::{socket::WebSocket, Config, Message, Role};
    /// // A masked binary frame [1, 2, 3] arriving at a server.
    /// let wire = vec![0x82, 0x83, 0, 0, 0, 0, 1, 2, 3];
    /// let mut ws = WebSocket::from_raw(Cursor::new(wire), Role::Server, Config::default());
    /// let mut buf = [0u8; 2];
    /// loop {
    ///     match ws.read_chunk(&mut buf).unwrap() {
    ///         Chunk::FrameStart { opcode, fin, len } => ws.write_frame_start(opcode, fin, len).unwrap(),
    ///         Chunk::Data { len, end_of_message, .. } => {
    ///             ws.write_chunk(&buf[..len]).unwrap();
    ///             if end_of_message {
    ///                 break;
    ///             }
    ///         }
    ///         Chunk::Control(_) => {}
    ///     }
    /// }
    /// ws.flush().unwrap();
    /// assert_eq!(&ws.get_ref().get_ref()[9..], &[0x82, 3, 1, 2, 3]); // after the input
    /// ```
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<Chunk> {
        if buf.is_empty() {
            return Err(Error::Io(io::Error::new(
                ErrorKind::InvalidInput,
                "read_chunk needs a buffer of at least one byte",
            )));
        }
        loop {
            match self.proto.next_chunk(buf) {
                Ok(Some(chunk)) => {
                    if self.eof.draining_since.is_some() && !is_close_chunk(&chunk) {
                        continue; // server shutdown: see `read`
                    }
                    let chunk = match chunk {
                        data @ Chunk::Data { .. } => self.extend_chunk(buf, data)?,
                        other => other,
                    };
                    self.delivered()?;
                    return Ok(chunk);
                }
                Ok(None) => {}
                // Reads of both kinds mixed within a message: refused, nothing lost.
                Err(e @ Error::ReadMode(_)) => return Err(e),
                Err(e) => {
                    self.finish();
                    return Err(e);
                }
            }
            if !self.proto.pending().is_empty() {
                self.flush_pending_best_effort()?;
            }
            let rx = self.proto.receiver();
            if !rx.wants_direct_chunk_read() {
                self.fill()?;
                continue;
            }
            // Payload of a large frame: read it straight into the caller's buffer.
            let want = rx.frame_remaining().min(buf.len() as u64) as usize;
            let n = match self.stream.read(&mut buf[..want]) {
                Ok(0) => {
                    self.on_eof()?;
                    continue;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            match self.proto.receiver_mut().chunk_read_direct(&mut buf[..n]) {
                Ok(_) if self.eof.draining_since.is_some() => continue,
                Ok(chunk) => {
                    self.delivered()?;
                    return Ok(chunk);
                }
                Err(e) => return Err(self.fail_chunk(e)),
            }
        }
    }

    /// A chunk of `have` bytes came from the input buffer, which is now empty, and more of
    /// its frame is on the way: one read straight into the rest of `buf` makes it a bigger
    /// chunk (the first piece of a large frame is usually what came with its header). Waits
    /// only for that one read; a timeout or the end of input is left for the next call.
    fn extend_chunk(&mut self, buf: &mut [u8], chunk: Chunk) -> Result<Chunk> {
        let Some(have) = extendable(&chunk, self.proto.receiver(), buf.len()) else {
            return Ok(chunk);
        };
        // Mid-way through a frame we are sending (forwarding), what is queued goes out with
        // the next piece of it, in one write; replies meanwhile are held behind that frame.
        if !self.proto.pending().is_empty() && !self.proto.sender().in_frame() {
            self.flush_pending_best_effort()?;
        }
        match read_more(&mut self.stream, self.proto.receiver_mut(), buf, have) {
            None => Ok(chunk),
            Some(Ok(bigger)) => Ok(bigger),
            Some(Err(e)) => Err(self.fail_chunk(e)),
        }
    }

    /// Payload read straight from the stream broke the protocol: queue the close that fails
    /// the connection and end it.
    fn fail_chunk(&mut self, e: Error) -> Error {
        self.proto.sender_mut().respond_error(&e);
        self.finish();
        e
    }

    /// Starts sending a data frame piece by piece: queues its header, announcing `len`
    /// payload bytes, to be sent with [`WebSocket::write_chunk`]. The rules (and errors) are
    /// those of [`Sender::begin_frame`]: text or binary opens a message, continuation frames
    /// follow, `fin` ends it; pings, pongs and closes wait for the open frame to be complete.
    ///
    /// ```
    /// use ws6455::{frame::OpCode, socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.write_frame_start(OpCode::Text, false, 2).unwrap();
    /// ws.write_chunk(b"He").unwrap();
    /// ws.write_frame_start(OpCode::Continuation, true, 3).unwrap();
    /// ws.write_chunk(b"l").unwrap();
    /// ws.write_chunk(b"lo").unwrap();
    /// ws.flush().unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), b"\x01\x02He\x80\x03llo");
    /// ```
    pub fn write_frame_start(&mut self, opcode: OpCode, fin: bool, len: u64) -> Result<()> {
        let max = self.config.max_write_buffer;
        start_frame(
            &mut self.stream,
            self.proto.sender_mut(),
            max,
            opcode,
            fin,
            len,
        )
    }

    /// Sends payload of the frame begun with [`WebSocket::write_frame_start`] (at most what
    /// it still owes). Like [`WebSocket::write`] it queues (a client masks as it queues) and
    /// the next flush or read sends; on the server side a piece of 16 KiB or more is written
    /// at once, straight from `data`, after what is queued.
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<()> {
        let max = self.config.max_write_buffer;
        send_chunk(&mut self.stream, self.proto.sender_mut(), max, data)
    }

    /// Reads once from the stream into the core's buffer.
    fn fill(&mut self) -> Result<()> {
        let n = read_into(
            &mut self.stream,
            self.proto.receiver_mut(),
            self.config.read_buffer_size,
        )?;
        if n == 0 {
            return self.on_eof();
        }
        Ok(())
    }

    /// The stream ended (or a server shutdown woke us by shutting down its read half).
    fn on_eof(&mut self) -> Result<()> {
        match self
            .eof
            .on_eof(self.proto.is_done(), self.config.close_timeout)
        {
            Eof::SayGoingAway => {
                if !self.proto.close_sent() {
                    let _ = self.proto.close(Some(going_away()));
                }
                self.flush_pending_best_effort()
            }
            Eof::Retry => Ok(()),
            Eof::Over(e) => {
                self.finish();
                Err(e)
            }
        }
    }

    /// Writes queued bytes on the way to a read; a timeout or `WouldBlock` leaves the rest
    /// queued. A broken write side is not the reader's error: what the peer already sent (its
    /// last messages, its close frame) must still be readable, so the unsendable bytes are
    /// dropped and reading goes on.
    fn flush_pending_best_effort(&mut self) -> Result<()> {
        match write_pending(&mut self.stream, &mut self.proto) {
            Ok(()) | Err(Error::Timeout) => Ok(()),
            Err(Error::Io(_)) => {
                let n = self.proto.pending().len();
                self.proto.consume(n);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Once the connection is over: send what is left and hand the stream to the finisher
    /// (servers close TCP first; clients wait, bounded, for the server to do so).
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let _ = write_pending(&mut self.stream, &mut self.proto);
        let _ = self.stream.flush();
        if let Some(f) = self.finisher {
            f(&mut self.stream, &self.config);
        }
    }

    /// Queues a message without writing it; [`WebSocket::flush`] (or the next
    /// [`WebSocket::read`] before it blocks) sends it. Fails with [`Error::WriteBufferFull`]
    /// when the queue is at [`Config::max_write_buffer`] and cannot be flushed.
    ///
    /// Exception, for speed: on the server side a text or binary message of 64 KiB or more is
    /// written at once, after what is already queued, straight from the message (no copy into
    /// the queue); whatever the stream does not take (a timeout, `WouldBlock`) stays queued.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Message, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.write(Message::text("a")).unwrap();
    /// ws.write(Message::text("b")).unwrap();
    /// ws.flush().unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x81, 1, b'a', 0x81, 1, b'b']);
    /// ```
    pub fn write(&mut self, msg: Message) -> Result<()> {
        let (stream, sender) = (&mut self.stream, self.proto.sender_mut());
        let direct = match &msg {
            Message::Text(t) => write_direct(stream, sender, OpCode::Text, t.as_bytes()),
            Message::Binary(b) => write_direct(stream, sender, OpCode::Binary, b),
            _ => None,
        };
        if let Some(result) = direct {
            return result;
        }
        if self.proto.pending().len() >= self.config.max_write_buffer {
            match write_pending(&mut self.stream, &mut self.proto) {
                Ok(()) | Err(Error::Timeout) => {}
                Err(e) => return Err(e),
            }
            if self.proto.pending().len() >= self.config.max_write_buffer {
                return Err(Error::WriteBufferFull);
            }
        }
        self.proto.send(&msg)
    }

    /// Sends a message: [`WebSocket::write`] then [`WebSocket::flush`].
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Message, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.send(Message::binary(vec![1, 2, 3])).unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x82, 3, 1, 2, 3]);
    /// ```
    pub fn send(&mut self, msg: Message) -> Result<()> {
        match &msg {
            Message::Text(t) if sends_in_pieces(self.proto.role(), t.len()) => {
                self.send_data(OpCode::Text, t.as_bytes())
            }
            Message::Binary(b) if sends_in_pieces(self.proto.role(), b.len()) => {
                self.send_data(OpCode::Binary, b)
            }
            _ => {
                self.write(msg)?;
                self.flush()
            }
        }
    }

    /// Sends a text message.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.send_text("hi").unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x81, 2, b'h', b'i']);
    /// ```
    pub fn send_text(&mut self, text: &str) -> Result<()> {
        self.send_data(OpCode::Text, text.as_bytes())
    }

    /// Sends a binary message. Large messages are not copied whole into the output queue: a
    /// server writes one of 64 KiB or more straight from `data` (header and payload in one
    /// vectored write), and a client masks and writes one over 1 MiB 256 KiB at a time. If a
    /// write fails or times out part-way, the rest is queued (as [`WebSocket::write`] would
    /// have queued it all) and the error is returned. The same holds for
    /// [`WebSocket::send_text`] and [`WebSocket::send`].
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.send_binary(&[7]).unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x82, 1, 7]);
    /// ```
    pub fn send_binary(&mut self, data: &[u8]) -> Result<()> {
        self.send_data(OpCode::Binary, data)
    }

    /// Sends a data message ([`send_message`]) and flushes the stream.
    fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        self.check_write_room()?;
        send_message(&mut self.stream, self.proto.sender_mut(), opcode, payload)?;
        self.stream.flush()?;
        Ok(())
    }

    fn check_write_room(&mut self) -> Result<()> {
        if self.proto.pending().len() >= self.config.max_write_buffer {
            self.flush_pending_best_effort()?;
            if self.proto.pending().len() >= self.config.max_write_buffer {
                return Err(Error::WriteBufferFull);
            }
        }
        Ok(())
    }

    /// Sends a ping (at most 125 bytes). The pong comes back through [`WebSocket::read`].
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.ping(b"?").unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x89, 1, b'?']);
    /// ```
    pub fn ping(&mut self, payload: &[u8]) -> Result<()> {
        self.proto.ping(payload)?;
        self.flush()
    }

    /// Starts the close handshake: sends a close frame with `code` and `reason`. Keep calling
    /// [`WebSocket::read`] until it returns the peer's [`Message::Close`] (or
    /// [`Error::ConnectionClosed`]) to complete the handshake.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, CloseCode, Config, Error, Message, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.close(CloseCode::Normal, "bye").unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x88, 5, 0x03, 0xe8, b'b', b'y', b'e']);
    /// assert!(matches!(ws.send_text("late"), Err(Error::AlreadyClosed)));
    /// ```
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.proto.close(Some(CloseFrame::new(code, reason)))?;
        self.flush()
    }

    /// Writes everything queued and flushes the stream.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.flush().unwrap();
    /// ```
    pub fn flush(&mut self) -> Result<()> {
        write_pending(&mut self.stream, &mut self.proto)?;
        self.stream.flush()?;
        Ok(())
    }

    /// The underlying stream.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(vec![1u8]), Role::Server, Config::default());
    /// assert_eq!(ws.get_ref().get_ref(), &[1]);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream, mutably (reading or writing it directly corrupts the connection).
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::<u8>::new()), Role::Server, Config::default());
    /// ws.get_mut().set_position(0);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Gives back the underlying stream.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(vec![2u8]), Role::Server, Config::default());
    /// assert_eq!(ws.into_inner().into_inner(), vec![2]);
    /// ```
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// The subprotocol agreed in the handshake, if any.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// assert_eq!(ws.subprotocol(), None);
    /// ```
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// On the server side: the upgrade request the client sent.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// assert!(ws.request().is_none()); // not made by a server
    /// ```
    pub fn request(&self) -> Option<&handshake::Request> {
        self.request.as_ref()
    }

    /// On the client side: the server's `101` response.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Client, Config::default());
    /// assert!(ws.response().is_none()); // not made by a client
    /// ```
    pub fn response(&self) -> Option<&handshake::Response> {
        self.response.as_ref()
    }

    /// The role of this end.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Client, Config::default());
    /// assert_eq!(ws.role(), Role::Client);
    /// ```
    pub fn role(&self) -> Role {
        self.proto.role()
    }

    /// The configuration in force.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Client, Config::default().max_frame_size(9));
    /// assert_eq!(ws.config().max_frame_size, 9);
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes queued for the peer and not yet written.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Message, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.write(Message::text("abc")).unwrap();
    /// assert_eq!(ws.pending_bytes(), 5);
    /// ```
    pub fn pending_bytes(&self) -> usize {
        self.proto.pending().len()
    }

    /// True once the close handshake is complete or the connection failed.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// assert!(!ws.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.proto.is_done()
    }
}

/// Server data messages at least this large are written straight from the message.
const DIRECT_WRITE_MIN: usize = 64 << 10;

/// Reads once from `stream` into `rx` (as much as [`Receiver::read_size_hint`] suggests) and
/// commits what came; `Ok(0)` is the end of input.
fn read_into<S: Read>(stream: &mut S, rx: &mut Receiver, configured: usize) -> Result<usize> {
    let want = rx.read_size_hint(configured);
    loop {
        let buf = rx.read_buf(want);
        let len = buf.len().min(want);
        match stream.read(&mut buf[..len]) {
            Ok(n) => {
                if n > 0 {
                    rx.commit(n);
                }
                return Ok(n);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Server pieces of a frame sent with `write_chunk` at least this large go straight out.
const DIRECT_CHUNK_MIN: usize = 16 << 10;

/// Writes `head` then `payload` (vectored), until all is written or the stream would block or
/// times out; returns how many bytes went out.
fn write_now<S: Write>(stream: &mut S, head: &[u8], payload: &[u8]) -> Result<usize> {
    let hlen = head.len();
    let total = hlen + payload.len();
    let mut done = 0;
    while done < total {
        let written = if done < hlen {
            stream.write_vectored(&[IoSlice::new(&head[done..]), IoSlice::new(payload)])
        } else {
            stream.write(&payload[done - hlen..])
        };
        match written {
            Ok(0) => {
                return Err(Error::Io(io::Error::new(
                    ErrorKind::WriteZero,
                    "the stream accepted no bytes",
                )))
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

/// Whether [`Sender::respond`] would do anything with what a receiver returned.
fn needs_reply(result: &Result<Option<Message>>) -> bool {
    !matches!(
        result,
        Ok(None | Some(Message::Text(_) | Message::Binary(_) | Message::Pong(_)))
    )
}

/// The length of a data chunk that came from the input buffer (now empty) when more of its
/// large frame is on the way and `buf` has room: it can be made bigger by [`read_more`].
fn extendable(chunk: &Chunk, rx: &Receiver, room: usize) -> Option<usize> {
    match *chunk {
        Chunk::Data {
            len,
            end_of_frame: false,
            ..
        } if len < room && rx.wants_direct_chunk_read() => Some(len),
        _ => None,
    }
}

/// One read straight into `buf[have..]` (at most the rest of the frame), merged with the `have`
/// bytes already there into one chunk. `None`: nothing came (a timeout, an error or the end of
/// input is left for the next call); `Some(Err)`: the bytes broke the protocol (the caller
/// answers with the close and ends the connection).
fn read_more<S: Read>(
    stream: &mut S,
    rx: &mut Receiver,
    buf: &mut [u8],
    have: usize,
) -> Option<Result<Chunk>> {
    let want = rx.frame_remaining().min((buf.len() - have) as u64) as usize;
    let n = loop {
        match stream.read(&mut buf[have..have + want]) {
            Ok(n) => break n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break 0,
        }
    };
    if n == 0 {
        return None;
    }
    Some(
        rx.chunk_read_direct(&mut buf[have..have + n])
            .map(|chunk| match chunk {
                Chunk::Data {
                    len,
                    end_of_frame,
                    end_of_message,
                } => Chunk::Data {
                    len: have + len,
                    end_of_frame,
                    end_of_message,
                },
                other => other,
            }),
    )
}

fn is_close_chunk(chunk: &Chunk) -> bool {
    matches!(chunk, Chunk::Control(m) if m.is_close())
}

/// A client masks and writes a data message longer than this in pieces ([`SEND_PIECE`]).
const SEND_IN_PIECES_ABOVE: usize = 1 << 20;
/// The piece size of [`send_message`].
const SEND_PIECE: usize = 256 << 10;

/// Whether [`send_message`] sends a data message of `len` bytes in pieces.
fn sends_in_pieces(role: Role, len: usize) -> bool {
    role == Role::Client && len > SEND_IN_PIECES_ABOVE
}

/// Sends a data message and writes the queue. Large messages are not copied whole into the
/// queue:
/// - a server writes one of [`DIRECT_WRITE_MIN`] or more straight from `payload`
///   ([`write_direct`]);
/// - a client's message longer than [`SEND_IN_PIECES_ABOVE`] is masked and written
///   [`SEND_PIECE`] bytes at a time ([`Sender::send_data_in_pieces`]), so the masked copy
///   stays in cache and the kernel is already sending while the rest is masked. For a 16 MiB
///   echo (`examples/loadgen --scenario big`, medians of 3) that took the throughput from
///   0.65× to 1.03× the raw TCP echo's. Up to 1 MiB one copy and one write cost less (1 MiB:
///   whole 1.09× pieces of 256 KiB; 4 MiB: pieces 1.15× whole; 64 KiB pieces did worse than
///   256 KiB at both sizes).
fn send_message<S: Write>(
    stream: &mut S,
    sender: &mut Sender,
    opcode: OpCode,
    payload: &[u8],
) -> Result<()> {
    if let Some(result) = write_direct(stream, sender, opcode, payload) {
        result?;
        return write_sender(stream, sender);
    }
    if sends_in_pieces(sender.role(), payload.len()) {
        return sender
            .send_data_in_pieces(opcode, payload, SEND_PIECE, |s| write_sender(stream, s));
    }
    sender.send_data(opcode, payload)?;
    write_sender(stream, sender)
}

/// Writes a large unmasked (server) data message as header + payload in one vectored write,
/// without copying the payload into the output queue: for a 16 MiB echo the copy was about a
/// fifth of the server's CPU time (perf, `examples/loadgen --scenario big`). Keeps the order:
/// what is queued is written first, and if that cannot all go now the message is queued
/// normally. `None`: not applicable, queue it.
fn write_direct<S: Write>(
    stream: &mut S,
    sender: &mut Sender,
    opcode: OpCode,
    payload: &[u8],
) -> Option<Result<()>> {
    if sender.role() != Role::Server
        || payload.len() < DIRECT_WRITE_MIN
        || payload.len() > sender.fragment_size()
        || sender.close_sent()
        || sender.sending_frames()
    {
        return None;
    }
    match write_sender(stream, sender) {
        Ok(()) => {}
        Err(Error::Timeout) => return None,
        Err(e) => return Some(Err(e)),
    }
    let mut head = [0u8; MAX_HEADER_LEN];
    let hlen = FrameHeader::new(true, opcode, None, payload.len() as u64).encode(&mut head);
    let total = hlen + payload.len();
    let done = match write_now(stream, &head[..hlen], payload) {
        Ok(done) => done,
        Err(e) => return Some(Err(e)),
    };
    if done == 0 {
        // Nothing went out: queue it the ordinary way (with its checks).
        return None;
    }
    // The frame has started on the wire: the rest must follow, so it is queued as is.
    if done < hlen {
        sender.queue_frame_rest(&head[done..hlen]);
        sender.queue_frame_rest(payload);
    } else if done < total {
        sender.queue_frame_rest(&payload[done - hlen..]);
    }
    Some(Ok(()))
}

/// Queues a frame header for frame-by-frame sending, flushing first if the queue is full.
fn start_frame<S: Write>(
    stream: &mut S,
    sender: &mut Sender,
    max_write_buffer: usize,
    opcode: OpCode,
    fin: bool,
    len: u64,
) -> Result<()> {
    make_room(stream, sender, max_write_buffer, MAX_HEADER_LEN)?;
    sender.begin_frame(opcode, fin, len)
}

/// Sends payload of the open frame: a server's piece of [`DIRECT_CHUNK_MIN`] or more goes out
/// at once, straight from `data`, in one vectored write with what is queued; anything else
/// is queued (a client masks as it queues).
fn send_chunk<S: Write>(
    stream: &mut S,
    sender: &mut Sender,
    max_write_buffer: usize,
    data: &[u8],
) -> Result<()> {
    sender.check_frame_data(data.len())?;
    if sender.role() == Role::Server && data.len() >= DIRECT_CHUNK_MIN {
        // What is queued (this frame's header, say) and `data`, in one vectored write.
        let queued = sender.pending().len();
        let done = write_now(stream, sender.pending(), data)?;
        sender.consume(done.min(queued));
        if done < queued {
            sender.queue_frame_rest(data);
        } else {
            sender.queue_frame_rest(&data[done - queued..]);
        }
        sender.frame_data_done(data.len());
        return Ok(());
    }
    make_room(stream, sender, max_write_buffer, data.len())?;
    sender.frame_data(data)
}

/// Flushes first if `extra` more bytes would take the queue past `max_write_buffer`; fails
/// with [`Error::WriteBufferFull`] if it stays full.
fn make_room<S: Write>(
    stream: &mut S,
    sender: &mut Sender,
    max_write_buffer: usize,
    extra: usize,
) -> Result<()> {
    let over = |sender: &Sender| {
        let pending = sender.pending().len();
        pending > 0 && pending.saturating_add(extra) > max_write_buffer
    };
    if over(sender) {
        match write_sender(stream, sender) {
            Ok(()) | Err(Error::Timeout) => {}
            Err(e) => return Err(e),
        }
        if over(sender) {
            return Err(Error::WriteBufferFull);
        }
    }
    Ok(())
}

/// Writes the core's queued bytes to `stream`, in as few `write` calls as the stream allows.
fn write_pending<S: Write>(stream: &mut S, proto: &mut Protocol) -> Result<()> {
    write_sender(stream, proto.sender_mut())
}

/// Writes a sender's queued bytes; on an error the unwritten rest stays queued.
fn write_sender<S: Write>(stream: &mut S, sender: &mut Sender) -> Result<()> {
    while !sender.pending().is_empty() {
        match stream.write(sender.pending()) {
            Ok(0) => {
                return Err(Error::Io(io::Error::new(
                    ErrorKind::WriteZero,
                    "the stream accepted no bytes",
                )))
            }
            Ok(n) => sender.consume(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Split: one thread reads while others write.
// ---------------------------------------------------------------------------------------------

struct WriteHalf {
    stream: TcpStream,
    sender: Sender,
    max_write_buffer: usize,
    role: Role,
}

impl WriteHalf {
    /// The stream, the sender and the write-buffer limit, borrowed together.
    fn parts(&mut self) -> (&mut TcpStream, &mut Sender, usize) {
        (&mut self.stream, &mut self.sender, self.max_write_buffer)
    }

    fn flush(&mut self) -> Result<()> {
        write_sender(&mut self.stream, &mut self.sender)?;
        Ok(())
    }

    fn flush_best_effort(&mut self) -> Result<()> {
        match self.flush() {
            Ok(()) | Err(Error::Timeout) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn check_room(&mut self) -> Result<()> {
        if self.sender.pending().len() >= self.max_write_buffer {
            self.flush_best_effort()?;
            if self.sender.pending().len() >= self.max_write_buffer {
                return Err(Error::WriteBufferFull);
            }
        }
        Ok(())
    }
}

fn lock(m: &Mutex<WriteHalf>) -> MutexGuard<'_, WriteHalf> {
    // A panic on another thread while writing leaves the half usable: its state is only a queue
    // of whole frames.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The reading half of a split [`WebSocket<TcpStream>`]. Pings it reads are answered through
/// the shared writing half.
///
/// ```no_run
/// use std::thread;
/// use ws6455::Message;
///
/// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
/// let (mut reader, writer) = ws.split()?;
/// let typing = thread::spawn(move || {
///     for line in ["hello", "i need help"] {
///         writer.send_text(line)?;
///     }
///     writer.close(ws6455::CloseCode::Normal, "bye")
/// });
/// while let Ok(msg) = reader.read() {
///     if let Message::Text(t) = msg {
///         println!("SERVER >> {t}");
///     }
/// }
/// typing.join().unwrap()?;
/// # Ok::<(), ws6455::Error>(())
/// ```
pub struct WsReader {
    stream: TcpStream,
    receiver: Receiver,
    writer: Arc<Mutex<WriteHalf>>,
    read_buffer_size: usize,
    finished: bool,
    close_timeout: Option<Duration>,
    eof: EofPolicy,
}

/// The writing half of a split [`WebSocket<TcpStream>`]; cheap to clone and share between
/// threads. Each call writes whole frames under a lock, so frames from different threads never
/// interleave.
///
/// ```no_run
/// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
/// let (_reader, writer) = ws.split()?;
/// let w2 = writer.clone();
/// std::thread::spawn(move || w2.send_text("from another thread"));
/// writer.send_text("from this thread")?;
/// # Ok::<(), ws6455::Error>(())
/// ```
#[derive(Clone)]
pub struct WsWriter {
    inner: Arc<Mutex<WriteHalf>>,
}

impl std::fmt::Debug for WsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsReader").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for WsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsWriter").finish_non_exhaustive()
    }
}

impl WebSocket<TcpStream> {
    /// Splits the connection into a reader, for one thread, and a writer, which any number of
    /// threads may clone and use at the same time. Bytes already received and replies already
    /// queued carry over.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (mut reader, writer) = ws.split()?;
    /// writer.send_text("hi")?;
    /// let reply = reader.read()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn split(self) -> Result<(WsReader, WsWriter)> {
        let write_stream = self.stream.try_clone()?;
        let role = self.proto.role();
        let (receiver, sender) = self.proto.into_parts();
        let half = WriteHalf {
            stream: write_stream,
            sender,
            max_write_buffer: self.config.max_write_buffer,
            role,
        };
        let writer = Arc::new(Mutex::new(half));
        let reader = WsReader {
            stream: self.stream,
            receiver,
            writer: writer.clone(),
            read_buffer_size: self.config.read_buffer_size.max(1024),
            finished: self.finished,
            close_timeout: self.config.close_timeout,
            eof: self.eof,
        };
        Ok((reader, WsWriter { inner: writer }))
    }
}

impl WsReader {
    /// Reads the next message, as [`WebSocket::read`] does.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (mut reader, _writer) = ws.split()?;
    /// println!("{:?}", reader.read()?);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn read(&mut self) -> Result<Message> {
        loop {
            let result = self.receiver.next_message();
            // Only pings, closes and errors call for a reply. Data must not wait for the
            // writing half: a writer blocked sending a large message to a peer that echoes as
            // it reads would never get the lock back to us otherwise (both ends stuck).
            let reply_queued = needs_reply(&result) && self.answer(|tx| tx.respond(&result))?;
            match result {
                // Shutting down: drop data until the peer's close reply (see WebSocket::read).
                Ok(Some(msg)) if self.eof.draining_since.is_some() && !msg.is_close() => continue,
                Ok(Some(msg)) => {
                    if self.receiver.buffered() == 0 {
                        self.receiver.shrink();
                    }
                    if reply_queued {
                        lock(&self.writer).flush_best_effort()?;
                    }
                    if matches!(msg, Message::Close(_)) {
                        self.finish();
                    }
                    return Ok(msg);
                }
                Ok(None) => {}
                // Reads of both kinds mixed within a message: refused, nothing lost.
                Err(e @ Error::ReadMode(_)) => return Err(e),
                Err(e) => {
                    self.finish();
                    return Err(e);
                }
            }
            if reply_queued {
                lock(&self.writer).flush_best_effort()?;
            }
            let n = read_into(&mut self.stream, &mut self.receiver, self.read_buffer_size)?;
            if n == 0 {
                self.on_eof()?;
            }
        }
    }

    /// Lets the writing half react to what was read (`respond`: a pong, a close echo, a
    /// close for an error); true if that queued a reply. If the reaction failed the
    /// connection (pongs unwritten past the write bound), the reader stops and that is the
    /// error.
    fn answer(&mut self, respond: impl FnOnce(&mut Sender)) -> Result<bool> {
        let mut w = lock(&self.writer);
        respond(&mut w.sender);
        if let Some(e) = w.sender.take_failure() {
            let _ = w.flush_best_effort();
            drop(w);
            let e = self.receiver.fail(e);
            self.finish();
            return Err(e);
        }
        Ok(!w.sender.pending().is_empty())
    }

    /// The stream ended: see `WebSocket::on_eof`.
    fn on_eof(&mut self) -> Result<()> {
        let done = self.receiver.close_received() && lock(&self.writer).sender.close_sent();
        match self.eof.on_eof(done, self.close_timeout) {
            Eof::SayGoingAway => {
                let mut w = lock(&self.writer);
                if !w.sender.close_sent() {
                    let _ = w.sender.close(Some(going_away()));
                }
                w.flush_best_effort()
            }
            Eof::Retry => Ok(()),
            Eof::Over(e) => {
                self.finish();
                Err(e)
            }
        }
    }

    /// Reads the stream data frame by data frame into `buf`, as [`WebSocket::read_chunk`] does
    /// (pings are answered through the writing half).
    ///
    /// ```no_run
    /// use ws6455::protocol::Chunk;
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (mut reader, _writer) = ws.split()?;
    /// let mut buf = vec![0u8; 64 << 10];
    /// let mut total = 0; // the size of the first message, never held whole
    /// loop {
    ///     if let Chunk::Data { len, end_of_message, .. } = reader.read_chunk(&mut buf)? {
    ///         total += len;
    ///         if end_of_message {
    ///             break;
    ///         }
    ///     }
    /// }
    /// println!("first message: {total} bytes");
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<Chunk> {
        if buf.is_empty() {
            return Err(Error::Io(io::Error::new(
                ErrorKind::InvalidInput,
                "read_chunk needs a buffer of at least one byte",
            )));
        }
        loop {
            let result = self.receiver.next_chunk(buf);
            let reply_queued = !matches!(
                result,
                Ok(None | Some(Chunk::FrameStart { .. } | Chunk::Data { .. }))
            ) && self.answer(|tx| tx.respond_chunk(&result))?;
            match result {
                Ok(Some(chunk)) if self.eof.draining_since.is_some() && !is_close_chunk(&chunk) => {
                    continue
                }
                Ok(Some(chunk)) => {
                    if self.receiver.buffered() == 0 {
                        self.receiver.shrink();
                    }
                    if reply_queued {
                        lock(&self.writer).flush_best_effort()?;
                    }
                    if is_close_chunk(&chunk) {
                        self.finish();
                    }
                    return self.extend_chunk(buf, chunk);
                }
                Ok(None) => {}
                // Reads of both kinds mixed within a message: refused, nothing lost.
                Err(e @ Error::ReadMode(_)) => return Err(e),
                Err(e) => {
                    self.finish();
                    return Err(e);
                }
            }
            if reply_queued {
                lock(&self.writer).flush_best_effort()?;
            }
            if self.receiver.wants_direct_chunk_read() {
                // Payload of a large frame: straight into the caller's buffer.
                let want = self.receiver.frame_remaining().min(buf.len() as u64) as usize;
                match self.read_payload(&mut buf[..want])? {
                    Some(chunk) => return Ok(chunk),
                    None => continue,
                }
            }
            let n = read_into(&mut self.stream, &mut self.receiver, self.read_buffer_size)?;
            if n == 0 {
                self.on_eof()?;
            }
        }
    }

    /// One read of the chunked frame's payload straight into `into`; `None` at the end of
    /// input (handled) or on an interrupted read.
    fn read_payload(&mut self, into: &mut [u8]) -> Result<Option<Chunk>> {
        let n = match self.stream.read(into) {
            Ok(0) => {
                self.on_eof()?;
                return Ok(None);
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match self.receiver.chunk_read_direct(&mut into[..n]) {
            Ok(chunk) if self.eof.draining_since.is_none() => Ok(Some(chunk)),
            Ok(_) => Ok(None),
            Err(e) => Err(self.fail_chunk(e)),
        }
    }

    /// A chunk of `have` bytes came from the input buffer, now empty, and more of its frame
    /// is on the way: one read into the rest of `buf` makes it bigger (as
    /// `WebSocket::extend_chunk`). Errors of that read are left for the next call.
    fn extend_chunk(&mut self, buf: &mut [u8], chunk: Chunk) -> Result<Chunk> {
        let Some(have) = extendable(&chunk, &self.receiver, buf.len()) else {
            return Ok(chunk);
        };
        match read_more(&mut self.stream, &mut self.receiver, buf, have) {
            None => Ok(chunk),
            Some(Ok(bigger)) => Ok(bigger),
            Some(Err(e)) => Err(self.fail_chunk(e)),
        }
    }

    /// Payload read straight from the stream broke the protocol: queue the close that fails
    /// the connection (after the error's own reply rules) and end it.
    fn fail_chunk(&mut self, e: Error) -> Error {
        lock(&self.writer).sender.respond_error(&e);
        self.finish();
        e
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let role = {
            let mut w = lock(&self.writer);
            let _ = w.flush();
            w.role
        };
        match role {
            Role::Server => server_finish(&mut self.stream, &Config::default()),
            Role::Client => wait_for_server_close(&mut self.stream, self.close_timeout),
        }
    }

    /// The underlying stream (for socket options such as timeouts).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (reader, _writer) = ws.split()?;
    /// reader.get_ref().set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl WsWriter {
    /// Sends a message and flushes it.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.send(ws6455::Message::text("hi"))?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn send(&self, msg: Message) -> Result<()> {
        match &msg {
            Message::Text(t) => self.send_data(OpCode::Text, t.as_bytes()),
            Message::Binary(b) => self.send_data(OpCode::Binary, b),
            _ => {
                let mut w = lock(&self.inner);
                w.check_room()?;
                w.sender.send(&msg)?;
                w.flush()
            }
        }
    }

    /// Queues a message without flushing; see [`WsWriter::flush`].
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.write(ws6455::Message::text("a"))?;
    /// writer.write(ws6455::Message::text("b"))?;
    /// writer.flush()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn write(&self, msg: Message) -> Result<()> {
        let mut w = lock(&self.inner);
        w.check_room()?;
        w.sender.send(&msg)
    }

    /// Writes everything queued.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.flush()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn flush(&self) -> Result<()> {
        lock(&self.inner).flush()
    }

    /// Sends a text message.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.send_text("hi")?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn send_text(&self, text: &str) -> Result<()> {
        self.send_data(OpCode::Text, text.as_bytes())
    }

    /// Sends a binary message (a large one without copying it whole into the queue, as
    /// [`WebSocket::send_binary`] does).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.send_binary(&[1, 2, 3])?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn send_binary(&self, data: &[u8]) -> Result<()> {
        self.send_data(OpCode::Binary, data)
    }

    /// Starts sending a data frame piece by piece, as [`WebSocket::write_frame_start`] does:
    /// its payload follows through [`WsWriter::write_chunk`], and [`WsWriter::flush`] sends
    /// what is queued. While such a message is open, whole-message sends (from any clone) fail
    /// with [`Error::FrameSequence`]; pings, pongs and closes, the reader's automatic replies
    /// included, wait until the open frame is complete. Forwarding a large message without
    /// holding it whole:
    ///
    /// ```no_run
    /// use ws6455::frame::OpCode;
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// let mut file = std::fs::File::open("big.bin")?;
    /// let len = file.metadata()?.len();
    /// writer.write_frame_start(OpCode::Binary, true, len)?;
    /// let mut buf = vec![0; 64 << 10];
    /// loop {
    ///     let n = std::io::Read::read(&mut file, &mut buf)?;
    ///     if n == 0 {
    ///         break;
    ///     }
    ///     writer.write_chunk(&buf[..n])?;
    /// }
    /// writer.flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_frame_start(&self, opcode: OpCode, fin: bool, len: u64) -> Result<()> {
        let mut w = lock(&self.inner);
        let (stream, sender, max) = w.parts();
        start_frame(stream, sender, max, opcode, fin, len)
    }

    /// Sends payload of the frame begun with [`WsWriter::write_frame_start`] (at most what it
    /// still owes), as [`WebSocket::write_chunk`] does: queued (a client masks as it queues),
    /// except that on the server side a piece of 16 KiB or more is written at once.
    ///
    /// ```no_run
    /// use ws6455::frame::OpCode;
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.write_frame_start(OpCode::Text, true, 5)?;
    /// writer.write_chunk(b"He")?;
    /// writer.write_chunk(b"llo")?;
    /// writer.flush()?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn write_chunk(&self, data: &[u8]) -> Result<()> {
        let mut w = lock(&self.inner);
        let (stream, sender, max) = w.parts();
        send_chunk(stream, sender, max, data)
    }

    /// Sends a data message ([`send_message`]).
    fn send_data(&self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        let mut w = lock(&self.inner);
        w.check_room()?;
        let (stream, sender, _) = w.parts();
        send_message(stream, sender, opcode, payload)
    }

    /// Sends a ping.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.ping(b"are you there?")?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn ping(&self, payload: &[u8]) -> Result<()> {
        let mut w = lock(&self.inner);
        w.sender.ping(payload)?;
        w.flush()
    }

    /// Starts the close handshake; the reader returns the peer's close when it arrives.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// writer.close(ws6455::CloseCode::Normal, "bye")?;
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<()> {
        let mut w = lock(&self.inner);
        w.sender.close(Some(CloseFrame::new(code, reason)))?;
        w.flush()
    }

    /// True once a close frame has been sent (by us, or as the reply to the peer's).
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// assert!(!writer.close_sent());
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn close_sent(&self) -> bool {
        lock(&self.inner).sender.close_sent()
    }

    /// Bytes queued and not yet written.
    ///
    /// ```no_run
    /// let (ws, _) = ws6455::client::connect("ws://127.0.0.1:5000/")?;
    /// let (_reader, writer) = ws.split()?;
    /// assert_eq!(writer.pending_bytes(), 0);
    /// # Ok::<(), ws6455::Error>(())
    /// ```
    pub fn pending_bytes(&self) -> usize {
        lock(&self.inner).sender.pending().len()
    }
}

/// Client side of the end of a connection: RFC 6455 §7.1.1 wants the server to close TCP first,
/// so wait (bounded) for its FIN before dropping ours.
pub(crate) fn wait_for_server_close(stream: &mut TcpStream, timeout: Option<Duration>) {
    let limit = timeout.unwrap_or(Duration::from_secs(1));
    let deadline = Instant::now() + limit;
    let mut scratch = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut scratch) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

thread_local! {
    /// Set when [`server_finish`] saw the client's FIN on this thread: the server then has
    /// nothing left to linger for once the handler returns.
    pub(crate) static FINISHED_CLEANLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Server side of the end of a connection: close TCP first (RFC 6455 §7.1.1).
pub(crate) fn server_finish(stream: &mut TcpStream, _config: &Config) {
    let _ = stream.shutdown(Shutdown::Write);
    // Read what the client may still send (its close reply), so closing with unread data does
    // not turn our FIN into a reset.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut scratch = [0u8; 512];
    for _ in 0..64 {
        match stream.read(&mut scratch) {
            Ok(0) => {
                FINISHED_CLEANLY.with(|f| f.set(true));
                break;
            }
            Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Client side finisher for [`WebSocket<TcpStream>`].
pub(crate) fn client_finish(stream: &mut TcpStream, config: &Config) {
    wait_for_server_close(stream, config.close_timeout);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that takes at most `chunk` bytes per write and then refuses (`WouldBlock`)
    /// every other call, like a full non-blocking socket.
    struct Trickle {
        out: Vec<u8>,
        chunk: usize,
        block_next: bool,
        vectored_calls: usize,
    }

    impl Trickle {
        fn new(chunk: usize) -> Trickle {
            Trickle {
                out: Vec::new(),
                chunk,
                block_next: false,
                vectored_calls: 0,
            }
        }
    }

    impl Read for Trickle {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(ErrorKind::WouldBlock.into())
        }
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if std::mem::replace(&mut self.block_next, true) {
                self.block_next = false;
                return Err(ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.chunk);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.vectored_calls += 1;
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..]);
            self.write(first)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Flushes until nothing is pending, retrying through `WouldBlock`.
    fn flush_through_stalls(ws: &mut WebSocket<Trickle>) {
        for _ in 0..1_000_000 {
            if ws.pending_bytes() == 0 {
                return;
            }
            let _ = ws.flush();
        }
        panic!("still {} bytes pending", ws.pending_bytes());
    }

    fn expected(msgs: &[Message]) -> Vec<u8> {
        let mut tx = Sender::new(Role::Server, &Config::default());
        for m in msgs {
            tx.send(m).unwrap();
        }
        tx.pending().to_vec()
    }

    #[test]
    fn large_server_message_is_written_directly_and_matches_the_queued_encoding() {
        let big = Message::binary((0..100_000u32).map(|i| i as u8).collect::<Vec<u8>>());
        let text = Message::text("é".repeat(40_000));
        let mut ws =
            WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Server, Config::default());
        ws.write(Message::text("first")).unwrap();
        ws.write(big.clone()).unwrap();
        // Written at once (after the queued message), not queued.
        assert_eq!(ws.pending_bytes(), 0);
        ws.write(text.clone()).unwrap();
        ws.flush().unwrap();
        assert_eq!(
            ws.get_ref().get_ref(),
            &expected(&[Message::text("first"), big, text])
        );
    }

    #[test]
    fn a_servers_large_send_binary_is_written_directly_too() {
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        for chunk in [usize::MAX, 30_000] {
            let mut ws = WebSocket::from_raw(Trickle::new(chunk), Role::Server, Config::default());
            ws.send_text("first").unwrap();
            let sent = ws.send_binary(&data);
            // Straight from `data` (one vectored write of header + payload), not queued first.
            assert!(ws.get_ref().vectored_calls >= 1, "chunk {chunk}");
            if chunk == usize::MAX {
                sent.unwrap();
            } else {
                // The stream stalls part-way: the rest is queued, as a flush reports.
                assert!(matches!(sent, Err(Error::Timeout)), "{sent:?}");
            }
            flush_through_stalls(&mut ws);
            assert_eq!(
                ws.get_ref().out,
                expected(&[Message::text("first"), Message::binary(data.clone())]),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn partial_direct_write_queues_the_rest_of_the_frame_in_order() {
        let big = Message::binary(vec![0xA5; 70_000]);
        for chunk in [1, 5, 10, 4096, 69_999, 70_004] {
            let mut ws = WebSocket::from_raw(Trickle::new(chunk), Role::Server, Config::default());
            ws.write(big.clone()).unwrap();
            assert!(ws.get_ref().vectored_calls >= 1, "chunk {chunk}");
            ws.write(Message::text("after")).unwrap();
            flush_through_stalls(&mut ws);
            assert_eq!(
                ws.get_ref().out,
                expected(&[big.clone(), Message::text("after")]),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn clients_and_small_messages_still_queue() {
        let mut ws =
            WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Client, Config::default());
        ws.write(Message::binary(vec![1; 100_000])).unwrap();
        assert!(ws.pending_bytes() > 100_000);
        let mut ws =
            WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Server, Config::default());
        ws.write(Message::binary(vec![1; 1000])).unwrap();
        assert_eq!(ws.pending_bytes(), 1004); // 4-byte header (16-bit length)
        assert!(ws.get_ref().get_ref().is_empty());
    }

    #[test]
    fn pieces_written_straight_out_keep_their_order_when_the_stream_stalls() {
        // Frame-by-frame sending: pieces of 16 KiB and more go straight to the stream with
        // what is queued; a stream that takes a few bytes and then blocks must still get the
        // bytes of a whole-message encoding, with a ping queued mid-frame after the frame.
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in [1, 7, 4096, 20_000, 100_020] {
            let mut ws = WebSocket::from_raw(Trickle::new(chunk), Role::Server, Config::default());
            ws.write(Message::text("before")).unwrap();
            ws.write_frame_start(OpCode::Binary, true, data.len() as u64)
                .unwrap();
            ws.write_chunk(&data[..30_000]).unwrap();
            ws.ping(b"mid").unwrap_or(());
            ws.write_chunk(&data[30_000..30_010]).unwrap();
            ws.write_chunk(&data[30_010..]).unwrap();
            flush_through_stalls(&mut ws);
            let want = expected(&[
                Message::text("before"),
                Message::binary(data.clone()),
                Message::Ping(b"mid".to_vec()),
            ]);
            assert!(ws.get_ref().out == want, "chunk {chunk}");
        }
    }

    /// Takes every write whole and records its size.
    #[derive(Default)]
    struct Recorder {
        out: Vec<u8>,
        writes: Vec<usize>,
    }

    impl Read for Recorder {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Ok(0)
        }
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.out.extend_from_slice(buf);
            self.writes.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The messages in a client's output, read back by a server.
    fn read_back(wire: &[u8]) -> Vec<Message> {
        let config = Config::default()
            .max_message_size(64 << 20)
            .max_frame_size(64 << 20);
        let mut rx = Receiver::new(Role::Server, &config);
        rx.receive(wire);
        let mut msgs = Vec::new();
        while let Some(m) = rx.next_message().unwrap() {
            msgs.push(m);
        }
        assert_eq!(rx.buffered(), 0, "bytes left after the last message");
        msgs
    }

    /// Data frames in a wire (headers only, skipping payloads).
    fn frame_count(mut wire: &[u8]) -> usize {
        let mut n = 0;
        while let Some((h, hlen)) = FrameHeader::parse(wire).unwrap() {
            wire = &wire[hlen + h.payload_len as usize..];
            n += 1;
        }
        assert!(wire.is_empty());
        n
    }

    #[test]
    fn a_clients_large_message_is_masked_and_written_in_pieces() {
        let len = 2 * SEND_IN_PIECES_ABOVE + 12_345;
        let data: Vec<u8> = (0..len as u32).map(|i| (i % 251) as u8).collect();
        let text = "é".repeat(SEND_IN_PIECES_ABOVE / 2 + 1); // over the threshold in bytes
        for fragment in [usize::MAX, SEND_IN_PIECES_ABOVE + 1000, 300_001] {
            let config = Config::default().fragment_size(fragment);
            let mut ws = WebSocket::from_raw(Recorder::default(), Role::Client, config);
            ws.send_binary(&data).unwrap();
            ws.send(Message::text(text.clone())).unwrap();
            ws.send_text("after").unwrap();
            assert_eq!(ws.pending_bytes(), 0);
            let rec = ws.get_ref();
            // In pieces: no write carries more than one piece and a header.
            assert!(rec.writes.len() > len / SEND_PIECE, "fragment {fragment}");
            assert!(
                rec.writes.iter().all(|&w| w <= SEND_PIECE + MAX_HEADER_LEN),
                "fragment {fragment}: {:?}",
                rec.writes
            );
            let frames = len.div_ceil(fragment.min(len)) + text.len().div_ceil(fragment) + 1;
            assert_eq!(frame_count(&rec.out), frames, "fragment {fragment}");
            assert_eq!(
                read_back(&rec.out),
                [
                    Message::binary(data.clone()),
                    Message::text(text.clone()),
                    Message::text("after")
                ],
                "fragment {fragment}"
            );
        }
    }

    #[test]
    fn a_piece_that_cannot_be_written_leaves_the_rest_queued_in_order() {
        // The stream takes 100 000 bytes, then blocks: the call reports the timeout, the rest
        // of the message is queued whole (as a queued send would be), and flushing later
        // completes a correct frame, followed by what was sent next.
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut ws = WebSocket::from_raw(Trickle::new(100_000), Role::Client, Config::default());
        assert!(matches!(ws.send_binary(&data), Err(Error::Timeout)));
        assert_eq!(ws.get_ref().out.len(), 100_000);
        assert!(ws.pending_bytes() > data.len() - 100_000);
        ws.write(Message::text("next")).unwrap();
        flush_through_stalls(&mut ws);
        assert_eq!(
            read_back(&ws.get_ref().out),
            [Message::binary(data), Message::text("next")]
        );
    }

    #[test]
    fn servers_and_messages_up_to_the_threshold_are_sent_whole() {
        for (role, len) in [
            (Role::Client, SEND_IN_PIECES_ABOVE),
            (Role::Server, 3 * SEND_IN_PIECES_ABOVE),
        ] {
            let mut ws = WebSocket::from_raw(Recorder::default(), role, Config::default());
            ws.send_binary(&vec![7; len]).unwrap();
            // One write carries the whole payload (a server's header may go in one of its
            // own: `Recorder` takes vectored writes one buffer at a time).
            let writes = &ws.get_ref().writes;
            assert!(writes.len() <= 2, "{role:?} {len}: {writes:?}");
            assert!(
                writes.iter().any(|&w| w >= len),
                "{role:?} {len}: {writes:?}"
            );
        }
    }

    #[test]
    fn direct_write_after_close_is_refused() {
        let mut ws =
            WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Server, Config::default());
        ws.close(CloseCode::Normal, "").unwrap();
        assert!(matches!(
            ws.write(Message::binary(vec![0; 100_000])),
            Err(Error::AlreadyClosed)
        ));
    }
}
