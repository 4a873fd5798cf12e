//! One-call reads of small messages (`Receiver::next_piece`, `WebSocket::read_piece`): what
//! comes whole and what comes as chunks put back together give exactly the messages sent, for
//! any way the bytes arrive; broken input fails as it does frame by frame; over a real socket
//! an echo that reads pieces and writes them back borrowed returns every message in order.

mod protocol_util;
use protocol_util::{client_wire, mixed_messages};

use std::time::Duration;

use ws6455::frame::OpCode;
use ws6455::protocol::{Chunk, Piece, Receiver, Sender};
use ws6455::server::Server;
use ws6455::{CloseCode, Config, Error, Message, MessageRef, Role};

/// What a piece reader has put together so far.
#[derive(Default)]
struct Assembled {
    text: bool,
    bytes: Vec<u8>,
    in_frame: bool,
    out: Vec<Message>,
    wholes: usize,
}

impl Assembled {
    /// Reads with `next_piece` into a buffer of `cap` bytes until more input is needed.
    fn read(&mut self, rx: &mut Receiver, cap: usize) -> Result<(), Error> {
        let mut buf = vec![0u8; cap];
        loop {
            match rx.next_piece(&mut buf)? {
                Some(Piece::Whole { opcode, len }) => {
                    assert!(!self.in_frame, "a whole message inside a frame");
                    assert!(len <= cap);
                    self.wholes += 1;
                    let b = buf[..len].to_vec();
                    self.out.push(match opcode {
                        OpCode::Text => Message::Text(String::from_utf8(b).unwrap()),
                        OpCode::Binary => Message::Binary(b),
                        other => panic!("a whole {other:?}"),
                    });
                }
                Some(Piece::Chunk(Chunk::FrameStart { opcode, .. })) => {
                    assert!(!self.in_frame, "a frame started inside a frame");
                    self.in_frame = true;
                    if opcode != OpCode::Continuation {
                        self.text = opcode == OpCode::Text;
                        self.bytes.clear();
                    }
                }
                Some(Piece::Chunk(Chunk::Data {
                    len,
                    end_of_frame,
                    end_of_message,
                })) => {
                    assert!(self.in_frame && len <= cap);
                    self.in_frame = !end_of_frame;
                    self.bytes.extend_from_slice(&buf[..len]);
                    if end_of_message {
                        let b = std::mem::take(&mut self.bytes);
                        self.out.push(if self.text {
                            Message::Text(String::from_utf8(b).unwrap())
                        } else {
                            Message::Binary(b)
                        });
                    }
                }
                Some(Piece::Chunk(Chunk::Control(m))) => {
                    assert!(!self.in_frame, "a control frame inside a data frame");
                    self.out.push(m);
                }
                None => return Ok(()),
            }
        }
    }
}

#[test]
fn pieces_give_the_messages_for_any_buffer_arrival_and_fragmentation() {
    let msgs = mixed_messages();
    for fragment in [1, 3, 100, usize::MAX] {
        let wire = client_wire(&msgs, fragment);
        for cap in [1, 5, 64, 4096, 1 << 16] {
            for split in [usize::MAX, 1, 7, 1000] {
                let mut rx = Receiver::new(Role::Server, &Config::default());
                let mut got = Assembled::default();
                for piece in wire.chunks(split.min(wire.len())) {
                    rx.receive(piece);
                    got.read(&mut rx, cap).unwrap();
                }
                assert_eq!(got.out, msgs, "fragment {fragment} cap {cap} split {split}");
                if fragment == usize::MAX && cap == 1 << 16 && split == usize::MAX {
                    // All received at once, all single frames that fit: every data
                    // message came whole.
                    assert_eq!(got.wholes, msgs.len() - 1);
                }
                if fragment < 100 {
                    assert!(got.wholes <= 2, "only messages of one frame come whole");
                }
            }
        }
    }
}

#[test]
fn invalid_utf8_in_a_small_text_fails_with_1007_as_frame_by_frame() {
    for payload in [&b"\xff"[..], b"ok\xc3", b"\xed\xa0\x80"] {
        let mut tx = Sender::new(Role::Client, &Config::default());
        tx.send_binary(payload).unwrap();
        let mut wire = tx.pending().to_vec();
        wire[0] = 0x81; // the same frame, as text
        let mut rx = Receiver::new(Role::Server, &Config::default());
        rx.receive(&wire);
        let mut buf = [0u8; 64];
        // Not whole: the frame-by-frame read takes it, and finds the error.
        assert!(matches!(
            rx.next_piece(&mut buf).unwrap(),
            Some(Piece::Chunk(Chunk::FrameStart { .. }))
        ));
        let err = rx.next_piece(&mut buf).unwrap_err();
        assert_eq!(err.close_code(), Some(CloseCode::Invalid), "{payload:?}");
        assert!(matches!(
            rx.next_piece(&mut buf),
            Err(Error::ConnectionClosed)
        ));
    }
}

#[test]
fn limits_and_bad_frames_fail_as_frame_by_frame() {
    // Over the message limit: 1009, never handed out whole.
    let wire = client_wire(&[Message::binary(vec![1; 200])], usize::MAX);
    let mut rx = Receiver::new(Role::Server, &Config::default().max_message_size(100));
    rx.receive(&wire);
    let mut buf = [0u8; 1024];
    let err = rx.next_piece(&mut buf).unwrap_err();
    assert_eq!(err.close_code(), Some(CloseCode::Size));
    // Unmasked from a client: 1002.
    let mut rx = Receiver::new(Role::Server, &Config::default());
    rx.receive(&[0x82, 0x01, 9]);
    assert_eq!(
        rx.next_piece(&mut buf).unwrap_err().close_code(),
        Some(CloseCode::Protocol)
    );
    // A new message while a fragmented one is open: 1002.
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(&[0x02, 0x01, 1, 0x82, 0x01, 2]);
    assert!(matches!(
        rx.next_piece(&mut buf).unwrap(),
        Some(Piece::Chunk(Chunk::FrameStart { fin: false, .. }))
    ));
    assert!(matches!(
        rx.next_piece(&mut buf).unwrap(),
        Some(Piece::Chunk(Chunk::Data { .. }))
    ));
    assert_eq!(
        rx.next_piece(&mut buf).unwrap_err().close_code(),
        Some(CloseCode::Protocol)
    );
}

#[test]
fn an_echo_reading_pieces_returns_every_message_over_a_real_socket() {
    // The shipped echo's way: small messages whole and written back borrowed, large ones
    // forwarded frame by frame through the same 4 KiB buffer.
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .spawn(|mut ws| {
            let mut buf = vec![0u8; 4096];
            loop {
                match ws.read_piece(&mut buf) {
                    Ok(Piece::Whole { opcode, len }) => {
                        let msg = if opcode == OpCode::Text {
                            MessageRef::Text(std::str::from_utf8(&buf[..len]).unwrap())
                        } else {
                            MessageRef::Binary(&buf[..len])
                        };
                        ws.write_ref(msg).unwrap();
                    }
                    Ok(Piece::Chunk(Chunk::FrameStart { opcode, fin, len })) => {
                        ws.write_frame_start(opcode, fin, len).unwrap()
                    }
                    Ok(Piece::Chunk(Chunk::Data { len, .. })) => {
                        ws.write_chunk(&buf[..len]).unwrap()
                    }
                    Ok(Piece::Chunk(Chunk::Control(Message::Close(_)))) | Err(_) => return,
                    Ok(Piece::Chunk(Chunk::Control(_))) => {}
                }
            }
        })
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let config = Config::default().fragment_size(3000);
    let (mut ws, _) = ws6455::client::ClientBuilder::new(url)
        .config(config)
        .connect()
        .unwrap();
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..2000usize {
        let m = match i % 5 {
            0 => Message::text(format!("message {i}")),
            1 => Message::binary(vec![i as u8; i % 700]),
            2 => Message::text("é".repeat(i % 50)),
            3 => Message::binary(vec![(i % 251) as u8; 10_000]), // three frames of ours
            _ => Message::binary(vec![]),
        };
        ws.write(m.clone()).unwrap();
        sent.push(m);
    }
    ws.flush().unwrap();
    for (i, want) in sent.iter().enumerate() {
        assert_eq!(&ws.read().unwrap(), want, "message {i}");
    }
    ws.close(CloseCode::Normal, "").unwrap();
    while ws.read().is_ok() {}
    server.shutdown();
    server.join().unwrap();
}
