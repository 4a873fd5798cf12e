//! Moving the sender's bytes to a stream: the write side of the blocking shells, shared by
//! [`super::WebSocket`] and the writing half of a split connection. How frames are laid out
//! (headers, masking, what is written straight from the caller's payload) is the
//! [`Sender`]'s business; these functions only lend it the stream.

use std::io::{self, ErrorKind, Write};

use crate::frame::OpCode;
use crate::protocol::Sender;
use crate::{Error, Result, Role};

/// A client masks and writes a data message longer than this in pieces ([`SEND_PIECE`]).
pub(super) const SEND_IN_PIECES_ABOVE: usize = 1 << 20;
/// The piece size of [`send_message`].
pub(super) const SEND_PIECE: usize = 256 << 10;

/// Writes a sender's queued bytes; on an error the unwritten rest stays queued.
pub(super) fn write_sender<S: Write>(stream: &mut S, sender: &mut Sender) -> Result<()> {
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

/// [`write_sender`] on the way to a read: a timeout or `WouldBlock` leaves the rest queued,
/// and a broken write side is not the reader's error (what the peer already sent, its last
/// messages and its close, must still be readable), so the unsendable bytes are dropped.
pub(super) fn flush_best_effort<S: Write>(stream: &mut S, sender: &mut Sender) -> Result<()> {
    match write_sender(stream, sender) {
        Ok(()) | Err(Error::Timeout) => Ok(()),
        Err(Error::Io(_)) => {
            let n = sender.pending().len();
            sender.consume(n);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Whether [`send_message`] sends a data message of `len` bytes in pieces.
pub(super) fn sends_in_pieces(role: Role, len: usize) -> bool {
    role == Role::Client && len > SEND_IN_PIECES_ABOVE
}

/// Sends a data message and writes the queue. Large messages are not copied whole into the
/// queue:
/// - a server writes one of 64 KiB or more straight from `payload` ([`Sender::send_direct`]);
/// - a client's message longer than 1 MiB is masked and written 256 KiB at a time
///   ([`Sender::send_data_in_pieces`]), so the masked copy stays in cache and the kernel is
///   already sending while the rest is masked. For a 16 MiB echo (`examples/loadgen --scenario
///   big`, medians of 3) that took the throughput from 0.65× to 1.03× the raw TCP echo's. Up
///   to 1 MiB one copy and one write cost less.
///
/// `between` runs after each piece, with the sender: the writing half of a split connection
/// queues the replies its reader handed over there, so they never wait for the whole message.
pub(super) fn send_message<S: Write>(
    stream: &mut S,
    sender: &mut Sender,
    opcode: OpCode,
    payload: &[u8],
    mut between: impl FnMut(&mut Sender),
) -> Result<()> {
    if let Some(result) = sender.send_direct(opcode, payload, &mut |b| stream.write_vectored(b)) {
        result?;
        between(sender);
        return write_sender(stream, sender);
    }
    if sends_in_pieces(sender.role(), payload.len()) {
        return sender.send_data_in_pieces(opcode, payload, SEND_PIECE, |s| {
            between(s);
            write_sender(stream, s)
        });
    }
    sender.send_data(opcode, payload)?;
    write_sender(stream, sender)
}

/// Starts a frame sent piece by piece (see [`Sender::write_frame_start`]), flushing first if the
/// queue is full.
pub(super) fn start_frame<S: Write>(
    stream: &mut S,
    sender: &mut Sender,
    opcode: OpCode,
    fin: bool,
    len: u64,
) -> Result<()> {
    sender.write_frame_start_through(opcode, fin, len, &mut |b| stream.write_vectored(b))
}

/// Sends payload of the open frame (see [`Sender::frame_data_through`]).
pub(super) fn send_chunk<S: Write>(stream: &mut S, sender: &mut Sender, data: &[u8]) -> Result<()> {
    sender.frame_data_through(data, &mut |b| stream.write_vectored(b))
}

/// Makes room for one more message: flushes if the queue is at `max`, then
/// [`Error::WriteBufferFull`] if it still is.
pub(super) fn check_room<S: Write>(stream: &mut S, sender: &mut Sender, max: usize) -> Result<()> {
    if sender.pending().len() >= max {
        match write_sender(stream, sender) {
            Ok(()) | Err(Error::Timeout) => {}
            Err(e) => return Err(e),
        }
        if sender.pending().len() >= max {
            return Err(Error::WriteBufferFull);
        }
    }
    Ok(())
}
