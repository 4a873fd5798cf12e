//! The receiver's one-call reads of small messages ([`Receiver::next_piece`]): a message that
//! is one frame, already wholly received and no larger than the caller's buffer, is handed
//! out whole in one call; anything else comes as [`Chunk`]s.

use super::*;

/// What [`Receiver::next_piece`] (and [`crate::socket::WebSocket::read_piece`]) hands out: a
/// small message whole, or the next [`Chunk`] of the stream as [`Receiver::next_chunk`] gives
/// it.
///
/// ```
/// use ws6455::protocol::{Chunk, Piece, Receiver};
/// use ws6455::{frame::OpCode, Config, Message, Role};
/// let mut rx = Receiver::new(Role::Client, &Config::default());
/// rx.receive(&[0x82, 0x02, 7, 8, 0x89, 0x00]);
/// let mut buf = [0u8; 16];
/// assert_eq!(rx.next_piece(&mut buf).unwrap(), Some(Piece::Whole { opcode: OpCode::Binary, len: 2 }));
/// assert_eq!(&buf[..2], &[7, 8]);
/// assert_eq!(rx.next_piece(&mut buf).unwrap(), Some(Piece::Chunk(Chunk::Control(Message::Ping(vec![])))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A whole data message of one frame: its `len` payload bytes, unmasked (and, for text,
    /// checked to be valid UTF-8), are at the front of the caller's buffer.
    Whole {
        /// [`OpCode::Text`] or [`OpCode::Binary`].
        opcode: OpCode,
        /// How many bytes were written to the buffer.
        len: usize,
    },
    /// Anything else, exactly as [`Receiver::next_chunk`] would have returned it: a frame
    /// start (then its data chunks follow, as with `next_chunk`), data, or a control frame.
    Chunk(Chunk),
}

impl Receiver {
    /// Reads the stream as [`Receiver::next_chunk`] does, except that a data message that is
    /// a single frame, already wholly received, uncompressed and no longer than `buf` comes
    /// whole in one call ([`Piece::Whole`]): one call per small message instead of a frame
    /// start and its data. Which messages come whole depends on how the bytes arrived; code
    /// using it handles the chunks as well (a large message still goes through `buf` piece by
    /// piece, never held whole). Errors and the close as in [`Receiver::next_chunk`].
    ///
    /// ```
    /// use ws6455::protocol::{Chunk, Piece, Receiver};
    /// use ws6455::{frame::OpCode, Config, Role};
    /// let mut rx = Receiver::new(Role::Client, &Config::default());
    /// let mut buf = [0u8; 4];
    /// rx.receive(&[0x81, 0x02, b'h', b'i']);
    /// assert_eq!(rx.next_piece(&mut buf).unwrap(), Some(Piece::Whole { opcode: OpCode::Text, len: 2 }));
    /// // Larger than the buffer: frame by frame.
    /// rx.receive(&[0x82, 0x06, 1, 2, 3, 4, 5, 6]);
    /// assert_eq!(
    ///     rx.next_piece(&mut buf).unwrap(),
    ///     Some(Piece::Chunk(Chunk::FrameStart { opcode: OpCode::Binary, fin: true, len: 6 }))
    /// );
    /// ```
    pub fn next_piece(&mut self, buf: &mut [u8]) -> Result<Option<Piece>> {
        if let Some(whole) = self.next_whole(buf) {
            return Ok(Some(whole));
        }
        Ok(self.next_chunk(buf)?.map(Piece::Chunk))
    }

    /// The [`Piece::Whole`] case of [`Receiver::next_piece`], if it applies to what is at the
    /// front of the input; `None` (nothing consumed) otherwise, including for anything that
    /// breaks a rule (a bad header, a limit, invalid UTF-8): the chunk read that follows
    /// finds it again and fails the connection the usual way.
    pub(crate) fn next_whole(&mut self, buf: &mut [u8]) -> Option<Piece> {
        if !matches!(self.state, RecvState::Open)
            || !matches!(self.at, Assembly::Idle)
            || self.inflating()
        {
            return None;
        }
        let Ok(Some((header, hlen))) = self.parse_header() else {
            return None;
        };
        let len = header.payload_len;
        if !header.fin
            || header.rsv != 0
            || !matches!(header.opcode, OpCode::Text | OpCode::Binary)
            || len > buf.len() as u64
            || ((self.filled - self.pos - hlen) as u64) < len
            || self.check_data_header(&header).is_err()
        {
            return None;
        }
        // Fits in `buf` (checked), so the cast cannot truncate.
        let len = len as usize;
        let start = self.pos + hlen;
        let dst = &mut buf[..len];
        let src = &self.buf[start..start + len];
        match header.mask {
            Some(key) => crate::mask::mask_into(src, dst, key, 0),
            None => dst.copy_from_slice(src),
        }
        if header.opcode == OpCode::Text
            && !(self.utf8.feed(dst).is_ok() && self.utf8.finish().is_ok())
        {
            self.utf8.reset();
            return None;
        }
        self.lent = Lent::Input;
        self.pos = start + len;
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        }
        self.after_large = false;
        Some(Piece::Whole {
            opcode: header.opcode,
            len,
        })
    }
}
