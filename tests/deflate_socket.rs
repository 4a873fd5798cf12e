//! permessage-deflate over real TCP: `WebSocket::from_raw` on both ends of a connection, the
//! agreement applied with `set_deflate`, whole and split connections, messages large and
//! small both ways with pings in between, chunk reads, the opt-out. Also the measurement of
//! an idle connection's memory with the extension (`#[ignore]`d; see docs/compression.md).

mod deflate_support;
use deflate_support::noise;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;

use ws6455::protocol::Chunk;
use ws6455::socket::WebSocket;
use ws6455::{CloseCode, Config, Error, Message, PerMessageDeflate, Role};

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

fn sockets(a: &PerMessageDeflate, config: &Config) -> (WebSocket<TcpStream>, WebSocket<TcpStream>) {
    let (c, s) = tcp_pair();
    let mut client = WebSocket::from_raw(c, Role::Client, config.clone());
    let mut server = WebSocket::from_raw(s, Role::Server, config.clone());
    client.set_deflate(*a);
    server.set_deflate(*a);
    (client, server)
}

fn text(len: usize, seed: u64) -> String {
    let words = [
        "{\"user\":\"ada\"",
        "\"text\":\"hello\"}",
        "compressed",
        "frames",
        "42",
        " ",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut s = String::with_capacity(len + 20);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(words[(x % words.len() as u64) as usize]);
    }
    s.truncate(len);
    s
}

/// Messages of every size class: small, around the direct-write size (64 KiB) and past the
/// piece size of a client (1 MiB), text and binary.
fn workload() -> Vec<Message> {
    let mut out = Vec::new();
    for (i, n) in [0usize, 10, 200, 5000, 70_000, 300_000, 1_500_000, 3]
        .into_iter()
        .enumerate()
    {
        out.push(Message::text(text(n, i as u64)));
        out.push(Message::binary(noise(n / 3, i as u64)));
        out.push(Message::binary(vec![0u8; n]));
    }
    out
}

#[test]
fn split_connections_carry_compression_both_ways() {
    let agreements = [
        PerMessageDeflate::default(),
        PerMessageDeflate {
            server_no_context_takeover: true,
            client_max_window_bits: 9,
            server_max_window_bits: 12,
            ..Default::default()
        },
    ];
    for a in agreements {
        let (client, server) = sockets(&a, &Config::default().fragment_size(100_000));
        let (mut sr, sw) = server.split().unwrap();
        let (mut cr, cw) = client.split().unwrap();
        assert_eq!((sr.deflate(), sw.deflate()), (Some(a), Some(a)));
        assert_eq!((cr.deflate(), cw.deflate()), (Some(a), Some(a)));
        // The server echoes whatever it reads, through its writing half.
        let echo = thread::spawn(move || loop {
            match sr.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => sw.send(m).unwrap(),
                Ok(Message::Close(_)) | Err(Error::ConnectionClosed) => return,
                Ok(_) => {}
                Err(e) => panic!("server: {e}"),
            }
        });
        let msgs = workload();
        let sent = msgs.clone();
        let writer = thread::spawn(move || {
            for (i, m) in sent.into_iter().enumerate() {
                if i % 3 == 0 {
                    cw.ping(b"between").unwrap();
                }
                if i % 5 == 4 {
                    cw.send_uncompressed(m).unwrap();
                } else {
                    cw.send(m).unwrap();
                }
            }
            cw
        });
        let mut got = Vec::new();
        while got.len() < msgs.len() {
            match cr.read().unwrap() {
                m @ (Message::Text(_) | Message::Binary(_)) => got.push(m),
                Message::Pong(p) => assert_eq!(p, b"between"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(got == msgs, "{a:?}: echoes differ");
        let cw = writer.join().unwrap();
        cw.close(CloseCode::Normal, "done").unwrap();
        loop {
            match cr.read() {
                Ok(Message::Close(_)) | Err(Error::ConnectionClosed) => break,
                Ok(_) => {}
                Err(e) => panic!("client: {e}"),
            }
        }
        echo.join().unwrap();
    }
}

#[test]
fn whole_connections_and_chunk_reads_over_tcp() {
    let a = PerMessageDeflate {
        client_no_context_takeover: true,
        ..Default::default()
    };
    let (mut client, mut server) = sockets(&a, &Config::default());
    let msgs = workload();
    let sent = msgs.clone();
    // The client writes everything from its own thread: the server reads chunk by chunk.
    let writer = thread::spawn(move || {
        for m in sent {
            client.send(m).unwrap();
            client.ping(b"p").unwrap();
        }
        // Read the server's replies (pongs, then the close).
        let mut pongs = 0;
        loop {
            match client.read() {
                Ok(Message::Pong(_)) => pongs += 1,
                Ok(Message::Text(t)) => assert_eq!(t, "the end"),
                Ok(Message::Close(_)) | Err(Error::ConnectionClosed) => return pongs,
                Ok(other) => panic!("{other:?}"),
                Err(e) => panic!("client: {e}"),
            }
        }
    });
    let mut buf = vec![0u8; 10_000];
    let mut got = Vec::new();
    let mut current: Option<(bool, Vec<u8>)> = None;
    let mut announced = 0;
    while got.len() < msgs.len() {
        match server.read_chunk(&mut buf).unwrap() {
            Chunk::FrameStart { opcode, len, .. } => {
                announced = len as usize;
                if opcode != ws6455::frame::OpCode::Continuation {
                    current = Some((opcode == ws6455::frame::OpCode::Text, Vec::new()));
                }
            }
            Chunk::Data {
                len,
                end_of_message,
                ..
            } => {
                assert_eq!(len, announced);
                let (is_text, data) = current.as_mut().unwrap();
                data.extend_from_slice(&buf[..len]);
                if end_of_message {
                    let (is_text, data) = (*is_text, std::mem::take(data));
                    got.push(if is_text {
                        Message::Text(String::from_utf8(data).unwrap())
                    } else {
                        Message::Binary(data)
                    });
                }
            }
            Chunk::Control(_) => {}
        }
    }
    assert!(got == msgs, "chunk reads differ");
    server.send_text("the end").unwrap();
    server.close(CloseCode::Normal, "").unwrap();
    while server.read().is_ok() {}
    // Every ping before our close is answered (the last may come after it).
    assert!(writer.join().unwrap() >= msgs.len() - 1);
}

/// RSS of this process in KiB.
fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

const CONNECTIONS: usize = 1000;

/// One measured configuration: `None` for no extension.
fn measured() -> Vec<(String, Option<PerMessageDeflate>)> {
    let mut out = vec![("no permessage-deflate".to_string(), None)];
    for bits in [8u8, 10, 12, 15] {
        for takeover in [true, false] {
            out.push((
                format!(
                    "{bits} bits, {}",
                    if takeover {
                        "context takeover"
                    } else {
                        "no context takeover"
                    }
                ),
                Some(PerMessageDeflate {
                    server_no_context_takeover: !takeover,
                    client_no_context_takeover: !takeover,
                    server_max_window_bits: bits,
                    client_max_window_bits: bits,
                }),
            ));
        }
    }
    out.push((
        "server 12 bits, client 15 bits without takeover (bare offer)".to_string(),
        Some(PerMessageDeflate {
            server_max_window_bits: 12,
            client_no_context_takeover: true,
            ..Default::default()
        }),
    ));
    out.push((
        "server 12 bits, client 12 bits (client_max_window_bits offered)".to_string(),
        Some(PerMessageDeflate {
            server_max_window_bits: 12,
            client_max_window_bits: 12,
            ..Default::default()
        }),
    ));
    out
}

fn encode(a: &Option<PerMessageDeflate>) -> String {
    match a {
        None => "off".into(),
        Some(a) => format!(
            "{},{},{},{}",
            a.server_max_window_bits,
            a.client_max_window_bits,
            u8::from(a.server_no_context_takeover),
            u8::from(a.client_no_context_takeover)
        ),
    }
}

fn decode(s: &str) -> Option<PerMessageDeflate> {
    if s == "off" {
        return None;
    }
    let v: Vec<u8> = s.split(',').map(|x| x.parse().unwrap()).collect();
    Some(PerMessageDeflate {
        server_max_window_bits: v[0],
        client_max_window_bits: v[1],
        server_no_context_takeover: v[2] == 1,
        client_no_context_takeover: v[3] == 1,
    })
}

/// The client side of [`idle_connection_memory`], run in a child process so that only the
/// server's connections count: connects `CONNECTIONS` times, sends one message, reads one,
/// keeps the connections open until its stdin closes.
#[test]
#[ignore = "run by idle_connection_memory"]
fn idle_memory_client_process() {
    let Ok(spec) = std::env::var("WS6455_MEM_CLIENT") else {
        return;
    };
    let (addr, agreement) = spec.split_once('/').unwrap();
    let agreement = decode(agreement);
    let mut open = Vec::new();
    for i in 0..CONNECTIONS {
        let stream = TcpStream::connect(addr).unwrap();
        let mut ws = WebSocket::from_raw(stream, Role::Client, Config::default());
        if let Some(a) = agreement {
            ws.set_deflate(a);
        }
        ws.send_text(text(300 + i % 700, i as u64)).unwrap();
        assert!(ws.read().unwrap().is_text());
        open.push(ws);
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}

/// Measures what an idle server connection costs with the extension, one message exchanged
/// each way, at 1 000 connections over TCP, for window bits 8, 10, 12 and 15 with and without
/// context takeover. Each configuration runs in a fresh server process (so memory freed by the
/// last one does not hide this one's), whose clients run in a process of their own. Run with
/// `cargo test --release --test deflate_socket -- --ignored --nocapture idle_connection_memory`.
#[test]
#[ignore = "a measurement: run it by name with --ignored --nocapture"]
fn idle_connection_memory() {
    let exe = std::env::current_exe().unwrap();
    for (name, agreement) in measured() {
        let out = Command::new(&exe)
            .args([
                "--exact",
                "idle_memory_server_process",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WS6455_MEM_SERVER", encode(&agreement))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let result = stdout
            .split_once("RESULT ")
            .map_or("failed", |(_, r)| r.lines().next().unwrap_or(""));
        println!("{name:<64} {result}");
    }
}

/// The server side of [`idle_connection_memory`], in a process of its own.
#[test]
#[ignore = "run by idle_connection_memory"]
fn idle_memory_server_process() {
    let Ok(spec) = std::env::var("WS6455_MEM_SERVER") else {
        return;
    };
    let agreement = decode(&spec);
    let exe = std::env::current_exe().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut child = Command::new(&exe)
        .args([
            "--exact",
            "idle_memory_client_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WS6455_MEM_CLIENT", format!("{addr}/{spec}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let before = rss_kib();
    let mut held = Vec::new();
    let mut codec = 0usize;
    for i in 0..CONNECTIONS {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = WebSocket::from_raw(stream, Role::Server, Config::default());
        if let Some(a) = agreement {
            ws.set_deflate(a);
        }
        assert!(ws.read().unwrap().is_text());
        ws.send_text(text(300 + i % 700, i as u64 + 7)).unwrap();
        codec += ws.deflate_memory();
        held.push(ws);
    }
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("ready") {
        line.clear();
    }
    let after = rss_kib();
    println!(
        "RESULT RSS {:>6.1} KiB per connection; codec state allocated {:>6.1} KiB",
        after.saturating_sub(before) as f64 / CONNECTIONS as f64,
        codec as f64 / 1024.0 / CONNECTIONS as f64
    );
    drop(child.stdin.take());
    child.wait().unwrap();
    drop(held);
}

/// A minimal WebSocket client in Python, on its `zlib` (a real zlib, as browsers and most
/// servers use): connects, then for each message it receives (compressed or not) sends it back
/// compressed with its own context-takeover stream at `client_bits`, masked; stops at a close.
const ZLIB_PEER: &str = r#"
import socket, struct, sys, zlib, os
port, server_bits, client_bits = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
inflate = zlib.decompressobj(-server_bits)
deflate = zlib.compressobj(6, zlib.DEFLATED, -client_bits)
buf = b""
def need(n):
    global buf
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            sys.exit(0)
        buf += d
    out, buf = buf[:n], buf[n:]
    return out
def send(b0, payload):
    key = os.urandom(4)
    n = len(payload)
    head = bytes([b0])
    if n < 126: head += bytes([0x80 | n])
    elif n < 65536: head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else: head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    s.sendall(head + key + masked)
msg, op, compressed = b"", 0, False
while True:
    b0, b1 = need(2)
    n = b1 & 0x7F
    if n == 126: n = struct.unpack(">H", need(2))[0]
    elif n == 127: n = struct.unpack(">Q", need(8))[0]
    payload = need(n)
    opcode = b0 & 0x0F
    if opcode == 8:
        send(0x88, payload)
        break
    if opcode >= 8:
        continue
    if opcode != 0:
        op, compressed, msg = opcode, bool(b0 & 0x40), b""
    msg += payload
    if b0 & 0x80:
        data = inflate.decompress(msg + b"\x00\x00\xff\xff") if compressed else msg
        z = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)
        assert z.endswith(b"\x00\x00\xff\xff")
        send(0xC0 | op, z[:-4])
"#;

#[test]
fn a_python_zlib_peer_round_trips_compressed_messages() {
    if Command::new("python3")
        .arg("-c")
        .arg("import zlib")
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!("python3 with zlib not found: skipped");
        return;
    }
    for (server_bits, client_bits) in [(15u8, 15u8), (9, 12), (12, 8)] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // zlib refuses a raw 8-bit window: the peer is told 8 and compresses with 9, which
        // our inflater accepts.
        let peer_bits = client_bits.max(9);
        let mut child = Command::new("python3")
            .args([
                "-c",
                ZLIB_PEER,
                &port.to_string(),
                &server_bits.to_string(),
                &peer_bits.to_string(),
            ])
            .spawn()
            .unwrap();
        let (stream, _) = listener.accept().unwrap();
        let a = PerMessageDeflate {
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
            ..Default::default()
        };
        let mut ws = WebSocket::from_raw(
            stream,
            Role::Server,
            Config::default().fragment_size(50_000),
        );
        ws.set_deflate(a);
        let msgs: Vec<Message> = (0..40u64)
            .map(|i| match i % 3 {
                0 => Message::text(text((i as usize * 4099) % 200_000, i)),
                1 => Message::binary(noise((i as usize * 97) % 5000, i)),
                _ => Message::binary(vec![i as u8; (i as usize * 1000) % 70_000]),
            })
            .collect();
        for m in &msgs {
            ws.send(m.clone()).unwrap();
            assert_eq!(&ws.read().unwrap(), m, "{a:?}");
        }
        ws.close(CloseCode::Normal, "").unwrap();
        while ws.read().is_ok() {}
        assert!(child.wait().unwrap().success());
    }
}
