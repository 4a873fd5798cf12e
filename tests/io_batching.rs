//! Batched reads and writes, counted over real sockets: a burst of small frames is read in a
//! few system calls (not one per read-buffer's worth), and the replies to what one read brought
//! go out in one write, whole-message reads and frame-by-frame forwarding alike.

use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use ws6455::protocol::{Chunk, Piece};
use ws6455::socket::WebSocket;
use ws6455::{Config, Message, MessageRef, Role};

const WAIT: Duration = Duration::from_secs(30);
/// Frames in the burst, and their payload size: 33 KiB in all, well within what loopback
/// buffers before anyone reads.
const FRAMES: usize = 32;
const SIZE: usize = 1024;

/// A TCP stream that counts the read and write calls made on it; with `vectored`, a vectored
/// read is one `readv` on the socket (as `TcpStream`'s is), without it the default of `Read`
/// (the first non-empty buffer only), as for a stream that has no vectored reads.
struct Counted {
    stream: TcpStream,
    vectored: bool,
    reads: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.stream.read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        if !self.vectored {
            return match bufs.iter_mut().find(|b| !b.is_empty()) {
                Some(buf) => self.read(buf),
                None => Ok(0),
            };
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.stream.read_vectored(bufs)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.stream.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.stream.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A masked binary frame (key 0, so the payload is as given).
fn masked_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x82, 0x80 | 126];
    f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// What the server side counted once the peer's close arrived.
struct Counts {
    reads: usize,
    writes: usize,
}

/// Sends a burst of [`FRAMES`] frames of [`SIZE`] bytes in one write before the server reads
/// anything, reads all echoes back (checking them), then closes; the server runs `serve` over
/// a counting stream and reports its counts.
fn burst(serve: fn(&mut WebSocket<Counted>)) -> Counts {
    burst_of(FRAMES, SIZE, true, serve)
}

/// [`burst`] with `frames` frames of `size` bytes (at most 64 KiB - 1: a 16-bit length),
/// over a stream with or without vectored reads.
fn burst_of(
    frames: usize,
    size: usize,
    vectored: bool,
    serve: fn(&mut WebSocket<Counted>),
) -> Counts {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (written_tx, written_rx) = mpsc::channel::<()>();
    let (counts_tx, counts_rx) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let (reads, writes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counted = Counted {
            stream,
            vectored,
            reads: reads.clone(),
            writes: writes.clone(),
        };
        let mut ws = WebSocket::from_raw(counted, Role::Server, Config::default());
        // The whole burst is in the socket before the first read.
        written_rx.recv_timeout(WAIT).unwrap();
        serve(&mut ws);
        let _ = counts_tx.send(Counts {
            reads: reads.load(Ordering::Relaxed),
            writes: writes.load(Ordering::Relaxed),
        });
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let mut wire = Vec::new();
    for i in 0..frames {
        wire.extend(masked_frame(&vec![i as u8; size]));
    }
    client.write_all(&wire).unwrap();
    written_tx.send(()).unwrap();
    // Each echo: 0x82, 126, two length bytes, the payload (one frame: the echo apps forward
    // frame by frame or write each message as one frame).
    let mut echo = vec![0u8; frames * (4 + size)];
    client.read_exact(&mut echo).unwrap();
    let len = (size as u16).to_be_bytes();
    for (i, frame) in echo.chunks(4 + size).enumerate() {
        assert_eq!(frame[..4], [0x82, 126, len[0], len[1]], "echo {i}");
        assert!(frame[4..].iter().all(|&b| b == i as u8), "echo {i}");
    }
    client.write_all(&[0x88, 0x80, 0, 0, 0, 0]).unwrap();
    counts_rx.recv_timeout(WAIT).unwrap()
}

/// Until the peer's close: every message read whole and queued back with `write`.
fn echo_whole(ws: &mut WebSocket<Counted>) {
    loop {
        match ws.read().unwrap() {
            Message::Close(_) => return,
            msg @ Message::Binary(_) => ws.write(msg).unwrap(),
            _ => {}
        }
    }
}

/// Until the peer's close: forwarded frame by frame, as `ws-server --app echo` does.
fn echo_chunks(ws: &mut WebSocket<Counted>) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match ws.read_chunk(&mut buf).unwrap() {
            Chunk::FrameStart { opcode, fin, len } => {
                ws.write_frame_start(opcode, fin, len).unwrap()
            }
            Chunk::Data { len, .. } => ws.write_chunk(&buf[..len]).unwrap(),
            Chunk::Control(Message::Close(_)) => return,
            Chunk::Control(_) => {}
        }
    }
}

/// Until the peer's close: each message read frame by frame into one reused buffer and queued
/// back with `write_ref`, borrowed from that buffer (the shipped echo's way for small
/// messages: no allocation per message).
fn echo_ref(ws: &mut WebSocket<Counted>) {
    let mut buf = vec![0u8; 4 << 10];
    // A frame split across reads comes in several pieces: those are gathered.
    let mut gathered = Vec::new();
    loop {
        match ws.read_chunk(&mut buf).unwrap() {
            Chunk::Data {
                len,
                end_of_message: true,
                ..
            } if gathered.is_empty() => ws.write_ref(MessageRef::Binary(&buf[..len])).unwrap(),
            Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                gathered.extend_from_slice(&buf[..len]);
                if end_of_message {
                    ws.write_ref(MessageRef::Binary(&gathered)).unwrap();
                    gathered.clear();
                }
            }
            Chunk::Control(Message::Close(_)) => return,
            _ => {}
        }
    }
}

/// Until the peer's close: small messages read whole with `read_piece` and queued back
/// borrowed (the shipped echo's way), frames that are not whole forwarded chunk by chunk.
fn echo_pieces(ws: &mut WebSocket<Counted>) {
    echo_pieces_with(ws, 4 << 10)
}

/// [`echo_pieces`] with a buffer of `size` bytes.
fn echo_pieces_with(ws: &mut WebSocket<Counted>, size: usize) {
    let mut buf = vec![0u8; size];
    loop {
        match ws.read_piece(&mut buf).unwrap() {
            Piece::Whole { len, .. } => ws.write_ref(MessageRef::Binary(&buf[..len])).unwrap(),
            Piece::Chunk(Chunk::FrameStart { opcode, fin, len }) => {
                ws.write_frame_start(opcode, fin, len).unwrap()
            }
            Piece::Chunk(Chunk::Data { len, .. }) => ws.write_chunk(&buf[..len]).unwrap(),
            Piece::Chunk(Chunk::Control(Message::Close(_))) => return,
            Piece::Chunk(Chunk::Control(_)) => {}
        }
    }
}

// With 4 KiB reads the burst took 9 reads, and the whole-message echo 10 writes.
// Batched: a first read of read_buffer_size (4 KiB), then one of up to 64 KiB for the rest
// (then the close, and perhaps the end of input); one write for the replies to each read, and
// the close echo.

#[test]
fn a_burst_read_whole_is_read_and_answered_in_few_system_calls() {
    let c = burst(echo_whole);
    assert!(c.reads <= 4, "{} reads for {FRAMES} frames", c.reads);
    assert!(c.writes <= 3, "{} writes for {FRAMES} echoes", c.writes);
}

#[test]
fn a_burst_forwarded_frame_by_frame_is_read_and_answered_in_few_system_calls() {
    let c = burst(echo_chunks);
    assert!(c.reads <= 4, "{} reads for {FRAMES} frames", c.reads);
    assert!(c.writes <= 3, "{} writes for {FRAMES} echoes", c.writes);
}

#[test]
fn a_burst_echoed_with_write_ref_is_read_and_answered_in_few_system_calls() {
    let c = burst(echo_ref);
    assert!(c.reads <= 4, "{} reads for {FRAMES} frames", c.reads);
    assert!(c.writes <= 3, "{} writes for {FRAMES} echoes", c.writes);
}

#[test]
fn a_burst_read_in_pieces_is_read_and_answered_in_few_system_calls() {
    let c = burst(echo_pieces);
    assert!(c.reads <= 4, "{} reads for {FRAMES} frames", c.reads);
    assert!(c.writes <= 3, "{} writes for {FRAMES} echoes", c.writes);
}

// Large frames forwarded frame by frame: each payload is read straight into the caller's
// buffer. The read that finishes a frame is vectored, so it also brings the next frame's
// header (and a little of its payload) instead of leaving it for a read of its own: about
// one read per frame instead of two. Measured: 6 reads for 4 frames of 12 KiB (a first 4 KiB
// read, one per frame, the close), 9 without vectored reads.

/// Frames in the large burst, and their size: 48 KiB in all, which loopback buffers whole.
const BIG_FRAMES: usize = 4;
const BIG_SIZE: usize = 12 << 10;

/// Reads the large burst served by `serve` over a stream without vectored reads, then over
/// one with them; asserts the latter saves at least two reads and returns its count.
fn vectored_reads_save_reads(serve: fn(&mut WebSocket<Counted>)) -> usize {
    let plain = burst_of(BIG_FRAMES, BIG_SIZE, false, serve);
    let vectored = burst_of(BIG_FRAMES, BIG_SIZE, true, serve);
    assert!(
        vectored.reads + 2 <= plain.reads,
        "{} reads with vectored reads, {} without, for {BIG_FRAMES} frames",
        vectored.reads,
        plain.reads
    );
    vectored.reads
}

#[test]
fn large_frames_forwarded_bring_the_next_header_in_the_read_that_ends_them() {
    let reads = vectored_reads_save_reads(echo_chunks);
    assert!(
        reads <= BIG_FRAMES + 3,
        "{reads} reads for {BIG_FRAMES} frames"
    );
}

#[test]
fn large_frames_read_in_pieces_bring_the_next_header_in_the_read_that_ends_them() {
    vectored_reads_save_reads(echo_pieces_big);
}

/// [`echo_pieces`] with a 64 KiB buffer, as the shipped echo reads large messages.
fn echo_pieces_big(ws: &mut WebSocket<Counted>) {
    echo_pieces_with(ws, 64 << 10)
}
