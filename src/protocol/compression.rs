//! permessage-deflate (RFC 7692) in the protocol core: the per-direction compression state a
//! [`super::Receiver`] and a [`super::Sender`] hold once an agreement is applied.
//!
//! - [`Inflate`]: the receiving direction. It holds our [`Inflater`] with the window bits the
//!   peer compresses with, and the staging buffer of chunk reads: decompressed bytes are handed
//!   out as they are inflated, in pieces no larger than the caller's buffer.
//! - [`Deflate`]: the sending direction. It holds our [`Deflater`] with the window bits we
//!   compress with, and the level and threshold from [`crate::DeflateConfig`].
//!
//! Both allocate nothing until the first compressed message. A direction without context
//! takeover frees its codec state after every message. The framing rules themselves (RSV1 on
//! the first frame only, where the inflated bytes go) stay in the receiver and the sender.

use crate::config::Config;
use crate::deflate::{Deflater, InflateError, Inflater, Level};
use crate::error::ProtocolError;
use crate::frame::OpCode;
use crate::handshake::PerMessageDeflate;
use crate::message::Role;

use super::receiver::{Assembly, DataKind, InFrame};
use super::{Chunk, Receiver, Sender};

/// Most compressed bytes one inflate call of a chunk read takes, per KiB of room left in the
/// caller's buffer (at least 64): DEFLATE expands by at most about 1032:1, so the staging
/// buffer stays within about the caller's buffer plus 66 KiB, whatever the peer sends.
const STAGE_PIECE_MIN: usize = 64;

/// A staging buffer or spare compressor output larger than this is freed after its message.
const KEEP_SCRATCH: usize = 4 << 10;

/// The window bits and context takeover of the direction `role` compresses in.
fn sending(role: Role, a: &PerMessageDeflate) -> (u8, bool) {
    match role {
        Role::Server => (a.server_max_window_bits, !a.server_no_context_takeover),
        Role::Client => (a.client_max_window_bits, !a.client_no_context_takeover),
    }
}

/// The window bits and context takeover of the direction `role` receives in: the peer's.
fn receiving(role: Role, a: &PerMessageDeflate) -> (u8, bool) {
    match role {
        Role::Server => sending(Role::Client, a),
        Role::Client => sending(Role::Server, a),
    }
}

/// An inflate error as the protocol error that fails the connection: 1009 for output past
/// the message limit, 1007 for a malformed stream.
fn protocol_error(e: InflateError, max_message_size: u64) -> ProtocolError {
    match e {
        InflateError::TooLarge => ProtocolError::MessageTooLarge {
            limit: usize::try_from(max_message_size).unwrap_or(usize::MAX),
        },
        e => ProtocolError::InvalidCompressedData(e.as_str()),
    }
}

/// How many more bytes a message holding `len` may grow by under `max`.
fn room(len: u64, max: u64) -> usize {
    usize::try_from(max.saturating_sub(len)).unwrap_or(usize::MAX)
}

/// The receiving direction's state.
#[derive(Debug)]
pub(super) struct Inflate {
    agreement: PerMessageDeflate,
    inflater: Inflater,
    takeover: bool,
    /// The message in progress is compressed (its first frame had RSV1).
    active: bool,
    /// Compressed bytes of the message in progress have arrived. A compressed message with
    /// no payload at all is taken as empty (a compressor writes `00` for one; some peers may
    /// send nothing), rather than as a stream cut short.
    any_input: bool,
    /// Chunk reads: what is handed out, in the order it is handed out.
    stage: Stage,
}

/// Chunk reads of a compressed message: decompressed bytes staged for the caller, and where
/// the handing out stands. A compressed message is handed out as frames of decompressed
/// data: each [`Chunk::FrameStart`] announces exactly the bytes of the one [`Chunk::Data`]
/// that follows it (at most the caller's buffer), so whatever a chunk read yields can be
/// written back frame by frame as it came.
#[derive(Debug, Default)]
struct Stage {
    /// Decompressed bytes; `buf[pos..]` are not handed out yet.
    buf: Vec<u8>,
    pos: usize,
    /// A frame start was handed out for this many staged bytes, with this FIN bit; its data
    /// comes next.
    owed: Option<(usize, bool)>,
    /// A frame of this message was handed out (the next ones are continuations).
    started: bool,
    /// The compressed message has ended: the staged bytes are all that is left of it.
    ended: bool,
}

impl Stage {
    fn staged(&self) -> usize {
        self.buf.len() - self.pos
    }
}

impl Inflate {
    /// The receiving state for our `role` under `agreement`.
    pub(super) fn new(role: Role, agreement: &PerMessageDeflate) -> Inflate {
        let (bits, takeover) = receiving(role, agreement);
        Inflate {
            agreement: *agreement,
            // zlib cannot compress with a 256-byte window: a zlib-based peer held to 8 bits
            // uses 9 (or refuses). Accepting distances up to 512 costs 256 bytes of history.
            inflater: Inflater::new(bits.max(9)),
            takeover,
            active: false,
            any_input: false,
            stage: Stage::default(),
        }
    }

    /// The agreement this state was made from.
    pub(super) fn agreement(&self) -> PerMessageDeflate {
        self.agreement
    }

    /// True while a compressed message is in progress.
    pub(super) fn active(&self) -> bool {
        self.active
    }

    /// A compressed message begins.
    pub(super) fn begin(&mut self) {
        self.active = true;
        self.any_input = false;
    }

    /// Bytes of memory held: the inflater's history and tables, and staged output.
    pub(super) fn memory(&self) -> usize {
        self.inflater.memory() + self.stage.buf.capacity()
    }

    /// Inflates the next compressed bytes of the message into `out`, which holds `len` bytes
    /// of it already, under the message limit `max`. On an error, what was inflated before it
    /// is in `out` all the same: the caller checks that text first, so that which error a
    /// stream gets never depends on how its bytes were split.
    pub(super) fn inflate(
        &mut self,
        wire: &[u8],
        out: &mut Vec<u8>,
        len: u64,
        max: u64,
    ) -> Result<(), ProtocolError> {
        self.any_input |= !wire.is_empty();
        self.inflater
            .inflate(wire, out, room(len, max))
            .map(|_| ())
            .map_err(|e| protocol_error(e, max))
    }

    /// The message's last frame is in: inflates the tail (RFC 7692 §7.2.2) into `out` and
    /// ends the message, freeing the history without context takeover.
    pub(super) fn finish(
        &mut self,
        out: &mut Vec<u8>,
        len: u64,
        max: u64,
    ) -> Result<(), ProtocolError> {
        self.active = false;
        self.finish_stream(out, len, max)
    }

    /// Inflates the tail and ends the DEFLATE side of the message.
    fn finish_stream(
        &mut self,
        out: &mut Vec<u8>,
        len: u64,
        max: u64,
    ) -> Result<(), ProtocolError> {
        if !std::mem::take(&mut self.any_input) {
            return Ok(());
        }
        let result = self
            .inflater
            .finish_message(out, room(len, max))
            .map_err(|e| protocol_error(e, max));
        if !self.takeover {
            self.inflater.reset();
        }
        result
    }

    /// The connection ended (close or failure): frees everything.
    pub(super) fn release(&mut self) {
        self.inflater.reset();
        self.active = false;
        self.stage = Stage::default();
    }

    /// Chunk reads: a frame of decompressed data to hand out now, if there is one. `more`
    /// says whether compressed input is at hand to inflate first; without it, whatever is
    /// staged goes out (decompressed bytes are handed out as they are inflated). `None` with
    /// nothing to hand out: inflate more, or wait for input.
    pub(super) fn next_staged(
        &mut self,
        buf: &mut [u8],
        first: OpCode,
        more: bool,
    ) -> Option<Chunk> {
        let st = &mut self.stage;
        if let Some((owed, fin)) = st.owed.take() {
            // The frame announced `owed` bytes; a caller's buffer smaller now than at the
            // frame's start gets them in pieces.
            let n = owed.min(buf.len());
            buf[..n].copy_from_slice(&st.buf[st.pos..st.pos + n]);
            st.pos += n;
            if st.pos == st.buf.len() {
                st.buf.clear();
                st.pos = 0;
            }
            if n < owed {
                st.owed = Some((owed - n, fin));
                return Some(Chunk::Data {
                    len: n,
                    end_of_frame: false,
                    end_of_message: false,
                });
            }
            if fin {
                self.end_chunked();
            }
            return Some(Chunk::Data {
                len: n,
                end_of_frame: true,
                end_of_message: fin,
            });
        }
        let staged = st.staged();
        let worth = st.ended || (staged > 0 && (staged >= buf.len() || !more));
        if !worth || (buf.is_empty() && staged > 0) {
            return None;
        }
        let n = staged.min(buf.len());
        let fin = st.ended && n == staged;
        let opcode = if st.started {
            OpCode::Continuation
        } else {
            first
        };
        st.started = true;
        st.owed = Some((n, fin));
        Some(Chunk::FrameStart {
            opcode,
            fin,
            len: n as u64,
        })
    }

    /// Chunk reads: how many compressed bytes to inflate at once with `buf_len` bytes of
    /// caller's buffer (see [`STAGE_PIECE_MIN`]).
    pub(super) fn stage_piece(&self, buf_len: usize) -> usize {
        (buf_len.saturating_sub(self.stage.staged()) >> 10).max(STAGE_PIECE_MIN)
    }

    /// Chunk reads: inflates compressed bytes into the staging buffer, of a message that has
    /// produced `len` bytes so far under the limit `max`; returns where the new bytes start
    /// in it (to check text as it arrives; they are there even on an error, as for
    /// [`Inflate::inflate`]).
    fn stage(&mut self, wire: &[u8], len: u64, max: u64) -> (usize, Result<(), ProtocolError>) {
        let st = &mut self.stage;
        if st.pos > 0 {
            // What was handed out goes; the rest (less than a buffer's worth) moves up.
            st.buf.drain(..st.pos);
            st.pos = 0;
        }
        let start = st.buf.len();
        self.any_input |= !wire.is_empty();
        let result = self
            .inflater
            .inflate(wire, &mut self.stage.buf, room(len, max))
            .map(|_| ())
            .map_err(|e| protocol_error(e, max));
        (start, result)
    }

    /// Chunk reads: the last frame is in; inflates the tail into the staging buffer (as
    /// [`Inflate::stage`]). What is staged is then all that is left of the message.
    fn stage_finish(&mut self, len: u64, max: u64) -> (usize, Result<(), ProtocolError>) {
        let start = self.stage.buf.len();
        let mut out = std::mem::take(&mut self.stage.buf);
        let result = self.finish_stream(&mut out, len, max);
        self.stage.buf = out;
        self.stage.ended = true;
        (start, result)
    }

    /// Chunk reads: the message was handed out whole.
    fn end_chunked(&mut self) {
        let mut buf = std::mem::take(&mut self.stage.buf);
        buf.clear();
        if buf.capacity() > KEEP_SCRATCH {
            buf = Vec::new();
        }
        self.stage = Stage {
            buf,
            ..Stage::default()
        };
        self.active = false;
    }
}

/// An upper bound of the compressed size of a `len`-byte message: stored blocks cost 5 bytes
/// per block of at most 16 Ki bytes, the sync flush a few more.
pub(super) fn compressed_bound(len: u64) -> u64 {
    len.saturating_add(len / 1024).saturating_add(32)
}

/// The sending direction's state.
#[derive(Debug)]
pub(super) struct Deflate {
    agreement: PerMessageDeflate,
    deflater: Deflater,
    takeover: bool,
    threshold: usize,
    /// Compressed output, reused between messages while small.
    scratch: Vec<u8>,
}

impl Deflate {
    /// The sending state for our `role` under `agreement`, with the level and threshold of
    /// `config.deflate`.
    pub(super) fn new(role: Role, agreement: &PerMessageDeflate, config: &Config) -> Deflate {
        let (bits, takeover) = sending(role, agreement);
        Deflate {
            agreement: *agreement,
            deflater: Deflater::new(bits, Level::new(config.deflate.level)),
            takeover,
            threshold: config.deflate.threshold,
            scratch: Vec::new(),
        }
    }

    /// The agreement this state was made from.
    pub(super) fn agreement(&self) -> PerMessageDeflate {
        self.agreement
    }

    /// A message of `len` bytes is sent compressed (unless the caller opts out).
    pub(super) fn applies(&self, len: usize) -> bool {
        len >= self.threshold
    }

    /// Bytes of memory held: the compressor's history and tables, and the spare output.
    pub(super) fn memory(&self) -> usize {
        self.deflater.memory() + self.scratch.capacity()
    }

    /// Compresses one message (RFC 7692 §7.2.1: a sync flush, its tail left off). The bytes
    /// are the caller's until it hands them back with [`Deflate::give_back`]; without
    /// context takeover the history is forgotten and freed at once.
    pub(super) fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        self.deflater.compress_message(message, &mut out);
        if !self.takeover {
            self.deflater.reset();
        }
        out
    }

    /// Takes back the buffer [`Deflate::compress`] lent, keeping it only while small (and
    /// only with context takeover).
    pub(super) fn give_back(&mut self, mut out: Vec<u8>) {
        out.clear();
        // Without context takeover nothing is kept between messages.
        if self.takeover && out.capacity() <= KEEP_SCRATCH {
            self.scratch = out;
        }
    }
}

/// One step of a chunk read of a compressed message, short of handing something out.
enum Progress {
    /// Input was consumed (a header, compressed bytes, the end of a frame).
    Made,
    /// A whole control frame, between the frames of the message.
    Control(crate::Message),
    /// Nothing to do until more input arrives.
    Stalled,
}

impl Receiver {
    /// Applies a negotiated permessage-deflate agreement to the incoming direction: from now on
    /// a data message whose first frame has RSV1 set is inflated, with the window bits (and
    /// context takeover) the peer compresses with: `client_*` for a server, `server_*` for a
    /// client. Call it once, before the first message (right after the handshake).
    ///
    /// With it: RSV1 on a control frame ([`ProtocolError::CompressedControlFrame`]) or on a
    /// continuation frame ([`ProtocolError::CompressedContinuation`]) fails the connection with
    /// 1002, as RSV1 does without it ([`ProtocolError::ReservedBits`]). The message limit
    /// applies to the decompressed size (1009 past it, checked as bytes are inflated, so a
    /// "bomb" never costs more than the limit); `max_frame_size` to the compressed frames on
    /// the wire; a malformed stream is [`ProtocolError::InvalidCompressedData`] (1007), and so
    /// is text that is not UTF-8 once inflated.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Message, PerMessageDeflate, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.set_deflate(&PerMessageDeflate::default());
    /// // RFC 7692 §7.2.3.1: "Hello", compressed, in one unmasked frame.
    /// rx.receive(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    /// assert_eq!(rx.next_message().unwrap(), Some(Message::text("Hello")));
    /// // §7.2.3.2: the second "Hello" refers back into the first (context takeover).
    /// rx.receive(&[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    /// assert_eq!(rx.next_message().unwrap(), Some(Message::text("Hello")));
    /// assert!(rx.deflate().is_some());
    /// ```
    pub fn set_deflate(&mut self, agreement: &PerMessageDeflate) {
        self.inflate = Some(Inflate::new(self.role(), agreement));
    }

    /// Bytes of memory the decompressor holds (0 without permessage-deflate, and between
    /// messages without context takeover); included in [`Receiver::capacity`].
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, PerMessageDeflate, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// rx.set_deflate(&PerMessageDeflate::default());
    /// assert_eq!(rx.deflate_memory(), 0); // allocated on first use
    /// rx.receive(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    /// rx.next_message().unwrap();
    /// assert!(rx.deflate_memory() > 0); // the history, kept for the next message
    /// ```
    pub fn deflate_memory(&self) -> usize {
        self.inflate.as_ref().map_or(0, Inflate::memory)
    }

    /// The permessage-deflate agreement applied with [`Receiver::set_deflate`], if any.
    ///
    /// ```
    /// use ws6455::{protocol::Receiver, Config, Role};
    /// assert!(Receiver::new(Role::Server, &Config::default()).deflate().is_none());
    /// ```
    pub fn deflate(&self) -> Option<PerMessageDeflate> {
        self.inflate.as_ref().map(Inflate::agreement)
    }

    /// True while a compressed message is in progress.
    #[inline]
    pub(super) fn inflating(&self) -> bool {
        self.inflate.as_ref().is_some_and(Inflate::active)
    }

    /// The first frame of a compressed message was accepted.
    pub(super) fn begin_compressed(&mut self) {
        if let Some(inflate) = &mut self.inflate {
            inflate.begin();
        }
    }

    /// Whole-message reads: `n` compressed bytes of `frame` are at the front of the input.
    /// Unmasks and inflates them onto the message, which holds `len` bytes; returns its new
    /// length. Text is checked as it is inflated.
    pub(super) fn inflate_arrived(
        &mut self,
        frame: &mut InFrame,
        n: usize,
        kind: DataKind,
        len: usize,
    ) -> Result<usize, ProtocolError> {
        let Some(inflate) = self.inflate.as_mut() else {
            return Err(ProtocolError::ReservedBits(crate::frame::RSV1));
        };
        let chunk = &mut self.buf[self.pos..self.pos + n];
        frame.arrived(chunk);
        self.message.truncate(len);
        let result = inflate.inflate(chunk, &mut self.message, len as u64, self.max_message_size);
        self.pos += n;
        if kind == DataKind::Text {
            self.utf8
                .feed(&self.message[len..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        result?;
        Ok(self.message.len())
    }

    /// Whole-message reads: the last frame of a compressed message is in; inflates its tail
    /// and records the message's final length for `Receiver::finish_message`.
    pub(super) fn inflate_finish(
        &mut self,
        kind: DataKind,
        frames: usize,
        len: usize,
    ) -> Result<(), ProtocolError> {
        let Some(inflate) = self.inflate.as_mut() else {
            return Err(ProtocolError::ReservedBits(crate::frame::RSV1));
        };
        self.message.truncate(len);
        let result = inflate.finish(&mut self.message, len as u64, self.max_message_size);
        if kind == DataKind::Text {
            self.utf8
                .feed(&self.message[len..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        result?;
        self.at = Assembly::Whole {
            kind,
            frames,
            len: self.message.len(),
            frame: None,
        };
        Ok(())
    }

    /// Chunk reads of a compressed message (see `Stage`): decompressed data in frames of at
    /// most `buf.len()` bytes, handed out as it is inflated; control frames in between.
    pub(super) fn step_chunk_compressed(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<Chunk>, ProtocolError> {
        let first = match self.at {
            Assembly::Chunked {
                kind: DataKind::Text,
                ..
            } => OpCode::Text,
            _ => OpCode::Binary,
        };
        loop {
            let Some(inflate) = self.inflate.as_mut() else {
                return Err(ProtocolError::ReservedBits(crate::frame::RSV1));
            };
            if let Some(chunk) = inflate.next_staged(buf, first, true) {
                return Ok(Some(self.handed_out(chunk)));
            }
            match self.advance_compressed(buf.len())? {
                Progress::Made => {}
                Progress::Control(msg) => return Ok(Some(Chunk::Control(msg))),
                Progress::Stalled => {
                    let Some(inflate) = self.inflate.as_mut() else {
                        return Ok(None);
                    };
                    let chunk = inflate.next_staged(buf, first, false);
                    return Ok(chunk.map(|c| self.handed_out(c)));
                }
            }
        }
    }

    /// A chunk of a compressed message is handed out: the message is over after its last.
    fn handed_out(&mut self, chunk: Chunk) -> Chunk {
        if let Chunk::Data {
            end_of_message: true,
            ..
        } = chunk
        {
            self.at = Assembly::Idle;
        }
        chunk
    }

    /// Consumes what the input holds next of a compressed message read chunk by chunk: a
    /// frame header, a piece of compressed payload (inflated into the staging buffer) or the
    /// end of a frame.
    fn advance_compressed(&mut self, buf_len: usize) -> Result<Progress, ProtocolError> {
        let Assembly::Chunked {
            kind,
            frames,
            announced,
            frame,
        } = self.at
        else {
            return Ok(Progress::Stalled);
        };
        let Some(inflate) = self.inflate.as_mut() else {
            return Ok(Progress::Stalled);
        };
        if inflate.stage.ended {
            return Ok(Progress::Stalled);
        }
        let max = self.max_message_size;
        let text = kind == DataKind::Text;
        let (announced, frame) = match frame {
            None => {
                let Some((header, hlen)) = self.parse_header()? else {
                    return Ok(Progress::Stalled);
                };
                if header.opcode.is_control() {
                    return Ok(match self.take_control(&header, hlen)? {
                        Some(msg) => Progress::Control(msg),
                        None => Progress::Stalled,
                    });
                }
                let (_, frames, _) = self.check_data_header(&header)?;
                self.pos += hlen;
                self.at = Assembly::Chunked {
                    kind,
                    frames,
                    announced,
                    frame: Some(InFrame::new(&header)),
                };
                return Ok(Progress::Made);
            }
            Some(f) if f.remaining == 0 => {
                let mut announced = announced;
                if f.fin {
                    let (start, result) = inflate.stage_finish(announced, max);
                    let new = &inflate.stage.buf[start..];
                    announced += new.len() as u64;
                    if text {
                        self.utf8
                            .feed(new)
                            .map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                    result?;
                    if text {
                        self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                }
                (announced, None)
            }
            Some(mut f) => {
                let avail = self.filled - self.pos;
                let piece = inflate.stage_piece(buf_len);
                let n = usize::try_from(f.remaining)
                    .map_or(avail, |r| r.min(avail))
                    .min(piece);
                if n == 0 {
                    return Ok(Progress::Stalled);
                }
                let chunk = &mut self.buf[self.pos..self.pos + n];
                f.arrived(chunk);
                let (start, result) = inflate.stage(chunk, announced, max);
                let new = &inflate.stage.buf[start..];
                let announced = announced + new.len() as u64;
                if text {
                    self.utf8
                        .feed(new)
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                result?;
                self.pos += n;
                (announced, Some(f))
            }
        };
        self.at = Assembly::Chunked {
            kind,
            frames,
            announced,
            frame,
        };
        Ok(Progress::Made)
    }
}

impl Sender {
    /// Applies a negotiated permessage-deflate agreement to the outgoing direction: from now
    /// on text and binary messages of at least `config.deflate.threshold` bytes are
    /// compressed (at `config.deflate.level`), with the window bits and context takeover of
    /// our direction: `server_*` for a server, `client_*` for a client. RSV1 marks the first
    /// frame; a message longer than `config.fragment_size` is compressed first, then split.
    /// Call it once, before the first message. Frames sent one by one
    /// ([`Sender::write_frame_start`]) are never compressed: they go out as given, RSV1 clear
    /// (RFC 7692 lets any message go uncompressed).
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, PerMessageDeflate, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.set_deflate(&PerMessageDeflate::default(), &Config::default());
    /// tx.send_text("Hello").unwrap();
    /// // RFC 7692 §7.2.3.1, byte for byte.
    /// assert_eq!(tx.pending(), &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    /// ```
    pub fn set_deflate(&mut self, agreement: &PerMessageDeflate, config: &Config) {
        self.deflate = Some(Deflate::new(self.role(), agreement, config));
    }

    /// The permessage-deflate agreement applied with [`Sender::set_deflate`], if any.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// assert!(Sender::new(Role::Client, &Config::default()).deflate().is_none());
    /// ```
    pub fn deflate(&self) -> Option<PerMessageDeflate> {
        self.deflate.as_ref().map(Deflate::agreement)
    }

    /// Bytes of memory the compressor holds (0 without permessage-deflate, and between
    /// messages without context takeover).
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, PerMessageDeflate, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.set_deflate(&PerMessageDeflate::default(), &Config::default());
    /// assert_eq!(tx.deflate_memory(), 0); // allocated on first use
    /// tx.send_text("a message to compress").unwrap();
    /// assert!(tx.deflate_memory() > 0); // the history, kept for the next message
    /// ```
    pub fn deflate_memory(&self) -> usize {
        self.deflate.as_ref().map_or(0, Deflate::memory)
    }

    /// Queues a message as [`Sender::send`] does, but never compressed, even with
    /// permessage-deflate negotiated (a control frame or close is sent as usual).
    ///
    /// Why: compression leaks what a message contains through its size. When a message holds
    /// a secret (a token, a session id) next to text an attacker controls (an echoed query,
    /// a chat line), the attacker can guess the secret piece by piece, watching the
    /// compressed size shrink when a guess matches: the CRIME and BREACH attacks, RFC 7692
    /// §8. Send such messages uncompressed. The opt-out is per message; with context
    /// takeover the secret does not enter our compressor's history either.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Message, PerMessageDeflate, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.set_deflate(&PerMessageDeflate::default(), &Config::default());
    /// tx.send_uncompressed(&Message::text("token=s3cr3t")).unwrap();
    /// assert_eq!(tx.pending()[0], 0x81); // FIN + text, RSV1 clear
    /// assert_eq!(&tx.pending()[2..], b"token=s3cr3t");
    /// ```
    pub fn send_uncompressed(&mut self, msg: &crate::Message) -> crate::Result<()> {
        match msg {
            crate::Message::Text(t) => self.send_data_as(OpCode::Text, t.as_bytes(), false),
            crate::Message::Binary(b) => self.send_data_as(OpCode::Binary, b, false),
            other => self.send(other),
        }
    }
}
