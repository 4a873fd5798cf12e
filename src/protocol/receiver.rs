//! The incoming half: input buffer, frame decoding, unmasking, message assembly, UTF-8
//! validation and limits.

use crate::config::Config;
use crate::error::{Error, ProtocolError, Result};
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, RSV1};
use crate::mask::apply_mask;
use crate::message::{Message, MessageRef, Role};
use crate::utf8::Utf8Validator;

use super::close::parse_close;
use super::compression::Inflate;

mod chunk;
mod input;
mod piece;

pub use piece::Piece;

/// The least a message buffer grows by when payload of a frame in progress arrives: it grows
/// with what has arrived (doubling), never with what a header announced, so a peer that
/// declares a huge frame and sends little costs little.
pub(super) const GROW_MIN: usize = 16 << 10;

/// [`Receiver::shrink`] leaves input buffers up to this size alone.
const SHRINK_ABOVE: usize = 64 << 10;
/// What a read asks for while the connection is busy (the last read brought at least
/// `config.read_buffer_size` bytes, so more is probably waiting): every complete frame in it
/// is then decoded before the next system call. With 4 KiB reads, a stream of 1 KiB echoes
/// took one `recvfrom` and one `sendto` per ~4 messages.
const BATCH_READ: usize = 64 << 10;
/// The input buffer a busy connection reads into: a batch read, and what may be left of a
/// header or a control frame before it. [`Receiver::shrink`] keeps it while the connection is
/// busy and gives it back once a read brings little.
const BATCH_BUF: usize = BATCH_READ + 1024;
/// How many reads in a row must bring less than `read_buffer_size` before a busy connection
/// goes back to small reads (and its batch buffer can be given back).
const BUSY_READS: u8 = 8;

/// [`Receiver::read_buf`] lends the message buffer itself when at least this much payload of
/// the current frame is still to come and nothing else is buffered...
const DIRECT_MIN: usize = 4096;
/// ...and lends at most this much at a time (unless asked for more).
const DIRECT_MAX: usize = 64 << 10;
/// Spare capacity [`Receiver::append_target`] keeps past the bytes it allows: what
/// `std::io::copy` into a `Vec` reserves before each read (std's 8 KiB default buffer).
const APPEND_SLACK: usize = 8 << 10;
/// Most bytes a read takes in between frames after a large frame (see
/// [`Receiver::read_size_hint`]).
const HEADER_READ: usize = 1024;
/// Most bytes [`Receiver::read_size_hint`] suggests for the rest of a large frame. (Reading a
/// 16 MiB frame 4 KiB at a time meant ~4 000 blocking reads, each a chance to sleep and wait
/// for the scheduler: `examples/loadgen --scenario big` went from ~30 MB/s to several hundred.)
const MAX_BULK_READ: usize = 1 << 20;
/// Most bytes [`Receiver::read_size_hint`] suggests for the rest of a compressed frame.
const INFLATE_READ: usize = 16 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DataKind {
    Text,
    Binary,
}

/// A data frame whose payload is arriving.
#[derive(Debug, Clone, Copy)]
pub(super) struct InFrame {
    key: Option<[u8; 4]>,
    pub(super) remaining: u64,
    /// Payload bytes already unmasked (only its value mod 4 matters).
    offset: usize,
    pub(super) fin: bool,
}

impl InFrame {
    pub(super) fn new(header: &FrameHeader) -> InFrame {
        InFrame {
            key: header.mask,
            remaining: header.payload_len,
            offset: 0,
            fin: header.fin,
        }
    }

    /// Unmasks `data`, the next payload bytes of this frame, and counts them as arrived.
    #[inline]
    pub(super) fn arrived(&mut self, data: &mut [u8]) {
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
pub(super) enum Assembly {
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
    /// payload bytes in all (counted against the message limit; for a compressed message,
    /// the bytes inflated so far).
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
/// A message compressed with permessage-deflate ([`Receiver::set_deflate`]) comes as frames
/// of *decompressed* data, handed out as it is inflated: each `FrameStart` announces exactly
/// the bytes of the one `Data` that follows it (at most the caller's buffer), so the frames
/// need not match those on the wire, and written back as they came they form a valid
/// (uncompressed) message.
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
    pub(super) max_message_size: u64,
    max_fragments: usize,
    initial_size: usize,
    /// Input bytes; `buf[pos..filled]` are received and not yet consumed.
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    pub(super) filled: usize,
    /// Where we are in the stream of data messages (see [`Assembly`]).
    pub(super) at: Assembly,
    /// Payload of a message read whole, unmasked: `message[..len]` of [`Assembly::Whole`].
    /// Bytes past that are scratch space that [`Receiver::read_buf`] lent for a direct read.
    pub(super) message: Vec<u8>,
    /// What the last `read_buf` lent.
    lent: Lent,
    /// The last data frame was large (its payload streamed in): the next read, between
    /// frames, asks for little, so the next large payload lands in the message buffer instead
    /// of being read into the input buffer and copied. Only a hint for read sizes.
    after_large: bool,
    /// Reads left in batch mode: a read into the input buffer that brings at least
    /// `initial_size` bytes (more is probably waiting) sets [`BUSY_READS`], each smaller one
    /// counts down. While not 0 reads ask for [`BATCH_READ`] and [`Receiver::shrink`] keeps
    /// the batch buffer: a busy stream has some short reads, and shrinking and growing again
    /// (zero-filling 64 KiB) on each cost more than the reads saved. Only a hint for read
    /// sizes and for `shrink`.
    busy: u8,
    /// What `next_message_ref` lends when a message did not come by the zero-copy path.
    stash: Option<Message>,
    pub(super) utf8: Utf8Validator,
    state: RecvState,
    /// permessage-deflate, once negotiated (`compression.rs`).
    pub(super) inflate: Option<Inflate>,
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
            // Allocated by the first read: a connection costs nothing until bytes come.
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            at: Assembly::Idle,
            message: Vec::new(),
            lent: Lent::Input,
            after_large: false,
            busy: 0,
            stash: None,
            utf8: Utf8Validator::new(),
            state: RecvState::Open,
            inflate: None,
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

    /// True once a close frame has been returned by [`Receiver::next_message`].
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.receive(&[0x88, 0x00]);
    /// rx.next_message().unwrap();
    /// assert!(rx.close_received());
    /// ```
    #[inline]
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
    #[inline]
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
    /// anything else (a compressed message included) is assembled as usual and lent from the
    /// receiver. The same errors, in the same places, as `next_message`.
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

    /// The header at the front of the input, if whole, checked for the masking rule (and
    /// RSV1 for permessage-deflate, if negotiated).
    pub(super) fn parse_header(&self) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let input = &self.buf[self.pos..self.filled];
        let Some((header, hlen)) = FrameHeader::parse_with(input, self.inflate.is_some())? else {
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
    pub(super) fn take_control(
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
    pub(super) fn check_data_header(
        &self,
        header: &FrameHeader,
    ) -> Result<(DataKind, usize, u64), ProtocolError> {
        let len = header.payload_len;
        // A compressed message is held to the limit as it is inflated (on what it decompresses
        // to), not by the length of its compressed frames; those may exceed what they hold by
        // DEFLATE's framing overhead, so a message at the limit still fits in one frame.
        let compressed = header.rsv & RSV1 != 0 || self.inflating();
        let frame_limit = if compressed {
            super::compression::compressed_bound(self.max_frame_size)
        } else {
            self.max_frame_size
        };
        if len > frame_limit {
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
        if !compressed && so_far.saturating_add(len) > self.max_message_size {
            return Err(ProtocolError::MessageTooLarge {
                limit: self.max_message_size as usize,
            });
        }
        Ok((kind, frames, so_far))
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
                if n > 0 && self.inflating() {
                    len = self.inflate_arrived(&mut frame, n, kind, len)?;
                } else if n > 0 {
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
                    if self.inflating() {
                        self.inflate_finish(kind, frames, len)?;
                    }
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

            if header.rsv & RSV1 != 0 {
                self.begin_compressed();
            } else if header.fin && frames == 1 && in_buffer >= payload_len {
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

#[cfg(test)]
mod append_tests {
    use super::{Receiver, APPEND_SLACK, GROW_MIN};
    use crate::{Config, Message, Role};

    /// A 1 MiB masked frame appended through `append_target` piece by piece, as the socket
    /// driver's `io::copy` does: the message is right, the reserved room never lets the
    /// appender grow the buffer, and capacity follows what arrived.
    #[test]
    fn append_target_assembles_a_large_frame_with_bounded_capacity() {
        let len = 1usize << 20;
        let key = [0x11, 0x22, 0x33, 0x44];
        let payload: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        let mut wire = Vec::new();
        crate::frame::FrameHeader::new(true, crate::frame::OpCode::Binary, Some(key), len as u64)
            .write_to(&mut wire);
        let header = wire.len();
        wire.extend_from_slice(&payload);
        crate::mask::apply_mask(&mut wire[header..], key, 0);

        let mut rx = Receiver::new(Role::Server, &Config::default());
        rx.receive(&wire[..header + 100]);
        assert_eq!(rx.next_message().unwrap(), None);
        let mut at = header + 100;
        let mut appended = 0;
        while at < wire.len() {
            // Pieces of odd sizes, as short reads give them.
            let Some((message, limit)) = rx.append_target(7000) else {
                // The last bytes of the frame, fewer than asked for: the input buffer's turn.
                assert!(wire.len() - at < 7000);
                rx.receive(&wire[at..]);
                break;
            };
            assert!(limit > 0 && limit <= wire.len() - at);
            let piece = limit.min(5000 + at % 3000);
            let capacity = message.capacity();
            message.extend_from_slice(&wire[at..at + piece]);
            assert_eq!(
                message.capacity(),
                capacity,
                "the appender never grows the buffer"
            );
            assert!(capacity <= 2 * (100 + appended) + GROW_MIN + APPEND_SLACK + 7000);
            rx.commit(piece);
            at += piece;
            appended += piece;
        }
        assert_eq!(rx.next_message().unwrap(), Some(Message::Binary(payload)));
        // Small frames and messages in the input buffer are not appended to.
        rx.receive(&[0x82, 0x02, 1, 2]);
        assert!(rx.append_target(7000).is_none());
    }
}
