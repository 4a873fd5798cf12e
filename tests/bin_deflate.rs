//! The binaries negotiate permessage-deflate by default; `--deflate off` switches it off;
//! `--verbose` logs what was agreed (server: per connection; client: at connect).

mod bin_common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use bin_common::{run_client, Server, WAIT};

const CHROMIUM: &str = "permessage-deflate; client_max_window_bits";
const ANSWER: &str = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12";

/// Reads an HTTP head (up to the empty line).
fn read_head(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Upgrades with `offer` over a raw socket; returns the response head.
fn upgrade(addr: SocketAddr, offer: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    let ext = offer.map_or(String::new(), |o| {
        format!("Sec-WebSocket-Extensions: {o}\r\n")
    });
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
    )
    .unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    head
}

#[test]
fn server_negotiates_by_default_and_logs_it() {
    let mut server = Server::start(&["--app", "echo", "--verbose"]);
    let head = upgrade(server.addr, Some(CHROMIUM));
    assert_eq!(header(&head, "sec-websocket-extensions"), Some(ANSWER));
    server.stderr.wait_for("the agreement", |l| {
        l.starts_with("ws-server: [") && l.ends_with(&format!("] compression: {ANSWER}"))
    });
    // Firefox's bare offer: the client's window cannot be bounded, so it is not kept.
    let head = upgrade(server.addr, Some("permessage-deflate"));
    assert_eq!(
        header(&head, "sec-websocket-extensions"),
        Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=12")
    );
    let head = upgrade(server.addr, None);
    assert_eq!(header(&head, "sec-websocket-extensions"), None);
    server.stderr.wait_for("no offer", |l| {
        l.ends_with("] compression: none (not offered)")
    });
    let head = upgrade(server.addr, Some("permessage-deflate; bogus"));
    assert_eq!(header(&head, "sec-websocket-extensions"), None);
    server.stderr.wait_for("declined", |l| {
        l.ends_with("] compression: none (no acceptable permessage-deflate offer)")
    });
}

#[test]
fn server_deflate_off() {
    let mut server = Server::start(&["--app", "echo", "--verbose", "--deflate", "off"]);
    let head = upgrade(server.addr, Some(CHROMIUM));
    assert_eq!(header(&head, "sec-websocket-extensions"), None);
    server.stderr.wait_for("off", |l| {
        l.ends_with("] compression: none (--deflate off)")
    });
}

#[test]
fn client_and_server_binaries_negotiate_and_echo() {
    let mut server = Server::start(&["--app", "echo", "--verbose"]);
    let url = server.url();
    let run = run_client(&["--quiet", "--verbose", &url], "hello\n");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, "hello\n");
    assert!(
        run.stderr
            .lines()
            .any(|l| l == format!("ws-client: compression: {ANSWER}")),
        "{run:?}"
    );
    server.stderr.wait_for("server side", |l| {
        l.ends_with(&format!("] compression: {ANSWER}"))
    });

    let run = run_client(&["--quiet", "--verbose", "--deflate=off", &url], "hi\n");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, "hi\n");
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "ws-client: compression: none (not offered: --deflate off)"),
        "{run:?}"
    );
    server.stderr.wait_for("no offer", |l| {
        l.ends_with("] compression: none (not offered)")
    });

    // Without --verbose the client says nothing about it.
    let run = run_client(&["--quiet", &url], "x\n");
    assert!(run.status.success(), "{run:?}");
    assert!(!run.stderr.contains("compression"), "{run:?}");
}

/// A raw server: returns the client's request head after answering it with a 101 carrying
/// `answer` (if any), then closes.
fn raw_server(answer: Option<&'static str>) -> (SocketAddr, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let head = read_head(&mut s);
        let key = header(&head, "sec-websocket-key").unwrap().to_owned();
        let ext = answer.map_or(String::new(), |a| {
            format!("Sec-WebSocket-Extensions: {a}\r\n")
        });
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{ext}\r\n",
            ws6455::handshake::accept_key(key.as_bytes())
        )
        .unwrap();
        // A close frame (1000), then the client's answer (a masked close of at most 125
        // bytes), and the server ends TCP first (RFC 6455 §7.1.1).
        let _ = s.write_all(&[0x88, 0x02, 0x03, 0xe8]);
        let mut frame = [0u8; 2];
        if s.read_exact(&mut frame).is_ok() {
            let mut rest = vec![0u8; 4 + usize::from(frame[1] & 0x7f)];
            let _ = s.read_exact(&mut rest);
        }
        head
    });
    (addr, t)
}

#[test]
fn client_offer_on_the_wire_and_a_bad_answer() {
    let (addr, t) = raw_server(Some("permessage-deflate; server_max_window_bits=10"));
    let run = run_client(&["--quiet", "--verbose", &format!("ws://{addr}/")], "");
    let head = t.join().unwrap();
    assert_eq!(header(&head, "sec-websocket-extensions"), Some(CHROMIUM));
    assert!(
        run.stderr
            .contains("ws-client: compression: permessage-deflate; server_max_window_bits=10"),
        "{run:?}"
    );

    let (addr, t) = raw_server(None);
    let run = run_client(
        &["--quiet", "--deflate", "off", &format!("ws://{addr}/")],
        "",
    );
    let head = t.join().unwrap();
    assert_eq!(header(&head, "sec-websocket-extensions"), None, "{run:?}");

    // An answer we cannot honour fails the connection, with a clear message and status 1.
    let (addr, t) = raw_server(Some("permessage-deflate; client_max_window_bits"));
    let run = run_client(&["--quiet", &format!("ws://{addr}/")], "");
    t.join().unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(
        run.stderr.contains("client_max_window_bits needs a value"),
        "{run:?}"
    );
}

#[test]
fn the_echo_compresses_small_messages_of_both_kinds_and_streams_large_binary_uncompressed() {
    // What the echo sends back, as it is on the wire: small text and binary messages go back
    // whole and compressed (RSV1 on the first frame); a binary message over 16 KiB is streamed
    // back frame by frame, uncompressed (frames sent one by one never are).
    let server = Server::start(&["--app", "echo"]);
    let (mut ws, _) = ws6455::client::connect(&server.url()).unwrap();
    assert!(ws.deflate().is_some());
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    let json = r#"{"user":"ana","text":"hello hello hello hello"}"#;
    let big: Vec<u8> = (0..64u32 << 10).map(|i| (i % 7) as u8).collect();
    let mut rx = ws6455::protocol::Receiver::new(ws6455::Role::Client, &Default::default());
    rx.set_deflate(&ws.deflate().unwrap());
    for (msg, compressed) in [
        (ws6455::Message::text(json), true),
        (ws6455::Message::Binary(json.as_bytes().to_vec()), true),
        (ws6455::Message::Binary(big), false),
    ] {
        let expected = msg.clone();
        ws.send(msg).unwrap();
        // The first byte of the echo's first frame, read past the library.
        let mut b0 = [0u8; 1];
        ws.get_mut().read_exact(&mut b0).unwrap();
        assert_eq!(b0[0] & 0x40 != 0, compressed, "RSV1 of {:02x}", b0[0]);
        // The rest, parsed by a second receiver that gets every byte from here on (it keeps
        // the compression context from one echo to the next).
        rx.receive(&b0);
        let got = loop {
            if let Some(m) = rx.next_message().unwrap() {
                break m;
            }
            let mut buf = [0u8; 16 << 10];
            let n = ws.get_mut().read(&mut buf).unwrap();
            assert!(n > 0, "the echo ended early");
            rx.receive(&buf[..n]);
        };
        assert_eq!(got, expected);
    }
}
