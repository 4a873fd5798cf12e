//! Size limits: checked on the header, before the excess is buffered; floods stay bounded.

mod protocol_util;

use protocol_util::*;
use ws6455::frame::{FrameHeader, OpCode};
use ws6455::protocol::{Protocol, Receiver};
use ws6455::{CloseCode, Config, Error, Message, ProtocolError, Role};

fn header_only(opcode: OpCode, fin: bool, len: u64) -> Vec<u8> {
    let mut out = Vec::new();
    FrameHeader::new(fin, opcode, Some(KEY), len).write_to(&mut out);
    out
}

#[test]
fn frame_over_max_frame_size_fails_with_1009_from_its_header_alone() {
    let mut p = Protocol::new(Role::Server, Config::default().max_frame_size(1000));
    let ev = feed(&mut p, &header_only(OpCode::Binary, true, 1001));
    assert_eq!(
        ev,
        [Event::Protocol(ProtocolError::FrameTooLarge {
            limit: 1000
        })]
    );
    assert_failed_with(&mut p, &ev, CloseCode::Size);
}

#[test]
fn frame_of_exactly_max_frame_size_is_accepted() {
    let mut p = Protocol::new(Role::Server, Config::default().max_frame_size(1000));
    let ev = feed(&mut p, &client_frame(true, OpCode::Binary, &[7; 1000]));
    assert_eq!(ev, [Event::Msg(Message::binary(vec![7; 1000]))]);
}

#[test]
fn huge_declared_length_fails_without_allocating_it() {
    // 2^62 bytes announced: refused from the header (default limits), nothing reserved.
    let mut p = server();
    let ev = feed(&mut p, &header_only(OpCode::Binary, true, 1 << 62));
    assert!(matches!(
        ev[..],
        [Event::Protocol(ProtocolError::FrameTooLarge { .. })]
    ));
}

#[test]
fn message_over_max_message_size_fails_with_1009_at_the_header_that_crosses_it() {
    let config = Config::default().max_message_size(10);
    let mut p = Protocol::new(Role::Server, config);
    p.receive(&client_frame(false, OpCode::Text, b"123456"));
    assert_eq!(p.next_message().unwrap(), None);
    // The next header announces 5 more bytes: 11 > 10, refused before any payload arrives.
    let ev = feed(&mut p, &header_only(OpCode::Continuation, true, 5));
    assert_eq!(
        ev,
        [Event::Protocol(ProtocolError::MessageTooLarge {
            limit: 10
        })]
    );
    assert_failed_with(&mut p, &ev, CloseCode::Size);
}

#[test]
fn single_frame_over_max_message_size_fails_with_1009() {
    let mut p = Protocol::new(Role::Server, Config::default().max_message_size(10));
    let ev = feed(&mut p, &header_only(OpCode::Binary, true, 11));
    assert_eq!(
        ev,
        [Event::Protocol(ProtocolError::MessageTooLarge {
            limit: 10
        })]
    );
}

#[test]
fn message_of_exactly_max_message_size_is_accepted() {
    let mut p = Protocol::new(Role::Server, Config::default().max_message_size(10));
    let mut wire = client_frame(false, OpCode::Binary, &[1; 6]);
    wire.extend(client_frame(true, OpCode::Continuation, &[2; 4]));
    let ev = feed(&mut p, &wire);
    assert_eq!(ev.len(), 1);
}

#[test]
fn more_than_max_fragments_fails_with_1009() {
    let mut p = Protocol::new(Role::Server, Config::default().max_fragments(3));
    let mut wire = client_frame(false, OpCode::Text, b"a");
    wire.extend(client_frame(false, OpCode::Continuation, b"b"));
    wire.extend(client_frame(false, OpCode::Continuation, b"c"));
    wire.extend(client_frame(true, OpCode::Continuation, b"d"));
    let ev = feed(&mut p, &wire);
    assert_eq!(
        ev,
        [Event::Protocol(ProtocolError::TooManyFragments {
            limit: 3
        })]
    );
    assert_failed_with(&mut p, &ev, CloseCode::Size);
}

#[test]
fn exactly_max_fragments_is_accepted_and_the_count_restarts_per_message() {
    let mut p = Protocol::new(Role::Server, Config::default().max_fragments(3));
    let mut one = client_frame(false, OpCode::Text, b"a");
    one.extend(client_frame(false, OpCode::Continuation, b"b"));
    one.extend(client_frame(true, OpCode::Continuation, b"c"));
    let mut wire = one.clone();
    wire.extend(&one);
    wire.extend(client_frame(true, OpCode::Text, b"single"));
    assert_eq!(
        feed(&mut p, &wire),
        [
            Event::Msg(Message::text("abc")),
            Event::Msg(Message::text("abc")),
            Event::Msg(Message::text("single"))
        ]
    );
}

#[test]
fn empty_fragment_flood_is_bounded_by_max_fragments() {
    let mut p = Protocol::new(Role::Server, Config::default().max_fragments(1000));
    let mut wire = client_frame(false, OpCode::Binary, b"");
    let empty = client_frame(false, OpCode::Continuation, b"");
    for _ in 0..5000 {
        wire.extend(&empty);
    }
    let ev = feed(&mut p, &wire);
    assert_eq!(
        ev,
        [Event::Protocol(ProtocolError::TooManyFragments {
            limit: 1000
        })]
    );
}

#[test]
fn one_byte_fragment_flood_is_bounded_by_max_fragments() {
    let mut p = Protocol::new(Role::Server, Config::default().max_fragments(100));
    let mut wire = client_frame(false, OpCode::Text, b"x");
    for _ in 0..500 {
        wire.extend(client_frame(false, OpCode::Continuation, b"x"));
    }
    let ev = feed_bytewise(&mut p, &wire);
    assert_eq!(
        ev,
        [
            Event::Protocol(ProtocolError::TooManyFragments { limit: 100 }),
            Event::Closed
        ]
    );
}

#[test]
fn large_frame_streams_through_a_small_input_buffer() {
    // A 1 MiB frame read 4 KiB at a time through read_buf/commit: the input buffer never grows,
    // the payload moves into the message as it arrives.
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let wire = client_frame(true, OpCode::Binary, &payload);
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let mut got = None;
    for chunk in wire.chunks(4096) {
        let buf = rx.read_buf(chunk.len());
        buf[..chunk.len()].copy_from_slice(chunk);
        rx.commit(chunk.len());
        if let Some(m) = rx.next_message().unwrap() {
            got = Some(m);
        }
        assert!(rx.buffered() < 16, "input buffer holds {}", rx.buffered());
        assert!(rx.read_buf(1).len() <= 1 << 20);
    }
    assert_eq!(got, Some(Message::Binary(payload)));
}

#[test]
fn shrink_returns_the_input_buffer_to_its_initial_size() {
    let mut rx = Receiver::new(Role::Server, &Config::default().read_buffer_size(4096));
    let wire = client_frame(true, OpCode::Binary, &[1; 100_000]);
    rx.receive(&wire);
    assert!(rx.next_message().unwrap().is_some());
    assert!(rx.read_buf(1).len() > 4096);
    rx.shrink();
    assert_eq!(rx.read_buf(1).len(), 4096);
}

#[test]
fn shrink_keeps_unconsumed_bytes() {
    let mut rx = Receiver::new(Role::Client, &Config::default().read_buffer_size(64));
    let tail = server_frame(true, OpCode::Text, b"tail");
    let mut wire = server_frame(true, OpCode::Binary, &[1; 10_000]);
    wire.extend(&tail[..3]);
    rx.receive(&wire);
    assert_eq!(rx.next_message().unwrap().unwrap().len(), 10_000);
    rx.shrink();
    assert_eq!(rx.buffered(), 3);
    rx.receive(&tail[3..]);
    assert_eq!(rx.next_message().unwrap(), Some(Message::text("tail")));
}

#[test]
fn tiny_read_buffer_still_decodes_everything() {
    let mut p = Protocol::new(Role::Server, Config::default().read_buffer_size(1));
    let mut wire = client_frame(true, OpCode::Ping, &[9; 125]);
    wire.extend(client_frame(true, OpCode::Text, &[b'a'; 300]));
    let mut ev = Vec::new();
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let buf = p.read_buf(1);
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        p.commit(n);
        rest = &rest[n..];
        drain(&mut p, &mut ev);
    }
    assert_eq!(
        ev,
        [
            Event::Msg(Message::Ping(vec![9; 125])),
            Event::Msg(Message::text("a".repeat(300)))
        ]
    );
}

#[test]
fn receiving_after_the_end_does_not_buffer() {
    let mut p = server();
    feed(&mut p, &raw_masked(0x83, b""));
    for _ in 0..100 {
        p.receive(&[0u8; 10_000]);
    }
    assert_eq!(p.buffered(), 0);
    assert!(matches!(p.next_message(), Err(Error::ConnectionClosed)));
}

#[test]
fn shrink_keeps_a_buffer_that_only_grew_a_little() {
    // The socket layer shrinks after every message; a buffer that grew to 8 KiB to fit a
    // partial frame plus a full read must not be reallocated each time.
    let mut rx = Receiver::new(Role::Server, &Config::default());
    assert!(rx.read_buf(8192).len() >= 8192);
    rx.shrink();
    assert!(rx.read_buf(1).len() >= 8192);
}
