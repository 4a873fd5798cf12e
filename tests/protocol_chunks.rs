//! Reading frame by frame (`Receiver::next_chunk`, `WebSocket::read_chunk`) and sending frame
//! by frame (`Sender::write_frame_start`/`write_chunk`, `WebSocket::write_frame_start`/`write_chunk`).

mod protocol_util;
use protocol_util::{client_wire, mixed_messages};

use std::io::Cursor;

use ws6455::frame::OpCode;
use ws6455::protocol::{Chunk, Protocol, Receiver, Sender};
use ws6455::socket::WebSocket;
use ws6455::{CloseCode, Config, Error, Message, ProtocolError, Role};

/// An in-memory connection: reads from `input`, writes to `output`.
struct Duplex {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl std::io::Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl std::io::Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads everything with `next_chunk` into a buffer of `cap` bytes; returns the messages put
/// back together, and the first error.
fn reassemble(rx: &mut Receiver, cap: usize) -> (Vec<Message>, Option<Error>) {
    let mut buf = vec![0u8; cap];
    let (mut text, mut bytes, mut out) = (false, Vec::new(), Vec::new());
    let mut in_frame = false;
    loop {
        match rx.next_chunk(&mut buf) {
            Ok(Some(Chunk::FrameStart { opcode, .. })) => {
                assert!(!in_frame, "a frame started inside a frame");
                in_frame = true;
                if opcode != OpCode::Continuation {
                    text = opcode == OpCode::Text;
                    bytes.clear();
                }
            }
            Ok(Some(Chunk::Data {
                len,
                end_of_frame,
                end_of_message,
            })) => {
                assert!(in_frame && len <= cap);
                assert!(end_of_frame || !end_of_message);
                in_frame = !end_of_frame;
                bytes.extend_from_slice(&buf[..len]);
                if end_of_message {
                    let b = std::mem::take(&mut bytes);
                    out.push(if text {
                        Message::Text(String::from_utf8(b).unwrap())
                    } else {
                        Message::Binary(b)
                    });
                }
            }
            Ok(Some(Chunk::Control(m))) => {
                assert!(!in_frame, "a control frame inside a data frame");
                out.push(m)
            }
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[test]
fn chunks_put_back_together_give_the_messages_for_any_buffer_size() {
    let msgs = mixed_messages();
    for fragment in [1, 3, 7, 100, usize::MAX] {
        let wire = client_wire(&msgs, fragment);
        for cap in [1, 2, 5, 64, 4096] {
            let mut rx = Receiver::new(Role::Server, &Config::default());
            rx.receive(&wire);
            let (got, err) = reassemble(&mut rx, cap);
            assert!(err.is_none(), "fragment {fragment} cap {cap}: {err:?}");
            assert_eq!(got, msgs, "fragment {fragment} cap {cap}");
        }
    }
}

#[test]
fn invalid_utf8_fails_in_the_chunk_that_carries_it() {
    // 2 000 valid bytes, then 0xFF: the first chunks arrive, then 1007.
    let mut payload = vec![b'a'; 2000];
    payload.push(0xFF);
    let mut wire = vec![0x81, 0x7E];
    wire.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    wire.extend_from_slice(&payload);
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(&wire);
    let mut buf = [0u8; 512];
    assert!(matches!(
        rx.next_chunk(&mut buf).unwrap(),
        Some(Chunk::FrameStart { len: 2001, .. })
    ));
    for _ in 0..3 {
        assert!(matches!(
            rx.next_chunk(&mut buf).unwrap(),
            Some(Chunk::Data { len: 512, .. })
        ));
    }
    let err = rx.next_chunk(&mut buf).unwrap_err();
    assert_eq!(err.close_code(), Some(CloseCode::Invalid));
    assert!(matches!(
        rx.next_chunk(&mut buf),
        Err(Error::ConnectionClosed)
    ));
}

#[test]
fn a_code_point_split_across_chunks_and_frames_is_fine_but_a_truncated_one_is_not() {
    let euro = "€".as_bytes(); // 3 bytes
    let mut wire = vec![0x01, 0x02, euro[0], euro[1], 0x80, 0x01, euro[2]];
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(&wire);
    let (got, err) = reassemble(&mut rx, 1);
    assert!(err.is_none());
    assert_eq!(got, vec![Message::text("€")]);
    // The message ends after two of the three bytes.
    wire.truncate(4);
    wire[0] = 0x81;
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(&wire);
    let (_, err) = reassemble(&mut rx, 8);
    assert_eq!(
        err.and_then(|e| e.close_code()),
        Some(CloseCode::Invalid),
        "truncated code point at the end of the message"
    );
}

#[test]
fn limits_hold_when_reading_frame_by_frame() {
    let config = Config::default()
        .max_frame_size(100)
        .max_message_size(150)
        .max_fragments(3);
    let cases: [(Vec<u8>, ProtocolError); 3] = [
        // One 101-byte frame.
        (
            {
                let mut w = vec![0x82, 101];
                w.extend([0u8; 101]);
                w
            },
            ProtocolError::FrameTooLarge { limit: 100 },
        ),
        // 100 + 51 bytes in two frames.
        (
            {
                let mut w = vec![0x02, 100];
                w.extend([0u8; 100]);
                w.extend([0x80, 51]);
                w.extend([0u8; 51]);
                w
            },
            ProtocolError::MessageTooLarge { limit: 150 },
        ),
        // Four fragments.
        (
            vec![0x02, 0, 0x00, 0, 0x00, 0, 0x80, 0],
            ProtocolError::TooManyFragments { limit: 3 },
        ),
    ];
    for (wire, expected) in cases {
        let mut rx = Receiver::new(Role::Client, &config);
        rx.receive(&wire);
        let (_, err) = reassemble(&mut rx, 16);
        match err {
            Some(Error::Protocol(e)) => assert_eq!(e, expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
}

#[test]
fn pings_between_fragments_are_answered_and_a_close_ends_the_stream() {
    let mut p = Protocol::new(Role::Client, Config::default());
    // "ab" in two fragments with a ping between them, then a close.
    p.receive(&[
        0x01, 1, b'a', 0x89, 1, b'x', 0x80, 1, b'b', 0x88, 2, 0x03, 0xE8,
    ]);
    let mut buf = [0u8; 8];
    let mut kinds = Vec::new();
    while !matches!(kinds.last(), Some(Chunk::Control(Message::Close(_)))) {
        kinds.push(p.next_chunk(&mut buf).unwrap().expect("a whole chunk"));
    }
    assert_eq!(kinds[2], Chunk::Control(Message::Ping(b"x".to_vec())));
    assert!(matches!(
        kinds.last(),
        Some(Chunk::Control(Message::Close(Some(_))))
    ));
    assert!(matches!(
        p.next_chunk(&mut buf),
        Err(Error::ConnectionClosed)
    ));
    // The pong and the close echo are queued (masked: we are the client).
    let pending = p.pending();
    assert_eq!(pending[0], 0x8A);
    assert_eq!(pending[2 + 4 + 1], 0x88);
}

#[test]
fn sending_frame_by_frame_keeps_the_rules() {
    let mut tx = Sender::new(Role::Server, &Config::default());
    assert!(matches!(
        tx.write_frame_start(OpCode::Continuation, true, 1),
        Err(Error::FrameSequence(_))
    ));
    assert!(matches!(
        tx.write_frame_start(OpCode::Ping, true, 1),
        Err(Error::FrameSequence(_))
    ));
    assert!(matches!(tx.write_chunk(b"x"), Err(Error::FrameSequence(_))));
    tx.write_frame_start(OpCode::Text, false, 2).unwrap();
    assert!(matches!(
        tx.write_frame_start(OpCode::Continuation, true, 1),
        Err(Error::FrameSequence(_))
    ));
    assert!(matches!(
        tx.write_chunk(b"abc"),
        Err(Error::FrameSequence(_))
    ));
    // A whole message must wait for the fragmented one.
    assert!(matches!(tx.send_text("no"), Err(Error::FrameSequence(_))));
    tx.write_chunk(b"ab").unwrap();
    assert!(matches!(
        tx.write_frame_start(OpCode::Binary, true, 1),
        Err(Error::FrameSequence(_))
    ));
    // An automatic pong and a close queued mid-frame follow the frame.
    tx.write_frame_start(OpCode::Continuation, true, 2).unwrap();
    tx.write_chunk(b"c").unwrap();
    tx.respond(&Ok(Some(Message::Ping(b"p".to_vec()))));
    tx.close(None).unwrap();
    assert!(matches!(tx.send_text("late"), Err(Error::AlreadyClosed)));
    assert!(matches!(
        tx.write_frame_start(OpCode::Binary, true, 0),
        Err(Error::AlreadyClosed)
    ));
    tx.write_chunk(b"d").unwrap(); // the open frame may still be finished
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(tx.pending());
    assert_eq!(rx.next_message().unwrap(), Some(Message::text("abcd")));
    assert_eq!(
        rx.next_message().unwrap(),
        Some(Message::Pong(b"p".to_vec()))
    );
    assert_eq!(rx.next_message().unwrap(), Some(Message::Close(None)));
}

#[test]
fn a_client_masks_pieces_at_the_right_key_offset() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
    for piece in [1, 3, 4, 5, 333, 1000] {
        let mut tx = Sender::new(Role::Client, &Config::default());
        tx.write_frame_start(OpCode::Binary, true, data.len() as u64)
            .unwrap();
        for part in data.chunks(piece) {
            tx.write_chunk(part).unwrap();
        }
        let mut rx = Receiver::new(Role::Server, &Config::default());
        rx.receive(tx.pending());
        assert_eq!(
            rx.next_message().unwrap(),
            Some(Message::binary(data.clone())),
            "pieces of {piece}"
        );
    }
}

#[test]
fn a_websocket_forwards_frames_read_chunk_by_chunk() {
    // A server-side WebSocket over an in-memory stream: a 200 000-byte binary message in
    // 70 000-byte frames with a ping between frames, read in 8 KiB chunks and written back
    // frame by frame. The output must be those frames (unmasked), with the pong in between.
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let mut wire = client_wire(&[Message::binary(payload[..70_000].to_vec())], usize::MAX);
    wire[0] = 0x02; // first frame, no FIN
    wire.extend(client_wire(&[Message::Ping(b"mid".to_vec())], usize::MAX));
    let mut rest = client_wire(&[Message::binary(payload[70_000..].to_vec())], usize::MAX);
    rest[0] = 0x80; // continuation, FIN
    wire.extend(rest);
    wire.extend(client_wire(&[Message::Close(None)], usize::MAX));
    let stream = Duplex {
        input: Cursor::new(wire),
        output: Vec::new(),
    };
    let mut ws = WebSocket::from_raw(stream, Role::Server, Config::default());
    let mut buf = vec![0u8; 8 << 10];
    loop {
        match ws.read_chunk(&mut buf).unwrap() {
            Chunk::FrameStart { opcode, fin, len } => {
                ws.write_frame_start(opcode, fin, len).unwrap()
            }
            Chunk::Data { len, .. } => ws.write_chunk(&buf[..len]).unwrap(),
            Chunk::Control(Message::Close(_)) => break,
            Chunk::Control(_) => {}
        }
    }
    assert!(matches!(
        ws.read_chunk(&mut buf),
        Err(Error::ConnectionClosed)
    ));
    let out = &ws.get_ref().output;
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(out);
    assert_eq!(
        rx.next_message().unwrap(),
        Some(Message::Pong(b"mid".to_vec()))
    );
    assert_eq!(rx.next_message().unwrap(), Some(Message::binary(payload)));
    assert_eq!(rx.next_message().unwrap(), Some(Message::Close(None)));
    // Frame boundaries are kept: 70 000 + 130 000.
    assert_eq!(out[0], 0x02);
}

#[test]
fn read_chunk_needs_a_buffer() {
    let mut ws = WebSocket::from_raw(Cursor::new(vec![0x82, 0]), Role::Client, Config::default());
    assert!(matches!(ws.read_chunk(&mut []), Err(Error::Io(_))));
    let mut buf = [0u8; 1];
    assert!(matches!(
        ws.read_chunk(&mut buf).unwrap(),
        Chunk::FrameStart { len: 0, .. }
    ));
    assert_eq!(
        ws.read_chunk(&mut buf).unwrap(),
        Chunk::Data {
            len: 0,
            end_of_frame: true,
            end_of_message: true
        }
    );
}

#[test]
fn bad_utf8_read_straight_into_the_callers_buffer_fails_with_1007_on_the_wire() {
    // A 10 000-byte text frame whose last byte is invalid: its start comes with the header
    // (buffered read), the rest is read straight into the caller's buffer, where the bad byte
    // is found. The error must still send close 1007.
    let mut text = vec![b'a'; 9_999];
    text.push(0xFF);
    let mut tx = Sender::new(Role::Client, &Config::default());
    tx.write_frame_start(OpCode::Text, true, text.len() as u64)
        .unwrap();
    tx.write_chunk(&text).unwrap();
    let stream = Duplex {
        input: Cursor::new(tx.pending().to_vec()),
        output: Vec::new(),
    };
    let mut ws = WebSocket::from_raw(stream, Role::Server, Config::default());
    let mut buf = vec![0u8; 64 << 10];
    let err = loop {
        match ws.read_chunk(&mut buf) {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.close_code(), Some(CloseCode::Invalid));
    let out = &ws.get_ref().output;
    assert_eq!(out[0], 0x88, "a close frame: {out:?}");
    assert_eq!(&out[2..4], &1007u16.to_be_bytes());
}
