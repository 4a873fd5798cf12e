//! Memory grows with the bytes a peer sends, not with the lengths it announces: a frame header
//! declaring 16 MiB followed by a few thousand bytes must cost a few times those bytes, at the
//! `Receiver` API and in `ws-server`'s resident memory.

mod bin_common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bin_common::{Server, WAIT};
use ws6455::frame::{FrameHeader, OpCode};
use ws6455::mask::apply_mask;
use ws6455::protocol::Receiver;
use ws6455::{Config, Message, Role};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const DECLARED: u64 = 16 << 20;
const SENT: usize = 5000;
/// What a receiver may hold beyond twice the payload that arrived: its 4 KiB input buffer and
/// the 16 KiB the message buffer first grows by.
const SLACK: usize = 24 << 10;

/// A masked binary frame header announcing `len` bytes, then `payload` masked as its start.
fn partial_frame(len: u64, payload: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    FrameHeader::new(true, OpCode::Binary, Some(KEY), len).write_to(&mut wire);
    let start = wire.len();
    wire.extend_from_slice(payload);
    apply_mask(&mut wire[start..], KEY, 0);
    wire
}

/// Feeds `wire` to `rx` the way the socket layer reads: ask `read_size_hint`, lend
/// `read_buf(hint)`, "read" at most that much, commit, decode. Checks the bound after each
/// read and returns the number of reads and the messages that came out.
fn feed_like_a_socket(rx: &mut Receiver, mut wire: &[u8], payload_so_far: &mut usize) -> usize {
    let mut reads = 0;
    while !wire.is_empty() {
        let want = rx.read_size_hint(4096);
        let buf = rx.read_buf(want);
        let n = buf.len().min(want).min(wire.len());
        buf[..n].copy_from_slice(&wire[..n]);
        rx.commit(n);
        wire = &wire[n..];
        *payload_so_far += n;
        reads += 1;
        assert_eq!(rx.next_message().unwrap(), None);
        assert!(
            rx.capacity() <= 2 * *payload_so_far + SLACK,
            "{} bytes of buffers after {} bytes received",
            rx.capacity(),
            payload_so_far
        );
    }
    reads
}

#[test]
fn a_frame_declaring_16_mib_with_5000_bytes_sent_costs_about_twice_5000() {
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let payload = vec![7u8; SENT];
    let mut received = 0;
    feed_like_a_socket(&mut rx, &partial_frame(DECLARED, &payload), &mut received);
    assert_eq!(rx.frame_remaining(), DECLARED - SENT as u64);
    assert!(
        rx.capacity() <= 2 * SENT + SLACK,
        "capacity {} for {SENT} bytes received",
        rx.capacity()
    );
    // What a direct read may be lent now is bounded by what arrived, too.
    let lent = rx.read_buf(1).len();
    assert!(lent <= 64 << 10, "lent {lent} bytes");
    assert!(rx.capacity() <= 2 * SENT + SLACK);
}

#[test]
fn the_bound_holds_at_every_step_of_a_trickled_large_frame() {
    // The same through `receive`, in pieces of 1 000 bytes, up to 1 MiB.
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let payload: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8).collect();
    let wire = partial_frame(DECLARED, &payload);
    let mut received = 0;
    for piece in wire.chunks(1000) {
        rx.receive(piece);
        received += piece.len();
        assert_eq!(rx.next_message().unwrap(), None);
        assert!(
            rx.capacity() <= 2 * received + SLACK,
            "{} bytes of buffers after {received} bytes received",
            rx.capacity()
        );
    }
}

#[test]
fn a_16_mib_message_still_comes_in_few_large_reads() {
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let payload: Vec<u8> = (0..16 << 20).map(|i| (i % 251) as u8).collect();
    let wire = partial_frame(payload.len() as u64, &payload);
    let (head, rest) = wire.split_at(wire.len() - 1);
    let mut received = 0;
    let reads = feed_like_a_socket(&mut rx, head, &mut received);
    // Doubling from 16 KiB up to reads of 1 MiB: about 7 + 16 reads (it used to be about 17).
    assert!(reads <= 32, "{reads} reads for 16 MiB");
    rx.receive(rest);
    assert_eq!(rx.next_message().unwrap(), Some(Message::Binary(payload)));
}

/// The server's resident memory, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    line.split_whitespace()
        .nth(1)
        .and_then(|kb| kb.parse().ok())
        .expect("VmRSS value")
}

/// Bytes waiting unread in the receive queues of the server's sockets (from
/// `/proc/net/tcp`: connections whose local port is `port`).
fn unread_at_server(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1)?.rsplit(':').next()?;
            if u16::from_str_radix(local_port, 16).ok()? != port {
                return None;
            }
            let rx_queue = fields.get(4)?.split(':').nth(1)?;
            usize::from_str_radix(rx_queue, 16).ok()
        })
        .sum()
}

#[test]
fn ws_server_chat_memory_grows_with_bytes_sent_not_bytes_declared() {
    const CONNECTIONS: usize = 200;
    let server = Server::start(&["--app", "chat"]);
    let pid = server.guard.id();
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let (mut ws, _) = ws6455::client::connect(&server.url()).expect("connect");
        // The greeting: the server's handler is running and waiting in `read`.
        assert!(matches!(ws.read().expect("greeting"), Message::Text(_)));
        clients.push(ws);
    }
    let before = rss_kib(pid);
    let wire = partial_frame(DECLARED, &[0x55; SENT]);
    for ws in &mut clients {
        ws.get_mut()
            .write_all(&wire)
            .expect("send the partial frame");
    }
    // Wait until the server has read every byte (its receive queues are empty): whatever
    // those bytes cost, it has been paid.
    let deadline = Instant::now() + WAIT;
    while unread_at_server(server.addr.port()) > 0 {
        assert!(
            Instant::now() < deadline,
            "the server did not read its input"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let after = rss_kib(pid);
    let per_connection = after.saturating_sub(before) * 1024 / CONNECTIONS;
    assert!(
        per_connection < 64 << 10,
        "RSS grew from {before} KiB to {after} KiB: {per_connection} bytes per connection"
    );
    // The connections are alive and still reading (nothing was refused for memory).
    for ws in &mut clients {
        let tcp = ws.get_mut();
        tcp.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        match tcp.read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the server answered a partial frame: {other:?}"),
        }
    }
}
