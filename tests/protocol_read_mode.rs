//! The read mode is checked state: a message begun by a whole-message read (`next_message`,
//! `next_message_ref`, `WebSocket::read`) must be finished by one, a message begun by a chunk
//! read (`next_chunk`, `WebSocket::read_chunk`) likewise. Switching in the middle of a message
//! is refused with `Error::ReadMode`, consumes nothing and leaves the connection usable; between
//! messages either kind may be used.

mod protocol_util;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use protocol_util::{client_frame, server_frame};
use ws6455::frame::OpCode;
use ws6455::handshake::{Accept, Decision};
use ws6455::protocol::{Chunk, Protocol, Receiver};
use ws6455::{Config, Error, Message, MessageRef, Role};

/// Recognisable payload bytes.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The header of an unmasked (server-sent) data frame announcing `len` bytes.
fn server_header(fin: bool, opcode: OpCode, len: usize) -> Vec<u8> {
    let mut wire = server_frame(fin, opcode, &vec![0; len]);
    wire.truncate(wire.len() - len);
    wire
}

/// Reads one message with `next_chunk` (buffer of `cap` bytes), from what is buffered.
fn chunked_message(rx: &mut Receiver, cap: usize) -> Message {
    let mut buf = vec![0u8; cap];
    let (mut text, mut bytes) = (false, Vec::new());
    loop {
        match rx
            .next_chunk(&mut buf)
            .unwrap()
            .expect("the whole message is buffered")
        {
            Chunk::FrameStart { opcode, .. } => {
                if opcode != OpCode::Continuation {
                    text = opcode == OpCode::Text;
                }
            }
            Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                bytes.extend_from_slice(&buf[..len]);
                if end_of_message {
                    return if text {
                        Message::Text(String::from_utf8(bytes).unwrap())
                    } else {
                        Message::Binary(bytes)
                    };
                }
            }
            Chunk::Control(m) => panic!("unexpected control frame {m:?}"),
        }
    }
}

#[test]
fn a_chunk_read_inside_a_frame_read_whole_is_refused_and_nothing_is_lost() {
    let payload = pattern(8192, 1);
    let mut rx = Receiver::new(Role::Client, &Config::default());
    let mut wire = server_header(false, OpCode::Binary, 8000);
    wire.extend_from_slice(&payload[..4100]);
    rx.receive(&wire);
    assert_eq!(rx.next_message().unwrap(), None);
    assert!(rx.in_message());
    let mut buf = vec![0u8; 1 << 16];
    assert!(matches!(rx.next_chunk(&mut buf), Err(Error::ReadMode(_))));
    // Again, with more bytes waiting in the input buffer.
    rx.receive(&payload[4100..4200]);
    assert!(matches!(rx.next_chunk(&mut buf), Err(Error::ReadMode(_))));
    assert!(!rx.is_failed());
    rx.receive(&payload[4200..8000]);
    rx.receive(&server_frame(true, OpCode::Continuation, &payload[8000..]));
    assert_eq!(rx.next_message().unwrap(), Some(Message::Binary(payload)));
    assert!(!rx.in_message());
}

#[test]
fn a_chunk_read_between_fragments_of_a_message_read_whole_is_refused() {
    let mut rx = Receiver::new(Role::Client, &Config::default());
    rx.receive(&server_frame(false, OpCode::Text, b"caf\xc3"));
    assert_eq!(rx.next_message().unwrap(), None);
    rx.receive(&server_frame(false, OpCode::Continuation, b"\xa9 "));
    assert_eq!(rx.next_message().unwrap(), None);
    // A ping between fragments, too, must wait for the whole-message read to reach it.
    rx.receive(&server_frame(true, OpCode::Ping, b"p"));
    let mut buf = [0u8; 64];
    assert!(matches!(rx.next_chunk(&mut buf), Err(Error::ReadMode(_))));
    assert_eq!(
        rx.next_message().unwrap(),
        Some(Message::Ping(b"p".to_vec()))
    );
    rx.receive(&server_frame(true, OpCode::Continuation, b"ok"));
    assert!(matches!(rx.next_chunk(&mut buf), Err(Error::ReadMode(_))));
    assert_eq!(rx.next_message().unwrap(), Some(Message::text("café ok")));
}

#[test]
fn a_whole_message_read_inside_a_message_read_by_chunks_is_refused() {
    let payload = pattern(300, 7);
    let mut rx = Receiver::new(Role::Server, &Config::default());
    rx.receive(&client_frame(false, OpCode::Binary, &payload[..200]));
    rx.receive(&client_frame(true, OpCode::Continuation, &payload[200..]));
    let mut buf = [0u8; 150];
    assert!(matches!(
        rx.next_chunk(&mut buf).unwrap(),
        Some(Chunk::FrameStart { len: 200, .. })
    ));
    assert!(matches!(
        rx.next_chunk(&mut buf).unwrap(),
        Some(Chunk::Data { len: 150, .. })
    ));
    let mut got = buf[..150].to_vec();
    // Inside the frame, and (below) between its frames: both whole-message reads refuse.
    assert!(matches!(rx.next_message(), Err(Error::ReadMode(_))));
    assert!(matches!(rx.next_message_ref(), Err(Error::ReadMode(_))));
    assert!(matches!(
        rx.next_chunk(&mut buf).unwrap(),
        Some(Chunk::Data {
            len: 50,
            end_of_frame: true,
            end_of_message: false
        })
    ));
    got.extend_from_slice(&buf[..50]);
    assert!(matches!(rx.next_message(), Err(Error::ReadMode(_))));
    assert!(matches!(rx.next_message_ref(), Err(Error::ReadMode(_))));
    assert!(matches!(
        rx.next_chunk(&mut buf).unwrap(),
        Some(Chunk::FrameStart {
            opcode: OpCode::Continuation,
            fin: true,
            len: 100
        })
    ));
    assert!(matches!(
        rx.next_chunk(&mut buf).unwrap(),
        Some(Chunk::Data {
            len: 100,
            end_of_message: true,
            ..
        })
    ));
    got.extend_from_slice(&buf[..100]);
    assert_eq!(got, payload);
    assert!(!rx.in_message());
}

#[test]
fn between_messages_either_read_may_be_used() {
    let mut rx = Receiver::new(Role::Server, &Config::default());
    let big = pattern(20_000, 3);
    let mut wire = client_frame(true, OpCode::Text, b"one");
    wire.extend(client_frame(false, OpCode::Binary, &big[..12_000]));
    wire.extend(client_frame(true, OpCode::Continuation, &big[12_000..]));
    wire.extend(client_frame(true, OpCode::Binary, &big[..5000]));
    wire.extend(client_frame(false, OpCode::Text, b"fo"));
    wire.extend(client_frame(true, OpCode::Continuation, b"ur"));
    rx.receive(&wire);
    assert_eq!(rx.next_message().unwrap(), Some(Message::text("one")));
    assert_eq!(chunked_message(&mut rx, 4096), Message::Binary(big.clone()));
    assert_eq!(
        rx.next_message_ref().unwrap(),
        Some(MessageRef::Binary(&big[..5000]))
    );
    assert_eq!(chunked_message(&mut rx, 3), Message::text("four"));
    assert_eq!(rx.next_message().unwrap(), None);
}

#[test]
fn a_refused_switch_queues_nothing_and_fails_nothing() {
    let mut p = Protocol::new(Role::Server, Config::default());
    p.receive(&client_frame(false, OpCode::Binary, &[1, 2, 3]));
    assert_eq!(p.next_message().unwrap(), None);
    let mut buf = [0u8; 16];
    let err = p.next_chunk(&mut buf).unwrap_err();
    assert!(matches!(err, Error::ReadMode(_)), "{err}");
    assert_eq!(err.close_code(), None);
    assert!(err.to_string().contains("mid-message"), "{err}");
    assert!(
        p.pending().is_empty(),
        "the refusal queued {:?}",
        p.pending()
    );
    assert_eq!(p.state(), ws6455::protocol::State::Open);
    p.receive(&client_frame(true, OpCode::Continuation, &[4]));
    assert_eq!(
        p.next_message().unwrap(),
        Some(Message::Binary(vec![1, 2, 3, 4]))
    );
}

/// A server that sends, as raw frames (so the test decides exactly where the bytes stop): a
/// ping (so the client knows the write has arrived), then a binary frame announcing 8 000 of a
/// message's 8 192 bytes with only 4 100 of them; on the first signal the rest of that message,
/// then a second fragmented message; on the second signal it ends. Returns its address, the
/// signal, the two messages and the thread.
fn slow_fragmented_server() -> (
    std::net::SocketAddr,
    mpsc::Sender<()>,
    Vec<u8>,
    Vec<u8>,
    std::thread::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let first = pattern(8192, 11);
    let second = pattern(10_000, 5);
    let (go_on, wait) = mpsc::channel::<()>();
    let (first_wire, second_wire) = (first.clone(), second.clone());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = ws6455::server::accept(stream, Config::default(), |_| {
            Decision::Accept(Accept::default())
        })
        .unwrap();
        let mut wire = server_frame(true, OpCode::Ping, b"here");
        wire.extend(server_header(false, OpCode::Binary, 8000));
        wire.extend_from_slice(&first_wire[..4100]);
        let raw = ws.get_mut();
        raw.write_all(&wire).unwrap();
        wait.recv().unwrap();
        let mut wire = first_wire[4100..8000].to_vec();
        wire.extend(server_frame(
            true,
            OpCode::Continuation,
            &first_wire[8000..],
        ));
        wire.extend(server_frame(false, OpCode::Binary, &second_wire[..6000]));
        wire.extend(server_frame(
            true,
            OpCode::Continuation,
            &second_wire[6000..],
        ));
        raw.write_all(&wire).unwrap();
        wait.recv().unwrap();
    });
    (addr, go_on, first, second, server)
}

/// Reads one message with `read_chunk` (as `WebSocket::read_chunk` or `WsReader::read_chunk`).
fn read_by_chunks(mut read_chunk: impl FnMut(&mut [u8]) -> ws6455::Result<Chunk>) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    loop {
        match read_chunk(&mut buf).unwrap() {
            Chunk::FrameStart { .. } => {}
            Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                got.extend_from_slice(&buf[..len]);
                if end_of_message {
                    return got;
                }
            }
            Chunk::Control(m) => panic!("unexpected {m:?}"),
        }
    }
}

/// Over TCP: a server sends a fragmented message slowly; the client's `read` times out in
/// the middle of a frame, then the client calls `read_chunk`. It must get `Error::ReadMode`
/// (it used to go on as if a chunked frame were in progress, with the 4 100 payload bytes
/// already assembled left behind), and `read` then finishes the message intact.
#[test]
fn read_chunk_after_a_read_that_timed_out_mid_frame_is_refused_over_tcp() {
    let (addr, go_on, first, second, server) = slow_fragmented_server();
    let (mut ws, _) = ws6455::client::connect(&format!("ws://{addr}/")).unwrap();
    let tcp: &TcpStream = ws.get_ref();
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert_eq!(ws.read().unwrap(), Message::Ping(b"here".to_vec()));
    // The partial frame came with the ping: this read assembles its 4 100 bytes, then waits
    // for the rest and times out.
    assert!(matches!(ws.read(), Err(Error::Timeout)));
    let mut buf = vec![0u8; 64 << 10];
    match ws.read_chunk(&mut buf) {
        Err(Error::ReadMode(_)) => {}
        other => panic!("read_chunk mid-frame gave {other:?}, not Error::ReadMode"),
    }
    go_on.send(()).unwrap();
    // A safety net for a broken build, not a timing assertion.
    let tcp: &TcpStream = ws.get_ref();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(first));
    // Between messages a chunk read is fine.
    assert_eq!(read_by_chunks(|buf| ws.read_chunk(buf)), second);
    go_on.send(()).unwrap();
    server.join().unwrap();
}

/// The same through the reading half of a split connection.
#[test]
fn a_split_reader_refuses_the_switch_mid_frame_too() {
    let (addr, go_on, first, second, server) = slow_fragmented_server();
    let (ws, _) = ws6455::client::connect(&format!("ws://{addr}/")).unwrap();
    let (mut reader, _writer) = ws.split().unwrap();
    reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert_eq!(reader.read().unwrap(), Message::Ping(b"here".to_vec()));
    assert!(matches!(reader.read(), Err(Error::Timeout)));
    let mut buf = vec![0u8; 64 << 10];
    match reader.read_chunk(&mut buf) {
        Err(Error::ReadMode(_)) => {}
        other => panic!("read_chunk mid-frame gave {other:?}, not Error::ReadMode"),
    }
    go_on.send(()).unwrap();
    reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(reader.read().unwrap(), Message::Binary(first));
    assert_eq!(read_by_chunks(|buf| reader.read_chunk(buf)), second);
    go_on.send(()).unwrap();
    server.join().unwrap();
}
