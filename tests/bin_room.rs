//! `ws-server --app room`: broadcast order, join/leave announcements, slow clients.

mod bin_common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use bin_common::*;
use ws6455::socket::WebSocket;
use ws6455::{client, Message};

fn join(server: &Server, name: &str) -> WebSocket<TcpStream> {
    let (ws, _) = client::connect(&format!("{}/?name={name}", server.url())).expect("connect");
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    ws
}

fn next_text(ws: &mut WebSocket<TcpStream>) -> String {
    loop {
        match ws.read().expect("read") {
            Message::Text(t) => return t,
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

#[test]
fn three_clients_see_every_message_in_the_same_order() {
    let mut server = Server::start(&["--app", "room"]);
    let mut alice = join(&server, "alice");
    assert_eq!(next_text(&mut alice), "* alice joined");
    let mut bob = join(&server, "bob");
    assert_eq!(next_text(&mut alice), "* bob joined");
    assert_eq!(next_text(&mut bob), "* bob joined");
    // No name: a guest name.
    let (mut guest, _) = client::connect(&server.url()).unwrap();
    guest.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    for ws in [&mut alice, &mut bob, &mut guest] {
        assert_eq!(next_text(ws), "* guest-1 joined");
    }

    const N: usize = 25;
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (name, ws) in [("alice", alice), ("bob", bob), ("guest-1", guest)] {
        let (mut r, w) = ws.split().unwrap();
        readers.push(thread::spawn(move || {
            (0..3 * N)
                .map(|_| loop {
                    match r.read().expect("read") {
                        Message::Text(t) => break t,
                        Message::Close(f) => panic!("closed: {f:?}"),
                        _ => {}
                    }
                })
                .collect::<Vec<String>>()
        }));
        let w2 = w.clone();
        writers.push((
            w,
            thread::spawn(move || {
                for i in 0..N {
                    w2.send_text(format!("{name} says {i}")).unwrap();
                }
            }),
        ));
    }
    let mut keep = Vec::new();
    for (w, t) in writers {
        t.join().unwrap();
        keep.push(w);
    }
    let seen: Vec<Vec<String>> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(seen[0], seen[1], "alice and bob saw different orders");
    assert_eq!(seen[0], seen[2], "alice and the guest saw different orders");
    for name in ["alice", "bob", "guest-1"] {
        let mine: Vec<&String> = seen[0]
            .iter()
            .filter(|l| l.starts_with(&format!("{name}: ")))
            .collect();
        let expected: Vec<String> = (0..N).map(|i| format!("{name}: {name} says {i}")).collect();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>());
    }
    // The guest leaves; the others are told, and the server logs it.
    keep[2].close(ws6455::CloseCode::Normal, "bye").unwrap();
    server
        .stdout
        .wait_line("[3] Connection closed by client ...");
    server.stdout.wait_line("[3] * guest-1 left");
    server.stdout.wait_line("[1] * alice joined");
    server.stdout.wait_line("[1] CLIENT >> alice says 0");
    drop(keep);
}

#[test]
fn a_stalled_client_does_not_hold_up_the_others() {
    let mut server = Server::start(&["--app", "room", "--room-queue", "32"]);
    let mut alice = join(&server, "alice");
    assert_eq!(next_text(&mut alice), "* alice joined");
    let mut bob = join(&server, "bob");
    assert_eq!(next_text(&mut alice), "* bob joined");
    assert_eq!(next_text(&mut bob), "* bob joined");

    // A client that completes the upgrade and then never reads a byte.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .write_all(
            b"GET /?name=stalled HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    assert_eq!(next_text(&mut alice), "* stalled joined");
    assert_eq!(next_text(&mut bob), "* stalled joined");

    // Far more than any socket buffer holds: the stalled client must fall behind. The two live
    // clients are kept within WINDOW messages of the sender, so however busy the machine is,
    // they never fall behind by a whole queue (--room-queue 32) and only the stalled one does.
    const N: usize = 200;
    const WINDOW: usize = 8;
    let filler = "x".repeat(64 << 10);
    let (mut alice_r, alice_w) = alice.split().unwrap();
    let (mut bob_r, _bob_w) = bob.split().unwrap();
    let progress = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let collect = |r: &mut ws6455::socket::WsReader, slot: usize, progress: &[AtomicUsize; 2]| {
        let mut got = Vec::new();
        while got.len() < N {
            match r.read().expect("read") {
                Message::Text(t) => {
                    if let Some(rest) = t.strip_prefix("alice: ") {
                        got.push(rest[..4].parse::<usize>().unwrap());
                        progress[slot].store(got.len(), Ordering::SeqCst);
                    }
                }
                Message::Close(f) => panic!("closed: {f:?}"),
                _ => {}
            }
        }
        got
    };
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    let (p1, p2) = (progress.clone(), progress.clone());
    let a = thread::spawn(move || tx.send(("alice", collect(&mut alice_r, 0, &p1))).unwrap());
    let b = thread::spawn(move || tx2.send(("bob", collect(&mut bob_r, 1, &p2))).unwrap());
    for i in 0..N {
        let deadline = Instant::now() + WAIT;
        while progress
            .iter()
            .any(|p| p.load(Ordering::SeqCst) + WINDOW < i)
        {
            assert!(Instant::now() < deadline, "live clients stopped receiving");
            thread::sleep(Duration::from_millis(1));
        }
        alice_w.send_text(format!("{i:04}{filler}")).unwrap();
    }
    for _ in 0..2 {
        let (who, got) = rx.recv_timeout(WAIT).expect("both keep receiving");
        assert_eq!(got, (0..N).collect::<Vec<_>>(), "{who}");
    }
    a.join().unwrap();
    b.join().unwrap();
    server.stderr.wait_for("slow client dropped", |l| {
        l.contains("stalled") && l.contains("1008")
    });
    server.stdout.wait_line("[3] * stalled left");
    drop(stalled);
}
