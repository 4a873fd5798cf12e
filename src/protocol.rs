//! The sans-IO WebSocket state machine: bytes in, messages out; messages in, bytes out.
//!
//! Nothing here touches a socket. A [`Receiver`] takes the bytes read from the peer
//! ([`Receiver::receive`], or [`Receiver::read_buf`] + [`Receiver::commit`] to read straight into
//! its buffer) and hands back whole messages and control frames ([`Receiver::next_message`]),
//! enforcing every framing rule of RFC 6455 and the limits of [`Config`]. A [`Sender`] turns
//! messages into frames in an output buffer ([`Sender::pending`], [`Sender::consume`]), masking
//! them when it is a client. [`Sender::respond`] applies the automatic reactions to what a
//! receiver produced (pong for ping, close echo, close on protocol error), so a [`Protocol`]
//! (both halves wired together) and a connection split across two threads behave the same.
//!
//! A client and a server, talking through plain byte buffers:
//!
//! ```
//! use ws6455::protocol::{Protocol, State};
//! use ws6455::{CloseCode, CloseFrame, Config, Error, Message, Role};
//!
//! let mut client = Protocol::new(Role::Client, Config::default());
//! let mut server = Protocol::new(Role::Server, Config::default());
//!
//! /// Moves everything `from` has queued into `to`'s input, as a socket would.
//! fn pump(from: &mut Protocol, to: &mut Protocol) {
//!     let n = from.pending().len();
//!     to.receive(from.pending());
//!     from.consume(n);
//! }
//!
//! // A text message (the client masks it; the server unmasks it).
//! client.send_text("hello").unwrap();
//! pump(&mut client, &mut server);
//! assert_eq!(server.next_message().unwrap(), Some(Message::text("hello")));
//! assert_eq!(server.next_message().unwrap(), None); // nothing more yet
//!
//! // A ping is answered by the server on its own; the client sees the pong.
//! client.ping(b"still there?").unwrap();
//! pump(&mut client, &mut server);
//! assert_eq!(server.next_message().unwrap(), Some(Message::Ping(b"still there?".to_vec())));
//! pump(&mut server, &mut client);
//! assert_eq!(client.next_message().unwrap(), Some(Message::Pong(b"still there?".to_vec())));
//!
//! // The close handshake, started by the client.
//! client.close(Some(CloseFrame::new(CloseCode::Normal, "done"))).unwrap();
//! assert_eq!(client.state(), State::Closing);
//! assert!(matches!(client.send_text("too late"), Err(Error::AlreadyClosed)));
//! pump(&mut client, &mut server);
//! let close = Message::Close(Some(CloseFrame::new(CloseCode::Normal, "done")));
//! assert_eq!(server.next_message().unwrap(), Some(close));
//! assert_eq!(server.state(), State::CloseReceived); // the echo is queued
//! assert!(server.is_done()); // flush, then the server drops TCP first (§7.1.1)
//! pump(&mut server, &mut client);
//! assert_eq!(server.state(), State::Closed);
//! let echo = Message::Close(Some(CloseFrame::new(CloseCode::Normal, "done")));
//! assert_eq!(client.next_message().unwrap(), Some(echo));
//! assert_eq!(client.state(), State::Closed);
//! assert!(matches!(client.next_message(), Err(Error::ConnectionClosed)));
//! ```

use std::io::{self, ErrorKind, IoSlice};

use crate::config::Config;
use crate::error::{Error, ProtocolError, Result};
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::message::{CloseCode, CloseFrame, Message, MessageRef, Role};
use crate::utf8::Utf8Validator;

/// The most a close reason may take on the wire: 125 bytes less the 2-byte code.
pub const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// The least a message buffer grows by when payload of a frame in progress arrives: it grows
/// with what has arrived (doubling), never with what a header announced, so a peer that
/// declares a huge frame and sends little costs little.
const GROW_MIN: usize = 16 << 10;

/// [`Receiver::shrink`] leaves input buffers up to this size alone.
const SHRINK_ABOVE: usize = 64 << 10;

/// [`Receiver::read_buf`] lends the message buffer itself when at least this much payload of
/// the current frame is still to come and nothing else is buffered...
const DIRECT_MIN: usize = 4096;
/// ...and lends at most this much at a time (unless asked for more).
const DIRECT_MAX: usize = 64 << 10;
/// Most bytes a read takes in between frames after a large frame (see
/// [`Receiver::read_size_hint`]).
const HEADER_READ: usize = 1024;
/// Most bytes [`Receiver::read_size_hint`] suggests for the rest of a large frame. (Reading a
/// 16 MiB frame 4 KiB at a time meant ~4 000 blocking reads, each a chance to sleep and wait
/// for the scheduler: `examples/loadgen --scenario big` went from ~30 MB/s to several hundred.)
const MAX_BULK_READ: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataKind {
    Text,
    Binary,
}

/// A data frame whose payload is arriving.
#[derive(Debug, Clone, Copy)]
struct InFrame {
    key: Option<[u8; 4]>,
    remaining: u64,
    /// Payload bytes already unmasked (only its value mod 4 matters).
    offset: usize,
    fin: bool,
}

impl InFrame {
    fn new(header: &FrameHeader) -> InFrame {
        InFrame {
            key: header.mask,
            remaining: header.payload_len,
            offset: 0,
            fin: header.fin,
        }
    }

    /// Unmasks `data`, the next payload bytes of this frame, and counts them as arrived.
    #[inline]
    fn arrived(&mut self, data: &mut [u8]) {
        if let Some(key) = self.key {
            apply_mask(data, key, self.offset);
        }
        self.remaining = self.remaining.saturating_sub(data.len() as u64);
        self.offset = self.offset.wrapping_add(data.len());
    }
}

/// Where the receiver is in the stream of data messages, and which kind of read owns the
/// message in progress. A message begun by [`Receiver::next_message`] (or `next_message_ref`)
/// is assembled whole; one begun by [`Receiver::next_chunk`] goes to the caller's buffers. The
/// other kind of read fails with [`Error::ReadMode`] until it is over, so the two can never
/// share (and corrupt) a message.
#[derive(Debug, Clone, Copy)]
enum Assembly {
    /// Between messages: any read may begin the next one.
    Idle,
    /// A message read whole: `frames` frames of it so far, its payload so far in
    /// `Receiver::message[..len]`, `frame` the data frame whose payload is arriving (none
    /// between fragments).
    Whole {
        kind: DataKind,
        frames: usize,
        len: usize,
        frame: Option<InFrame>,
    },
    /// A message read chunk by chunk: `frames` frames of it so far, announcing `announced`
    /// payload bytes in all (counted against the message limit).
    Chunked {
        kind: DataKind,
        frames: usize,
        announced: u64,
        frame: Option<InFrame>,
    },
}

impl Assembly {
    fn frame(&self) -> Option<InFrame> {
        match *self {
            Assembly::Idle => None,
            Assembly::Whole { frame, .. } | Assembly::Chunked { frame, .. } => frame,
        }
    }
}

/// What [`Receiver::read_buf`] lent last, for [`Receiver::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lent {
    /// The end of the input buffer.
    Input,
    /// `message[len..]` of a message read whole, for the payload of its frame in progress.
    Message,
}

/// A piece of the incoming stream, for reading data frame by frame ([`Receiver::next_chunk`],
/// [`crate::socket::WebSocket::read_chunk`]) instead of as whole messages: a large message can
/// then be handled (forwarded, written to disk) as it arrives, in a buffer of fixed size.
///
/// Every data frame comes as one [`Chunk::FrameStart`] followed by one or more [`Chunk::Data`],
/// the last of which has `end_of_frame` set (an empty frame gives one `Data` of length 0).
/// Control frames come whole, between data frames. All the checks of whole-message reading
/// apply (framing rules, limits, UTF-8 of text as it arrives).
///
/// ```
/// use ws6455::protocol::{Chunk, Receiver};
/// use ws6455::{frame::OpCode, Config, Role};
/// let mut rx = Receiver::new(Role::Client, &Config::default());
/// rx.receive(&[0x02, 0x03, 1, 2, 3, 0x80, 0x01, 4]); // binary [1, 2, 3] + continuation [4]
/// let mut buf = [0u8; 2];
/// assert_eq!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::FrameStart { opcode: OpCode::Binary, fin: false, len: 3 }));
/// assert_eq!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::Data { len: 2, end_of_frame: false, end_of_message: false }));
/// assert_eq!(buf, [1, 2]);
/// assert_eq!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::Data { len: 1, end_of_frame: true, end_of_message: false }));
/// assert_eq!(buf[0], 3);
/// assert_eq!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::FrameStart { opcode: OpCode::Continuation, fin: true, len: 1 }));
/// assert_eq!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::Data { len: 1, end_of_frame: true, end_of_message: true }));
/// assert_eq!(rx.next_chunk(&mut buf).unwrap(), None); // more bytes needed
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// A data frame begins: its opcode (text or binary for the first frame of a message,
    /// continuation after), its FIN bit (last frame of the message) and its payload length.
    FrameStart {
        /// [`OpCode::Text`], [`OpCode::Binary`] or [`OpCode::Continuation`].
        opcode: OpCode,
        /// Last frame of its message.
        fin: bool,
        /// Payload length announced by the header.
        len: u64,
    },
    /// `len` payload bytes of the current frame, unmasked, were written to the front of the
    /// caller's buffer. For text, every byte so far is valid UTF-8 (a code point may be split
    /// across chunks).
    Data {
        /// How many bytes were written to the buffer.
        len: usize,
        /// This chunk completes the frame.
        end_of_frame: bool,
        /// This chunk completes the message.
        end_of_message: bool,
    },
    /// A whole control frame: [`Message::Ping`], [`Message::Pong`] or [`Message::Close`].
    Control(Message),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RecvState {
    Open,
    /// A direct read ([`Receiver::commit`] of lent message buffer) found this error; the next
    /// read reports it and fails the connection.
    Failing(ProtocolError),
    CloseReceived,
    Failed,
}

/// The incoming half: input buffer, frame decoding, unmasking, message assembly, UTF-8
/// validation and limits.
///
/// ```
/// use ws6455::{protocol::Receiver, Config, Message, Role};
/// let mut rx = Receiver::new(Role::Client, &Config::default());
/// rx.receive(&[0x81, 0x05, b'H', b'e']);          // half a frame
/// assert_eq!(rx.next_message().unwrap(), None);
/// rx.receive(b"llo");
/// assert_eq!(rx.next_message().unwrap(), Some(Message::text("Hello")));
/// ```
#[derive(Debug)]
pub struct Receiver {
    role: Role,
    max_frame_size: u64,
    max_message_size: u64,
    max_fragments: usize,
    initial_size: usize,
    /// Input bytes; `buf[pos..filled]` are received and not yet consumed.
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// Where we are in the stream of data messages (see [`Assembly`]).
    at: Assembly,
    /// Payload of a message read whole, unmasked: `message[..len]` of [`Assembly::Whole`].
    /// Bytes past that are scratch space that [`Receiver::read_buf`] lent for a direct read.
    message: Vec<u8>,
    /// What the last `read_buf` lent.
    lent: Lent,
    /// The last data frame was large (its payload streamed in): the next read, between
    /// frames, asks for little, so the next large payload lands in the message buffer instead
    /// of being read into the input buffer and copied. Only a hint for read sizes.
    after_large: bool,
    /// What `next_message_ref` lends when a message did not come by the zero-copy path.
    stash: Option<Message>,
    utf8: Utf8Validator,
    state: RecvState,
}

impl Receiver {
    /// A receiver for our `role` (a server expects masked frames, a client unmasked ones).
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let rx = Receiver::new(Role::Server, &Config::default());
    /// assert_eq!(rx.buffered(), 0);
    /// ```
    pub fn new(role: Role, config: &Config) -> Receiver {
        Receiver {
            role,
            max_frame_size: config.max_frame_size as u64,
            max_message_size: config.max_message_size as u64,
            max_fragments: config.max_fragments,
            initial_size: config.read_buffer_size,
            buf: vec![0; config.read_buffer_size],
            pos: 0,
            filled: 0,
            at: Assembly::Idle,
            message: Vec::new(),
            lent: Lent::Input,
            after_large: false,
            stash: None,
            utf8: Utf8Validator::new(),
            state: RecvState::Open,
        }
    }

    /// Our role.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// assert_eq!(Receiver::new(Role::Client, &Config::default()).role(), Role::Client);
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }

    /// Appends bytes received from the peer (copying them). After the connection has ended
    /// (close received or protocol error) the bytes are dropped.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x89, 0x00]);
    /// assert_eq!(rx.buffered(), 2);
    /// ```
    pub fn receive(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let spare = self.read_buf(data.len());
        spare[..data.len()].copy_from_slice(data);
        self.commit(data.len());
    }

    /// Spare room of at least `min` bytes (at least 1) to read into directly; report how much
    /// was written with [`Receiver::commit`] before any other call. Usually the end of the
    /// input buffer (compacted or grown as needed); while the payload of a large frame of a
    /// message read whole is streaming in, a piece of the message buffer itself (never past
    /// the end of the frame), so big payloads are read in big pieces and never copied.
    ///
    /// Memory follows what arrives, not what a header announces: the message buffer grows
    /// to at most twice the payload received so far plus 16 KiB (or by `min`, if more is
    /// asked for), and the piece lent is at most 64 KiB unless more is asked for. Ask for
    /// [`Receiver::read_size_hint`] bytes to read as much as that allows.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Message, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// let frame = [0x82, 0x02, 7, 8];
    /// let buf = rx.read_buf(frame.len());
    /// assert!(buf.len() >= 4);
    /// buf[..4].copy_from_slice(&frame);
    /// rx.commit(4);
    /// assert_eq!(rx.next_message().unwrap(), Some(Message::binary(vec![7, 8])));
    /// ```
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.lent = Lent::Input;
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        }
        let min = min.max(1);
        if let Some((len, remaining)) = self.direct_frame() {
            if remaining >= DIRECT_MIN.max(min) as u64 {
                // The payload of a large frame is streaming in and nothing else is buffered:
                // lend the message buffer itself, so the bytes land where they belong.
                let room = direct_room(self.message.capacity(), len, remaining, min);
                let capacity = len.saturating_add(room);
                if capacity > self.message.capacity() {
                    self.message.reserve_exact(capacity - self.message.len());
                }
                let want = room.min(DIRECT_MAX.max(min));
                let end = len.saturating_add(clamp_to(want, remaining));
                if self.message.len() < end {
                    self.message.resize(end, 0);
                }
                self.lent = Lent::Message;
                return &mut self.message[len..end];
            }
        }
        if self.buf.len() - self.filled < min {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.filled, 0);
                self.filled -= self.pos;
                self.pos = 0;
            }
            let need = self.filled.saturating_add(min);
            if self.buf.len() < need {
                let grown = need.max(self.buf.len().saturating_mul(2));
                self.buf.resize(grown, 0);
            }
        }
        &mut self.buf[self.filled..]
    }

    /// The payload length so far and the bytes still owed by the frame in progress, when its
    /// payload may be read straight into the message buffer: a message read whole, nothing
    /// else buffered, the connection open.
    fn direct_frame(&self) -> Option<(usize, u64)> {
        match self.at {
            Assembly::Whole {
                len,
                frame: Some(frame),
                ..
            } if self.filled == self.pos && self.state == RecvState::Open => {
                Some((len, frame.remaining))
            }
            _ => None,
        }
    }

    /// Marks `n` bytes of the slice last returned by [`Receiver::read_buf`] as received.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.read_buf(16)[0] = 0x8A;
    /// rx.commit(1);
    /// assert_eq!(rx.buffered(), 1);
    /// ```
    pub fn commit(&mut self, n: usize) {
        if std::mem::replace(&mut self.lent, Lent::Input) == Lent::Message {
            self.commit_direct(n);
            return;
        }
        self.filled = self.filled.saturating_add(n).min(self.buf.len());
        if self.state != RecvState::Open {
            self.pos = 0;
            self.filled = 0;
        }
    }

    /// `n` payload bytes were read straight into the message buffer: unmask and check them.
    fn commit_direct(&mut self, n: usize) {
        let Assembly::Whole {
            kind,
            frames,
            len,
            frame: Some(mut frame),
        } = self.at
        else {
            return;
        };
        let n = clamp_to(n.min(self.message.len() - len), frame.remaining);
        let chunk = &mut self.message[len..len + n];
        frame.arrived(chunk);
        if kind == DataKind::Text && self.utf8.feed(chunk).is_err() {
            self.state = RecvState::Failing(ProtocolError::InvalidUtf8);
        }
        self.at = Assembly::Whole {
            kind,
            frames,
            len: len + n,
            frame: Some(frame),
        };
    }

    /// Bytes received but not yet consumed by [`Receiver::next_message`] (a partial header or
    /// control frame; payload bytes of a large frame are moved out as they arrive).
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x82]);
    /// rx.next_message().unwrap();
    /// assert_eq!(rx.buffered(), 1);
    /// ```
    pub fn buffered(&self) -> usize {
        self.filled - self.pos
    }

    /// Bytes of memory the receiver's buffers hold (the input buffer and the message being
    /// assembled), for watching what a connection costs. It grows with the bytes that
    /// arrive, not with lengths the peer announces.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// // A binary frame announcing 16 MiB, and 3 bytes of it.
    /// rx.receive(&[0x82, 0x7F, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3]);
    /// assert_eq!(rx.next_message().unwrap(), None);
    /// assert!(rx.capacity() < 64 << 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.message.capacity()
    }

    /// Payload bytes of the data frame in progress that have not arrived yet (0 between
    /// frames). A socket layer can read up to this much in one call instead of in
    /// `read_buffer_size` pieces: a large frame then takes a few big reads rather than thousands
    /// of small ones (each of which may block and wake the thread).
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x82, 0x7E, 0x10, 0x00, 1, 2, 3]); // 4096-byte binary frame, 3 bytes in
    /// assert_eq!(rx.next_message().unwrap(), None);
    /// assert_eq!(rx.frame_remaining(), 4093);
    /// ```
    pub fn frame_remaining(&self) -> u64 {
        self.at.frame().map_or(0, |f| f.remaining)
    }

    /// How many bytes a socket layer should ask [`Receiver::read_buf`] for, given its usual
    /// read size: for a large frame in progress, as much of its rest as the message buffer
    /// can take without growing past twice what has arrived (up to 1 MiB), so it arrives in
    /// few big reads (each about doubling the last); between frames after a large one, just
    /// enough for the next header and a little payload, so that a following large payload is
    /// read straight into the message instead of being copied; otherwise `configured`.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// assert_eq!(rx.read_size_hint(4096), 4096);
    /// rx.receive(&[0x82, 0x7E, 0x40, 0x00]); // header of a 16 KiB binary frame
    /// assert_eq!(rx.next_message().unwrap(), None);
    /// assert_eq!(rx.read_size_hint(4096), 16 << 10);
    /// assert_eq!(rx.read_size_hint(64 << 10), 16 << 10); // not more: the rest goes direct
    /// rx.receive(&vec![0; 16 << 10]);
    /// assert!(rx.next_message().unwrap().is_some());
    /// assert_eq!(rx.read_size_hint(65536), 1024);
    /// ```
    pub fn read_size_hint(&self, configured: usize) -> usize {
        if let Assembly::Whole {
            len,
            frame: Some(frame),
            ..
        } = self.at
        {
            if frame.remaining >= DIRECT_MIN as u64 {
                // What `read_buf` then lends from the message buffer itself. Asking for more
                // would get the input buffer, and a copy.
                let room = direct_room(self.message.capacity(), len, frame.remaining, DIRECT_MIN);
                return clamp_to(room.min(MAX_BULK_READ), frame.remaining);
            }
        }
        if self.after_large {
            return HEADER_READ;
        }
        configured.max(1024)
    }

    /// True once a close frame has been returned by [`Receiver::next_message`].
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x88, 0x00]);
    /// rx.next_message().unwrap();
    /// assert!(rx.close_received());
    /// ```
    pub fn close_received(&self) -> bool {
        self.state == RecvState::CloseReceived
    }

    /// True once a protocol error has been returned by [`Receiver::next_message`].
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x83, 0x00]); // reserved opcode
    /// assert!(rx.next_message().is_err());
    /// assert!(rx.is_failed());
    /// ```
    pub fn is_failed(&self) -> bool {
        self.state == RecvState::Failed
    }

    /// True while a fragmented message or a partly received data frame is in progress.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x01, 0x01, b'a']); // first fragment of a text message
    /// assert_eq!(rx.next_message().unwrap(), None);
    /// assert!(rx.in_message());
    /// ```
    pub fn in_message(&self) -> bool {
        !matches!(self.at, Assembly::Idle)
    }

    /// The next message or control frame, if the bytes received so far complete one.
    ///
    /// - `Ok(Some(msg))`: a message, ping, pong or close. A close is returned once; after it,
    ///   and after a protocol error, every call returns `Err(Error::ConnectionClosed)`.
    /// - `Ok(None)`: more bytes are needed.
    /// - `Err(Error::Protocol(e))`: the peer broke the protocol or a limit; the connection must
    ///   be closed with `e.close_code()` ([`Sender::respond`] queues that close frame).
    /// - `Err(Error::ReadMode(_))`: a message begun by [`Receiver::next_chunk`] is in
    ///   progress; finish it with `next_chunk` (nothing was consumed, the connection is fine).
    ///
    /// Text is validated as it arrives: invalid UTF-8 fails here as soon as the bad bytes are
    /// received, even in the middle of a frame.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, CloseCode, Config, Error, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x81, 0x7E, 0x01, 0x00, b'o', b'k', 0xFF]); // 256-byte text, 3 bytes in
    /// let err = rx.next_message().unwrap_err();
    /// assert_eq!(err.close_code(), Some(CloseCode::Invalid));
    /// assert!(matches!(rx.next_message(), Err(Error::ConnectionClosed)));
    /// ```
    #[inline]
    pub fn next_message(&mut self) -> Result<Option<Message>> {
        if self.state == RecvState::Open {
            if let Some(msg) = self.single_small_frame() {
                return Ok(Some(msg));
            }
        }
        self.next_message_slow()
    }

    #[inline(never)]
    fn next_message_slow(&mut self) -> Result<Option<Message>> {
        self.lent = Lent::Input;
        self.check_open()?;
        if let Assembly::Chunked { .. } = self.at {
            return Err(Error::ReadMode(
                "a whole-message read while a message begun by a chunk read is in progress",
            ));
        }
        match self.step() {
            Ok(Some(msg)) => {
                if msg.is_close() {
                    self.state = RecvState::CloseReceived;
                    self.release();
                }
                Ok(Some(msg))
            }
            Ok(None) => {
                if self.pos == self.filled {
                    self.pos = 0;
                    self.filled = 0;
                }
                Ok(None)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// `Ok` while reading may go on; the error a read returns otherwise.
    fn check_open(&mut self) -> Result<()> {
        match &self.state {
            RecvState::Open => Ok(()),
            RecvState::Failing(e) => {
                let e = e.clone();
                Err(self.fail(e))
            }
            RecvState::CloseReceived | RecvState::Failed => Err(Error::ConnectionClosed),
        }
    }

    /// Stops reading for good: the connection failed with `e` (found here, or by the sender).
    #[cold]
    pub(crate) fn fail(&mut self, e: ProtocolError) -> Error {
        self.state = RecvState::Failed;
        self.release();
        Error::Protocol(e)
    }

    /// Gives back memory when idle: an input buffer that grew big (past 64 KiB and four times
    /// `config.read_buffer_size`) returns to `config.read_buffer_size` if what it holds fits,
    /// and an empty message buffer (and a message `next_message_ref` lent) is freed. Cheap
    /// enough to call after every message: a buffer that only grew a little is kept, so reads
    /// do not alternate between growing and shrinking.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default().read_buffer_size(16));
    /// rx.read_buf(1 << 20);
    /// rx.shrink();
    /// assert_eq!(rx.read_buf(1).len(), 16);
    /// ```
    pub fn shrink(&mut self) {
        let held = self.filled - self.pos;
        let big = self.initial_size.saturating_mul(4).max(SHRINK_ABOVE);
        if self.buf.len() > big && held <= self.initial_size {
            let mut fresh = vec![0; self.initial_size];
            fresh[..held].copy_from_slice(&self.buf[self.pos..self.filled]);
            self.buf = fresh;
            self.pos = 0;
            self.filled = held;
        }
        self.lent = Lent::Input;
        if !matches!(self.at, Assembly::Whole { len, .. } if len > 0) {
            self.message = Vec::new();
        }
        self.stash = None;
    }

    fn release(&mut self) {
        self.stash = None;
        self.buf = Vec::new();
        self.pos = 0;
        self.filled = 0;
        self.message = Vec::new();
        self.lent = Lent::Input;
        self.at = Assembly::Idle;
        self.utf8 = Utf8Validator::new();
    }

    /// The hot path: a whole, small, single-frame text or binary message is waiting and no
    /// message is in progress. Anything unusual (including every error) is left to
    /// [`Receiver::step`], which gives the same answers for these frames, only slower.
    #[inline]
    fn single_small_frame(&mut self) -> Option<Message> {
        self.take_small_frame(|text, payload| {
            if text {
                std::str::from_utf8(payload)
                    .ok()
                    .map(|s| Message::Text(s.to_owned()))
            } else {
                Some(Message::Binary(payload.to_vec()))
            }
        })
    }

    /// Finds and unmasks a whole small single-frame data message at the front of the buffer
    /// and passes its payload (and whether it is text) to `take`. If `take` accepts it, the
    /// frame is consumed; if not (invalid UTF-8), the bytes are put back as they came so the
    /// slow path can report the error.
    #[inline]
    fn take_small_frame<T>(&mut self, take: impl FnOnce(bool, &[u8]) -> Option<T>) -> Option<T> {
        if !matches!(self.at, Assembly::Idle) {
            return None;
        }
        let avail = &mut self.buf[self.pos..self.filled];
        let [b0, b1, ..] = *avail else {
            return None;
        };
        // FIN set, RSV clear, opcode text (1) or binary (2).
        let opcode = b0 ^ 0x80;
        if !(1..=2).contains(&opcode) {
            return None;
        }
        let len = usize::from(b1 & 0x7F);
        let masked = b1 & 0x80 != 0;
        if len > MAX_CONTROL_PAYLOAD
            || masked != (self.role == Role::Server)
            || len as u64 > self.max_frame_size
            || len as u64 > self.max_message_size
            || self.max_fragments == 0
        {
            return None;
        }
        let header_len = if masked { 6 } else { 2 };
        let end = header_len + len;
        if avail.len() < end {
            return None;
        }
        let (header, rest) = avail.split_at_mut(header_len);
        let payload = &mut rest[..len];
        let key = match *header {
            [_, _, k0, k1, k2, k3] => Some([k0, k1, k2, k3]),
            _ => None,
        };
        if let Some(key) = key {
            unmask_small(payload, key);
        }
        match take(opcode == 1, payload) {
            Some(taken) => {
                self.after_large = false;
                self.pos += end;
                Some(taken)
            }
            None => {
                if let Some(key) = key {
                    unmask_small(payload, key);
                }
                None
            }
        }
    }

    /// [`Receiver::next_message`] without an allocation per message: a small single-frame
    /// message is lent straight from the input buffer (unmasked and validated in place);
    /// anything else is assembled as usual and lent from the receiver. The same errors, in
    /// the same places, as `next_message`.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, MessageRef, Role};
    /// let mut rx = Receiver::new(Role::Server, &Config::default());
    /// rx.receive(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// assert_eq!(rx.next_message_ref().unwrap(), Some(MessageRef::Text("Hello")));
    /// assert_eq!(rx.next_message_ref().unwrap(), None);
    /// ```
    #[inline]
    pub fn next_message_ref(&mut self) -> Result<Option<MessageRef<'_>>> {
        self.stash = None;
        if self.state == RecvState::Open {
            let start = self.pos;
            let found = self.take_small_frame(|text, payload| {
                let valid = !text || std::str::from_utf8(payload).is_ok();
                valid.then_some((text, payload.len()))
            });
            if let Some((text, len)) = found {
                // The payload ends where the consumed frame ends.
                debug_assert!(self.pos - len > start);
                let payload = &self.buf[self.pos - len..self.pos];
                return Ok(Some(if text {
                    // Validated above, so never the empty default.
                    MessageRef::Text(std::str::from_utf8(payload).unwrap_or_default())
                } else {
                    MessageRef::Binary(payload)
                }));
            }
        }
        self.stash = self.next_message_slow()?;
        Ok(self.stash.as_ref().map(Message::as_ref))
    }

    /// The header at the front of the input, if whole, checked for the masking rule.
    fn parse_header(&self) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let Some((header, hlen)) = FrameHeader::parse(&self.buf[self.pos..self.filled])? else {
            return Ok(None);
        };
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => Err(ProtocolError::MaskedFrame),
            _ => Ok(Some((header, hlen))),
        }
    }

    /// A control frame whose header is at the front of the input: waits for all of it (at
    /// most 125 bytes), then consumes, unmasks and decodes it.
    fn take_control(
        &mut self,
        header: &FrameHeader,
        hlen: usize,
    ) -> Result<Option<Message>, ProtocolError> {
        let start = self.pos + hlen;
        // At most 125 (checked by the header parser), so the cast cannot truncate.
        let end = start + header.payload_len.min(MAX_CONTROL_PAYLOAD as u64) as usize;
        if end > self.filled {
            return Ok(None);
        }
        let payload = &mut self.buf[start..end];
        if let Some(key) = header.mask {
            apply_mask(payload, key, 0);
        }
        self.pos = end;
        control_message(header.opcode, payload).map(Some)
    }

    /// Checks a data frame's header against the fragmentation rules and the limits, given
    /// where we are ([`Assembly`]): returns the kind of its message, how many frames of it
    /// there are with this one, and how many payload bytes came (or were announced) before.
    fn check_data_header(
        &self,
        header: &FrameHeader,
    ) -> Result<(DataKind, usize, u64), ProtocolError> {
        let len = header.payload_len;
        if len > self.max_frame_size {
            return Err(ProtocolError::FrameTooLarge {
                limit: self.max_frame_size as usize,
            });
        }
        let (kind, frames, so_far) = match (header.opcode, self.at) {
            (
                OpCode::Continuation,
                Assembly::Whole {
                    kind, frames, len, ..
                },
            ) => (kind, frames, len as u64),
            (
                OpCode::Continuation,
                Assembly::Chunked {
                    kind,
                    frames,
                    announced,
                    ..
                },
            ) => (kind, frames, announced),
            (OpCode::Continuation, Assembly::Idle) => {
                return Err(ProtocolError::UnexpectedContinuation)
            }
            (_, Assembly::Whole { .. } | Assembly::Chunked { .. }) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            (OpCode::Text, Assembly::Idle) => (DataKind::Text, 0, 0),
            (_, Assembly::Idle) => (DataKind::Binary, 0, 0),
        };
        let frames = frames.saturating_add(1);
        if frames > self.max_fragments {
            return Err(ProtocolError::TooManyFragments {
                limit: self.max_fragments,
            });
        }
        if so_far.saturating_add(len) > self.max_message_size {
            return Err(ProtocolError::MessageTooLarge {
                limit: self.max_message_size as usize,
            });
        }
        Ok((kind, frames, so_far))
    }

    /// Reads the stream data frame by data frame (see [`Chunk`]): the next frame start,
    /// payload piece or control frame, if the bytes received so far hold one. Payload is
    /// copied into `buf` (at most `buf.len()` bytes per chunk; give it room, or no payload can
    /// be delivered) and unmasked there. Errors and the close as in [`Receiver::next_message`].
    ///
    /// Between messages either kind of read may be used; a message begun by one must be
    /// finished by the same one. While a message begun by [`Receiver::next_message`] (or
    /// `next_message_ref`) is in progress this fails with [`Error::ReadMode`], consuming
    /// nothing: go on with `next_message`.
    ///
    /// ```
    /// use ws6455::protocol::{Chunk, Receiver};
    /// use ws6455::{frame::OpCode, Config, Message, Role};
    /// let mut rx = Receiver::new(Role::Server, &Config::default());
    /// // A masked binary frame of 3 bytes, then a masked empty ping.
    /// rx.receive(&[0x82, 0x83, 1, 2, 3, 4, 1 ^ 9, 2 ^ 9, 3 ^ 9, 0x89, 0x80, 0, 0, 0, 0]);
    /// let mut buf = [0u8; 64];
    /// assert!(matches!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::FrameStart { len: 3, .. })));
    /// assert!(matches!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::Data { len: 3, end_of_message: true, .. })));
    /// assert_eq!(&buf[..3], &[9, 9, 9]);
    /// assert_eq!(rx.next_chunk(&mut buf).unwrap(), Some(Chunk::Control(Message::Ping(vec![]))));
    /// ```
    ///
    /// Switching in the middle of a message is refused:
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Error, Message, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x02, 0x01, 7]); // first fragment of a binary message
    /// assert_eq!(rx.next_message().unwrap(), None);
    /// let mut buf = [0u8; 16];
    /// assert!(matches!(rx.next_chunk(&mut buf), Err(Error::ReadMode(_))));
    /// rx.receive(&[0x80, 0x01, 8]);
    /// assert_eq!(rx.next_message().unwrap(), Some(Message::binary(vec![7, 8])));
    /// ```
    pub fn next_chunk(&mut self, buf: &mut [u8]) -> Result<Option<Chunk>> {
        self.lent = Lent::Input;
        self.check_open()?;
        if let Assembly::Whole { .. } = self.at {
            return Err(Error::ReadMode(
                "a chunk read while a message begun by a whole-message read is in progress",
            ));
        }
        match self.step_chunk(buf) {
            Ok(Some(Chunk::Control(msg))) => {
                if msg.is_close() {
                    self.state = RecvState::CloseReceived;
                    self.release();
                }
                Ok(Some(Chunk::Control(msg)))
            }
            Ok(None) => {
                if self.pos == self.filled {
                    self.pos = 0;
                    self.filled = 0;
                }
                Ok(None)
            }
            Ok(chunk) => Ok(chunk),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn step_chunk(&mut self, buf: &mut [u8]) -> Result<Option<Chunk>, ProtocolError> {
        if let Assembly::Chunked {
            frame: Some(frame), ..
        } = self.at
        {
            let avail = (self.filled - self.pos) as u64;
            let n = clamp_to(buf.len(), avail.min(frame.remaining));
            if n == 0 && frame.remaining > 0 {
                return Ok(None);
            }
            buf[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return self.chunk_arrived(&mut buf[..n]).map(Some);
        }
        let Some((header, hlen)) = self.parse_header()? else {
            return Ok(None);
        };
        if header.opcode.is_control() {
            return Ok(self.take_control(&header, hlen)?.map(Chunk::Control));
        }
        let (kind, frames, so_far) = self.check_data_header(&header)?;
        let len = header.payload_len;
        self.pos += hlen;
        // As for whole messages: after a large frame, read little between frames, so the next
        // large payload is read straight into the caller's buffer rather than copied.
        self.after_large = len >= DIRECT_MIN as u64;
        self.at = Assembly::Chunked {
            kind,
            frames,
            // Within the message limit (checked), so no overflow.
            announced: so_far + len,
            frame: Some(InFrame::new(&header)),
        };
        Ok(Some(Chunk::FrameStart {
            opcode: header.opcode,
            fin: header.fin,
            len,
        }))
    }

    /// Payload bytes of the chunked frame in progress, in the caller's buffer: unmask, check,
    /// and account for them.
    fn chunk_arrived(&mut self, data: &mut [u8]) -> Result<Chunk, ProtocolError> {
        let Assembly::Chunked {
            kind,
            frames,
            announced,
            frame: Some(mut frame),
        } = self.at
        else {
            return Err(ProtocolError::UnexpectedContinuation);
        };
        let len = data.len();
        frame.arrived(data);
        let text = kind == DataKind::Text;
        if text {
            self.utf8
                .feed(data)
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if frame.remaining > 0 {
            self.at = Assembly::Chunked {
                kind,
                frames,
                announced,
                frame: Some(frame),
            };
            return Ok(Chunk::Data {
                len,
                end_of_frame: false,
                end_of_message: false,
            });
        }
        if frame.fin {
            self.at = Assembly::Idle;
            if text {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
        } else {
            self.at = Assembly::Chunked {
                kind,
                frames,
                announced,
                frame: None,
            };
        }
        Ok(Chunk::Data {
            len,
            end_of_frame: true,
            end_of_message: frame.fin,
        })
    }

    /// The socket layer read `data.len()` payload bytes of the chunked frame in progress
    /// straight from the transport into the caller's buffer (only when nothing was buffered,
    /// and at most [`Receiver::frame_remaining`]).
    pub(crate) fn chunk_read_direct(&mut self, data: &mut [u8]) -> Result<Chunk> {
        self.check_open()?;
        debug_assert!(self.buffered() == 0);
        debug_assert!(data.len() as u64 <= self.frame_remaining());
        match self.chunk_arrived(data) {
            Ok(chunk) => Ok(chunk),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// True while a data frame begun by [`Receiver::next_chunk`] still has a large payload
    /// to come (at least 4 KiB) and nothing is buffered: the socket layer then reads it
    /// straight into the caller's buffer. A small rest is read the usual way, in a read that
    /// may also bring the next frames (one system call for several small frames).
    pub(crate) fn wants_direct_chunk_read(&self) -> bool {
        matches!(
            self.at,
            Assembly::Chunked { frame: Some(f), .. } if f.remaining >= DIRECT_MIN as u64
        ) && self.buffered() == 0
    }

    /// Decodes until a message is complete, more input is needed, or an error.
    fn step(&mut self) -> Result<Option<Message>, ProtocolError> {
        loop {
            if let Assembly::Whole {
                kind,
                frames,
                mut len,
                frame: Some(mut frame),
            } = self.at
            {
                let avail = self.filled - self.pos;
                let n = clamp_to(avail, frame.remaining);
                if n > 0 {
                    self.reserve_message(len, n, frame.remaining);
                    let chunk = &mut self.buf[self.pos..self.pos + n];
                    frame.arrived(chunk);
                    if kind == DataKind::Text {
                        self.utf8
                            .feed(chunk)
                            .map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                    self.message.truncate(len);
                    self.message.extend_from_slice(chunk);
                    len += n;
                    self.pos += n;
                }
                let done = frame.remaining == 0;
                self.at = Assembly::Whole {
                    kind,
                    frames,
                    len,
                    frame: (!done).then_some(frame),
                };
                if !done {
                    return Ok(None);
                }
                if frame.fin {
                    return self.finish_message().map(Some);
                }
                continue;
            }

            let Some((header, hlen)) = self.parse_header()? else {
                return Ok(None);
            };
            if header.opcode.is_control() {
                return self.take_control(&header, hlen);
            }
            let (kind, frames, _) = self.check_data_header(&header)?;
            let payload_len = header.payload_len;
            let in_buffer = (self.filled - self.pos - hlen) as u64;
            self.after_large = payload_len >= DIRECT_MIN as u64;

            if header.fin && frames == 1 && in_buffer >= payload_len {
                // The common case: a whole single-frame message is in the buffer. Unmask in
                // place and build the message with one copy.
                let start = self.pos + hlen;
                let end = start + clamp_to(usize::MAX, payload_len);
                let payload = &mut self.buf[start..end];
                if let Some(key) = header.mask {
                    apply_mask(payload, key, 0);
                }
                self.pos = end;
                return match kind {
                    DataKind::Text => match std::str::from_utf8(payload) {
                        Ok(s) => Ok(Some(Message::Text(s.to_owned()))),
                        Err(_) => Err(ProtocolError::InvalidUtf8),
                    },
                    DataKind::Binary => Ok(Some(Message::Binary(payload.to_vec()))),
                };
            }

            self.pos += hlen;
            let len = match self.at {
                Assembly::Whole { len, .. } => len,
                _ => 0,
            };
            self.at = Assembly::Whole {
                kind,
                frames,
                len,
                frame: Some(InFrame::new(&header)),
            };
        }
    }

    /// Makes room in the message buffer, which holds `len` payload bytes, for `n` more of a
    /// frame that still owes `remaining` (`n` included): it grows to what it needs, or to
    /// twice what it holds (at least [`GROW_MIN`] more) if that is more, never past the end
    /// of the frame. So it follows what arrived, and a large message is copied few times.
    fn reserve_message(&mut self, len: usize, n: usize, remaining: u64) {
        if self.message.capacity().saturating_sub(len) >= n {
            return;
        }
        let ahead = clamp_to(len.max(GROW_MIN), remaining).max(n);
        self.message
            .reserve_exact(len.saturating_add(ahead).saturating_sub(self.message.len()));
    }

    fn finish_message(&mut self) -> Result<Message, ProtocolError> {
        let Assembly::Whole { kind, len, .. } = std::mem::replace(&mut self.at, Assembly::Idle)
        else {
            return Err(ProtocolError::UnexpectedContinuation);
        };
        self.message.truncate(len);
        let data = std::mem::take(&mut self.message);
        match kind {
            DataKind::Text => {
                self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                String::from_utf8(data)
                    .map(Message::Text)
                    .map_err(|_| ProtocolError::InvalidUtf8)
            }
            DataKind::Binary => Ok(Message::Binary(data)),
        }
    }
}

/// `n`, or `limit` if that is smaller: a byte count bounded by a 64-bit length (a frame's
/// rest), without truncating the length on 32-bit targets.
#[inline]
fn clamp_to(n: usize, limit: u64) -> usize {
    usize::try_from(limit).map_or(n, |limit| n.min(limit))
}

/// The room the message buffer, holding `len` payload bytes in `capacity`, offers a direct
/// read of at least `min` bytes of a frame that still owes `remaining`: its spare capacity
/// while that is a useful piece (or all the frame still owes), else the room it grows to: as
/// much again as it holds (at least [`GROW_MIN`], at least `min`), never past the frame's end.
fn direct_room(capacity: usize, len: usize, remaining: u64, min: usize) -> usize {
    let spare = capacity.saturating_sub(len);
    if spare >= DIRECT_MIN.max(min) || spare as u64 >= remaining {
        return spare;
    }
    clamp_to(len.max(GROW_MIN).max(min), remaining)
}

#[cfg(test)]
mod receiver_tests {
    use super::{clamp_to, direct_room, DIRECT_MIN, GROW_MIN};

    #[test]
    fn clamp_to_never_truncates_a_64_bit_limit() {
        // `limit as usize` would make 2^32 + 5 into 5 on a 32-bit target.
        assert_eq!(clamp_to(10, (1 << 32) + 5), 10);
        assert_eq!(clamp_to(10, 3), 3);
        assert_eq!(clamp_to(usize::MAX, u64::MAX), usize::MAX);
        assert_eq!(clamp_to(0, u64::MAX), 0);
    }

    #[test]
    fn direct_room_follows_what_arrived_and_stops_at_the_frame_end() {
        // Nothing yet: the first growth, not the 16 MiB announced.
        assert_eq!(direct_room(0, 0, 16 << 20, DIRECT_MIN), GROW_MIN);
        // Spare capacity worth a read is used as it is.
        assert_eq!(direct_room(40_000, 10_000, 1 << 30, DIRECT_MIN), 30_000);
        // Too little spare: as much again as arrived.
        assert_eq!(direct_room(101_000, 100_000, 1 << 30, DIRECT_MIN), 100_000);
        // Never past the end of the frame, nor short of what is asked for.
        assert_eq!(direct_room(0, 100_000, 5000, DIRECT_MIN), 5000);
        assert_eq!(direct_room(0, 0, 1 << 30, 1 << 20), 1 << 20);
        // Extreme lengths do not overflow.
        assert_eq!(
            direct_room(0, usize::MAX / 2, u64::MAX, usize::MAX),
            usize::MAX
        );
    }
}

/// Payloads from this size up are placed in the queue away from their source's page offset
/// ([`Sender::place_copy`]), when at most `PLACE_MOVE_MAX` bytes are queued before them.
const PLACE_COPY_MIN: usize = 16 << 10;
const PLACE_MOVE_MAX: usize = 256;

/// Appends `payload` to `out`, masked with `key` (if any) as bytes from `offset` on of a
/// frame's payload.
#[inline]
fn append_masked(out: &mut Vec<u8>, payload: &[u8], key: Option<[u8; 4]>, offset: usize) {
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = key {
        apply_mask(&mut out[start..], key, offset);
    }
}

/// XORs a short payload with `key`, eight bytes at a time.
#[inline(always)]
fn unmask_small(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut words = buf.chunks_exact_mut(8);
    for w in &mut words {
        let v = u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ wide;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    for (b, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *b ^= k;
    }
}

/// Turns a complete, unmasked control frame into a message, checking a close payload.
fn control_message(opcode: OpCode, payload: &[u8]) -> Result<Message, ProtocolError> {
    match opcode {
        OpCode::Ping => Ok(Message::Ping(payload.to_vec())),
        OpCode::Pong => Ok(Message::Pong(payload.to_vec())),
        _ => parse_close(payload).map(Message::Close),
    }
}

/// Decodes a close frame's payload (§5.5.1, §7.4).
///
/// ```
/// use ws6455::protocol::parse_close;
/// use ws6455::{CloseCode, CloseFrame, ProtocolError};
/// assert_eq!(parse_close(&[]), Ok(None));
/// assert_eq!(parse_close(&[0x03, 0xE8, b'o', b'k']), Ok(Some(CloseFrame::new(CloseCode::Normal, "ok"))));
/// assert_eq!(parse_close(&[0x03]), Err(ProtocolError::InvalidClosePayload));
/// assert_eq!(parse_close(&[0x03, 0xED]), Err(ProtocolError::InvalidCloseCode(1005)));
/// assert_eq!(parse_close(&[0x03, 0xE8, 0xFF]), Err(ProtocolError::InvalidUtf8));
/// ```
pub fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::InvalidClosePayload),
        [hi, lo, reason @ ..] => {
            let raw = u16::from_be_bytes([*hi, *lo]);
            let code = CloseCode::from(raw);
            if !code.is_allowed_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(raw));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Some(CloseFrame::new(code, reason)))
        }
    }
}

/// Encodes a close frame's payload into `out` and returns its length: nothing for `None`, else
/// the code and the reason cut to [`MAX_CLOSE_REASON`] bytes at a character boundary.
/// A code that may not be sent ([`CloseCode::is_allowed_on_wire`]) is refused.
///
/// ```
/// use ws6455::protocol::encode_close;
/// use ws6455::{CloseCode, CloseFrame, Error};
/// let mut out = [0u8; 125];
/// let n = encode_close(Some(&CloseFrame::new(CloseCode::Away, "bye")), &mut out).unwrap();
/// assert_eq!(&out[..n], &[0x03, 0xE9, b'b', b'y', b'e']);
/// let long = CloseFrame::new(CloseCode::Normal, "é".repeat(100)); // 200 bytes
/// assert_eq!(encode_close(Some(&long), &mut out).unwrap(), 2 + 122);
/// assert!(matches!(
///     encode_close(Some(&CloseFrame::new(CloseCode::Abnormal, "")), &mut out),
///     Err(Error::InvalidCloseCode(1006))
/// ));
/// ```
pub fn encode_close(
    frame: Option<&CloseFrame>,
    out: &mut [u8; MAX_CONTROL_PAYLOAD],
) -> Result<usize> {
    let Some(frame) = frame else {
        return Ok(0);
    };
    if !frame.code.is_allowed_on_wire() {
        return Err(Error::InvalidCloseCode(frame.code.into()));
    }
    out[..2].copy_from_slice(&u16::from(frame.code).to_be_bytes());
    let reason = truncate_at_char_boundary(&frame.reason, MAX_CLOSE_REASON);
    out[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    Ok(2 + reason.len())
}

fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The outgoing half: frame encoding, masking (client), fragmentation, the output buffer and
/// the close state.
///
/// ```
/// use ws6455::{protocol::Sender, Config, Role};
/// let mut tx = Sender::new(Role::Server, &Config::default());
/// tx.send_text("Hello").unwrap();
/// assert_eq!(tx.pending(), &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
/// tx.consume(7);
/// assert!(tx.pending().is_empty());
/// ```
#[derive(Debug)]
pub struct Sender {
    role: Role,
    fragment_size: usize,
    max_write_buffer: usize,
    auto_pong: bool,
    out: Vec<u8>,
    out_pos: usize,
    close_sent: bool,
    close_received: bool,
    peer_initiated_close: bool,
    failed: bool,
    /// Where a frame-by-frame send stands ([`Sender::begin_frame`]).
    frames: FrameSeq,
    /// Control frames queued while a frame was open: they follow it.
    held: Vec<u8>,
    /// A failure the sender found itself (a ping flood), not yet reported to the receiving
    /// side ([`Sender::take_failure`]).
    own_failure: Option<ProtocolError>,
}

/// The frame-by-frame send's state, changed only by `open_frame` and `frame_data_done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameSeq {
    /// No frame has been begun since the sender was made.
    Idle,
    /// A frame is open: its header is queued and payload is still owed. `fin` is its FIN bit.
    Open { frame: OutFrame, fin: bool },
    /// The last frame begun is complete (a 0-byte frame is complete at once); `fin` is its
    /// FIN bit, so a message is still open when it is false.
    Done { fin: bool },
}

impl FrameSeq {
    /// A message sent frame by frame is unfinished (a frame still owes payload, or the last
    /// frame had no FIN): whole messages must wait.
    fn message_open(self) -> bool {
        matches!(self, FrameSeq::Open { .. } | FrameSeq::Done { fin: false })
    }

    /// The open frame, if any.
    fn open(self) -> Option<OutFrame> {
        match self {
            FrameSeq::Open { frame, .. } => Some(frame),
            _ => None,
        }
    }
}

/// One write to the transport, vectored: how a blocking shell lends the sender its stream
/// for the writes the sender makes itself ([`Sender::send_direct`],
/// [`Sender::frame_data_through`]). Returns what the stream took, like
/// [`std::io::Write::write_vectored`].
pub(crate) type WriteFn<'a> = dyn FnMut(&[IoSlice<'_>]) -> io::Result<usize> + 'a;

/// Server data messages at least this large are written straight from the message.
const DIRECT_WRITE_MIN: usize = 64 << 10;
/// Server pieces of a frame sent frame by frame at least this large go straight out.
const DIRECT_CHUNK_MIN: usize = 16 << 10;

/// Writes `head` then `payload` through `write` until all is out, or the stream would block or
/// timed out; returns how many bytes went out.
fn write_through(write: &mut WriteFn<'_>, head: &[u8], payload: &[u8]) -> Result<usize> {
    let hlen = head.len();
    let total = hlen + payload.len();
    let mut done = 0;
    while done < total {
        let written = if done < hlen {
            write(&[IoSlice::new(&head[done..]), IoSlice::new(payload)])
        } else {
            write(&[IoSlice::new(&payload[done - hlen..])])
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

/// What something the receiver returned calls for from the sending side: the obligated
/// replies of RFC 6455 (a pong for a ping, §5.5.2; the close echo, §5.5.1) and the close that
/// fails the connection on a protocol error (§7.1.7). A value, so that a split connection's
/// reader can hand it to the writing half without waiting for it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reaction<'a> {
    /// Answer a ping with this payload.
    Pong(&'a [u8]),
    /// The peer's close (its code and reason, if any): echo it unless we sent one.
    Close(Option<&'a CloseFrame>),
    /// The peer broke the protocol: close with the error's code.
    Fail(&'a ProtocolError),
}

impl<'a> Reaction<'a> {
    /// The reaction to a whole message, or to an error, if any.
    pub(crate) fn to(incoming: std::result::Result<MessageRef<'a>, &'a Error>) -> Option<Self> {
        match incoming {
            Ok(MessageRef::Ping(p)) => Some(Reaction::Pong(p)),
            Ok(MessageRef::Close(f)) => Some(Reaction::Close(f)),
            Err(Error::Protocol(e)) => Some(Reaction::Fail(e)),
            _ => None,
        }
    }

    /// The reaction to what [`Receiver::next_chunk`] returned, if any.
    pub(crate) fn to_chunk(incoming: &'a Result<Option<Chunk>>) -> Option<Self> {
        match incoming {
            Ok(Some(Chunk::Control(m))) => Reaction::to(Ok(m.as_ref())),
            Ok(_) => None,
            Err(e) => Reaction::to(Err(e)),
        }
    }

    /// The reaction to what [`Receiver::next_message`] returned, if any.
    pub(crate) fn to_message(incoming: &'a Result<Option<Message>>) -> Option<Self> {
        match incoming {
            Ok(Some(m)) => Reaction::to(Ok(m.as_ref())),
            Ok(None) => None,
            Err(e) => Reaction::to(Err(e)),
        }
    }
}

/// A data frame whose header is queued and whose payload is still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutFrame {
    key: Option<[u8; 4]>,
    remaining: u64,
    offset: usize,
}

impl Sender {
    /// A sender for our `role` (a client masks every frame, a server never does).
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let tx = Sender::new(Role::Client, &Config::default());
    /// assert!(!tx.close_sent());
    /// ```
    pub fn new(role: Role, config: &Config) -> Sender {
        Sender {
            role,
            fragment_size: if config.fragment_size == 0 {
                usize::MAX
            } else {
                config.fragment_size
            },
            max_write_buffer: config.max_write_buffer,
            auto_pong: config.auto_pong,
            out: Vec::new(),
            out_pos: 0,
            close_sent: false,
            close_received: false,
            peer_initiated_close: false,
            failed: false,
            frames: FrameSeq::Idle,
            held: Vec::new(),
            own_failure: None,
        }
    }

    /// Our role.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// assert_eq!(Sender::new(Role::Server, &Config::default()).role(), Role::Server);
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }

    /// Queues any message. A close goes through [`Sender::close`].
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Message, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.send(&Message::binary(vec![1, 2])).unwrap();
    /// assert_eq!(tx.pending(), &[0x82, 0x02, 1, 2]);
    /// ```
    pub fn send(&mut self, msg: &Message) -> Result<()> {
        match msg {
            Message::Text(s) => self.send_text(s),
            Message::Binary(b) => self.send_binary(b),
            Message::Ping(b) => self.ping(b),
            Message::Pong(b) => self.pong(b),
            Message::Close(f) => self.close(f.clone()),
        }
    }

    /// Queues a text message, split into frames of `config.fragment_size` bytes if longer.
    /// Fails with [`Error::AlreadyClosed`] after a close was sent, and with
    /// [`Error::WriteBufferFull`] when the output would pass `config.max_write_buffer` (an
    /// empty buffer always takes one message).
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default().fragment_size(3));
    /// tx.send_text("Hello").unwrap();
    /// // RFC 6455 §5.7: "Hel" + "lo".
    /// assert_eq!(tx.pending(), &[0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o']);
    /// ```
    pub fn send_text(&mut self, s: &str) -> Result<()> {
        self.send_data(OpCode::Text, s.as_bytes())
    }

    /// Queues a binary message (see [`Sender::send_text`]).
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Client, &Config::default());
    /// tx.send_binary(&[0; 300]).unwrap();
    /// assert_eq!(&tx.pending()[..4], &[0x82, 0xFE, 0x01, 0x2C]); // masked, 16-bit length
    /// assert_eq!(tx.pending().len(), 4 + 4 + 300);
    /// ```
    pub fn send_binary(&mut self, b: &[u8]) -> Result<()> {
        self.send_data(OpCode::Binary, b)
    }

    /// Queues a ping. More than 125 bytes fails with [`Error::ControlPayloadTooLong`].
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Error, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.ping(b"Hello").unwrap();
    /// assert_eq!(tx.pending(), &[0x89, 0x05, b'H', b'e', b'l', b'l', b'o']);
    /// assert!(matches!(tx.ping(&[0; 126]), Err(Error::ControlPayloadTooLong(126))));
    /// ```
    pub fn ping(&mut self, b: &[u8]) -> Result<()> {
        self.send_control(OpCode::Ping, b)
    }

    /// Queues a pong (unsolicited pongs are legal, §5.5.3). Limits as for [`Sender::ping`].
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.pong(b"").unwrap();
    /// assert_eq!(tx.pending(), &[0x8A, 0x00]);
    /// ```
    pub fn pong(&mut self, b: &[u8]) -> Result<()> {
        self.send_control(OpCode::Pong, b)
    }

    /// Queues a close frame, once: later calls do nothing and return `Ok`. `None` sends an
    /// empty close; the reason is cut to 123 bytes at a character boundary; a code that may
    /// not appear on the wire fails with [`Error::InvalidCloseCode`]. Afterwards data sends
    /// fail with [`Error::AlreadyClosed`].
    ///
    /// ```
    /// use ws6455::{protocol::Sender, CloseCode, CloseFrame, Config, Error, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.close(Some(CloseFrame::new(CloseCode::Normal, ""))).unwrap();
    /// assert_eq!(tx.pending(), &[0x88, 0x02, 0x03, 0xE8]);
    /// assert!(tx.close_sent());
    /// tx.close(None).unwrap(); // no second close frame
    /// assert_eq!(tx.pending().len(), 4);
    /// assert!(matches!(tx.send_text("x"), Err(Error::AlreadyClosed)));
    /// ```
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        if self.close_sent {
            return Ok(());
        }
        self.queue_close(frame.as_ref())
    }

    /// Encodes and queues our one close frame; on an invalid code nothing is queued.
    fn queue_close(&mut self, frame: Option<&CloseFrame>) -> Result<()> {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let n = encode_close(frame, &mut payload)?;
        self.write_frame(true, OpCode::Close, &payload[..n]);
        self.close_sent = true;
        Ok(())
    }

    /// The bytes waiting to be written to the peer.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let tx = Sender::new(Role::Server, &Config::default());
    /// assert!(tx.pending().is_empty());
    /// ```
    pub fn pending(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// Marks the first `n` pending bytes as written.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.send_text("ab").unwrap();
    /// tx.consume(1);
    /// assert_eq!(tx.pending(), b"\x02ab");
    /// ```
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.out.len() - self.out_pos);
        self.out_pos += n;
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// Drops written bytes from the front of the queue once they are at least half of it.
    /// Done when queueing, not in `consume`: a flush loop that writes a big queue in pieces
    /// would otherwise move the unwritten rest after every piece.
    fn compact(&mut self) {
        if self.out_pos >= 4096 && self.out_pos * 2 >= self.out.len() {
            let cut = self.out_pos;
            self.out.drain(..cut);
            self.out_pos = 0;
        }
    }

    /// Called before `src` is copied into the queue after `before` more bytes (its frame's
    /// header). When `src` is large and little is queued, the queued bytes move so that the
    /// copy's destination sits half a page from its source, modulo 4096. A copy whose
    /// destination lies just past its source modulo 4096 makes the CPU hold loads behind
    /// unrelated stores ("4K aliasing"). A client sending 1 MiB messages in 256 KiB pieces,
    /// from a page-aligned payload into a page-aligned queue 0-14 bytes further on, spent 2.5-3×
    /// the CPU time copying and masking (perf, and `/proc` CPU times of `loadgen --scenario big
    /// --size 1MiB`); memcpy of 256 KiB on this machine: 2.8 GB/s 16 bytes apart, 41 GB/s 2 KiB
    /// apart.
    fn place_copy(&mut self, src: &[u8], before: usize) {
        let queued = self.out.len() - self.out_pos;
        if src.len() < PLACE_COPY_MIN || queued > PLACE_MOVE_MAX {
            return;
        }
        // Room for the move and the copy, so that the addresses below stay valid.
        self.out.reserve(4096 + before + src.len());
        let dst = self.out.as_ptr() as usize + self.out.len() + before;
        let apart = dst.wrapping_sub(src.as_ptr() as usize) & 4095;
        if (1024..=3072).contains(&apart) {
            return;
        }
        let shift = 2048usize.wrapping_sub(apart) & 4095;
        let from = self.out_pos;
        let to = (from + shift) & 4095;
        let end = self.out.len();
        self.out.resize(end.max(to + queued), 0);
        self.out.copy_within(from..end, to);
        self.out.truncate(to + queued);
        self.out_pos = to;
    }

    /// Appends bytes of a frame that has started on the wire: as is, without checks, since
    /// the rest must follow.
    fn append_raw(&mut self, bytes: &[u8]) {
        self.compact();
        self.out.extend_from_slice(bytes);
    }

    /// Writes what is queued through `write` until all is out; [`Error::Timeout`] when the
    /// stream would block or timed out (the rest stays queued).
    fn write_queued(&mut self, write: &mut WriteFn<'_>) -> Result<()> {
        while !self.pending().is_empty() {
            let n = write_through(write, self.pending(), &[])?;
            if n == 0 {
                return Err(Error::Timeout);
            }
            self.consume(n);
        }
        Ok(())
    }

    /// Sends a large data message of a server straight from `payload`: what is queued, the
    /// header and the payload go out in vectored writes, without copying the payload into the
    /// queue (for a 16 MiB echo the copy was about a fifth of the server's CPU time: perf,
    /// `examples/loadgen --scenario big`). Whatever the stream does not take now (a timeout,
    /// `WouldBlock`) is queued, in order. `None`: not applicable (a client, a small or
    /// fragmented message, a frame-by-frame send open, a close sent, or the queue could not be
    /// written first); the caller queues the message the ordinary way, with its checks.
    pub(crate) fn send_direct(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        write: &mut WriteFn<'_>,
    ) -> Option<Result<()>> {
        if self.role != Role::Server
            || payload.len() < DIRECT_WRITE_MIN
            || payload.len() > self.fragment_size
            || self.close_sent
            || self.frames.message_open()
        {
            return None;
        }
        match self.write_queued(write) {
            Ok(()) => {}
            Err(Error::Timeout) => return None,
            Err(e) => return Some(Err(e)),
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let hlen = FrameHeader::new(true, opcode, None, payload.len() as u64).encode(&mut head);
        let done = match write_through(write, &head[..hlen], payload) {
            Ok(done) => done,
            Err(e) => return Some(Err(e)),
        };
        if done == 0 {
            return None;
        }
        // The frame has started on the wire: the rest must follow, so it is queued as is.
        if done < hlen {
            self.append_raw(&head[done..hlen]);
            self.append_raw(payload);
        } else if done < hlen + payload.len() {
            self.append_raw(&payload[done - hlen..]);
        }
        Some(Ok(()))
    }

    /// [`Sender::frame_data`] for a blocking shell: a server's piece of [`DIRECT_CHUNK_MIN`]
    /// or more goes out at once, straight from `data`, in vectored writes after what is
    /// queued (the rest is queued if the stream stalls); anything else is queued (a client
    /// masks as it queues), after writing the queue through `write` if it is at
    /// `max_write_buffer`.
    pub(crate) fn frame_data_through(
        &mut self,
        data: &[u8],
        write: &mut WriteFn<'_>,
    ) -> Result<()> {
        self.frame_room(data.len())?;
        if self.role == Role::Server && data.len() >= DIRECT_CHUNK_MIN {
            let queued = self.pending().len();
            let done = write_through(write, self.pending(), data)?;
            self.consume(done.min(queued));
            if done < queued {
                self.append_raw(data);
            } else {
                self.append_raw(&data[done - queued..]);
            }
            self.frame_data_done(data.len());
            return Ok(());
        }
        self.make_room(data.len(), write)?;
        self.frame_data(data)
    }

    /// [`Sender::begin_frame`] for a blocking shell: writes the queue through `write` first if
    /// it is at `max_write_buffer`.
    pub(crate) fn begin_frame_through(
        &mut self,
        opcode: OpCode,
        fin: bool,
        len: u64,
        write: &mut WriteFn<'_>,
    ) -> Result<()> {
        self.make_room(MAX_HEADER_LEN, write)?;
        self.begin_frame(opcode, fin, len)
    }

    /// Writes the queue through `write` if `extra` more bytes would take it past
    /// `max_write_buffer`; [`Error::WriteBufferFull`] if it stays full.
    fn make_room(&mut self, extra: usize, write: &mut WriteFn<'_>) -> Result<()> {
        let over = |tx: &Sender| {
            let queued = tx.queued_with_held();
            queued > 0 && queued.saturating_add(extra) > tx.max_write_buffer
        };
        if over(self) {
            match self.write_queued(write) {
                Ok(()) | Err(Error::Timeout) => {}
                Err(e) => return Err(e),
            }
            if over(self) {
                return Err(Error::WriteBufferFull);
            }
        }
        Ok(())
    }

    /// True once a close frame has been queued (by [`Sender::close`] or [`Sender::respond`]).
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Client, &Config::default());
    /// tx.close(None).unwrap();
    /// assert!(tx.close_sent());
    /// ```
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Frees the output buffer's memory if nothing is pending.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.send_binary(&[0; 1 << 16]).unwrap();
    /// let n = tx.pending().len();
    /// tx.consume(n);
    /// tx.shrink();
    /// assert!(tx.pending().is_empty());
    /// ```
    pub fn shrink(&mut self) {
        if self.out_pos == self.out.len() {
            self.out = Vec::new();
            self.out_pos = 0;
        }
    }

    /// Reacts to what a [`Receiver`] returned, with the same rules for [`Protocol`] and for a
    /// connection split across threads:
    /// - a ping is answered with a pong carrying the same payload (if `config.auto_pong`):
    ///   every ping gets its own pong, in order. Queued pongs count against
    ///   `config.max_write_buffer`: a ping whose pong would pass it (the peer pings but does
    ///   not read) fails the connection with close 1008 ([`ProtocolError::PongBacklog`]);
    /// - a close is echoed (its code and reason, or an empty close if it had none) unless we
    ///   already sent one;
    /// - a protocol error queues a close with the error's close code.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, CloseCode, CloseFrame, Config, Error, Message, ProtocolError, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.respond(&Ok(Some(Message::Ping(b"a".to_vec()))));
    /// tx.respond(&Ok(Some(Message::Ping(b"b".to_vec()))));
    /// assert_eq!(tx.pending(), &[0x8A, 0x01, b'a', 0x8A, 0x01, b'b']); // one pong per ping
    /// tx.respond(&Err(Error::Protocol(ProtocolError::InvalidUtf8)));
    /// assert_eq!(&tx.pending()[6..10], &[0x88, 0x17, 0x03, 0xEF]); // close 1007 + reason
    /// assert!(tx.close_sent());
    /// ```
    #[inline]
    pub fn respond(&mut self, incoming: &Result<Option<Message>>) {
        match incoming {
            Ok(None | Some(Message::Text(_) | Message::Binary(_) | Message::Pong(_))) => {}
            Ok(Some(m)) => self.respond_to_control(Ok(m.as_ref())),
            Err(e) => self.respond_to_control(Err(e)),
        }
    }

    /// [`Sender::respond`] for what [`Receiver::next_message_ref`] returned.
    ///
    /// ```
    /// use ws6455::{protocol::{Receiver, Sender}, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// let mut tx = Sender::new(Role::Client, &Config::default());
    /// rx.receive(&[0x89, 0x01, b'x']); // ping "x"
    /// let incoming = rx.next_message_ref();
    /// tx.respond_ref(&incoming);
    /// assert_eq!(tx.pending()[0], 0x8A); // a (masked) pong
    /// ```
    #[inline]
    pub fn respond_ref(&mut self, incoming: &Result<Option<MessageRef<'_>>>) {
        match incoming {
            Ok(None | Some(MessageRef::Text(_) | MessageRef::Binary(_) | MessageRef::Pong(_))) => {}
            Ok(Some(m)) => self.respond_to_control(Ok(*m)),
            Err(e) => self.respond_to_control(Err(e)),
        }
    }

    /// [`Sender::respond`] for what [`Receiver::next_chunk`] returned.
    ///
    /// ```
    /// use ws6455::protocol::{Chunk, Sender};
    /// use ws6455::{Config, Message, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.respond_chunk(&Ok(Some(Chunk::Control(Message::Ping(b"a".to_vec())))));
    /// assert_eq!(tx.pending(), &[0x8A, 0x01, b'a']);
    /// ```
    pub fn respond_chunk(&mut self, incoming: &Result<Option<Chunk>>) {
        match incoming {
            Ok(Some(Chunk::Control(m))) => self.respond_to_control(Ok(m.as_ref())),
            Ok(_) => {}
            Err(e) => self.respond_to_control(Err(e)),
        }
    }

    fn respond_to_control(&mut self, incoming: std::result::Result<MessageRef<'_>, &Error>) {
        if let Some(r) = Reaction::to(incoming) {
            self.react(r);
        }
    }

    /// Carries out what something read calls for (see [`Sender::respond`]).
    pub(crate) fn react(&mut self, r: Reaction<'_>) {
        match r {
            Reaction::Pong(payload) if self.auto_pong && !self.close_sent => {
                self.queue_auto_pong(payload);
            }
            Reaction::Pong(_) => {}
            Reaction::Close(frame) => {
                self.close_received = true;
                if !self.close_sent {
                    self.peer_initiated_close = true;
                    // Echo the peer's code and reason (already validated, so they fit).
                    if self.queue_close(frame).is_err() {
                        let _ = self.queue_close(None);
                    }
                }
            }
            Reaction::Fail(e) => self.fail(e.clone()),
        }
    }

    /// Answers a ping, after everything queued before it: one pong per ping, in order
    /// (RFC 6455 §5.5.3 would allow answering only the latest, but peers and test suites
    /// expect each). Queued pongs count against `max_write_buffer`, held frames included: a
    /// peer that pings while it leaves our output unread is failed with 1008 once the next
    /// pong would pass the bound.
    fn queue_auto_pong(&mut self, payload: &[u8]) {
        // A control frame's exact size: 2 header bytes, a client's mask key, the payload.
        let key = if self.role == Role::Client { 4 } else { 0 };
        let cost = 2 + key + payload.len();
        if self.queued_with_held().saturating_add(cost) > self.max_write_buffer
            && self.queued_with_held() > 0
        {
            let e = ProtocolError::PongBacklog {
                limit: self.max_write_buffer,
            };
            self.fail(e.clone());
            self.own_failure = Some(e);
            return;
        }
        self.write_frame(true, OpCode::Pong, payload);
    }

    /// A failure the sender found itself (so far only [`ProtocolError::PongBacklog`]), once:
    /// the receiving side reports it as the next read's error and stops reading. The close
    /// frame with its code is already queued.
    pub(crate) fn take_failure(&mut self) -> Option<ProtocolError> {
        self.own_failure.take()
    }

    /// Bytes waiting to be written, with the control frames held behind an open frame.
    fn queued_with_held(&self) -> usize {
        self.out.len() - self.out_pos + self.held.len()
    }

    /// Fails the connection for `e`: queues a close with its code (unless one was sent).
    fn fail(&mut self, e: ProtocolError) {
        self.failed = true;
        if !self.close_sent {
            // The reason is cut to fit by `encode_close`.
            let _ = self.queue_close(Some(&CloseFrame::new(e.close_code(), e.to_string())));
        }
    }

    /// Control frames held behind an open frame count too (they are owed to the peer).
    fn check_room(&self, cost: usize) -> Result<()> {
        let pending = self.queued_with_held();
        if pending > 0 && pending.saturating_add(cost) > self.max_write_buffer {
            return Err(Error::WriteBufferFull);
        }
        Ok(())
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        if self.close_sent {
            return Err(Error::AlreadyClosed);
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlPayloadTooLong(payload.len()));
        }
        self.check_room(payload.len() + MAX_HEADER_LEN)?;
        self.write_frame(true, opcode, payload);
        Ok(())
    }

    /// The checks of a whole data message of `len` bytes, before anything is queued.
    fn check_data_message(&self, len: usize) -> Result<()> {
        if self.close_sent {
            return Err(Error::AlreadyClosed);
        }
        if self.frames.message_open() {
            return Err(Error::FrameSequence(
                "a whole message while a message sent frame by frame is open",
            ));
        }
        let frames = len.div_ceil(self.fragment_size).max(1);
        self.check_room(frames.saturating_mul(MAX_HEADER_LEN).saturating_add(len))
    }

    /// Queues a text (valid UTF-8: the caller's word) or binary message.
    pub(crate) fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        self.check_data_message(payload.len())?;
        if payload.len() <= self.fragment_size {
            self.write_frame(true, opcode, payload);
            return Ok(());
        }
        let mut chunks = payload.chunks(self.fragment_size).peekable();
        let mut op = opcode;
        while let Some(chunk) = chunks.next() {
            self.write_frame(chunks.peek().is_none(), op, chunk);
            op = OpCode::Continuation;
        }
        Ok(())
    }

    /// Queues one frame; returns where it starts in `out`. While a frame sent piece by piece
    /// is open (only control frames get here then), the frame is held until that one is
    /// complete.
    #[inline]
    fn write_frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8]) -> usize {
        let key = self.new_key();
        let header = FrameHeader::new(fin, opcode, key, payload.len() as u64);
        if self.in_frame() {
            header.write_to(&mut self.held);
            append_masked(&mut self.held, payload, key, 0);
            return usize::MAX;
        }
        self.compact();
        self.place_copy(payload, header.encoded_len());
        let frame_start = self.out.len();
        self.out.reserve(header.encoded_len() + payload.len());
        header.write_to(&mut self.out);
        append_masked(&mut self.out, payload, key, 0);
        frame_start
    }

    /// A fresh masking key for a client, none for a server.
    fn new_key(&self) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(crate::rand::mask_key()),
            Role::Server => None,
        }
    }

    /// Starts sending a data frame piece by piece: queues its header, announcing `len` payload
    /// bytes, which then go out through [`Sender::frame_data`]. With it a large message can be
    /// sent (or forwarded) as it is produced, without holding it whole: `opcode` is text or
    /// binary for the first frame of a message and [`OpCode::Continuation`] for the next ones;
    /// `fin` marks the last frame. Pings, pongs and closes queued while a frame is open
    /// (including automatic pongs) are sent right after it. Text payload is not checked here.
    /// If the connection fails while a frame is open, no close frame can follow the unfinished
    /// frame: the connection is simply dropped.
    ///
    /// Fails with [`Error::FrameSequence`] (nothing queued) if a frame is still open, on a
    /// control opcode, a continuation with no message open or a new message while one is open;
    /// with [`Error::AlreadyClosed`] after a close was queued.
    ///
    /// ```
    /// use ws6455::{frame::OpCode, protocol::Sender, Config, Error, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.begin_frame(OpCode::Binary, false, 3).unwrap();
    /// tx.frame_data(&[1, 2]).unwrap();
    /// tx.ping(b"").unwrap(); // held until the frame is complete
    /// tx.frame_data(&[3]).unwrap();
    /// tx.begin_frame(OpCode::Continuation, true, 0).unwrap(); // an empty last frame
    /// tx.frame_data(&[]).unwrap(); // mirrors the empty `Chunk::Data` a reader yields for it
    /// assert_eq!(tx.pending(), &[0x02, 3, 1, 2, 3, 0x89, 0, 0x80, 0]);
    /// assert!(matches!(tx.frame_data(&[4]), Err(Error::FrameSequence(_))));
    /// ```
    pub fn begin_frame(&mut self, opcode: OpCode, fin: bool, len: u64) -> Result<()> {
        if self.close_sent {
            return Err(Error::AlreadyClosed);
        }
        if self.in_frame() {
            return Err(Error::FrameSequence(
                "a frame started before the last one was complete",
            ));
        }
        let message_open = self.frames.message_open();
        match opcode {
            OpCode::Text | OpCode::Binary if message_open => {
                return Err(Error::FrameSequence("a new message while one is open"));
            }
            OpCode::Continuation if !message_open => {
                return Err(Error::FrameSequence("a continuation with no message open"));
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {}
            _ => {
                return Err(Error::FrameSequence(
                    "a control opcode; use ping, pong or close",
                ))
            }
        }
        self.check_room(MAX_HEADER_LEN)?;
        self.open_frame(opcode, fin, len);
        Ok(())
    }

    /// Queues the header of a frame whose payload follows through `push_frame_data`; the
    /// caller has made the checks.
    fn open_frame(&mut self, opcode: OpCode, fin: bool, len: u64) {
        let key = self.new_key();
        self.compact();
        FrameHeader::new(fin, opcode, key, len).write_to(&mut self.out);
        self.frames = if len > 0 {
            let frame = OutFrame {
                key,
                remaining: len,
                offset: 0,
            };
            FrameSeq::Open { frame, fin }
        } else {
            FrameSeq::Done { fin }
        };
    }

    /// Queues payload of the frame begun with [`Sender::begin_frame`] (masked if we are a
    /// client). Empty `data` is always accepted once a frame has been begun, even a frame
    /// that is complete (a 0-byte frame, or one whose payload is all sent): whatever
    /// [`Receiver::next_chunk`] yields can be written back as it came. Fails with
    /// [`Error::FrameSequence`] if no frame was ever begun or `data` is more than the frame
    /// still owes, and with [`Error::WriteBufferFull`] as the whole-message sends do; nothing
    /// is queued then.
    ///
    /// ```
    /// use ws6455::{frame::OpCode, protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Client, &Config::default());
    /// tx.begin_frame(OpCode::Text, true, 5).unwrap();
    /// tx.frame_data(b"He").unwrap();
    /// tx.frame_data(b"llo").unwrap();
    /// let wire = tx.pending();
    /// let key = [wire[2], wire[3], wire[4], wire[5]];
    /// let mut payload = wire[6..].to_vec();
    /// ws6455::mask::apply_mask(&mut payload, key, 0);
    /// assert_eq!(payload, b"Hello");
    /// ```
    pub fn frame_data(&mut self, data: &[u8]) -> Result<()> {
        self.frame_room(data.len())?;
        self.check_room(data.len())?;
        self.push_frame_data(data);
        Ok(())
    }

    /// Queues (masks) payload of the open frame; the caller has made the checks.
    fn push_frame_data(&mut self, data: &[u8]) {
        let Some(frame) = self.frames.open() else {
            return;
        };
        self.compact();
        self.place_copy(data, 0);
        append_masked(&mut self.out, data, frame.key, frame.offset);
        self.frame_data_done(data.len());
    }

    /// Sends a data message, split into frames as [`Sender::send_text`] does, queueing at most
    /// `piece` payload bytes at a time and calling `write` to send the queue after each piece.
    /// A client masks its message as it queues it: in pieces the masked copy stays small and
    /// in cache, and the first bytes are on their way before the last are masked. The checks
    /// and errors are those of a whole-message send, made before anything is queued. Once
    /// `write` fails, the rest of the message is queued without writing (as a whole-message
    /// send would have left it) and the error is returned.
    pub(crate) fn send_data_in_pieces(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        piece: usize,
        mut write: impl FnMut(&mut Sender) -> Result<()>,
    ) -> Result<()> {
        let piece = piece.max(1);
        if payload.len() <= piece {
            self.send_data(opcode, payload)?;
            return write(self);
        }
        self.check_data_message(payload.len())?;
        let mut failed = None;
        let mut op = opcode;
        let mut frames = payload.chunks(self.fragment_size).peekable();
        while let Some(frame) = frames.next() {
            self.open_frame(op, frames.peek().is_none(), frame.len() as u64);
            op = OpCode::Continuation;
            for part in frame.chunks(piece) {
                self.push_frame_data(part);
                if failed.is_none() {
                    failed = write(self).err();
                }
            }
        }
        match failed {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Succeeds if the frame begun last still owes at least `n` payload bytes. `n` = 0 is
    /// always fine once a frame has been begun, complete or not: it mirrors the empty
    /// [`Chunk::Data`] that a reader yields for a 0-byte frame or at a frame's end.
    fn frame_room(&self, n: usize) -> Result<()> {
        match self.frames {
            FrameSeq::Open { frame, .. } if n as u64 <= frame.remaining => Ok(()),
            FrameSeq::Done { .. } if n == 0 => Ok(()),
            FrameSeq::Open { .. } | FrameSeq::Done { .. } => Err(Error::FrameSequence(
                "more payload than the frame announced",
            )),
            FrameSeq::Idle => Err(Error::FrameSequence("no frame is open")),
        }
    }

    /// `n` bytes of the open frame's payload are queued or written: the frame is complete
    /// once it owes nothing, and the control frames held meanwhile follow it.
    pub(crate) fn frame_data_done(&mut self, n: usize) {
        let FrameSeq::Open { mut frame, fin } = self.frames else {
            return;
        };
        frame.remaining -= n as u64;
        frame.offset = frame.offset.wrapping_add(n);
        if frame.remaining > 0 {
            self.frames = FrameSeq::Open { frame, fin };
            return;
        }
        self.frames = FrameSeq::Done { fin };
        if !self.held.is_empty() {
            self.compact();
            self.out.extend_from_slice(&self.held);
            self.held.clear();
        }
    }

    /// True while a frame begun with [`Sender::begin_frame`] still owes payload.
    ///
    /// ```
    /// use ws6455::{frame::OpCode, protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.begin_frame(OpCode::Binary, true, 1).unwrap();
    /// assert!(tx.in_frame());
    /// tx.frame_data(&[0]).unwrap();
    /// assert!(!tx.in_frame());
    /// ```
    pub fn in_frame(&self) -> bool {
        self.frames.open().is_some()
    }
}

/// Where a connection is in its life (RFC 6455 §7).
///
/// ```
/// use ws6455::{protocol::{Protocol, State}, Config, Role};
/// let mut p = Protocol::new(Role::Server, Config::default());
/// assert_eq!(p.state(), State::Open);
/// p.close(None).unwrap();
/// assert_eq!(p.state(), State::Closing);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    Closing,
    /// The peer sent a close frame; our echo is queued but not yet written.
    CloseReceived,
    /// Both close frames have been exchanged (and our echo written, if we echoed).
    Closed,
    /// The peer broke the protocol; our close frame with the error's code is queued.
    Failed,
}

/// Where a connection whose halves are `rx` and `tx` is in its life: the one place the
/// connection state is derived (for [`Protocol::state`] and the blocking socket's).
pub(crate) fn state_of(rx: &Receiver, tx: &Sender) -> State {
    if rx.is_failed() || tx.failed {
        return State::Failed;
    }
    match (tx.close_sent, rx.close_received()) {
        (false, false) => State::Open,
        (true, false) => State::Closing,
        (false, true) => State::CloseReceived,
        (true, true) => {
            if tx.peer_initiated_close && !tx.pending().is_empty() {
                State::CloseReceived
            } else {
                State::Closed
            }
        }
    }
}

/// A [`Receiver`] and a [`Sender`] wired together: [`Protocol::next_message`] also queues the
/// automatic replies ([`Sender::respond`]).
///
/// See the [module documentation](self) for a client and a server talking to each other.
///
/// ```
/// use ws6455::{protocol::Protocol, Config, Message, Role};
/// let mut server = Protocol::new(Role::Server, Config::default());
/// // RFC 6455 §5.7: a masked "Hello" text message from a client.
/// server.receive(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// assert_eq!(server.next_message().unwrap(), Some(Message::text("Hello")));
/// // An unsolicited pong is surfaced and needs no answer.
/// server.receive(&[0x8A, 0x80, 1, 2, 3, 4]);
/// assert_eq!(server.next_message().unwrap(), Some(Message::Pong(vec![])));
/// assert!(server.pending().is_empty());
/// ```
#[derive(Debug)]
pub struct Protocol {
    receiver: Receiver,
    sender: Sender,
}

impl Protocol {
    /// A connection in the `Open` state.
    ///
    /// ```
    /// use ws6455::{protocol::{Protocol, State}, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).state(), State::Open);
    /// ```
    pub fn new(role: Role, config: Config) -> Protocol {
        Protocol {
            receiver: Receiver::new(role, &config),
            sender: Sender::new(role, &config),
        }
    }

    /// Joins halves made by [`Protocol::into_parts`] (or built separately).
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let (rx, tx) = Protocol::new(Role::Server, Config::default()).into_parts();
    /// let p = Protocol::from_parts(rx, tx);
    /// assert_eq!(p.role(), Role::Server);
    /// ```
    pub fn from_parts(receiver: Receiver, sender: Sender) -> Protocol {
        Protocol { receiver, sender }
    }

    /// Splits into the incoming and the outgoing half, e.g. to read and write on two threads
    /// (feed each [`Receiver::next_message`] result to [`Sender::respond`]).
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let (mut rx, mut tx) = Protocol::new(Role::Server, Config::default()).into_parts();
    /// rx.receive(&[0x89, 0x80, 1, 2, 3, 4]); // masked empty ping
    /// let got = rx.next_message();
    /// tx.respond(&got);
    /// assert_eq!(tx.pending(), &[0x8A, 0x00]);
    /// ```
    pub fn into_parts(self) -> (Receiver, Sender) {
        (self.receiver, self.sender)
    }

    /// Our role.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).role(), Role::Client);
    /// ```
    pub fn role(&self) -> Role {
        self.receiver.role
    }

    /// The incoming half.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).receiver().buffered(), 0);
    /// ```
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// The incoming half, mutably.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receiver_mut().receive(&[0x8A]);
    /// assert_eq!(p.buffered(), 1);
    /// ```
    pub fn receiver_mut(&mut self) -> &mut Receiver {
        &mut self.receiver
    }

    /// The outgoing half.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert!(!Protocol::new(Role::Client, Config::default()).sender().close_sent());
    /// ```
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// The outgoing half, mutably.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.sender_mut().pong(b"").unwrap();
    /// assert_eq!(p.pending(), &[0x8A, 0x00]);
    /// ```
    pub fn sender_mut(&mut self) -> &mut Sender {
        &mut self.sender
    }

    /// See [`Receiver::receive`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x81]);
    /// assert_eq!(p.buffered(), 1);
    /// ```
    pub fn receive(&mut self, data: &[u8]) {
        self.receiver.receive(data);
    }

    /// See [`Receiver::read_buf`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// assert!(p.read_buf(100).len() >= 100);
    /// ```
    pub fn read_buf(&mut self, min: usize) -> &mut [u8] {
        self.receiver.read_buf(min)
    }

    /// See [`Receiver::commit`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.read_buf(2)[..2].copy_from_slice(&[0x89, 0x00]);
    /// p.commit(2);
    /// assert_eq!(p.next_message().unwrap(), Some(Message::Ping(vec![])));
    /// ```
    pub fn commit(&mut self, n: usize) {
        self.receiver.commit(n);
    }

    /// See [`Receiver::buffered`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert_eq!(Protocol::new(Role::Client, Config::default()).buffered(), 0);
    /// ```
    pub fn buffered(&self) -> usize {
        self.receiver.buffered()
    }

    /// [`Receiver::next_message`], then [`Sender::respond`] to it.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, Role, CloseCode};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x89, 0x02, b'h', b'i']);
    /// assert_eq!(p.next_message().unwrap(), Some(Message::Ping(b"hi".to_vec())));
    /// assert_eq!(p.pending().len(), 2 + 4 + 2); // masked pong "hi"
    /// ```
    #[inline]
    pub fn next_message(&mut self) -> Result<Option<Message>> {
        self.sender_failure()?;
        let got = self.receiver.next_message();
        self.sender.respond(&got);
        got
    }

    /// [`Receiver::next_message_ref`], then [`Sender::respond_ref`] to it: no allocation per
    /// small message.
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, MessageRef, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x82, 0x02, 7, 8, 0x89, 0x00]);
    /// assert_eq!(p.next_message_ref().unwrap(), Some(MessageRef::Binary(&[7, 8])));
    /// assert_eq!(p.next_message_ref().unwrap(), Some(MessageRef::Ping(&[])));
    /// assert_eq!(p.pending().len(), 2 + 4); // masked empty pong
    /// ```
    #[inline]
    pub fn next_message_ref(&mut self) -> Result<Option<MessageRef<'_>>> {
        self.sender_failure()?;
        let got = self.receiver.next_message_ref();
        self.sender.respond_ref(&got);
        got
    }

    /// [`Receiver::next_chunk`], then the same automatic reactions as
    /// [`Protocol::next_message`] (pong, close echo, close on error).
    ///
    /// ```
    /// use ws6455::protocol::{Chunk, Protocol};
    /// use ws6455::{Config, Message, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.receive(&[0x89, 0x80, 0, 0, 0, 0]); // masked empty ping
    /// let mut buf = [0u8; 16];
    /// assert_eq!(p.next_chunk(&mut buf).unwrap(), Some(Chunk::Control(Message::Ping(vec![]))));
    /// assert_eq!(p.pending(), &[0x8A, 0x00]);
    /// ```
    pub fn next_chunk(&mut self, buf: &mut [u8]) -> Result<Option<Chunk>> {
        self.sender_failure()?;
        let got = self.receiver.next_chunk(buf);
        self.sender.respond_chunk(&got);
        got
    }

    /// Reports a failure the sender found (a ping flood) as this read's error, once; the
    /// receiver stops reading then, as after any protocol error.
    fn sender_failure(&mut self) -> Result<()> {
        match self.sender.take_failure() {
            Some(e) => Err(self.receiver.fail(e)),
            None => Ok(()),
        }
    }

    /// See [`Receiver::shrink`] and [`Sender::shrink`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.shrink();
    /// assert_eq!(p.buffered(), 0);
    /// ```
    pub fn shrink(&mut self) {
        self.receiver.shrink();
        self.sender.shrink();
    }

    /// See [`Sender::send`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Message, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.send(&Message::text("hi")).unwrap();
    /// assert_eq!(p.pending(), b"\x81\x02hi");
    /// ```
    pub fn send(&mut self, msg: &Message) -> Result<()> {
        self.sender.send(msg)
    }

    /// See [`Sender::send_text`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.send_text("hi").unwrap();
    /// assert_eq!(p.pending(), b"\x81\x02hi");
    /// ```
    pub fn send_text(&mut self, s: &str) -> Result<()> {
        self.sender.send_text(s)
    }

    /// See [`Sender::send_binary`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.send_binary(&[1]).unwrap();
    /// assert_eq!(p.pending(), &[0x82, 0x01, 1]);
    /// ```
    pub fn send_binary(&mut self, b: &[u8]) -> Result<()> {
        self.sender.send_binary(b)
    }

    /// See [`Sender::ping`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.ping(b"x").unwrap();
    /// assert_eq!(p.pending(), b"\x89\x01x");
    /// ```
    pub fn ping(&mut self, b: &[u8]) -> Result<()> {
        self.sender.ping(b)
    }

    /// See [`Sender::pong`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.pong(b"x").unwrap();
    /// assert_eq!(p.pending(), b"\x8A\x01x");
    /// ```
    pub fn pong(&mut self, b: &[u8]) -> Result<()> {
        self.sender.pong(b)
    }

    /// See [`Sender::close`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, CloseCode, CloseFrame, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.close(Some(CloseFrame::new(CloseCode::Away, ""))).unwrap();
    /// assert_eq!(p.pending(), &[0x88, 0x02, 0x03, 0xE9]);
    /// ```
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        self.sender.close(frame)
    }

    /// See [`Sender::pending`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert!(Protocol::new(Role::Server, Config::default()).pending().is_empty());
    /// ```
    pub fn pending(&self) -> &[u8] {
        self.sender.pending()
    }

    /// See [`Sender::consume`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.pong(b"").unwrap();
    /// p.consume(2);
    /// assert!(p.pending().is_empty());
    /// ```
    pub fn consume(&mut self, n: usize) {
        self.sender.consume(n);
    }

    /// See [`Sender::close_sent`].
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// assert!(!Protocol::new(Role::Server, Config::default()).close_sent());
    /// ```
    pub fn close_sent(&self) -> bool {
        self.sender.close_sent()
    }

    /// Where the connection is in its life.
    ///
    /// ```
    /// use ws6455::{protocol::{Protocol, State}, Config, Role};
    /// let mut p = Protocol::new(Role::Client, Config::default());
    /// p.receive(&[0x88, 0x00]); // the server closes
    /// p.next_message().unwrap();
    /// assert_eq!(p.state(), State::CloseReceived);
    /// let n = p.pending().len();
    /// p.consume(n); // our echo is written
    /// assert_eq!(p.state(), State::Closed);
    /// ```
    pub fn state(&self) -> State {
        state_of(&self.receiver, &self.sender)
    }

    /// True when the connection is over: both close frames exchanged, or a protocol error.
    /// The caller then writes out [`Protocol::pending`] and drops the transport (a server
    /// closes TCP first, RFC 6455 §7.1.1; a client waits a bounded time for the server to).
    ///
    /// ```
    /// use ws6455::{protocol::Protocol, Config, Role};
    /// let mut p = Protocol::new(Role::Server, Config::default());
    /// p.receive(&[0x81, 0x00]); // unmasked: a protocol error at a server
    /// assert!(p.next_message().is_err());
    /// assert!(p.is_done());
    /// assert_eq!(&p.pending()[..4], &[0x88, 0x1E, 0x03, 0xEA]); // close 1002 + reason
    /// ```
    pub fn is_done(&self) -> bool {
        self.receiver.is_failed()
            || self.sender.failed
            || (self.sender.close_sent && self.receiver.close_received())
    }
}

/// The logic of the `protocol` fuzz target (`fuzz/fuzz_targets/protocol.rs`), kept here so that
/// a plain `#[test]` can replay the checked-in corpus on stable Rust. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{Chunk, Protocol, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
    use crate::frame::{Frame, OpCode};
    use crate::{Config, Error, Message, ProtocolError, Role};

    /// One fuzz case. The first byte picks limits and the split pattern; the rest is fed to a
    /// server-role and a client-role core, whole, byte by byte and in pseudo-random pieces.
    /// Panics if a core panics, exceeds its memory bounds, or if splitting changes what comes
    /// out (messages, errors and the bytes queued for the peer). The same input is also read
    /// as a list of messages sent from a client to a server and back, which must arrive intact.
    pub fn run(data: &[u8]) {
        let Some((&ctl, input)) = data.split_first() else {
            return;
        };
        let config = config_for(ctl);
        for role in [Role::Server, Role::Client] {
            let whole = drive(
                role,
                &config,
                input,
                &mut std::iter::once(usize::MAX),
                Feed::Receive,
            );
            let bytewise = drive(
                role,
                &config,
                input,
                &mut std::iter::repeat(1),
                Feed::ReadBuf,
            );
            assert_eq!(whole, bytewise, "{role:?}: byte-by-byte differs from whole");
            let mut rng =
                XorShift(0x9E37_79B9_7F4A_7C15 ^ u64::from(ctl) ^ (input.len() as u64) << 8);
            let mut sizes = std::iter::from_fn(|| Some(rng.size()));
            let pieces = drive(role, &config, input, &mut sizes, Feed::Mixed);
            assert_eq!(whole, pieces, "{role:?}: pieces differ from whole");
            let chunks = drive(role, &config, input, &mut sizes, Feed::Chunks);
            assert_eq!(
                whole, chunks,
                "{role:?}: frame-by-frame reading differs from whole"
            );
        }
        round_trip(ctl, input);
    }

    fn config_for(ctl: u8) -> Config {
        Config::default()
            .max_frame_size(if ctl & 1 == 0 { 300 } else { 1 << 16 })
            .max_message_size(if ctl & 2 == 0 { 1000 } else { 1 << 17 })
            .max_fragments(if ctl & 4 == 0 { 8 } else { 10_000 })
            .auto_pong(ctl & 8 == 0)
            .max_write_buffer(if ctl & 16 == 0 { 300 } else { 1 << 16 })
            .read_buffer_size(if ctl & 32 == 0 { 16 } else { 4096 })
            .fragment_size(if ctl & 64 == 0 { 7 } else { usize::MAX })
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Mostly small pieces, sometimes large ones.
        fn size(&mut self) -> usize {
            let r = self.next();
            if r & 7 == 0 {
                (r >> 8) as usize % 5000 + 1
            } else {
                (r >> 8) as usize % 17 + 1
            }
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Feed {
        Receive,
        ReadBuf,
        Mixed,
        /// Pieces, read with `next_chunk` into small buffers and reassembled.
        Chunks,
    }

    /// What came out of a core: its events and the frames it queued for the peer (unmasked, so
    /// that the random masking keys of a client do not make two runs differ).
    #[derive(Debug, PartialEq)]
    struct Outcome {
        events: Vec<Result<Message, ProtocolError>>,
        output: Vec<Frame>,
    }

    fn drive(
        role: Role,
        config: &Config,
        input: &[u8],
        sizes: &mut dyn Iterator<Item = usize>,
        feed: Feed,
    ) -> Outcome {
        let mut p = Protocol::new(role, config.clone());
        let mut events = Vec::new();
        let mut assembly = (false, Vec::new());
        let mut rest = input;
        let mut turn = 0usize;
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(usize::MAX).clamp(1, rest.len());
            let (part, tail) = rest.split_at(n);
            rest = tail;
            turn += 1;
            if feed == Feed::ReadBuf || (feed == Feed::Mixed && turn % 2 == 0) {
                let buf = p.read_buf(n);
                assert!(buf.len() >= n);
                buf[..n].copy_from_slice(part);
                p.commit(n);
            } else {
                p.receive(part);
            }
            if feed == Feed::Chunks {
                read_chunks(&mut p, &mut assembly, &mut events, turn);
                check_bounds(&p, config, true, input.len() - rest.len());
                continue;
            }
            loop {
                // The mixed feed reads through the zero-copy API: it must give the same
                // messages, errors and replies as the owned one.
                let got = if feed == Feed::Mixed {
                    p.next_message_ref().map(|m| m.map(|m| m.to_message()))
                } else {
                    p.next_message()
                };
                match got {
                    Ok(Some(m)) => events.push(Ok(m)),
                    Ok(None) => break,
                    Err(e) => {
                        record_error(e, &mut events);
                        break;
                    }
                }
                check_bounds(&p, config, false, input.len() - rest.len());
            }
            check_bounds(&p, config, true, input.len() - rest.len());
            if feed == Feed::Mixed && turn % 3 == 0 {
                p.shrink();
            }
        }
        if let Some(Err(e)) = events.last() {
            assert!(p.is_done(), "failed but not done: {e}");
        }
        Outcome {
            events,
            output: parse_output(p.pending()),
        }
    }

    /// Reads everything available with `next_chunk` into a buffer of 1 to 23 bytes, gathering
    /// data into `assembly` (is text, bytes) and pushing whole messages and errors to `events`
    /// as the whole-message reads would.
    fn read_chunks(
        p: &mut Protocol,
        assembly: &mut (bool, Vec<u8>),
        events: &mut Vec<Result<Message, ProtocolError>>,
        turn: usize,
    ) {
        let mut buf = vec![0u8; 1 + turn * 7 % 23];
        loop {
            match p.next_chunk(&mut buf) {
                Ok(Some(Chunk::FrameStart { opcode, .. })) => {
                    if opcode != OpCode::Continuation {
                        *assembly = (opcode == OpCode::Text, Vec::new());
                    }
                }
                Ok(Some(Chunk::Data {
                    len,
                    end_of_message,
                    ..
                })) => {
                    assert!(len <= buf.len());
                    assembly.1.extend_from_slice(&buf[..len]);
                    if end_of_message {
                        let bytes = std::mem::take(&mut assembly.1);
                        events.push(Ok(if assembly.0 {
                            Message::Text(String::from_utf8(bytes).expect("checked text"))
                        } else {
                            Message::Binary(bytes)
                        }));
                    }
                }
                Ok(Some(Chunk::Control(m))) => events.push(Ok(m)),
                Ok(None) => break,
                Err(e) => {
                    record_error(e, events);
                    break;
                }
            }
        }
    }

    /// An error that ends a turn's reads: a protocol error is an event, the end of the
    /// connection is not, and anything else is a bug.
    fn record_error(e: Error, events: &mut Vec<Result<Message, ProtocolError>>) {
        match e {
            Error::Protocol(e) => events.push(Err(e)),
            Error::ConnectionClosed => {}
            e => panic!("unexpected error: {e}"),
        }
    }

    fn check_bounds(p: &Protocol, config: &Config, drained: bool, fed: usize) {
        let rx = &p.receiver;
        if drained && !rx.is_failed() && !rx.close_received() {
            // Between calls only a partial header or a partial control frame waits.
            assert!(
                rx.buffered() <= MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD,
                "{} bytes buffered",
                rx.buffered()
            );
        }
        assert!(rx.message.len() <= config.max_message_size);
        // The message buffer grows with what arrived, not with what headers announced.
        assert!(
            rx.message.capacity() <= 2 * fed + super::GROW_MIN,
            "message buffer capacity {} after {fed} bytes",
            rx.message.capacity()
        );
        let bound = config.max_write_buffer + 2 * (MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD);
        assert!(
            p.pending().len() <= bound,
            "{} bytes pending",
            p.pending().len()
        );
    }

    fn parse_output(mut wire: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        while !wire.is_empty() {
            let (mut f, n) = Frame::parse(wire)
                .expect("our own output parses")
                .expect("our own output holds whole frames");
            f.header.mask = None;
            frames.push(f);
            wire = &wire[n..];
        }
        frames
    }

    /// Reads `input` as messages (kind byte, length byte, payload), sends them from a client to
    /// a server and back, and checks they arrive unchanged.
    fn round_trip(ctl: u8, mut input: &[u8]) {
        let config = Config::default().fragment_size(if ctl & 64 == 0 { 7 } else { 1000 });
        let mut sent = Vec::new();
        while let [kind, len, rest @ ..] = input {
            let n = usize::from(*len).min(rest.len());
            let payload = &rest[..n];
            input = &rest[n..];
            let msg = match kind % 4 {
                0 => Message::Text(String::from_utf8_lossy(payload).into_owned()),
                1 => Message::Binary(payload.to_vec()),
                2 => Message::Ping(payload[..n.min(125)].to_vec()),
                _ => Message::Pong(payload[..n.min(125)].to_vec()),
            };
            sent.push(msg);
        }
        for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
            let mut tx = Protocol::new(from, config.clone());
            let mut rx = Protocol::new(to, Config::default().auto_pong(false));
            for m in &sent {
                tx.send(m).expect("send");
            }
            let wire = tx.pending().to_vec();
            for op in parse_output(&wire).iter().map(|f| f.header.opcode) {
                assert_ne!(op, OpCode::Close);
            }
            rx.receive(&wire);
            let mut got = Vec::new();
            while let Some(m) = rx.next_message().expect("our own frames are valid") {
                got.push(m);
            }
            assert_eq!(got, sent, "{from:?} to {to:?}");

            // The same messages sent frame by frame, in pieces, with a ping queued in the
            // middle of every frame (held until the frame is complete).
            let mut tx = Protocol::new(from, config.clone());
            let mut expected = Vec::new();
            for m in &sent {
                let (opcode, payload) = match m {
                    Message::Text(t) => (OpCode::Text, t.as_bytes()),
                    Message::Binary(b) => (OpCode::Binary, &b[..]),
                    _ => continue,
                };
                let cut = payload.len() / 2;
                let piece = (usize::from(ctl) % 5) + 1;
                tx.sender
                    .begin_frame(opcode, false, cut as u64)
                    .expect("begin");
                for part in payload[..cut].chunks(piece) {
                    tx.sender.frame_data(part).expect("first frame's data");
                    tx.ping(b"mid").expect("ping");
                }
                let rest = &payload[cut..];
                tx.sender
                    .begin_frame(OpCode::Continuation, true, rest.len() as u64)
                    .expect("continue");
                for part in rest.chunks(piece) {
                    tx.sender.frame_data(part).expect("second frame's data");
                }
                for _ in payload[..cut].chunks(piece) {
                    expected.push(Message::Ping(b"mid".to_vec()));
                }
                expected.push(m.clone());
            }
            let mut rx = Protocol::new(to, Config::default().auto_pong(false));
            rx.receive(tx.pending());
            let mut got = Vec::new();
            while let Some(m) = rx
                .next_message()
                .expect("frames sent piece by piece are valid")
            {
                got.push(m);
            }
            assert_eq!(got, expected, "{from:?} to {to:?}, frame by frame");

            // The same messages with data sent in pieces, each written out (drained) after
            // it is queued; one write fails, which queues the rest of that message whole.
            let mut tx = Protocol::new(from, config.clone());
            let mut wire = Vec::new();
            let piece = (usize::from(ctl) % 5) + 1;
            let mut writes_left = usize::from(ctl % 16);
            for m in &sent {
                let (opcode, payload) = match m {
                    Message::Text(t) => (OpCode::Text, t.as_bytes()),
                    Message::Binary(b) => (OpCode::Binary, &b[..]),
                    _ => {
                        tx.send(m).expect("control");
                        continue;
                    }
                };
                let result = tx.sender.send_data_in_pieces(opcode, payload, piece, |s| {
                    if writes_left == 0 {
                        return Err(Error::Timeout);
                    }
                    writes_left -= 1;
                    wire.extend_from_slice(s.pending());
                    s.consume(s.pending().len());
                    Ok(())
                });
                assert!(matches!(result, Ok(()) | Err(Error::Timeout)));
            }
            wire.extend_from_slice(tx.pending());
            let mut rx = Protocol::new(to, Config::default().auto_pong(false));
            rx.receive(&wire);
            let mut got = Vec::new();
            while let Some(m) = rx.next_message().expect("frames sent in pieces are valid") {
                got.push(m);
            }
            assert_eq!(got, sent, "{from:?} to {to:?}, in pieces");
        }
    }
}
