//! The receiver's frame-by-frame reads ([`Receiver::next_chunk`]): payload handed out in the
//! caller's buffer as it arrives, never a whole message.

use super::*;

impl Receiver {
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

    pub(super) fn step_chunk(&mut self, buf: &mut [u8]) -> Result<Option<Chunk>, ProtocolError> {
        if self.inflating() {
            return self.step_chunk_compressed(buf);
        }
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
            announced: if header.rsv & RSV1 != 0 {
                0
            } else {
                so_far + len
            },
            frame: Some(InFrame::new(&header)),
        };
        if header.rsv & RSV1 != 0 {
            self.begin_compressed();
            return self.step_chunk_compressed(buf);
        }
        Ok(Some(Chunk::FrameStart {
            opcode: header.opcode,
            fin: header.fin,
            len,
        }))
    }

    /// Payload bytes of the chunked frame in progress, in the caller's buffer: unmask, check,
    /// and account for them.
    pub(super) fn chunk_arrived(&mut self, data: &mut [u8]) -> Result<Chunk, ProtocolError> {
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

    /// The socket layer read `n` bytes straight from the transport: payload of the chunked
    /// frame in progress into the caller's buffer `into` (only when nothing was buffered, and
    /// at most [`Receiver::frame_remaining`]), and what came past `into.len()` into the room
    /// lent by [`Receiver::room_after_frame`], which is committed as input.
    pub(crate) fn chunk_read_direct(&mut self, into: &mut [u8], n: usize) -> Result<Chunk> {
        let spill = n.saturating_sub(into.len());
        let got = self.direct_payload(&mut into[..n - spill]);
        if spill > 0 {
            self.commit(spill);
        }
        got
    }

    /// [`Receiver::chunk_read_direct`]'s payload part.
    fn direct_payload(&mut self, data: &mut [u8]) -> Result<Chunk> {
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
    #[inline]
    pub(crate) fn wants_direct_chunk_read(&self) -> bool {
        matches!(
            self.at,
            Assembly::Chunked { frame: Some(f), .. } if f.remaining >= DIRECT_MIN as u64
        ) && self.buffered() == 0
            && !self.inflating()
    }
}
