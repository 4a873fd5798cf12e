//! The RFC 6455 §5.7 examples through the receiver, and every way of splitting the input giving
//! the same result as feeding it whole.

mod protocol_util;

use protocol_util::*;
use ws6455::frame::OpCode;
use ws6455::protocol::{Protocol, Receiver};
use ws6455::{CloseCode, CloseFrame, Config, Message, Role};

#[test]
fn rfc_single_frame_unmasked_text_hello() {
    let mut p = client();
    let ev = feed(&mut p, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(ev, [Event::Msg(Message::text("Hello"))]);
}

#[test]
fn rfc_single_frame_masked_text_hello() {
    let mut p = server();
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(feed(&mut p, &wire), [Event::Msg(Message::text("Hello"))]);
    assert_eq!(client_frame(true, OpCode::Text, b"Hello"), wire);
}

#[test]
fn rfc_fragmented_unmasked_text_hel_lo() {
    let mut p = client();
    let wire = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
    assert_eq!(feed(&mut p, &wire), [Event::Msg(Message::text("Hello"))]);
    // And our sender produces the same bytes.
    let mut s = Protocol::new(Role::Server, Config::default().fragment_size(3));
    s.send_text("Hello").unwrap();
    assert_eq!(s.pending(), wire);
}

#[test]
fn rfc_unmasked_ping_and_masked_pong() {
    let mut p = client();
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    assert_eq!(
        feed(&mut p, &ping),
        [Event::Msg(Message::Ping(b"Hello".to_vec()))]
    );
    let mut s = server();
    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        feed(&mut s, &pong),
        [Event::Msg(Message::Pong(b"Hello".to_vec()))]
    );
    // The server's auto-pong to the ping is the RFC's unmasked pong.
    let mut s = server();
    feed(&mut s, &client_frame(true, OpCode::Ping, b"Hello"));
    assert_eq!(s.pending(), [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn rfc_256_byte_and_64k_binary_frames() {
    let mut s = server();
    s.send_binary(&[0xAB; 256]).unwrap();
    assert_eq!(&s.pending()[..4], [0x82, 0x7E, 0x01, 0x00]);
    let wire = s.pending().to_vec();
    let mut c = client();
    assert_eq!(
        feed(&mut c, &wire),
        [Event::Msg(Message::binary(vec![0xAB; 256]))]
    );

    let mut s = server();
    s.send_binary(&[0xCD; 65536]).unwrap();
    assert_eq!(
        &s.pending()[..10],
        [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
    );
    let wire = s.pending().to_vec();
    let mut c = client();
    assert_eq!(
        feed(&mut c, &wire),
        [Event::Msg(Message::binary(vec![0xCD; 65536]))]
    );
}

/// A stream with a bit of everything a client may send.
fn mixed_client_stream() -> Vec<u8> {
    let mut w = Vec::new();
    w.extend(client_frame(true, OpCode::Text, "héllo €".as_bytes()));
    w.extend(client_frame(false, OpCode::Text, &"😀".as_bytes()[..1]));
    w.extend(client_frame(true, OpCode::Ping, b"ping"));
    w.extend(client_frame(
        false,
        OpCode::Continuation,
        &"😀".as_bytes()[1..3],
    ));
    w.extend(client_frame(
        true,
        OpCode::Continuation,
        &"😀".as_bytes()[3..],
    ));
    w.extend(client_frame(true, OpCode::Binary, &[0x5A; 300]));
    w.extend(client_frame(true, OpCode::Pong, b""));
    w.extend(client_frame(false, OpCode::Binary, b""));
    w.extend(client_frame(true, OpCode::Continuation, &[1; 130]));
    w.extend(client_frame(true, OpCode::Close, b"\x03\xe8done"));
    w
}

fn expected_mixed() -> Vec<Event> {
    vec![
        Event::Msg(Message::text("héllo €")),
        Event::Msg(Message::Ping(b"ping".to_vec())),
        Event::Msg(Message::text("😀")),
        Event::Msg(Message::binary(vec![0x5A; 300])),
        Event::Msg(Message::Pong(vec![])),
        Event::Msg(Message::binary(vec![1; 130])),
        Event::Msg(Message::Close(Some(CloseFrame::new(
            CloseCode::Normal,
            "done",
        )))),
        Event::Closed,
    ]
}

#[test]
fn mixed_stream_fed_whole_gives_every_message() {
    let mut p = server();
    assert_eq!(feed(&mut p, &mixed_client_stream()), expected_mixed());
}

#[test]
fn mixed_stream_fed_byte_by_byte_gives_the_same_messages_and_replies() {
    let wire = mixed_client_stream();
    let mut whole = server();
    let a = feed(&mut whole, &wire);
    let mut bytewise = server();
    let b = feed_bytewise(&mut bytewise, &wire);
    assert_eq!(a, b);
    assert_eq!(whole.pending(), bytewise.pending());
}

#[test]
fn mixed_stream_split_at_every_pair_of_points_gives_the_same_messages() {
    let wire = mixed_client_stream();
    let expected = expected_mixed();
    let step = 7; // every pair would be ~300k runs; a stride keeps it quick but broad
    for a in (0..=wire.len()).step_by(step) {
        for b in (a..=wire.len()).step_by(step) {
            let mut p = server();
            let mut ev = Vec::new();
            for part in [&wire[..a], &wire[a..b], &wire[b..]] {
                p.receive(part);
                drain(&mut p, &mut ev);
            }
            assert_eq!(ev, expected, "split at {a} and {b}");
        }
    }
}

#[test]
fn mixed_stream_split_at_every_single_point_gives_the_same_messages() {
    let wire = mixed_client_stream();
    let expected = expected_mixed();
    for cut in 0..=wire.len() {
        let mut p = server();
        let mut ev = Vec::new();
        p.receive(&wire[..cut]);
        drain(&mut p, &mut ev);
        p.receive(&wire[cut..]);
        drain(&mut p, &mut ev);
        assert_eq!(ev, expected, "cut at {cut}");
    }
}

#[test]
fn read_buf_and_commit_in_odd_chunks_give_the_same_messages() {
    let wire = mixed_client_stream();
    for chunk in [1, 2, 3, 5, 13, 64, 1000] {
        let mut rx = Receiver::new(Role::Server, &Config::default().read_buffer_size(16));
        let mut ev = Vec::new();
        for part in wire.chunks(chunk) {
            let buf = rx.read_buf(part.len());
            buf[..part.len()].copy_from_slice(part);
            rx.commit(part.len());
            drain_rx(&mut rx, &mut ev);
        }
        assert_eq!(ev, expected_mixed(), "chunk {chunk}");
    }
}

#[test]
fn large_masked_text_frame_fed_byte_by_byte_equals_whole() {
    let text: String = (0..20_000u32)
        .map(|i| char::from_u32(0x20 + (i * 7919) % 0x2000).unwrap_or('x'))
        .collect();
    let wire = client_frame(true, OpCode::Text, text.as_bytes());
    let mut p = server();
    assert_eq!(
        feed_bytewise(&mut p, &wire),
        [Event::Msg(Message::Text(text))]
    );
}

#[test]
fn errors_are_the_same_whether_fed_whole_or_byte_by_byte() {
    let cases: Vec<Vec<u8>> = vec![
        raw_masked(0xC1, b"x"),
        raw_masked(0x85, b""),
        client_frame(true, OpCode::Close, b"\x03"),
        client_frame(true, OpCode::Close, b"\x03\xedx"),
        client_frame(true, OpCode::Text, b"abc\xff"),
        {
            let mut w = client_frame(false, OpCode::Text, b"a");
            w.extend(client_frame(true, OpCode::Binary, b"b"));
            w
        },
        server_frame(true, OpCode::Text, b"unmasked"),
        vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
        vec![0x82, 0xFE, 0x00, 0x7D, 1, 2, 3, 4],
    ];
    for wire in cases {
        let mut a = server();
        let mut b = server();
        let whole = feed(&mut a, &wire);
        let bytewise = feed_bytewise(&mut b, &wire);
        assert_eq!(whole[0], bytewise[0], "{wire:x?}");
        assert!(matches!(whole[0], Event::Protocol(_)), "{wire:x?}");
        assert_eq!(a.pending(), b.pending());
    }
}

/// Reads `wire` through `read_buf`/`commit`, writing `step(i)` bytes on the i-th read (or fewer
/// if the lent slice is shorter), and collects the events.
fn read_through(rx: &mut Receiver, wire: &[u8], step: impl Fn(usize) -> usize) -> Vec<Event> {
    let mut ev = Vec::new();
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let buf = rx.read_buf(1);
        let n = step(i).max(1).min(buf.len()).min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        rx.commit(n);
        rest = &rest[n..];
        i += 1;
        drain_rx(rx, &mut ev);
    }
    ev
}

#[test]
fn large_frames_read_in_uneven_pieces_equal_whole() {
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let text = "größer als 4 KiB ✓ ".repeat(2000);
    let mut wire = client_frame(true, OpCode::Binary, &big);
    wire.extend(client_frame(
        false,
        OpCode::Text,
        &text.as_bytes()[..10_001],
    ));
    wire.extend(client_frame(true, OpCode::Ping, b"mid"));
    wire.extend(client_frame(
        true,
        OpCode::Continuation,
        &text.as_bytes()[10_001..],
    ));
    wire.extend(client_frame(true, OpCode::Binary, b"small"));
    let expected = vec![
        Event::Msg(Message::Binary(big)),
        Event::Msg(Message::Ping(b"mid".to_vec())),
        Event::Msg(Message::Text(text)),
        Event::Msg(Message::binary(b"small".to_vec())),
    ];
    for pattern in [1usize, 3, 1000, 4096, 5000, 70_000, usize::MAX] {
        let mut rx = Receiver::new(Role::Server, &Config::default());
        let ev = read_through(&mut rx, &wire, |i| pattern.wrapping_add(i % 7));
        assert_eq!(ev, expected, "pattern {pattern}");
    }
}

#[test]
fn invalid_utf8_in_a_large_frame_read_directly_fails_before_the_frame_ends() {
    let mut payload = vec![b'a'; 100_000];
    payload[50_000] = 0xC0;
    let wire = client_frame(true, OpCode::Text, &payload);
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let mut fed = 0;
    let mut failed_at = None;
    while fed < wire.len() {
        let buf = rx.read_buf(1);
        let n = buf.len().min(1000).min(wire.len() - fed);
        buf[..n].copy_from_slice(&wire[fed..fed + n]);
        rx.commit(n);
        fed += n;
        match rx.next_message() {
            Ok(None) => {}
            Err(ws6455::Error::Protocol(ws6455::ProtocolError::InvalidUtf8)) => {
                failed_at = Some(fed);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let at = failed_at.expect("error reported");
    // Header is 2 + 8 + 4 bytes; the bad byte is payload byte 50 000.
    assert!(
        at > 14 + 50_000 && at <= 14 + 50_000 + 1000,
        "failed at {at}"
    );
}

#[test]
fn read_buf_without_commit_does_not_disturb_the_stream() {
    let payload: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
    let wire = client_frame(true, OpCode::Binary, &payload);
    let mut rx = Receiver::new(Role::Server, &Config::default());
    rx.receive(&wire[..20_000]);
    assert_eq!(rx.next_message().unwrap(), None);
    // Lend a buffer, scribble in it, never commit.
    rx.read_buf(1).fill(0xEE);
    assert_eq!(rx.next_message().unwrap(), None);
    rx.read_buf(10).fill(0xDD);
    rx.receive(&wire[20_000..]);
    assert_eq!(rx.next_message().unwrap(), Some(Message::Binary(payload)));
}
