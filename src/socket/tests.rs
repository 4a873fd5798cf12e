//! Unit tests of the blocking socket: what reaches the stream, and in what order, when it stalls.

use std::io::{self, ErrorKind, IoSlice, Read, Write};

use super::write::{SEND_IN_PIECES_ABOVE, SEND_PIECE};
use super::*;
use crate::frame::{FrameHeader, MAX_HEADER_LEN};

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
    let mut ws = WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Server, Config::default());
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
    let mut ws = WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Client, Config::default());
    ws.write(Message::binary(vec![1; 100_000])).unwrap();
    assert!(ws.pending_bytes() > 100_000);
    let mut ws = WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Server, Config::default());
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
        ws.send_binary(vec![7; len]).unwrap();
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
    let mut ws = WebSocket::from_raw(io::Cursor::new(Vec::new()), Role::Server, Config::default());
    ws.close(CloseCode::Normal, "").unwrap();
    assert!(matches!(
        ws.write(Message::binary(vec![0; 100_000])),
        Err(Error::AlreadyClosed)
    ));
}
