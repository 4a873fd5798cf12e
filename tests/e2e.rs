//! End-to-end tests over real loopback sockets: our client against our server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ws6455::client::{connect, ClientBuilder};
use ws6455::frame::OpCode;
use ws6455::handshake::{Accept, Decision, HandshakeError, Response};
use ws6455::server::{Server, ShutdownHandle};
use ws6455::{CloseCode, CloseFrame, Config, Error, Message};

/// Starts an echo server on 127.0.0.1:0; returns its address and shutdown handle.
fn echo_server(config: Config) -> (SocketAddr, ShutdownHandle) {
    let server = Server::bind_with_config("127.0.0.1:0", config)
        .unwrap()
        .on_upgrade(|req| {
            let chosen = req
                .protocols()
                .into_iter()
                .find(|p| *p == "chat")
                .map(String::from);
            Decision::Accept(Accept {
                subprotocol: chosen,
                ..Accept::default()
            })
        });
    let addr = server.local_addr().unwrap();
    let handle = server.shutdown_handle();
    thread::spawn(move || {
        server.serve(|mut ws| loop {
            match ws.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                    if ws.write(m).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        })
    });
    (addr, handle)
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

#[test]
fn echoes_text_and_binary_of_every_boundary_size() {
    let (addr, _h) = echo_server(Config::default());
    let (mut ws, resp) = connect(&url(addr)).unwrap();
    assert_eq!(resp.status, 101);
    for size in [0usize, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 << 20] {
        let text: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        ws.send(Message::Text(text.clone())).unwrap();
        assert_eq!(
            ws.read().unwrap(),
            Message::Text(text),
            "text of {size} bytes"
        );
        let bin: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
        ws.send(Message::Binary(bin.clone())).unwrap();
        assert_eq!(
            ws.read().unwrap(),
            Message::Binary(bin),
            "binary of {size} bytes"
        );
    }
    ws.close(CloseCode::Normal, "done").unwrap();
    match ws.read().unwrap() {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::Normal),
        other => panic!("expected close, got {other:?}"),
    }
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
}

#[test]
fn multibyte_text_survives_fragmentation_into_tiny_frames() {
    let (addr, _h) = echo_server(Config::default());
    let (mut ws, _) = ClientBuilder::new(url(addr))
        .config(Config::default().fragment_size(3))
        .connect()
        .unwrap();
    let text = "héllo wörld — 你好 🎉".repeat(50);
    ws.send_text(&text).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text(text));
}

#[test]
fn ping_is_answered_with_identical_pong() {
    let (addr, _h) = echo_server(Config::default());
    let (mut ws, _) = connect(&url(addr)).unwrap();
    ws.ping(b"are you there").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"are you there".to_vec()));
}

#[test]
fn subprotocol_is_negotiated_only_when_offered_and_supported() {
    let (addr, _h) = echo_server(Config::default());
    let (ws, resp) = ClientBuilder::new(url(addr))
        .subprotocol("superchat")
        .subprotocol("chat")
        .connect()
        .unwrap();
    assert_eq!(ws.subprotocol(), Some("chat"));
    assert_eq!(resp.get_header("sec-websocket-protocol"), Some("chat"));
    let (ws, _) = ClientBuilder::new(url(addr))
        .subprotocol("zzz")
        .connect()
        .unwrap();
    assert_eq!(ws.subprotocol(), None);
}

#[test]
fn server_initiated_close_reaches_client_with_code_and_reason() {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    thread::spawn(move || {
        server.serve(|mut ws| {
            ws.close(CloseCode::Other(4001), "kicked").unwrap();
            // Complete the handshake: wait for the client's reply.
            loop {
                match ws.read() {
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
    });
    let (mut ws, _) = connect(&url(addr)).unwrap();
    match ws.read().unwrap() {
        Message::Close(Some(f)) => {
            assert_eq!(f.code, CloseCode::Other(4001));
            assert_eq!(f.reason, "kicked");
        }
        other => panic!("expected close, got {other:?}"),
    }
    assert!(matches!(ws.read(), Err(Error::ConnectionClosed)));
    assert!(matches!(ws.send_text("late"), Err(Error::AlreadyClosed)));
}

#[test]
fn refused_upgrade_carries_status_and_body() {
    let server = Server::bind("127.0.0.1:0").unwrap().on_upgrade(|req| {
        if req.header("x-ws-auth-key") == Some("s3cret")
            || req.query_param("accessToken").as_deref() == Some("s3cret")
        {
            Decision::Accept(Accept::default())
        } else {
            Decision::Reject(Response::new(403).body("bad key"))
        }
    });
    let addr = server.local_addr().unwrap();
    thread::spawn(move || server.serve(|_ws| {}));
    match connect(&url(addr)) {
        Err(Error::Handshake(HandshakeError::Rejected { status, body, .. })) => {
            assert_eq!(status, 403);
            assert_eq!(body, b"bad key");
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    assert!(ClientBuilder::new(url(addr))
        .header("X-WS-AUTH-KEY", "s3cret")
        .connect()
        .is_ok());
    assert!(connect(&format!("ws://{addr}/?accessToken=s3cret")).is_ok());
}

/// Connects a raw TCP socket and completes the handshake by hand.
fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    s
}

/// A masked client frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first];
    let key = [1u8, 2, 3, 4];
    if payload.len() < 126 {
        f.push(0x80 | payload.len() as u8);
    } else {
        f.push(0x80 | 126);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// Reads frames until a close frame; returns its code (None for an empty close).
fn read_close_code(s: &mut TcpStream) -> Option<u16> {
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Parse whole unmasked server frames from `all`.
        let mut pos = 0;
        while all.len() >= pos + 2 {
            let op = all[pos] & 0x0f;
            let len = (all[pos + 1] & 0x7f) as usize;
            let (hdr, len) = match len {
                126 if all.len() >= pos + 4 => {
                    (4, u16::from_be_bytes([all[pos + 2], all[pos + 3]]) as usize)
                }
                126 => break,
                127 => panic!("unexpected huge frame"),
                n => (2, n),
            };
            if all.len() < pos + hdr + len {
                break;
            }
            if op == 8 {
                let p = &all[pos + hdr..pos + hdr + len];
                return if p.len() >= 2 {
                    Some(u16::from_be_bytes([p[0], p[1]]))
                } else {
                    None
                };
            }
            pos += hdr + len;
        }
        let n = s
            .read(&mut chunk)
            .expect("server closed without a close frame");
        assert!(n > 0, "server closed without a close frame");
        all.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn protocol_violations_get_the_right_close_code_over_tcp() {
    let (addr, _h) = echo_server(Config::default().max_message_size(1 << 20));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("reserved bits", frame(0x81 | 0x40, b"x"), 1002),
        ("reserved opcode", frame(0x83, b""), 1002),
        ("long ping", frame(0x89, &[0u8; 126]), 1002),
        ("fragmented ping", frame(0x09, b""), 1002),
        ("orphan continuation", frame(0x80, b"x"), 1002),
        ("invalid utf-8", frame(0x81, b"\xce\xba\xed\xa0\x80"), 1007),
        ("one-byte close", frame(0x88, b"\x03"), 1002),
        ("close code 1005", frame(0x88, &1005u16.to_be_bytes()), 1002),
        ("close reason not utf-8", frame(0x88, b"\x03\xe8\xff"), 1007),
        ("unmasked frame", vec![0x81, 0x01, b'x'], 1002),
        (
            "message over the limit",
            {
                let mut f = vec![0x82, 0x80 | 127];
                f.extend_from_slice(&(2u64 << 20).to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0]);
                f
            },
            1009,
        ),
    ];
    for (name, bytes, want) in cases {
        let mut s = raw_upgrade(addr);
        s.write_all(&bytes).unwrap();
        assert_eq!(read_close_code(&mut s), Some(want), "{name}");
    }
}

#[test]
fn bytes_sent_with_the_request_are_not_lost() {
    let (addr, _h) = echo_server(Config::default());
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    req.extend(frame(0x81, b"eager"));
    s.write_all(&req).unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    while !got.ends_with(b"eager") {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&chunk[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101"));
}

#[test]
fn connection_limit_answers_503_and_keeps_serving() {
    let (addr, _h) = echo_server(Config::default().max_connections(2));
    let (mut a, _) = connect(&url(addr)).unwrap();
    let (_b, _) = connect(&url(addr)).unwrap();
    match connect(&url(addr)) {
        Err(Error::Handshake(HandshakeError::Rejected { status, .. })) => assert_eq!(status, 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    a.send_text("still here").unwrap();
    assert_eq!(a.read().unwrap(), Message::text("still here"));
}

#[test]
fn handshake_timeout_drops_a_silent_client() {
    let (addr, _h) =
        echo_server(Config::default().handshake_timeout(Some(Duration::from_millis(300))));
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected the server to hang up");
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn graceful_shutdown_sends_going_away_to_every_client() {
    let (addr, handle) = echo_server(Config::default());
    let mut clients: Vec<_> = (0..5).map(|_| connect(&url(addr)).unwrap().0).collect();
    for c in &mut clients {
        c.send_text("x").unwrap();
        assert_eq!(c.read().unwrap(), Message::text("x"));
    }
    let h2 = handle.clone();
    let waiter = thread::spawn(move || h2.shutdown());
    for c in &mut clients {
        match c.read().unwrap() {
            Message::Close(Some(CloseFrame { code, .. })) => assert_eq!(code, CloseCode::Away),
            other => panic!("expected close 1001, got {other:?}"),
        }
    }
    assert_eq!(
        waiter.join().unwrap(),
        0,
        "connections left open after shutdown"
    );
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_millis(500))
            .map(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut b = [0u8; 16];
                s.write_all(b"GET / HTTP/1.1\r\n\r\n").ok();
                !matches!(s.read(&mut b), Ok(n) if n > 0 && b.starts_with(b"HTTP/1.1 101"))
            })
            .unwrap_or(true)
    );
}

#[test]
fn split_reader_and_writer_move_100k_messages_in_order() {
    let (addr, _h) = echo_server(Config::default());
    let (ws, _) = connect(&url(addr)).unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    const N: usize = 100_000;
    let sent = Arc::new(AtomicUsize::new(0));
    let sent2 = sent.clone();
    let w = writer.clone();
    let producer = thread::spawn(move || {
        let mut line = String::new();
        for i in 0..N {
            if i % 2 == 0 {
                w.write(Message::Text(i.to_string())).unwrap();
            } else {
                // Borrowed from a reused buffer: the same frames as `write`.
                line.clear();
                line.push_str(&i.to_string());
                w.write_ref(ws6455::MessageRef::Text(&line)).unwrap();
            }
            if i % 64 == 63 {
                w.flush().unwrap();
            }
            sent2.fetch_add(1, Ordering::Relaxed);
        }
        w.flush().unwrap();
    });
    for i in 0..N {
        assert_eq!(reader.read().unwrap(), Message::Text(i.to_string()));
    }
    producer.join().unwrap();
    assert_eq!(sent.load(Ordering::Relaxed), N);
    writer.close(CloseCode::Normal, "").unwrap();
    assert!(matches!(reader.read().unwrap(), Message::Close(_)));
}

#[test]
fn read_timeout_resumes_without_losing_bytes() {
    // A raw server that sends one frame in two halves with a pause between them.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let laddr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = Vec::new();
        let mut b = [0u8; 1];
        while !req.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            req.push(b[0]);
        }
        let text = String::from_utf8(req).unwrap();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim()
            .to_string();
        let accept = ws6455::handshake::accept_key(key.as_bytes());
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        s.write_all(&[0x81, 0x0b, b'h', b'e', b'l', b'l', b'o'])
            .unwrap();
        thread::sleep(Duration::from_millis(400));
        s.write_all(b" world").unwrap();
        thread::sleep(Duration::from_millis(500));
    });
    let (mut ws, _) = connect(&format!("ws://{laddr}/")).unwrap();
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut timeouts = 0;
    let msg = loop {
        match ws.read() {
            Ok(m) => break m,
            Err(Error::Timeout) => timeouts += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
    };
    assert!(
        timeouts >= 1,
        "the pause should have timed out at least once"
    );
    assert_eq!(msg, Message::text("hello world"));
}

#[test]
fn bad_urls_and_refused_connections_are_clear_errors() {
    assert!(matches!(connect("http://example.com/"), Err(Error::Url(_))));
    assert!(matches!(connect("wss://example.com/"), Err(Error::Url(_))));
    assert!(matches!(
        connect("ws://user@example.com/"),
        Err(Error::Url(_))
    ));
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    match connect(&format!("ws://127.0.0.1:{port}/")) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("expected connection refused, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn graceful_shutdown_reaches_connections_split_into_reader_and_writer() {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.shutdown_handle();
    thread::spawn(move || {
        server.serve(|ws| {
            let (mut reader, writer) = ws.split().unwrap();
            while let Ok(m) = reader.read() {
                if m.is_text() && writer.send(m).is_err() {
                    break;
                }
            }
        })
    });
    let (mut ws, _) = connect(&url(addr)).unwrap();
    ws.send_text("x").unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("x"));
    let h2 = handle.clone();
    let waiter = thread::spawn(move || h2.shutdown());
    match ws.read().unwrap() {
        Message::Close(Some(CloseFrame { code, .. })) => assert_eq!(code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    assert_eq!(
        waiter.join().unwrap(),
        0,
        "the split connection did not end"
    );
}

#[test]
fn accept_on_any_stream_answers_and_reports_a_refusal() {
    use std::io::Cursor;
    struct Duplex {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Duplex {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(b)
        }
    }
    impl Write for Duplex {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.output.write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let request = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let stream = Duplex {
        input: Cursor::new(request.as_bytes().to_vec()),
        output: Vec::new(),
    };
    let refused = ws6455::server::accept(stream, Config::default(), |_| {
        Decision::Reject(Response::new(403).body("no"))
    });
    match refused {
        Err(Error::Handshake(HandshakeError::Rejected { status, body, .. })) => {
            assert_eq!((status, body.as_slice()), (403, &b"no"[..]))
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn handler_returning_early_ends_with_fin_not_reset() {
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    thread::spawn(move || {
        server.serve(|mut ws| {
            let _ = ws.send_text("bye for now");
            // Return at once, without a close handshake, while the client keeps sending.
        })
    });
    for _ in 0..5 {
        let (mut ws, _) = connect(&url(addr)).unwrap();
        for i in 0..20 {
            if ws.send_text(format!("message {i}")).is_err() {
                break;
            }
        }
        assert_eq!(ws.read().unwrap(), Message::text("bye for now"));
        match ws.read() {
            Err(Error::Io(e)) => assert_ne!(e.kind(), std::io::ErrorKind::ConnectionReset),
            other => assert!(
                matches!(other, Err(Error::ConnectionClosed) | Ok(Message::Close(_))),
                "unexpected {other:?}"
            ),
        }
    }
}

/// Sends one frame with `write_frame_start` and `write_chunk`, `piece` bytes at a time,
/// pausing `pause_ms` after each piece.
fn send_frame_in_pieces(
    writer: &ws6455::socket::WsWriter,
    opcode: OpCode,
    fin: bool,
    data: &[u8],
    piece: usize,
    pause_ms: u64,
) {
    writer
        .write_frame_start(opcode, fin, data.len() as u64)
        .unwrap();
    for part in data.chunks(piece) {
        writer.write_chunk(part).unwrap();
        thread::sleep(Duration::from_millis(pause_ms));
    }
}

#[test]
fn split_writers_send_frame_by_frame_on_both_sides() {
    // Server side: the handler splits its connection; a reader thread echoes and answers pings
    // while the handler sends a two-frame message piece by piece (pieces of 20 KiB go straight
    // to the socket, small ones are queued), slowly, so the client's ping arrives mid-frame and
    // its pong must wait for the frame to end. Client side: the split writer sends the same
    // way, masked, and the server echoes it whole.
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 249) as u8).collect();
    let server = Server::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let sent = data.clone();
    thread::spawn(move || {
        server.serve(move |ws| {
            let (mut reader, writer) = ws.split().unwrap();
            let echo = writer.clone();
            let echoing = thread::spawn(move || loop {
                match reader.read() {
                    Ok(m @ (Message::Text(_) | Message::Binary(_))) => echo.send(m).unwrap(),
                    Ok(_) => {}
                    Err(_) => break,
                }
            });
            let first = 100_000;
            send_frame_in_pieces(&writer, OpCode::Binary, false, &sent[..first], 20_000, 20);
            // A whole message while this one is open is refused, and nothing is queued.
            assert!(matches!(
                writer.send_text("no"),
                Err(Error::FrameSequence(_))
            ));
            send_frame_in_pieces(&writer, OpCode::Continuation, true, &sent[first..], 777, 0);
            writer.flush().unwrap();
            let _ = echoing.join();
        })
    });
    let (ws, _) = connect(&url(addr)).unwrap();
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let (mut reader, writer) = ws.split().unwrap();
    writer.ping(b"mid").unwrap();
    // The pong cannot come inside the message's frames: it comes after them, or before they
    // started.
    let mut got = Vec::new();
    while got.len() < 2 {
        match reader.read().unwrap() {
            m @ (Message::Binary(_) | Message::Pong(_)) => got.push(m),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(got.contains(&Message::binary(data.clone())));
    assert!(got.contains(&Message::Pong(b"mid".to_vec())));

    send_frame_in_pieces(&writer, OpCode::Binary, true, &data, 30_001, 0);
    writer.flush().unwrap();
    assert_eq!(reader.read().unwrap(), Message::binary(data));
    writer.close(CloseCode::Normal, "").unwrap();
    assert!(matches!(reader.read().unwrap(), Message::Close(_)));
}
