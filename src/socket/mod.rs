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

mod driver;
mod finish;
mod split;
mod timers;
mod write;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use driver::{Driver, Link};
pub(crate) use finish::{server_finish, wait_for_server_close, Ending, Finisher, ShutdownSignal};
pub use split::{WsReader, WsWriter};
use timers::TimeoutHooks;

use crate::frame::OpCode;
use crate::handshake;
use crate::protocol::{self, Chunk, Piece, Reaction, Receiver, Sender, State};
use crate::{
    CloseCode, CloseFrame, Config, Error, Message, MessageRef, ProtocolError, Result, Role,
};

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
    driver: Driver<S>,
    own: Own<S>,
    config: Config,
    subprotocol: Option<String>,
    request: Option<handshake::Request>,
    response: Option<handshake::Response>,
    peer: Option<SocketAddr>,
}

/// The sending side of a connection that is not split: its [`Sender`], and how its transport
/// ends.
struct Own<S> {
    sender: Sender,
    finisher: Option<Finisher<S>>,
}

impl<S: Write> Link<S> for Own<S> {
    fn react(&mut self, _: &mut S, r: Reaction<'_>) -> std::result::Result<(), ProtocolError> {
        self.sender.react(r);
        match self.sender.take_failure() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn has_pending(&self) -> bool {
        !self.sender.pending().is_empty()
    }

    fn in_frame(&self) -> bool {
        self.sender.in_frame()
    }

    fn flush_best_effort(&mut self, stream: &mut S) -> Result<()> {
        write::flush_best_effort(stream, &mut self.sender)
    }

    fn close_queued(&self) -> bool {
        self.sender.close_sent()
    }

    fn send_close(&mut self, stream: &mut S, frame: CloseFrame) {
        let _ = self.sender.close(Some(frame));
        let _ = write::flush_best_effort(stream, &mut self.sender);
    }

    fn send_ping(&mut self, stream: &mut S) {
        if self.sender.ping(b"").is_ok() {
            let _ = write::flush_best_effort(stream, &mut self.sender);
        }
    }

    fn finish(&mut self, stream: &mut S) -> bool {
        let _ = write::write_sender(stream, &mut self.sender);
        let _ = stream.flush();
        let codes = self.sender.close_codes();
        self.finisher.as_mut().is_some_and(|f| f(stream, codes))
    }
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.own.sender.role())
            .field(
                "state",
                &protocol::state_of(&self.driver.rx, &self.own.sender),
            )
            .field("subprotocol", &self.subprotocol)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// The messages of a connection, as [`WebSocket::read`] returns them, until the connection is
/// over (see [`WebSocket::messages`]).
pub struct Messages<'a, S> {
    ws: &'a mut WebSocket<S>,
}

impl<S: Read + Write> Iterator for Messages<'_, S> {
    type Item = Result<Message>;

    fn next(&mut self) -> Option<Result<Message>> {
        match self.ws.read() {
            Err(Error::ConnectionClosed) => None,
            other => Some(other),
        }
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
        let mut rx = Receiver::new(role, &config);
        if !leftover.is_empty() {
            rx.receive(leftover);
        }
        WebSocket {
            stream,
            driver: Driver::new(rx, &config),
            own: Own {
                sender: Sender::new(role, &config),
                finisher: None,
            },
            config,
            subprotocol: None,
            request: None,
            response: None,
            peer: None,
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

    /// Applies a negotiated permessage-deflate agreement to both directions, as
    /// [`Protocol::set_deflate`](crate::protocol::Protocol::set_deflate) does, with this
    /// socket's [`Config::deflate`] level and threshold. The server and the client call it
    /// after a handshake that negotiated the extension; call it yourself only for a stream
    /// whose handshake you did elsewhere ([`WebSocket::from_raw`]), before the first message.
    /// A split connection keeps it in both halves.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, PerMessageDeflate, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.set_deflate(PerMessageDeflate::default());
    /// ws.send_text("Hello").unwrap();
    /// // RFC 7692 §7.2.3.1: RSV1 set, "Hello" compressed.
    /// assert_eq!(ws.get_ref().get_ref(), &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    /// assert_eq!(ws.deflate(), Some(PerMessageDeflate::default()));
    /// ```
    pub fn set_deflate(&mut self, agreement: handshake::PerMessageDeflate) {
        self.driver.rx.set_deflate(&agreement);
        self.own.sender.set_deflate(&agreement, &self.config);
    }

    /// The permessage-deflate parameters in use, if the extension was negotiated.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Client, Config::default());
    /// assert_eq!(ws.deflate(), None);
    /// ```
    pub fn deflate(&self) -> Option<handshake::PerMessageDeflate> {
        self.own.sender.deflate()
    }

    /// Bytes of memory the permessage-deflate state holds in both directions (0 without the
    /// extension; allocated on first use, and freed after every message in a direction
    /// without context takeover).
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, PerMessageDeflate, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.set_deflate(PerMessageDeflate { server_no_context_takeover: true, ..Default::default() });
    /// ws.send_text("forgotten after sending").unwrap();
    /// assert_eq!(ws.deflate_memory(), 0);
    /// ```
    pub fn deflate_memory(&self) -> usize {
        self.driver.rx.deflate_memory() + self.own.sender.deflate_memory()
    }

    /// Sends a message as [`WebSocket::send`] does, but never compressed, even with
    /// permessage-deflate negotiated. Use it for a message that holds a secret next to text
    /// an attacker may control: compressed sizes would leak the secret (CRIME, BREACH; RFC
    /// 7692 §8). See [`Sender::send_uncompressed`]. The message goes through the queue (no
    /// direct write of large messages).
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Message, PerMessageDeflate, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.set_deflate(PerMessageDeflate::default());
    /// ws.send_uncompressed(Message::text("id=42")).unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), b"\x81\x05id=42");
    /// ```
    pub fn send_uncompressed(&mut self, msg: Message) -> Result<()> {
        let (stream, sender) = (&mut self.stream, &mut self.own.sender);
        write::check_room(stream, sender, self.config.max_write_buffer)?;
        sender.send_uncompressed(&msg)?;
        self.flush()
    }

    pub(crate) fn set_shutdown_signal(&mut self, signal: Arc<ShutdownSignal>) {
        self.driver.eof.signal = Some(signal);
    }

    /// Reads the next message. Pings are answered automatically (unless
    /// [`Config::auto_pong`] is off), each with its own pong, and still returned, as are
    /// pongs. A close frame is returned once as [`Message::Close`], after the reply has been
    /// sent; every later call returns [`Error::ConnectionClosed`].
    ///
    /// On [`Error::Timeout`] (a read timeout, or `WouldBlock` on a non-blocking stream) nothing
    /// is lost: call `read` again to resume. On a protocol error the right close frame is sent
    /// before the error is returned. After our close, the peer's must come within
    /// [`Config::close_timeout`], or the connection ends and `read` returns
    /// [`Error::ConnectionClosed`]; a socket made by the server or the client also pings a
    /// silent peer ([`Config::ping_interval`]) and closes one that stays silent
    /// ([`Error::PingTimeout`]). A message begun by `read` must be finished by `read` (not by
    /// [`WebSocket::read_chunk`]): switching mid-message fails with [`Error::ReadMode`] and
    /// loses nothing.
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
        self.driver.read(&mut self.stream, &mut self.own)
    }

    /// The messages of the connection, as [`WebSocket::read`] returns them (control frames
    /// included), until it is over: the iterator ends after the close handshake or a failure.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use ws6455::{socket::WebSocket, Config, Message, Role};
    /// // Two server frames, "a" and "b", then a close.
    /// let wire = vec![0x81, 1, b'a', 0x81, 1, b'b', 0x88, 0];
    /// let mut ws = WebSocket::from_raw(Cursor::new(wire), Role::Client, Config::default());
    /// let texts: Vec<String> = ws
    ///     .messages()
    ///     .filter_map(|m| match m {
    ///         Ok(Message::Text(t)) => Some(t),
    ///         _ => None,
    ///     })
    ///     .collect();
    /// assert_eq!(texts, ["a", "b"]);
    /// ```
    pub fn messages(&mut self) -> Messages<'_, S> {
        Messages { ws: self }
    }

    /// Reads the stream data frame by data frame instead of as whole messages (see [`Chunk`]):
    /// payload is written to `buf`, at most `buf.len()` bytes at a time, so a message of any
    /// size is handled in a buffer of fixed size. While a large frame streams in and nothing
    /// else is buffered, the payload is read from the stream straight into `buf`. Control
    /// frames come whole, answered as by [`WebSocket::read`]; errors, timeouts and the close
    /// are as for `read`. Finish a message with the call that began it (this or `read`):
    /// switching in the middle fails with [`Error::ReadMode`] and loses nothing.
    ///
    /// Forwarding frames as they come (an echo that never holds a whole message); whatever
    /// `read_chunk` yields, empty frames included, can be written back as it came:
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
        self.driver.read_chunk(&mut self.stream, &mut self.own, buf)
    }

    /// Reads as [`WebSocket::read_chunk`] does, except that a small message comes whole in
    /// one call when it can ([`Piece::Whole`]: one frame, already received, uncompressed, no
    /// longer than `buf`): for servers that handle many small messages and stream large ones,
    /// such as `ws-server --app echo`. Everything else comes as [`Chunk`]s, exactly as from
    /// `read_chunk` (see [`Receiver::next_piece`]).
    ///
    /// ```
    /// use ws6455::protocol::Piece;
    /// use ws6455::{frame::OpCode, socket::WebSocket, Config, MessageRef, Role};
    /// // A masked binary frame of 3 bytes from a client.
    /// let input = vec![0x82, 0x83, 0, 0, 0, 0, 1, 2, 3];
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(input), Role::Server, Config::default());
    /// let mut buf = [0u8; 1024];
    /// let Piece::Whole { opcode: OpCode::Binary, len } = ws.read_piece(&mut buf).unwrap() else {
    ///     panic!("a whole message")
    /// };
    /// assert_eq!(&buf[..len], &[1, 2, 3]);
    /// ws.write_ref(MessageRef::Binary(&buf[..len])).unwrap(); // echoed from the buffer
    /// ```
    pub fn read_piece(&mut self, buf: &mut [u8]) -> Result<Piece> {
        self.driver.read_piece(&mut self.stream, &mut self.own, buf)
    }

    /// Starts sending a data frame piece by piece: queues its header, announcing `len`
    /// payload bytes, to be sent with [`WebSocket::write_chunk`]. The rules (and errors) are
    /// those of [`Sender::write_frame_start`]: text or binary opens a message, continuation frames
    /// follow, `fin` ends it; pings, pongs and closes wait for the open frame to be complete
    /// (they count against [`Config::max_write_buffer`], and a close that waits past
    /// [`Config::close_timeout`] abandons the frame: the connection is dropped).
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
        self.check_held_close()?;
        write::start_frame(&mut self.stream, &mut self.own.sender, opcode, fin, len)
    }

    /// Sends payload of the frame begun with [`WebSocket::write_frame_start`] (at most what
    /// it still owes; an empty `data` is always fine once a frame was begun). Like
    /// [`WebSocket::write`] it queues (a client masks as it queues) and the next flush or read
    /// sends; on the server side a piece of 16 KiB or more is written at once, straight from
    /// `data`, after what is queued.
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<()> {
        self.check_held_close()?;
        write::send_chunk(&mut self.stream, &mut self.own.sender, data)
    }

    /// A close queued behind the open frame for longer than the close timeout: abandon the
    /// frame, end the connection.
    fn check_held_close(&mut self) -> Result<()> {
        if self.own.sender.in_frame() && self.driver.close_overdue(self.own.sender.close_sent()) {
            self.driver.end(&mut self.stream, &mut self.own);
            return Err(Error::ConnectionClosed);
        }
        Ok(())
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
        self.write_ref(msg.as_ref())
    }

    /// Queues a borrowed message, as [`WebSocket::write`] does an owned one: bytes the
    /// caller keeps (a buffer it reuses, a slice of a larger one) go out without an owned
    /// copy (and an allocation) first.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, MessageRef, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// let buf = [1u8, 2, 3, 4];
    /// ws.write_ref(MessageRef::Binary(&buf[..2])).unwrap();
    /// ws.flush().unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x82, 2, 1, 2]);
    /// ```
    pub fn write_ref(&mut self, msg: MessageRef<'_>) -> Result<()> {
        let (stream, sender) = (&mut self.stream, &mut self.own.sender);
        let direct = match msg {
            MessageRef::Text(t) => sender.send_direct(OpCode::Text, t.as_bytes(), &mut |b| {
                stream.write_vectored(b)
            }),
            MessageRef::Binary(b) => {
                sender.send_direct(OpCode::Binary, b, &mut |bufs| stream.write_vectored(bufs))
            }
            _ => None,
        };
        if let Some(result) = direct {
            return result;
        }
        write::check_room(stream, sender, self.config.max_write_buffer)?;
        sender.send_ref(msg)
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
        let role = self.own.sender.role();
        match &msg {
            Message::Text(t) if write::sends_in_pieces(role, t.len()) => {
                self.send_data(OpCode::Text, t.as_bytes())
            }
            Message::Binary(b) if write::sends_in_pieces(role, b.len()) => {
                self.send_data(OpCode::Binary, b)
            }
            _ => {
                self.write(msg)?;
                self.flush()
            }
        }
    }

    /// Sends a text message: anything that is a `str` (`&str`, `String`, a `format!`).
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.send_text("hi").unwrap();
    /// ws.send_text(format!("{}!", 1)).unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x81, 2, b'h', b'i', 0x81, 2, b'1', b'!']);
    /// ```
    pub fn send_text(&mut self, text: impl AsRef<str>) -> Result<()> {
        self.send_data(OpCode::Text, text.as_ref().as_bytes())
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
    /// ws.send_binary([7]).unwrap();
    /// ws.send_binary(vec![8, 9]).unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x82, 1, 7, 0x82, 2, 8, 9]);
    /// ```
    pub fn send_binary(&mut self, data: impl AsRef<[u8]>) -> Result<()> {
        self.send_data(OpCode::Binary, data.as_ref())
    }

    /// Sends a data message and flushes the stream.
    fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        let (stream, sender) = (&mut self.stream, &mut self.own.sender);
        write::check_room(stream, sender, self.config.max_write_buffer)?;
        write::send_message(stream, sender, opcode, payload, |_| {})?;
        stream.flush()?;
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
        self.own.sender.ping(payload)?;
        self.flush()
    }

    /// Sends an unsolicited pong (a one-way heartbeat, RFC 6455 §5.5.3; at most 125 bytes).
    /// Pings are answered automatically: this is not needed for that.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.pong(b"").unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x8A, 0]);
    /// ```
    pub fn pong(&mut self, payload: &[u8]) -> Result<()> {
        self.own.sender.pong(payload)?;
        self.flush()
    }

    /// Starts the close handshake: sends a close frame with `code` and `reason`. Keep calling
    /// [`WebSocket::read`] until it returns the peer's [`Message::Close`] (or
    /// [`Error::ConnectionClosed`], also when the peer did not answer within
    /// [`Config::close_timeout`]) to complete the handshake.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, CloseCode, Config, Error, Message, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.close(CloseCode::Normal, "bye").unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x88, 5, 0x03, 0xe8, b'b', b'y', b'e']);
    /// assert!(matches!(ws.send_text("late"), Err(Error::AlreadyClosed)));
    /// ```
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.own.sender.close(Some(CloseFrame::new(code, reason)))?;
        self.flush()
    }

    /// Starts the close handshake with a close frame that carries no code (RFC 6455 §5.5.1
    /// allows an empty body; the peer sees 1005, "no status").
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.close_without_code().unwrap();
    /// assert_eq!(ws.get_ref().get_ref(), &[0x88, 0]);
    /// ```
    pub fn close_without_code(&mut self) -> Result<()> {
        self.own.sender.close(None)?;
        self.flush()
    }

    /// Writes everything queued and flushes the stream.
    ///
    /// When queued bytes go out without it:
    /// - [`WebSocket::read`] and [`WebSocket::read_chunk`] write the queue before they wait
    ///   for input. A read takes in as much as has arrived (up to 64 KiB while the
    ///   connection is busy) and the calls after it return what that brought without
    ///   touching the stream, so replies queued with [`WebSocket::write`] (or forwarded with
    ///   [`WebSocket::write_frame_start`] and [`WebSocket::write_chunk`]) to every message of
    ///   one read go out together, in one write, when the application next reads.
    /// - The library's own replies (a pong, the close echo) go out when the read that brought
    ///   what called for them returns, if nothing more is buffered (with what was queued
    ///   before them).
    /// - A queue at [`Config::max_write_buffer`] is written before more is queued; on the
    ///   server side a message of 64 KiB or more, or a piece of 16 KiB or more sent frame by
    ///   frame, is written at once after what is queued.
    /// - [`WebSocket::send`], `send_text`, `send_binary`, `ping`, `pong` and `close` flush.
    ///
    /// So call `flush` after `write` when a reply must go out now and no read follows soon.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// ws.flush().unwrap();
    /// ```
    pub fn flush(&mut self) -> Result<()> {
        write::write_sender(&mut self.stream, &mut self.own.sender)?;
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

    /// The peer's address, for a socket made by the server or the client over TCP.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Client, Config::default());
    /// assert_eq!(ws.peer_addr(), None); // an in-memory stream has none
    /// ```
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The role of this end.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Client, Config::default());
    /// assert_eq!(ws.role(), Role::Client);
    /// ```
    pub fn role(&self) -> Role {
        self.own.sender.role()
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
        self.own.sender.pending().len()
    }

    /// Where the connection is in its life (open, closing, closed, failed).
    ///
    /// ```
    /// use ws6455::{protocol::State, socket::WebSocket, CloseCode, Config, Role};
    /// let mut ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// assert_eq!(ws.state(), State::Open);
    /// ws.close(CloseCode::Normal, "").unwrap();
    /// assert_eq!(ws.state(), State::Closing);
    /// ```
    pub fn state(&self) -> State {
        protocol::state_of(&self.driver.rx, &self.own.sender)
    }

    /// True once the close handshake is complete or the connection failed.
    ///
    /// ```
    /// use ws6455::{socket::WebSocket, Config, Role};
    /// let ws = WebSocket::from_raw(std::io::Cursor::new(Vec::new()), Role::Server, Config::default());
    /// assert!(!ws.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self.state(), State::Closed | State::Failed) || self.driver.finished()
    }
}

impl WebSocket<TcpStream> {
    /// A server's socket over TCP: the server closes TCP first, the reader's clocks may set
    /// the read timeout, and `ending` learns the close codes and whether the client's FIN came.
    pub(crate) fn install_server_finisher(&mut self, ending: Arc<Ending>) {
        self.attach_tcp();
        self.own.finisher = Some(Box::new(move |s, codes| {
            *ending.codes.lock().unwrap_or_else(|p| p.into_inner()) = Some(codes);
            let fin = server_finish(s);
            ending.fin.store(fin, Ordering::Release);
            fin
        }));
    }

    /// A client's socket over TCP: at the end it waits (bounded) for the server to close TCP.
    pub(crate) fn install_client_finisher(&mut self) {
        self.attach_tcp();
        let timeout = self.config.close_timeout;
        self.own.finisher = Some(Box::new(move |s, _| wait_for_server_close(s, timeout)));
    }

    fn attach_tcp(&mut self) {
        self.driver.set_hooks(TimeoutHooks::tcp());
        self.peer = self.stream.peer_addr().ok();
    }
}

#[cfg(test)]
mod tests;
