//! Hostile clients over real sockets. Each case is bounded in time, and afterwards the process's
//! thread and file-descriptor counts must come back to where they were: nothing leaks.
//!
//! The cases share one process-wide view of threads and fds, so they run one at a time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use ws6455::server::{Server, ShutdownHandle};
use ws6455::{Config, Message};

mod leak_support;
use leak_support::{assert_back_to, fds, serial, threads};

fn echo_server(config: Config) -> (SocketAddr, ShutdownHandle, thread::JoinHandle<()>) {
    let server = Server::bind_with_config("127.0.0.1:0", config).unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.shutdown_handle();
    let t = thread::spawn(move || {
        server
            .serve(|mut ws| loop {
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
            .unwrap()
    });
    (addr, handle, t)
}

/// Runs `case` against a fresh echo server and checks nothing leaked once it is shut down.
fn with_server(config: Config, what: &str, case: impl FnOnce(SocketAddr)) {
    let _g = serial();
    let baseline = (threads(), fds());
    let (addr, handle, t) = echo_server(config);
    case(addr);
    // A well-behaved client is still served.
    let (mut ws, _) = ws6455::client::connect(&format!("ws://{addr}/")).unwrap();
    ws.send_text("still fine").unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("still fine"), "{what}");
    drop(ws);
    handle.shutdown();
    t.join().unwrap();
    assert_back_to(baseline, what);
}

const UPGRADE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(UPGRADE).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![first, 0x80 | payload.len() as u8, 9, 8, 7, 6];
    let key = [9u8, 8, 7, 6];
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// Reads until the server closes the TCP connection; returns everything read.
fn read_to_close(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut all = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("server did not close in {limit:?}: {e}"),
        }
    }
}

#[test]
fn slowloris_connections_are_dropped_at_the_handshake_timeout() {
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(1500)));
    with_server(config, "slowloris", |addr| {
        let mut slow: Vec<TcpStream> = (0..500)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        let start = Instant::now();
        // A well-behaved client is served at once while they dribble.
        let (mut ws, _) = ws6455::client::connect(&format!("ws://{addr}/")).unwrap();
        ws.send_text("quick").unwrap();
        assert_eq!(ws.read().unwrap(), Message::text("quick"));
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "good client was kept waiting"
        );
        // One header byte per 300 ms each: never finishes before the deadline.
        let mut dropped = 0;
        let req = b"GET / HTTP/1.1\r\nHost: slow\r\n";
        for byte in req.iter().take(10) {
            for s in &mut slow {
                let _ = s.write_all(&[*byte]);
            }
            thread::sleep(Duration::from_millis(300));
        }
        for s in &mut slow {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut b = [0u8; 16];
            match s.read(&mut b) {
                Ok(0) | Err(_) => dropped += 1,
                Ok(_) => {}
            }
        }
        assert_eq!(dropped, 500, "every slowloris connection is dropped");
    });
}

#[test]
fn giant_head_is_refused_with_431_without_reading_it_all() {
    with_server(Config::default(), "giant head", |addr| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
        while head.len() < (1 << 20) {
            head.extend_from_slice(line.as_bytes());
        }
        // The server may hang up before we finish writing: that is fine.
        let _ = s.write_all(&head);
        let got = read_to_close(&mut s, Duration::from_secs(5));
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 431") || text.starts_with("HTTP/1.1 400"),
            "{text}"
        );
    });
}

#[test]
fn giant_announced_frame_length_fails_at_once_with_1009() {
    with_server(Config::default(), "giant frame", |addr| {
        let mut s = raw_upgrade(addr);
        let mut f = vec![0x82, 0x80 | 127];
        f.extend_from_slice(&(i64::MAX as u64).to_be_bytes());
        f.extend_from_slice(&[1, 2, 3, 4]);
        s.write_all(&f).unwrap();
        let got = read_to_close(&mut s, Duration::from_secs(5));
        assert!(got.len() >= 4, "expected a close frame");
        assert_eq!(got[0], 0x88, "a close frame");
        assert_eq!(u16::from_be_bytes([got[2], got[3]]), 1009);
    });
}

#[test]
fn endless_continuation_frames_are_cut_off() {
    let config = Config::default().max_fragments(1000);
    with_server(config, "endless continuation", |addr| {
        let mut s = raw_upgrade(addr);
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut burst = masked(0x01, b"a");
        for _ in 0..5000 {
            burst.extend(masked(0x00, b""));
        }
        let _ = s.write_all(&burst);
        let got = read_to_close(&mut s, Duration::from_secs(5));
        assert!(
            got.len() >= 4 && got[0] == 0x88,
            "expected a close frame, got {got:?}"
        );
        assert_eq!(u16::from_be_bytes([got[2], got[3]]), 1009);
    });
}

#[test]
fn ping_flood_from_a_client_that_never_reads_stays_bounded() {
    let config = Config::default()
        .max_write_buffer(64 << 10)
        .write_timeout(Some(Duration::from_millis(500)));
    with_server(config, "ping flood", |addr| {
        let mut s = raw_upgrade(addr);
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        let ping = masked(0x89, &[0x55; 125]);
        let mut burst = Vec::with_capacity(ping.len() * 1000);
        for _ in 0..1000 {
            burst.extend_from_slice(&ping);
        }
        // 100 000 pings with 125-byte payloads, never reading a pong.
        let start = Instant::now();
        let mut sent = 0;
        for _ in 0..100 {
            if s.write_all(&burst).is_err() {
                break; // the server closed us: acceptable
            }
            sent += 1000;
            if start.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        assert!(sent > 0);
        drop(s);
    });
}

#[test]
fn half_open_connection_is_reclaimed_by_the_idle_timeout() {
    let config = Config::default().idle_timeout(Some(Duration::from_millis(500)));
    with_server(config, "half-open", |addr| {
        let s = raw_upgrade(addr);
        // The client vanishes without a FIN: keep the socket open but silent.
        let start = Instant::now();
        let mut s2 = s.try_clone().unwrap();
        let got = read_to_close(&mut s2, Duration::from_secs(5));
        assert!(start.elapsed() < Duration::from_secs(5));
        drop(got);
        drop(s);
    });
}

#[test]
fn client_that_never_reads_is_closed_and_others_are_unaffected() {
    let config = Config::default()
        .max_write_buffer(256 << 10)
        .write_timeout(Some(Duration::from_millis(500)));
    with_server(config, "never reads", |addr| {
        let mut s = raw_upgrade(addr);
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        // Ask for echoes of 64 KiB messages and never read them.
        let payload = vec![0x41u8; 65536];
        let key = [1u8, 2, 3, 4];
        let mut f = vec![0x82, 0x80 | 126];
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if s.write_all(&f).is_err() {
                break;
            }
        }
        // Meanwhile others are served (checked by with_server); the stuck one is closed.
        drop(s);
    });
}
