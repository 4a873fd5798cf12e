//! Nothing a peer does blocks accepting (defect 3): `503` refusals are written without waiting
//! and lingered off the accept thread, by one bounded refusal thread. Bounds are generous: the
//! machine may be busy; before the fix the cases below took 1 s per refused peer.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ws6455::handshake::HandshakeError;
use ws6455::server::{RunningServer, Server};
use ws6455::{Config, Error};

mod leak_support;
use leak_support::{assert_back_to, fds, serial, threads};

const UPGRADE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A server with one connection slot, and a client holding it.
fn full_server() -> (RunningServer, ws6455::socket::WebSocket<TcpStream>) {
    let server = Server::bind_with_config("127.0.0.1:0", Config::default().max_connections(1))
        .unwrap()
        .spawn(|mut ws| while ws.read().is_ok() {})
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let (held, _) = ws6455::client::connect(&url).unwrap();
    (server, held)
}

/// A refused peer that never reads and keeps sending a byte every 20 ms (so that a lingering
/// close on the accept thread would wait its full second for it), until `stop`.
fn slow_peer(addr: SocketAddr, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let mut s = TcpStream::connect(addr).unwrap();
    thread::spawn(move || {
        if s.write_all(UPGRADE).is_err() {
            return;
        }
        while !stop.load(Ordering::Relaxed) {
            if s.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    })
}

/// The time a fresh client takes to get its `503` from the full server.
fn time_to_503(addr: SocketAddr) -> Duration {
    let start = Instant::now();
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(60)));
    let r = ws6455::client::ClientBuilder::new(format!("ws://{addr}/"))
        .config(config)
        .connect();
    match r {
        Err(Error::Handshake(HandshakeError::Rejected { status: 503, .. })) => start.elapsed(),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn slow_refused_peers_do_not_delay_the_next_answer() {
    let _g = serial();
    let (server, held) = full_server();
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    // 16 slow refused peers: 16 s of lingering if the accept thread did it.
    let peers: Vec<_> = (0..16).map(|_| slow_peer(addr, stop.clone())).collect();
    thread::sleep(Duration::from_millis(100));
    let took = time_to_503(addr);
    stop.store(true, Ordering::Relaxed);
    for p in peers {
        p.join().unwrap();
    }
    assert!(took < Duration::from_secs(8), "the 503 took {took:?}");
    drop(held);
    server.shutdown();
    server.join().unwrap();
}

/// Refused peers that never read nor close still get their `503`, and a flood of them costs
/// no thread per peer: the server keeps one refusal thread.
#[test]
fn a_flood_of_refused_peers_costs_no_threads() {
    let _g = serial();
    let baseline = (threads(), fds());
    let (server, held) = full_server();
    let addr = server.local_addr();
    let before = threads();
    let mut peers: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(UPGRADE).unwrap();
            s
        })
        .collect();
    let took = time_to_503(addr);
    let during = threads();
    assert!(took < Duration::from_secs(8), "the 503 took {took:?}");
    // One connection thread is held; the refusals add at most the refusal thread.
    assert!(during <= before + 1, "threads {before} -> {during}");
    // Each peer got its 503 (read without ever having read before).
    for s in &mut peers {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = [0u8; 12];
        match s.read_exact(&mut head) {
            Ok(()) => assert_eq!(&head, b"HTTP/1.1 503"),
            // Past the refusal thread's bound a peer may be closed at once; its 503 was
            // written first, but a reset may race it.
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof
                ),
                "{e}"
            ),
        }
    }
    drop(held);
    drop(peers);
    server.shutdown();
    server.join().unwrap();
    // The refusal thread ends with the server, and every refused socket is closed.
    assert_back_to(baseline, "refused flood");
}
