//! The outgoing half: frame encoding, masking, fragmentation, frame-by-frame sends, the
//! output queue, the obligated replies (pong, close echo, close on error) and the close state.

use std::io::{self, ErrorKind, IoSlice};

use crate::config::Config;
use crate::error::{Error, ProtocolError, Result};
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, RSV1};
use crate::mask::apply_mask;
use crate::message::{CloseCode, CloseFrame, Message, MessageRef, Role};

use super::close::encode_close;
use super::compression::{compressed_bound, Deflate};

/// [`compressed_bound`] of a length in memory.
fn bound_usize(len: usize) -> usize {
    usize::try_from(compressed_bound(len as u64)).unwrap_or(usize::MAX)
}
use super::Chunk;

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
    pub(super) close_sent: bool,
    close_received: bool,
    pub(super) peer_initiated_close: bool,
    pub(super) failed: bool,
    /// Where a frame-by-frame send stands ([`Sender::write_frame_start`]).
    frames: FrameSeq,
    /// Control frames queued while a frame was open: they follow it.
    held: Vec<u8>,
    /// A failure the sender found itself (a ping flood), not yet reported to the receiving
    /// side ([`Sender::take_failure`]).
    own_failure: Option<ProtocolError>,
    /// The codes of the close frames sent and received (1005 for one without a code).
    close_codes: CloseCodes,
    /// permessage-deflate, once negotiated (`compression.rs`).
    pub(super) deflate: Option<Deflate>,
}

/// The codes of a connection's close frames: ours and the peer's, once sent or received (an
/// empty close counts as 1005, "no status").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CloseCodes {
    pub(crate) sent: Option<CloseCode>,
    pub(crate) received: Option<CloseCode>,
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
    #[inline]
    pub(crate) fn to_chunk(incoming: &'a Result<Option<Chunk>>) -> Option<Self> {
        match incoming {
            Ok(Some(Chunk::Control(m))) => Reaction::to(Ok(m.as_ref())),
            Ok(_) => None,
            Err(e) => Reaction::to(Err(e)),
        }
    }

    /// The reaction to what [`Receiver::next_message`] returned, if any.
    #[inline]
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
            close_codes: CloseCodes::default(),
            deflate: None,
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
        self.send_ref(msg.as_ref())
    }

    /// Queues a borrowed message, as [`Sender::send`] does an owned one: a message read with
    /// [`Receiver::next_message_ref`](crate::protocol::Receiver::next_message_ref), or bytes
    /// the caller keeps, goes out without an owned copy first.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, MessageRef, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.send_ref(MessageRef::Text("hi")).unwrap();
    /// assert_eq!(tx.pending(), &[0x81, 0x02, b'h', b'i']);
    /// ```
    pub fn send_ref(&mut self, msg: MessageRef<'_>) -> Result<()> {
        match msg {
            MessageRef::Text(s) => self.send_text(s),
            MessageRef::Binary(b) => self.send_binary(b),
            MessageRef::Ping(b) => self.ping(b),
            MessageRef::Pong(b) => self.pong(b),
            MessageRef::Close(f) => self.close(f.cloned()),
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
        self.close_codes.sent = Some(frame.map_or(CloseCode::Status, |f| f.code));
        Ok(())
    }

    /// The codes of the close frames sent and received so far.
    pub(crate) fn close_codes(&self) -> CloseCodes {
        self.close_codes
    }

    /// The bytes waiting to be written to the peer.
    ///
    /// ```
    /// use ws6455::{protocol::Sender, Config, Role};
    /// let tx = Sender::new(Role::Server, &Config::default());
    /// assert!(tx.pending().is_empty());
    /// ```
    #[inline]
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
            || self.compresses(payload.len())
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

    /// [`Sender::write_chunk`] for a blocking shell: a server's piece of [`DIRECT_CHUNK_MIN`]
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
        self.write_chunk(data)
    }

    /// [`Sender::write_frame_start`] for a blocking shell: writes the queue through `write` first if
    /// it is at `max_write_buffer`.
    pub(crate) fn write_frame_start_through(
        &mut self,
        opcode: OpCode,
        fin: bool,
        len: u64,
        write: &mut WriteFn<'_>,
    ) -> Result<()> {
        self.make_room(MAX_HEADER_LEN, write)?;
        self.write_frame_start(opcode, fin, len)
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
    #[inline]
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
                self.close_codes.received = Some(frame.map_or(CloseCode::Status, |f| f.code));
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

    /// Queues a text (valid UTF-8: the caller's word) or binary message, compressed if
    /// permessage-deflate applies to it.
    pub(crate) fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        let compress = self.compresses(payload.len());
        self.send_data_as(opcode, payload, compress)
    }

    /// [`Sender::send_data`], compressed or not as `compress` says.
    pub(super) fn send_data_as(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        compress: bool,
    ) -> Result<()> {
        if !compress {
            self.check_data_message(payload.len())?;
            if self.role == Role::Server
                && payload.len() < PLACE_COPY_MIN
                && payload.len() <= self.fragment_size
                && !self.in_frame()
            {
                // The common small reply: one unmasked frame, header and payload appended.
                self.compact();
                let mut head = [0u8; MAX_HEADER_LEN];
                let n =
                    FrameHeader::new(true, opcode, None, payload.len() as u64).encode(&mut head);
                self.out.reserve(n + payload.len());
                self.out.extend_from_slice(&head[..n]);
                self.out.extend_from_slice(payload);
                return Ok(());
            }
            self.queue_frames(opcode, 0, payload);
            return Ok(());
        }
        // Checked on a bound before compressing: once compressed, the message must go out,
        // or the peer's inflater would miss history ours has.
        self.check_data_message(bound_usize(payload.len()))?;
        let Some(deflate) = self.deflate.as_mut() else {
            return Ok(());
        };
        let z = deflate.compress(payload);
        self.queue_frames(opcode, RSV1, &z);
        if let Some(deflate) = self.deflate.as_mut() {
            deflate.give_back(z);
        }
        Ok(())
    }

    /// Queues a data message's payload as frames of at most `fragment_size` bytes, `rsv` on
    /// the first.
    fn queue_frames(&mut self, opcode: OpCode, rsv: u8, payload: &[u8]) {
        if payload.len() <= self.fragment_size {
            self.write_frame_rsv(true, opcode, rsv, payload);
            return;
        }
        let mut chunks = payload.chunks(self.fragment_size).peekable();
        let (mut op, mut rsv) = (opcode, rsv);
        while let Some(chunk) = chunks.next() {
            self.write_frame_rsv(chunks.peek().is_none(), op, rsv, chunk);
            op = OpCode::Continuation;
            rsv = 0;
        }
    }

    /// True if a data message of `len` bytes is sent compressed (permessage-deflate
    /// negotiated, and `len` at least the threshold).
    pub(super) fn compresses(&self, len: usize) -> bool {
        self.deflate.as_ref().is_some_and(|d| d.applies(len))
    }

    /// Queues one frame; returns where it starts in `out`. While a frame sent piece by piece
    /// is open (only control frames get here then), the frame is held until that one is
    /// complete.
    #[inline]
    fn write_frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8]) -> usize {
        self.write_frame_rsv(fin, opcode, 0, payload)
    }

    /// [`Sender::write_frame`] with the RSV bits `rsv`.
    #[inline]
    fn write_frame_rsv(&mut self, fin: bool, opcode: OpCode, rsv: u8, payload: &[u8]) -> usize {
        let key = self.new_key();
        let mut header = FrameHeader::new(fin, opcode, key, payload.len() as u64);
        header.rsv = rsv;
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
    /// bytes, which then go out through [`Sender::write_chunk`]. With it a large message can be
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
    /// tx.write_frame_start(OpCode::Binary, false, 3).unwrap();
    /// tx.write_chunk(&[1, 2]).unwrap();
    /// tx.ping(b"").unwrap(); // held until the frame is complete
    /// tx.write_chunk(&[3]).unwrap();
    /// tx.write_frame_start(OpCode::Continuation, true, 0).unwrap(); // an empty last frame
    /// tx.write_chunk(&[]).unwrap(); // mirrors the empty `Chunk::Data` a reader yields for it
    /// assert_eq!(tx.pending(), &[0x02, 3, 1, 2, 3, 0x89, 0, 0x80, 0]);
    /// assert!(matches!(tx.write_chunk(&[4]), Err(Error::FrameSequence(_))));
    /// ```
    pub fn write_frame_start(&mut self, opcode: OpCode, fin: bool, len: u64) -> Result<()> {
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
        self.open_frame(opcode, 0, fin, len);
        Ok(())
    }

    /// Queues the header of a frame whose payload follows through `push_frame_data`, with the
    /// RSV bits `rsv`; the caller has made the checks.
    fn open_frame(&mut self, opcode: OpCode, rsv: u8, fin: bool, len: u64) {
        let key = self.new_key();
        self.compact();
        let mut header = FrameHeader::new(fin, opcode, key, len);
        header.rsv = rsv;
        header.write_to(&mut self.out);
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

    /// Queues payload of the frame begun with [`Sender::write_frame_start`] (masked if we are a
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
    /// tx.write_frame_start(OpCode::Text, true, 5).unwrap();
    /// tx.write_chunk(b"He").unwrap();
    /// tx.write_chunk(b"llo").unwrap();
    /// let wire = tx.pending();
    /// let key = [wire[2], wire[3], wire[4], wire[5]];
    /// let mut payload = wire[6..].to_vec();
    /// ws6455::mask::apply_mask(&mut payload, key, 0);
    /// assert_eq!(payload, b"Hello");
    /// ```
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<()> {
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
        // Compressed: compress whole (checked on a bound first), then frame and write the
        // compressed bytes in pieces.
        let compressed = match self.deflate.as_mut() {
            Some(d) if d.applies(payload.len()) => {
                self.check_data_message(bound_usize(payload.len()))?;
                let Some(d) = self.deflate.as_mut() else {
                    return Ok(());
                };
                Some(d.compress(payload))
            }
            _ => {
                self.check_data_message(payload.len())?;
                None
            }
        };
        let (payload, mut rsv) = match &compressed {
            Some(z) => (&z[..], RSV1),
            None => (payload, 0),
        };
        let mut failed = None;
        let mut op = opcode;
        let mut frames = payload.chunks(self.fragment_size).peekable();
        while let Some(frame) = frames.next() {
            self.open_frame(op, rsv, frames.peek().is_none(), frame.len() as u64);
            op = OpCode::Continuation;
            rsv = 0;
            for part in frame.chunks(piece) {
                self.push_frame_data(part);
                if failed.is_none() {
                    failed = write(self).err();
                }
            }
        }
        if let (Some(z), Some(d)) = (compressed, self.deflate.as_mut()) {
            d.give_back(z);
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

    /// True while a frame begun with [`Sender::write_frame_start`] still owes payload.
    ///
    /// ```
    /// use ws6455::{frame::OpCode, protocol::Sender, Config, Role};
    /// let mut tx = Sender::new(Role::Server, &Config::default());
    /// tx.write_frame_start(OpCode::Binary, true, 1).unwrap();
    /// assert!(tx.in_frame());
    /// tx.write_chunk(&[0]).unwrap();
    /// assert!(!tx.in_frame());
    /// ```
    #[inline]
    pub fn in_frame(&self) -> bool {
        self.frames.open().is_some()
    }
}
