//! A client and a server core talking through byte buffers: everything sent arrives unchanged,
//! with and without fragmentation, in both directions.

mod protocol_util;

use protocol_util::*;
use ws6455::frame::OpCode;
use ws6455::protocol::{Protocol, Receiver, Sender, State};
use ws6455::{CloseCode, CloseFrame, Config, Error, Message, Role};

/// Moves `from`'s output into `to`'s input, `chunk` bytes at a time, collecting `to`'s events.
fn pump(from: &mut Protocol, to: &mut Protocol, chunk: usize) -> Vec<Event> {
    let wire = from.pending().to_vec();
    from.consume(wire.len());
    let mut ev = Vec::new();
    for part in wire.chunks(chunk.max(1)) {
        to.receive(part);
        drain(to, &mut ev);
    }
    ev
}

fn messages() -> Vec<Message> {
    vec![
        Message::text(""),
        Message::text("hello"),
        Message::text("ünïcödé ✓ 😀".repeat(50)),
        Message::binary(vec![]),
        Message::binary((0..=255u8).collect::<Vec<_>>()),
        Message::binary(vec![0xEE; 70_000]),
        Message::Ping(b"p".to_vec()),
        Message::Pong(vec![1; 125]),
    ]
}

fn round_trip(sender_role: Role, fragment_size: usize, chunk: usize) {
    let receiver_role = match sender_role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let mut tx = Protocol::new(sender_role, Config::default().fragment_size(fragment_size));
    let mut rx = Protocol::new(receiver_role, Config::default());
    for m in messages() {
        tx.send(&m).unwrap();
    }
    let ev = pump(&mut tx, &mut rx, chunk);
    let expected: Vec<Event> = messages().into_iter().map(Event::Msg).collect();
    assert_eq!(
        ev, expected,
        "{sender_role:?} fragment {fragment_size} chunk {chunk}"
    );
}

#[test]
fn client_to_server_messages_arrive_unchanged() {
    round_trip(Role::Client, usize::MAX, usize::MAX);
}

#[test]
fn server_to_client_messages_arrive_unchanged() {
    round_trip(Role::Server, usize::MAX, usize::MAX);
}

#[test]
fn fragmented_messages_arrive_unchanged_in_both_directions() {
    for role in [Role::Client, Role::Server] {
        for fragment in [1, 3, 100, 4096] {
            round_trip(role, fragment, 1000);
        }
    }
}

#[test]
fn messages_arrive_unchanged_when_the_wire_is_cut_into_small_pieces() {
    for role in [Role::Client, Role::Server] {
        for chunk in [1, 2, 7, 1500] {
            round_trip(role, 777, chunk);
        }
    }
}

#[test]
fn ping_pong_and_close_handshake_initiated_by_the_server() {
    let mut c = client();
    let mut s = server();
    s.ping(b"hb").unwrap();
    assert_eq!(
        pump(&mut s, &mut c, 3),
        [Event::Msg(Message::Ping(b"hb".to_vec()))]
    );
    assert_eq!(
        pump(&mut c, &mut s, 3),
        [Event::Msg(Message::Pong(b"hb".to_vec()))]
    );

    s.close(Some(CloseFrame::new(CloseCode::Away, "restart")))
        .unwrap();
    assert_eq!(s.state(), State::Closing);
    assert_eq!(
        pump(&mut s, &mut c, 3),
        [
            Event::Msg(Message::Close(Some(CloseFrame::new(
                CloseCode::Away,
                "restart"
            )))),
            Event::Closed
        ]
    );
    assert_eq!(c.state(), State::CloseReceived);
    assert_eq!(
        pump(&mut c, &mut s, 3),
        [
            Event::Msg(Message::Close(Some(CloseFrame::new(
                CloseCode::Away,
                "restart"
            )))),
            Event::Closed
        ]
    );
    assert_eq!(c.state(), State::Closed);
    assert_eq!(s.state(), State::Closed);
    assert!(c.is_done() && s.is_done());
}

#[test]
fn simultaneous_close_completes_on_both_sides() {
    let mut c = client();
    let mut s = server();
    c.close(None).unwrap();
    s.close(Some(CloseFrame::new(CloseCode::Normal, "")))
        .unwrap();
    let at_server = pump(&mut c, &mut s, 100);
    let at_client = pump(&mut s, &mut c, 100);
    assert_eq!(at_server, [Event::Msg(Message::Close(None)), Event::Closed]);
    assert_eq!(
        at_client,
        [
            Event::Msg(Message::Close(Some(CloseFrame::new(CloseCode::Normal, "")))),
            Event::Closed
        ]
    );
    // Neither side sent a second close.
    assert!(c.pending().is_empty() && s.pending().is_empty());
    assert_eq!((c.state(), s.state()), (State::Closed, State::Closed));
}

#[test]
fn split_halves_behave_like_the_whole_protocol() {
    let (mut rx, mut tx) = Protocol::new(Role::Server, Config::default()).into_parts();
    let mut c = client();
    c.ping(b"1").unwrap();
    c.send_text("two").unwrap();
    c.close(None).unwrap();
    let wire = c.pending().to_vec();
    rx.receive(&wire);
    let mut got = Vec::new();
    loop {
        let r = rx.next_message();
        tx.respond(&r);
        match r {
            Ok(Some(m)) => got.push(m),
            Ok(None) => break,
            Err(Error::ConnectionClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        got,
        [
            Message::Ping(b"1".to_vec()),
            Message::text("two"),
            Message::Close(None)
        ]
    );
    let out = frames(tx.pending());
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].header.opcode, &out[0].payload[..]),
        (OpCode::Pong, &b"1"[..])
    );
    assert_eq!(out[1].header.opcode, OpCode::Close);
    let p = Protocol::from_parts(rx, tx);
    assert!(p.is_done());
    assert_eq!(p.state(), State::CloseReceived);
}

#[test]
fn thousands_of_small_messages_round_trip() {
    let mut c = client();
    let mut s = server();
    for i in 0..5000u32 {
        c.send_text(&format!("message {i}")).unwrap();
    }
    let ev = pump(&mut c, &mut s, 4096);
    assert_eq!(ev.len(), 5000);
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e, &Event::Msg(Message::text(format!("message {i}"))));
    }
}

#[test]
fn output_written_in_pieces_while_more_is_queued_stays_in_order() {
    // Written bytes are dropped from the queue's front only when more is queued; whatever the
    // piece sizes, what goes out is exactly the frames in order, pongs included.
    use ws6455::protocol::{Receiver, Sender};
    for piece in [1, 7, 4095, 4096, 5000, 65536] {
        let mut tx = Sender::new(Role::Server, &Config::default());
        let mut wire = Vec::new();
        let mut sent = Vec::new();
        for i in 0..40u32 {
            let msg = Message::binary(vec![i as u8; 3000 + i as usize * 97]);
            tx.send(&msg).unwrap();
            sent.push(msg);
            if i % 7 == 3 {
                // An automatic pong is queued (and replaced while unsent) among the data.
                let ping = Message::Ping(vec![i as u8; 5]);
                tx.respond(&Ok(Some(ping)));
            }
            let n = tx.pending().len().min(piece);
            wire.extend_from_slice(&tx.pending()[..n]);
            tx.consume(n);
        }
        wire.extend_from_slice(tx.pending());
        let mut rx = Receiver::new(Role::Client, &Config::default());
        rx.receive(&wire);
        let mut data = Vec::new();
        while let Some(m) = rx.next_message().unwrap() {
            if !matches!(m, Message::Pong(_)) {
                data.push(m);
            }
        }
        assert_eq!(data, sent, "piece {piece}");
        assert_eq!(rx.buffered(), 0, "piece {piece}");
    }
}

/// Where a large payload lands in the queue relative to its source, modulo 4096.
fn queued_apart(tx: &Sender, src: &[u8]) -> usize {
    let pending = tx.pending();
    let dst = pending[pending.len() - src.len()..].as_ptr() as usize;
    dst.wrapping_sub(src.as_ptr() as usize) & 4095
}

#[test]
fn large_payloads_are_queued_half_a_page_from_their_source() {
    // A copy whose destination is just past its source modulo 4096 runs many times slower on
    // some CPUs ("4K aliasing"); the sender places large payloads 1-3 KiB from their source,
    // whatever the source's offset, for whole messages and frame by frame, behind what little
    // is queued already.
    let big: Vec<u8> = (0..(64 << 10) + 8192).map(|i: u32| i as u8).collect();
    for role in [Role::Client, Role::Server] {
        for start in (0..4096).step_by(64) {
            let src = &big[start..start + (64 << 10)];
            let mut tx = Sender::new(role, &Config::default());
            tx.send_binary(src).unwrap();
            let apart = queued_apart(&tx, src);
            assert!((1024..=3072).contains(&apart), "{role:?} {start}: {apart}");

            let mut tx = Sender::new(role, &Config::default());
            tx.ping(b"queued first").unwrap();
            tx.write_frame_start(OpCode::Binary, true, src.len() as u64)
                .unwrap();
            tx.write_chunk(src).unwrap();
            let apart = queued_apart(&tx, src);
            assert!((1024..=3072).contains(&apart), "{role:?} {start}: {apart}");

            // The bytes are still right.
            let peer = match role {
                Role::Client => Role::Server,
                Role::Server => Role::Client,
            };
            let mut rx = Receiver::new(peer, &Config::default());
            rx.receive(tx.pending());
            assert_eq!(
                rx.next_message().unwrap(),
                Some(Message::Ping(b"queued first".to_vec()))
            );
            assert_eq!(
                rx.next_message().unwrap(),
                Some(Message::binary(src.to_vec()))
            );
        }
    }
}
