//! The receiver's input buffer: where socket reads land (batched reads, direct reads into the
//! message or the caller's buffer), how much to read next, and giving memory back when idle.

use super::*;

impl Receiver {
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
                // A batch read gets the batch buffer, once; anything else doubles.
                let grown = if min >= BATCH_READ {
                    need.max(BATCH_BUF)
                } else {
                    need.max(self.buf.len().saturating_mul(2))
                }
                .max(self.initial_size);
                self.buf.resize(grown, 0);
            }
        }
        &mut self.buf[self.filled..]
    }

    /// Room in the input buffer for what follows a large frame's payload that is being read
    /// straight into the caller's buffer (see [`Receiver::chunk_read_direct`]), when that
    /// read of `payload_len` bytes finishes the frame (`None` otherwise): a vectored read fills
    /// the payload first, and the next frame's header lands here in the same system call. At
    /// most a header read's worth (1 KiB), so little of the next payload is copied through
    /// this buffer.
    pub(crate) fn room_after_frame(&mut self, payload_len: usize) -> Option<&mut [u8]> {
        if payload_len as u64 != self.frame_remaining() {
            return None;
        }
        let room = self.read_buf(HEADER_READ);
        let n = room.len().min(HEADER_READ);
        Some(&mut room[..n])
    }

    /// [`Receiver::read_buf`]'s direct case for a reader that appends to a `Vec` without
    /// zero-filling it first (`std::io::copy` from a `Take` into a `Vec` reads into its spare
    /// capacity): when the payload of a large frame of a message read whole may land in the
    /// message buffer, that buffer, cut back to the payload so far, with room reserved, and
    /// how many bytes (at most `min.max(64 KiB)`, never past the frame's end) may be appended.
    /// Append at most that many, then [`Receiver::commit`] them. `None`: use `read_buf`.
    ///
    /// The room reserved keeps [`APPEND_SLACK`] spare past the bytes allowed, so the appending
    /// reader (which reserves that much before each read) never grows the buffer itself; the
    /// growth is `read_buf`'s (following what arrived).
    pub(crate) fn append_target(&mut self, min: usize) -> Option<(&mut Vec<u8>, usize)> {
        self.lent = Lent::Input;
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        }
        let min = min.max(1);
        let (len, remaining) = self.direct_frame()?;
        if remaining < DIRECT_MIN.max(min) as u64 {
            return None;
        }
        self.message.truncate(len);
        let usable = self.message.capacity().saturating_sub(APPEND_SLACK);
        let room = direct_room(usable, len, remaining, min);
        let capacity = len.saturating_add(room).saturating_add(APPEND_SLACK);
        if capacity > self.message.capacity() {
            self.message.reserve_exact(capacity - len);
        }
        let limit = clamp_to(room.min(DIRECT_MAX.max(min)), remaining);
        self.lent = Lent::Message;
        Some((&mut self.message, limit))
    }

    /// The payload length so far and the bytes still owed by the frame in progress, when its
    /// payload may be read straight into the message buffer: a message read whole, nothing
    /// else buffered, the connection open.
    pub(super) fn direct_frame(&self) -> Option<(usize, u64)> {
        match self.at {
            Assembly::Whole {
                len,
                frame: Some(frame),
                ..
            } if self.filled == self.pos && self.state == RecvState::Open && !self.inflating() => {
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
        self.busy = if n >= self.initial_size {
            BUSY_READS
        } else {
            self.busy.saturating_sub(1)
        };
        self.filled = self.filled.saturating_add(n).min(self.buf.len());
        if self.state != RecvState::Open {
            self.pos = 0;
            self.filled = 0;
        }
    }

    /// `n` payload bytes were read straight into the message buffer: unmask and check them.
    pub(super) fn commit_direct(&mut self, n: usize) {
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
    #[inline]
    pub fn buffered(&self) -> usize {
        self.filled - self.pos
    }

    /// Bytes of memory the receiver's buffers hold (the input buffer, the message being
    /// assembled and the permessage-deflate state, if any), for watching what a connection
    /// costs. It grows with the bytes that
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
        self.buf.capacity()
            + self.message.capacity()
            + self.inflate.as_ref().map_or(0, Inflate::memory)
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
    #[inline]
    pub fn frame_remaining(&self) -> u64 {
        self.at.frame().map_or(0, |f| f.remaining)
    }

    /// How many bytes a socket layer should ask [`Receiver::read_buf`] for, given its usual
    /// read size: for a large frame in progress, as much of its rest as the message buffer
    /// can take without growing past twice what has arrived (up to 1 MiB), so it arrives in
    /// few big reads (each about doubling the last); between frames after a large one, just
    /// enough for the next header and a little payload, so that a following large payload is
    /// read straight into the message instead of being copied; after a read that brought
    /// at least `config.read_buffer_size` bytes (more is probably waiting, until 8 reads in a
    /// row bring less), 64 KiB, so that every frame that arrived is decoded before the next
    /// system call; otherwise
    /// `configured`.
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
        if self.inflating() && self.frame_remaining() > 0 {
            // Compressed payload goes through the input buffer (only what it inflates to lands
            // in the message): read it in pieces of at least 16 KiB.
            let bulk = clamp_to(INFLATE_READ, self.frame_remaining());
            return configured.max(1024).max(bulk);
        }
        if let Assembly::Whole {
            len,
            frame: Some(frame),
            ..
        } = self.at
        {
            if frame.remaining >= DIRECT_MIN as u64 && !self.inflating() {
                // What `read_buf` then lends from the message buffer itself. Asking for more
                // would get the input buffer, and a copy.
                let room = direct_room(self.message.capacity(), len, frame.remaining, DIRECT_MIN);
                return clamp_to(room.min(MAX_BULK_READ), frame.remaining);
            }
        }
        if self.after_large {
            return HEADER_READ;
        }
        if self.busy > 0 {
            return BATCH_READ.max(configured);
        }
        configured.max(1024)
    }

    /// Gives back memory when idle: an input buffer that grew big (past 64 KiB and four times
    /// `config.read_buffer_size`; the 65 KiB of batch reads count as big once 8 reads in a row
    /// brought less than `read_buffer_size`) returns to `config.read_buffer_size` if what it holds fits,
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
        let mut big = self.initial_size.saturating_mul(4).max(SHRINK_ABOVE);
        if self.busy > 0 {
            big = big.max(BATCH_BUF);
        }
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

    pub(super) fn release(&mut self) {
        if let Some(inflate) = &mut self.inflate {
            inflate.release();
        }
        self.stash = None;
        self.buf = Vec::new();
        self.pos = 0;
        self.filled = 0;
        self.message = Vec::new();
        self.lent = Lent::Input;
        self.at = Assembly::Idle;
        self.utf8 = Utf8Validator::new();
    }
}
