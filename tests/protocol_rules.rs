//! Every framing, fragmentation, UTF-8, ping/pong and close rule of RFC 6455, one test each.

mod protocol_util;

use protocol_util::*;
use ws6455::frame::OpCode;
use ws6455::protocol::{Protocol, State};
use ws6455::{CloseCode, CloseFrame, Config, Error, Message, ProtocolError, Role};

#[test]
fn rsv_bits_without_extension_fail_with_1002() {
    for rsv in 1..8u8 {
        let mut p = server();
        let ev = feed(&mut p, &raw_masked(0x80 | (rsv << 4) | 0x2, b"x"));
        assert_eq!(ev, [Event::Protocol(ProtocolError::ReservedBits(rsv))]);
        assert_failed_with(&mut p, &ev, CloseCode::Protocol);
    }
}

#[test]
fn reserved_opcodes_fail_with_1002() {
    for op in (0x3..=0x7).chain(0xB..=0xF) {
        let mut p = server();
        let ev = feed(&mut p, &raw_masked(0x80 | op, b""));
        assert_eq!(ev, [Event::Protocol(ProtocolError::ReservedOpcode(op))]);
        assert_failed_with(&mut p, &ev, CloseCode::Protocol);
    }
}

#[test]
fn control_frame_with_126_byte_payload_fails_with_1002() {
    for op in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        let mut p = server();
        let ev = feed(&mut p, &client_frame(true, op, &[b'a'; 126]));
        assert_eq!(
            ev,
            [Event::Protocol(ProtocolError::ControlFrameTooLong(126))]
        );
        assert_failed_with(&mut p, &ev, CloseCode::Protocol);
    }
}

#[test]
fn control_frame_with_125_byte_payload_is_accepted() {
    let mut p = server();
    let ev = feed(&mut p, &client_frame(true, OpCode::Ping, &[b'a'; 125]));
    assert_eq!(ev, [Event::Msg(Message::Ping(vec![b'a'; 125]))]);
}

#[test]
fn fragmented_control_frame_fails_with_1002() {
    for op in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        let mut p = server();
        let ev = feed(&mut p, &client_frame(false, op, b""));
        assert_eq!(ev, [Event::Protocol(ProtocolError::FragmentedControlFrame)]);
        assert_failed_with(&mut p, &ev, CloseCode::Protocol);
    }
}

#[test]
fn non_minimal_16_bit_length_fails_with_1002() {
    let mut p = client();
    let mut wire = vec![0x82, 126, 0, 5];
    wire.extend_from_slice(b"hello");
    let ev = feed(&mut p, &wire);
    assert_eq!(ev, [Event::Protocol(ProtocolError::NonMinimalLength)]);
    assert_failed_with(&mut p, &ev, CloseCode::Protocol);
}

#[test]
fn non_minimal_64_bit_length_fails_with_1002() {
    let mut p = client();
    let mut wire = vec![0x82, 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00];
    wire.extend_from_slice(&[0; 256]);
    let ev = feed(&mut p, &wire);
    assert_eq!(ev, [Event::Protocol(ProtocolError::NonMinimalLength)]);
    assert_failed_with(&mut p, &ev, CloseCode::Protocol);
}

#[test]
fn length_with_top_bit_set_fails_with_1002() {
    let mut p = client();
    let ev = feed(&mut p, &[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(ev, [Event::Protocol(ProtocolError::LengthOverflow)]);
    assert_failed_with(&mut p, &ev, CloseCode::Protocol);
}

#[test]
fn continuation_without_message_in_progress_fails_with_1002() {
    let mut p = server();
    let ev = feed(&mut p, &client_frame(true, OpCode::Continuation, b"x"));
    assert_eq!(ev, [Event::Protocol(ProtocolError::UnexpectedContinuation)]);
    assert_failed_with(&mut p, &ev, CloseCode::Protocol);
}

#[test]
fn new_data_frame_while_fragmented_message_in_progress_fails_with_1002() {
    for op in [OpCode::Text, OpCode::Binary] {
        let mut p = server();
        let mut wire = client_frame(false, OpCode::Text, b"a");
        wire.extend(client_frame(true, op, b"b"));
        let ev = feed(&mut p, &wire);
        assert_eq!(ev, [Event::Protocol(ProtocolError::ExpectedContinuation)]);
        assert_failed_with(&mut p, &ev, CloseCode::Protocol);
    }
}

#[test]
fn unmasked_frame_at_server_fails_with_1002() {
    let mut p = server();
    let ev = feed(&mut p, &server_frame(true, OpCode::Text, b"hi"));
    assert_eq!(ev, [Event::Protocol(ProtocolError::UnmaskedFrame)]);
    assert_failed_with(&mut p, &ev, CloseCode::Protocol);
}

#[test]
fn masked_frame_at_client_fails_with_1002() {
    let mut p = client();
    let ev = feed(&mut p, &client_frame(true, OpCode::Text, b"hi"));
    assert_eq!(ev, [Event::Protocol(ProtocolError::MaskedFrame)]);
    assert_failed_with(&mut p, &ev, CloseCode::Protocol);
}

#[test]
fn invalid_utf8_in_single_frame_text_fails_with_1007() {
    let mut p = server();
    let ev = feed(&mut p, &client_frame(true, OpCode::Text, b"ok\xc0\xafok"));
    assert_eq!(ev, [Event::Protocol(ProtocolError::InvalidUtf8)]);
    assert_failed_with(&mut p, &ev, CloseCode::Invalid);
}

#[test]
fn text_ending_inside_a_code_point_fails_with_1007() {
    let mut p = server();
    let ev = feed(&mut p, &client_frame(true, OpCode::Text, b"caf\xc3"));
    assert_eq!(ev, [Event::Protocol(ProtocolError::InvalidUtf8)]);
    assert_failed_with(&mut p, &ev, CloseCode::Invalid);

    let mut p = server();
    let mut wire = client_frame(false, OpCode::Text, b"caf");
    wire.extend(client_frame(true, OpCode::Continuation, b"\xc3"));
    let ev = feed(&mut p, &wire);
    assert_eq!(ev, [Event::Protocol(ProtocolError::InvalidUtf8)]);
}

#[test]
fn code_point_split_across_fragments_is_accepted() {
    let euro = "€".as_bytes();
    let mut p = server();
    let mut wire = client_frame(false, OpCode::Text, &euro[..1]);
    wire.extend(client_frame(false, OpCode::Continuation, &euro[1..2]));
    wire.extend(client_frame(true, OpCode::Continuation, &euro[2..]));
    assert_eq!(feed(&mut p, &wire), [Event::Msg(Message::text("€"))]);
}

#[test]
fn invalid_utf8_fails_fast_in_a_fragment_before_the_message_ends() {
    let mut p = server();
    let mut wire = client_frame(false, OpCode::Text, b"fine");
    wire.extend(client_frame(false, OpCode::Continuation, b"\xed\xa0\x80"));
    // The final fragment never arrives: the error must not wait for it.
    let ev = feed(&mut p, &wire);
    assert_eq!(ev, [Event::Protocol(ProtocolError::InvalidUtf8)]);
    assert_failed_with(&mut p, &ev, CloseCode::Invalid);
}

#[test]
fn invalid_utf8_fails_fast_inside_one_frame_fed_byte_by_byte() {
    // A 1000-byte text frame whose 11th payload byte is invalid. Fed one byte at a time, the
    // error must come exactly when that byte arrives, long before the frame is complete.
    let mut payload = vec![b'a'; 1000];
    payload[10] = 0xFF;
    let wire = client_frame(true, OpCode::Text, &payload);
    let header_len = 2 + 2 + 4;
    let mut p = server();
    for (i, b) in wire.iter().enumerate() {
        p.receive(std::slice::from_ref(b));
        let got = p.next_message();
        if i < header_len + 10 {
            assert!(matches!(got, Ok(None)), "byte {i}: {got:?}");
        } else {
            assert!(
                matches!(got, Err(Error::Protocol(ProtocolError::InvalidUtf8))),
                "byte {i}: {got:?}"
            );
            assert_eq!(close_code_in(p.pending()), Some(Some(CloseCode::Invalid)));
            return;
        }
    }
    panic!("no error");
}

#[test]
fn surrogate_fails_fast_at_its_second_byte_inside_one_frame() {
    let mut payload = b"abc\xed\xa0\x80".to_vec();
    payload.extend_from_slice(&[b'z'; 200]);
    let wire = client_frame(true, OpCode::Text, &payload);
    let mut p = server();
    let header_len = 8;
    p.receive(&wire[..header_len + 4]); // up to and including 0xED
    assert!(matches!(p.next_message(), Ok(None)));
    p.receive(&wire[header_len + 4..header_len + 5]); // 0xA0
    assert!(matches!(
        p.next_message(),
        Err(Error::Protocol(ProtocolError::InvalidUtf8))
    ));
}

#[test]
fn invalid_utf8_in_close_reason_fails_with_1007() {
    let mut p = server();
    let ev = feed(
        &mut p,
        &client_frame(true, OpCode::Close, b"\x03\xe8bad\xff"),
    );
    assert_eq!(ev, [Event::Protocol(ProtocolError::InvalidUtf8)]);
    assert_failed_with(&mut p, &ev, CloseCode::Invalid);
}

#[test]
fn close_payload_of_one_byte_fails_with_1002() {
    let mut p = server();
    let ev = feed(&mut p, &client_frame(true, OpCode::Close, b"\x03"));
    assert_eq!(ev, [Event::Protocol(ProtocolError::InvalidClosePayload)]);
    assert_failed_with(&mut p, &ev, CloseCode::Protocol);
}

#[test]
fn close_code_not_allowed_on_wire_fails_with_1002() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        let mut p = server();
        let ev = feed(
            &mut p,
            &client_frame(true, OpCode::Close, &code.to_be_bytes()),
        );
        assert_eq!(ev, [Event::Protocol(ProtocolError::InvalidCloseCode(code))]);
        assert_failed_with(&mut p, &ev, CloseCode::Protocol);
    }
}

#[test]
fn fragmented_text_is_reassembled() {
    let mut p = server();
    let mut wire = client_frame(false, OpCode::Text, b"Hel");
    wire.extend(client_frame(true, OpCode::Continuation, b"lo"));
    assert_eq!(feed(&mut p, &wire), [Event::Msg(Message::text("Hello"))]);
}

#[test]
fn fragmented_binary_with_empty_fragments_is_reassembled() {
    let mut p = server();
    let mut wire = client_frame(false, OpCode::Binary, b"");
    wire.extend(client_frame(false, OpCode::Continuation, b"\x01"));
    wire.extend(client_frame(false, OpCode::Continuation, b""));
    wire.extend(client_frame(true, OpCode::Continuation, b"\x02\x03"));
    assert_eq!(
        feed(&mut p, &wire),
        [Event::Msg(Message::binary(vec![1, 2, 3]))]
    );
}

#[test]
fn empty_text_and_binary_messages_are_delivered() {
    let mut p = server();
    let mut wire = client_frame(true, OpCode::Text, b"");
    wire.extend(client_frame(true, OpCode::Binary, b""));
    assert_eq!(
        feed(&mut p, &wire),
        [
            Event::Msg(Message::text("")),
            Event::Msg(Message::binary(vec![]))
        ]
    );
}

#[test]
fn control_frames_between_fragments_are_delivered_at_once() {
    let mut p = server();
    p.receive(&client_frame(false, OpCode::Text, b"Hel"));
    p.receive(&client_frame(true, OpCode::Ping, b"p"));
    assert_eq!(
        p.next_message().unwrap(),
        Some(Message::Ping(b"p".to_vec()))
    );
    // The pong goes out while the message is still incomplete.
    assert_eq!(frames(p.pending())[0].payload, b"p");
    assert_eq!(p.next_message().unwrap(), None);
    p.receive(&client_frame(false, OpCode::Continuation, b"l"));
    p.receive(&client_frame(true, OpCode::Pong, b"q"));
    p.receive(&client_frame(true, OpCode::Continuation, b"o"));
    assert_eq!(
        p.next_message().unwrap(),
        Some(Message::Pong(b"q".to_vec()))
    );
    assert_eq!(p.next_message().unwrap(), Some(Message::text("Hello")));
}

#[test]
fn close_between_fragments_is_delivered_and_ends_the_connection() {
    let mut p = server();
    let mut wire = client_frame(false, OpCode::Text, b"Hel");
    wire.extend(client_frame(true, OpCode::Close, b""));
    wire.extend(client_frame(true, OpCode::Continuation, b"lo"));
    assert_eq!(
        feed(&mut p, &wire),
        [Event::Msg(Message::Close(None)), Event::Closed]
    );
}

#[test]
fn ping_is_answered_with_pong_carrying_the_same_payload() {
    let mut p = server();
    assert_eq!(
        feed(&mut p, &client_frame(true, OpCode::Ping, b"Hello")),
        [Event::Msg(Message::Ping(b"Hello".to_vec()))]
    );
    // RFC 6455 §5.7: unmasked "Hello" pong from a server.
    assert_eq!(p.pending(), [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn client_pong_is_masked() {
    let mut p = client();
    feed(&mut p, &server_frame(true, OpCode::Ping, b"Hello"));
    let wire = p.pending().to_vec();
    assert_eq!(wire.len(), 2 + 4 + 5);
    assert_eq!(wire[0], 0x8a);
    assert_eq!(wire[1], 0x85);
    // A server decodes it back to the same payload.
    let mut s = server();
    assert_eq!(
        feed(&mut s, &wire),
        [Event::Msg(Message::Pong(b"Hello".to_vec()))]
    );
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut p = Protocol::new(Role::Server, Config::default().auto_pong(false));
    assert_eq!(
        feed(&mut p, &client_frame(true, OpCode::Ping, b"x")),
        [Event::Msg(Message::Ping(b"x".to_vec()))]
    );
    assert!(p.pending().is_empty());
}

#[test]
fn unsolicited_pong_is_surfaced_and_not_answered() {
    let mut p = server();
    assert_eq!(
        feed(&mut p, &client_frame(true, OpCode::Pong, b"hb")),
        [Event::Msg(Message::Pong(b"hb".to_vec()))]
    );
    assert!(p.pending().is_empty());
    assert_eq!(p.state(), State::Open);
}

#[test]
fn every_ping_gets_its_own_pong_in_order() {
    let mut p = server();
    let mut wire = Vec::new();
    for i in 0..1_000u32 {
        wire.extend(client_frame(true, OpCode::Ping, &i.to_be_bytes()));
    }
    let ev = feed(&mut p, &wire);
    assert_eq!(ev.len(), 1_000);
    let out = frames(p.pending());
    assert_eq!(out.len(), 1_000);
    for (i, f) in out.iter().enumerate() {
        assert_eq!(f.header.opcode, OpCode::Pong);
        assert_eq!(f.payload, (i as u32).to_be_bytes());
    }
}

#[test]
fn ping_flood_past_the_write_bound_fails_with_1008() {
    // 100 pongs of 4 + 2 bytes fit in 600; the next ping's pong does not.
    let mut p = Protocol::new(Role::Server, Config::default().max_write_buffer(600));
    let mut wire = Vec::new();
    for i in 0..101u32 {
        wire.extend(client_frame(true, OpCode::Ping, &i.to_be_bytes()));
    }
    wire.extend(client_frame(true, OpCode::Text, b"after"));
    let ev = feed(&mut p, &wire);
    assert_eq!(ev.len(), 102, "{ev:?}"); // 101 pings, then the failure
    assert!(ev[..101]
        .iter()
        .all(|e| matches!(e, Event::Msg(Message::Ping(_)))));
    assert_eq!(
        ev[101],
        Event::Protocol(ProtocolError::PongBacklog { limit: 600 })
    );
    let out = frames(p.pending());
    assert_eq!(out.len(), 101, "100 pongs in order, then the close");
    for (i, f) in out[..100].iter().enumerate() {
        assert_eq!(f.payload, (i as u32).to_be_bytes());
    }
    assert_failed_with(&mut p, &ev, CloseCode::Policy);
}

#[test]
fn pong_being_written_is_not_replaced() {
    let mut p = server();
    feed(&mut p, &client_frame(true, OpCode::Ping, b"one"));
    p.consume(1); // the socket wrote the first byte of the pong
    feed(&mut p, &client_frame(true, OpCode::Ping, b"two"));
    let mut rest = vec![0x8a];
    rest.extend_from_slice(p.pending());
    let out = frames(&rest);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].payload, b"one");
    assert_eq!(out[1].payload, b"two");
}

#[test]
fn a_pong_that_fits_the_write_bound_is_queued_and_one_past_it_fails() {
    let mut p = Protocol::new(Role::Server, Config::default().max_write_buffer(1000));
    p.send_binary(&[0; 984]).unwrap(); // 988 bytes pending: a 12-byte pong fits exactly
    feed(&mut p, &client_frame(true, OpCode::Ping, b"0123456789"));
    assert_eq!(p.pending().len(), 988 + 12, "pong queued up to the bound");
    assert_eq!(p.state(), State::Open);
    let ev = feed(&mut p, &client_frame(true, OpCode::Ping, b"x"));
    assert_eq!(
        ev,
        [
            Event::Msg(Message::Ping(b"x".to_vec())),
            Event::Protocol(ProtocolError::PongBacklog { limit: 1000 })
        ]
    );
    assert_eq!(p.state(), State::Failed);
    assert_eq!(close_code_in(p.pending()), Some(Some(CloseCode::Policy)));
}

#[test]
fn peer_close_is_reported_once_and_echoed_with_its_code_and_reason() {
    let mut p = server();
    let ev = feed(&mut p, &client_frame(true, OpCode::Close, b"\x0f\xa0going"));
    assert_eq!(
        ev,
        [
            Event::Msg(Message::Close(Some(CloseFrame::new(
                CloseCode::Other(4000),
                "going"
            )))),
            Event::Closed
        ]
    );
    assert_eq!(p.pending(), b"\x88\x07\x0f\xa0going");
    assert_eq!(p.state(), State::CloseReceived);
    assert!(p.is_done());
    p.consume(9);
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn peer_close_without_code_is_echoed_with_an_empty_close() {
    let mut p = server();
    feed(&mut p, &client_frame(true, OpCode::Close, b""));
    assert_eq!(p.pending(), [0x88, 0x00]);
}

#[test]
fn frames_after_peer_close_are_ignored() {
    let mut p = server();
    let mut wire = client_frame(true, OpCode::Close, b"");
    wire.extend(client_frame(true, OpCode::Text, b"late"));
    wire.extend([0xFF, 0xFF, 0xFF]); // even garbage
    assert_eq!(
        feed(&mut p, &wire),
        [Event::Msg(Message::Close(None)), Event::Closed]
    );
    p.receive(b"more garbage");
    assert!(matches!(p.next_message(), Err(Error::ConnectionClosed)));
    assert_eq!(p.buffered(), 0);
    assert_eq!(p.pending(), [0x88, 0x00]);
}

#[test]
fn we_close_first_then_peer_answers_and_state_is_closed() {
    let mut p = client();
    p.close(Some(CloseFrame::new(CloseCode::Normal, "bye")))
        .unwrap();
    assert_eq!(p.state(), State::Closing);
    assert!(!p.is_done());
    // Data still arriving before the peer's close is delivered.
    let mut wire = server_frame(true, OpCode::Text, b"last words");
    wire.extend(server_frame(true, OpCode::Close, b"\x03\xe8"));
    assert_eq!(
        feed(&mut p, &wire),
        [
            Event::Msg(Message::text("last words")),
            Event::Msg(Message::Close(Some(CloseFrame::new(CloseCode::Normal, "")))),
            Event::Closed
        ]
    );
    assert_eq!(p.state(), State::Closed);
    assert!(p.is_done());
    // Only our one close frame is queued.
    assert_eq!(frames(p.pending()).len(), 1);
}

#[test]
fn sends_after_close_fail_with_already_closed() {
    let mut p = server();
    p.close(None).unwrap();
    assert!(matches!(p.send_text("x"), Err(Error::AlreadyClosed)));
    assert!(matches!(p.send_binary(b"x"), Err(Error::AlreadyClosed)));
    assert!(matches!(p.ping(b"x"), Err(Error::AlreadyClosed)));
    assert!(matches!(p.pong(b"x"), Err(Error::AlreadyClosed)));
    assert!(p.close(None).is_ok());
    assert_eq!(p.pending(), [0x88, 0x00]);
}

#[test]
fn sends_after_peer_close_fail_with_already_closed() {
    let mut p = server();
    feed(&mut p, &client_frame(true, OpCode::Close, b""));
    assert!(matches!(p.send_text("x"), Err(Error::AlreadyClosed)));
}

#[test]
fn ping_is_not_answered_after_we_sent_close() {
    let mut p = server();
    p.close(None).unwrap();
    feed(&mut p, &client_frame(true, OpCode::Ping, b"x"));
    assert_eq!(p.pending(), [0x88, 0x00]);
}

#[test]
fn protocol_error_is_reported_once_then_connection_closed() {
    let mut p = server();
    p.receive(&raw_masked(0x83, b""));
    assert!(matches!(
        p.next_message(),
        Err(Error::Protocol(ProtocolError::ReservedOpcode(3)))
    ));
    for _ in 0..3 {
        assert!(matches!(p.next_message(), Err(Error::ConnectionClosed)));
    }
    assert_eq!(frames(p.pending()).len(), 1);
}

#[test]
fn control_payload_over_125_from_the_application_is_a_typed_error() {
    let mut p = server();
    assert!(matches!(
        p.ping(&[0; 126]),
        Err(Error::ControlPayloadTooLong(126))
    ));
    assert!(matches!(
        p.pong(&[0; 200]),
        Err(Error::ControlPayloadTooLong(200))
    ));
    assert!(matches!(
        p.send(&Message::Ping(vec![0; 126])),
        Err(Error::ControlPayloadTooLong(126))
    ));
    assert!(p.pending().is_empty());
    p.ping(&[0; 125]).unwrap();
}

#[test]
fn close_reason_is_truncated_to_123_bytes_at_a_char_boundary() {
    let mut p = server();
    // 'é' is 2 bytes: 62 of them is 124 bytes, one too many; 'a' + 61 'é' = 123.
    let reason = format!("a{}", "é".repeat(70));
    p.close(Some(CloseFrame::new(CloseCode::Normal, reason)))
        .unwrap();
    let f = &frames(p.pending())[0];
    assert_eq!(f.payload.len(), 125);
    let text = std::str::from_utf8(&f.payload[2..]).unwrap();
    assert_eq!(text, format!("a{}", "é".repeat(61)));

    let mut p = server();
    p.close(Some(CloseFrame::new(CloseCode::Normal, "é".repeat(70))))
        .unwrap();
    let f = &frames(p.pending())[0];
    assert_eq!(f.payload.len(), 2 + 122);
    assert!(std::str::from_utf8(&f.payload[2..]).is_ok());
}

#[test]
fn close_with_code_not_allowed_on_wire_from_the_application_is_a_typed_error() {
    let mut p = server();
    for code in [
        CloseCode::Status,
        CloseCode::Abnormal,
        CloseCode::Tls,
        CloseCode::Other(999),
    ] {
        assert!(matches!(
            p.close(Some(CloseFrame::new(code, ""))),
            Err(Error::InvalidCloseCode(_))
        ));
    }
    assert!(!p.close_sent());
    assert!(p.pending().is_empty());
}

#[test]
fn outgoing_messages_are_fragmented_at_fragment_size() {
    let mut p = Protocol::new(Role::Server, Config::default().fragment_size(4));
    p.send_binary(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).unwrap();
    let fs = frames(p.pending());
    let shape: Vec<_> = fs
        .iter()
        .map(|f| (f.header.fin, f.header.opcode, f.payload.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (false, OpCode::Binary, 4),
            (false, OpCode::Continuation, 4),
            (true, OpCode::Continuation, 2)
        ]
    );
    // Exactly fragment_size: one frame; control frames are never fragmented.
    let mut p = Protocol::new(Role::Server, Config::default().fragment_size(4));
    p.send_text("abcd").unwrap();
    p.ping(b"123456").unwrap();
    assert_eq!(frames(p.pending()).len(), 2);
}

#[test]
fn client_masks_every_frame_with_a_fresh_key_and_server_never_masks() {
    let mut c = client();
    for _ in 0..50 {
        c.send_text("same").unwrap();
    }
    let mut keys = std::collections::HashSet::new();
    let mut wire = c.pending();
    while !wire.is_empty() {
        let (h, n) = ws6455::frame::FrameHeader::parse(wire).unwrap().unwrap();
        keys.insert(h.mask.expect("client frames are masked"));
        wire = &wire[n + h.payload_len as usize..];
    }
    assert!(keys.len() > 45, "keys repeat: {}", keys.len());

    let mut s = server();
    s.send_text("x").unwrap();
    s.ping(b"").unwrap();
    s.close(None).unwrap();
    assert!(frames(s.pending()).iter().all(|f| f.header.mask.is_none()));
}

#[test]
fn write_buffer_full_when_pending_output_passes_the_bound() {
    let mut p = Protocol::new(Role::Server, Config::default().max_write_buffer(100));
    // An empty buffer always takes one message, even a big one.
    p.send_binary(&[0; 500]).unwrap();
    assert!(matches!(p.send_text("x"), Err(Error::WriteBufferFull)));
    let n = p.pending().len();
    p.consume(n);
    p.send_text("x").unwrap();
    // A close always fits.
    p.send_binary(&[0; 90]).unwrap_err();
    p.close(None).unwrap();
}
