//! Arithmetic reachable from the peer's bytes or the public API must not overflow: these run
//! in the debug build too (`scripts/test.sh` runs the protocol tests without `--release`, so
//! overflow checks are on), where an overflow is a panic.

mod protocol_util;

use protocol_util::{client_frame, server_frame};
use ws6455::frame::{FrameHeader, OpCode};
use ws6455::protocol::{Chunk, Protocol, Receiver};
use ws6455::{Config, Message, Role};

/// Moves everything `from` has queued into `to`.
fn pump(from: &mut Protocol, to: &mut Protocol) {
    let n = from.pending().len();
    to.receive(from.pending());
    from.consume(n);
}

/// Reads every message `p` has received so far.
fn messages(p: &mut Protocol) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(m) = p.next_message().unwrap() {
        out.push(m);
    }
    out
}

/// The known case: one byte of an automatic pong written (`consume(1)`), then a data
/// message of 16 KiB or more queued behind it. The sender's bookkeeping of the pong's place
/// computed `at - from + to` and overflowed (a panic in debug builds).
#[test]
fn a_partly_written_auto_pong_then_a_16_kib_send_arrives_intact() {
    for (role, peer_role) in [(Role::Server, Role::Client), (Role::Client, Role::Server)] {
        for size in [16 << 10, (16 << 10) + 1, 100_000, 1 << 20] {
            let mut us = Protocol::new(role, Config::default());
            let mut peer = Protocol::new(peer_role, Config::default());
            peer.ping(b"are you there").unwrap();
            pump(&mut peer, &mut us);
            assert_eq!(
                messages(&mut us),
                [Message::Ping(b"are you there".to_vec())]
            );
            assert!(!us.pending().is_empty(), "no automatic pong queued");
            // One byte of the pong goes out, then a large message is queued.
            let first = us.pending()[0];
            us.consume(1);
            let payload: Vec<u8> = (0..size).map(|i| (i % 241) as u8).collect();
            us.send_binary(&payload).unwrap();
            let mut wire = vec![first];
            wire.extend_from_slice(us.pending());
            let n = us.pending().len();
            us.consume(n);
            peer.receive(&wire);
            assert_eq!(
                messages(&mut peer),
                [
                    Message::Pong(b"are you there".to_vec()),
                    Message::Binary(payload)
                ],
                "{role:?}, {size} bytes"
            );
        }
    }
}

/// With every limit at its maximum, a peer may announce frames of up to 2^63 - 1 bytes: the
/// receiver's sums, differences and 64-to-native casts of such lengths must hold.
fn unlimited() -> Config {
    Config::default()
        .max_frame_size(usize::MAX)
        .max_message_size(usize::MAX)
        .max_fragments(usize::MAX)
}

/// A masked header (as a client sends) announcing `len` payload bytes.
fn masked_header(fin: bool, opcode: OpCode, len: u64) -> Vec<u8> {
    let mut wire = Vec::new();
    FrameHeader::new(fin, opcode, Some([0; 4]), len).write_to(&mut wire);
    wire
}

#[test]
fn frames_announcing_2_pow_63_bytes_read_whole_do_not_overflow() {
    let huge = u64::MAX >> 1;
    let mut rx = Receiver::new(Role::Server, &unlimited());
    rx.receive(&masked_header(false, OpCode::Binary, huge));
    assert_eq!(rx.next_message().unwrap(), None);
    assert_eq!(rx.frame_remaining(), huge);
    let mut sent = 0u64;
    for _ in 0..8 {
        let want = rx.read_size_hint(4096);
        assert!(want <= 1 << 20, "asked for {want} bytes");
        let lent = rx.read_buf(want).len();
        assert!(lent >= want);
        // Reporting more than was lent counts only what was lent.
        rx.commit(usize::MAX);
        sent += lent as u64;
        assert_eq!(rx.next_message().unwrap(), None);
        assert_eq!(rx.frame_remaining(), huge - sent);
    }
    assert!(rx.capacity() <= 2 * sent as usize + (24 << 10));
}

#[test]
fn frames_announcing_2_pow_62_bytes_read_by_chunks_do_not_overflow() {
    let big = 1u64 << 62;
    let mut rx = Receiver::new(Role::Server, &unlimited());
    rx.receive(&masked_header(false, OpCode::Binary, big));
    let mut buf = vec![0u8; 1000];
    assert_eq!(
        rx.next_chunk(&mut buf).unwrap(),
        Some(Chunk::FrameStart {
            opcode: OpCode::Binary,
            fin: false,
            len: big
        })
    );
    rx.receive(&[0u8; 3000]);
    let mut got = 0;
    while let Some(Chunk::Data { len, .. }) = rx.next_chunk(&mut buf).unwrap() {
        got += len;
    }
    assert_eq!(got, 3000);
    assert_eq!(rx.frame_remaining(), big - 3000);
}

#[test]
fn a_message_over_the_limit_by_announced_lengths_is_refused_without_overflow() {
    // A limit of 2^63 - 1 bytes, 4 received, then a frame announcing 2^63 - 1 more: the
    // continuation's header must fail with 1009 in both read modes.
    let huge = u64::MAX >> 1;
    let mut rx = Receiver::new(Role::Client, &unlimited().max_message_size(huge as usize));
    let mut wire = Vec::new();
    FrameHeader::new(false, OpCode::Binary, None, 4).write_to(&mut wire);
    wire.extend_from_slice(&[1, 2, 3, 4]);
    FrameHeader::new(false, OpCode::Continuation, None, huge).write_to(&mut wire);
    rx.receive(&wire);
    let mut buf = [0u8; 16];
    let mut chunks = 0;
    let err = loop {
        match rx.next_chunk(&mut buf) {
            Ok(Some(_)) => chunks += 1,
            Ok(None) => panic!("needed more bytes after {chunks} chunks"),
            Err(e) => break e,
        }
    };
    assert_eq!(chunks, 2, "the first frame's start and data");
    assert_eq!(err.close_code(), Some(ws6455::CloseCode::Size), "{err}");
    // The same through whole-message reads.
    let mut rx = Receiver::new(Role::Client, &unlimited().max_message_size(huge as usize));
    rx.receive(&wire);
    let err = rx.next_message().unwrap_err();
    assert_eq!(err.close_code(), Some(ws6455::CloseCode::Size), "{err}");
}

#[test]
fn control_frames_and_small_frames_at_the_edges_of_the_length_encodings() {
    // 125, 126, 65 535 and 65 536 bytes: the edges of the 7-bit, 16-bit and 64-bit forms.
    let mut p = Protocol::new(Role::Server, Config::default());
    let mut wire = client_frame(true, OpCode::Ping, &[9; 125]);
    for len in [125usize, 126, 65_535, 65_536] {
        wire.extend(client_frame(true, OpCode::Binary, &vec![len as u8; len]));
    }
    for piece in wire.chunks(4093) {
        p.receive(piece);
    }
    let got = messages(&mut p);
    assert_eq!(got[0], Message::Ping(vec![9; 125]));
    let lens: Vec<usize> = got[1..].iter().map(Message::len).collect();
    assert_eq!(lens, [125, 126, 65_535, 65_536]);
    // And a client reading the unmasked forms of the same.
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(&server_frame(true, OpCode::Binary, &[1; 65_536]));
    assert_eq!(
        rx.next_message().unwrap(),
        Some(Message::Binary(vec![1; 65_536]))
    );
}
