//! The server is silent by default and reports what happens as events (issue 19): refusals,
//! answered requests with their status, failed handshakes, upgrades and closes, each with the
//! connection id and the peer address; the hooks and the handler get the same id and peer on
//! the request, without thread-locals; targets in events are redacted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ws6455::handshake::{Accept, Decision, HandshakeError, Request, Response};
use ws6455::server::{Event, Refusal, Server};
use ws6455::{Config, Error};

/// One event, owned: kind, id, peer, status, one-line text.
#[derive(Debug, Clone)]
struct Seen {
    kind: &'static str,
    id: Option<u64>,
    peer: Option<SocketAddr>,
    status: Option<u16>,
    text: String,
}

fn record(ev: &Event<'_>) -> Seen {
    let (kind, status) = match ev {
        Event::Refused { status, .. } => ("refused", Some(*status)),
        Event::Upgraded { .. } => ("upgraded", None),
        Event::Answered { response, .. } => ("answered", Some(response.status)),
        Event::HandshakeFailed { .. } => ("failed", None),
        Event::Closed { .. } => ("closed", None),
        Event::AcceptFailed { .. } => ("accept", None),
        _ => ("other", None),
    };
    Seen {
        kind,
        id: ev.id(),
        peer: ev.peer(),
        status,
        text: ev.to_string(),
    }
}

fn wait_for(events: &Mutex<Vec<Seen>>, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(e) = events.lock().unwrap().iter().find(|e| pred(e)) {
            return e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no event {what}: {:#?}",
            events.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn upgrade_request(target: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Sends `request`, returns the client's address and what came back until the server closed.
fn exchange(addr: SocketAddr, request: &str) -> (SocketAddr, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (
        s.local_addr().unwrap(),
        String::from_utf8_lossy(&out).into_owned(),
    )
}

#[test]
fn events_carry_the_connection_id_and_peer_that_hooks_and_handler_see() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    // What the upgrade hook and the handler saw: (who, id, peer).
    let (tx, rx) = mpsc::channel::<(&'static str, Option<u64>, Option<SocketAddr>)>();
    let hook_tx = Mutex::new(tx.clone());
    let handler_tx = Mutex::new(tx);
    let server = Server::bind_with_config(
        "127.0.0.1:0",
        Config::default().handshake_timeout(Some(Duration::from_millis(300))),
    )
    .unwrap()
    .on_event(move |ev: &Event| sink.lock().unwrap().push(record(ev)))
    .on_upgrade(move |req: &Request| {
        let _ = hook_tx
            .lock()
            .unwrap()
            .send(("hook", req.connection_id(), req.peer_addr()));
        if req.query_param("accessToken").as_deref() == Some("good") {
            Decision::Accept(Accept::new())
        } else {
            Decision::Reject(Response::text(403, "bad token"))
        }
    })
    .spawn(move |ws| {
        let req = ws.request().expect("the accepted request");
        let _ = handler_tx
            .lock()
            .unwrap()
            .send(("handler", req.connection_id(), req.peer_addr()));
    })
    .unwrap();
    let addr = server.local_addr();

    // An accepted upgrade: the hook, the handler and the events agree on id and peer.
    let (ws, _) = ws6455::client::connect(&format!("ws://{addr}/chat?accessToken=good")).unwrap();
    let me = ws.get_ref().local_addr().unwrap();
    let hook = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let handler = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let id = hook.1.expect("the hook sees the connection id");
    assert_eq!(hook, ("hook", Some(id), Some(me)));
    assert_eq!(handler, ("handler", Some(id), Some(me)));
    let up = wait_for(&events, "upgraded", |e| e.kind == "upgraded");
    assert_eq!((up.id, up.peer), (Some(id), Some(me)));
    // Targets are redacted in events.
    assert!(
        up.text.ends_with("upgraded /chat?accessToken=***"),
        "{}",
        up.text
    );
    let closed = wait_for(&events, "closed", |e| e.kind == "closed");
    assert_eq!((closed.id, closed.peer), (Some(id), Some(me)));
    drop(ws);

    // A refused upgrade: answered 403, with a fresh id and the peer.
    let (peer, resp) = exchange(addr, &upgrade_request("/?accessToken=wrong-secret"));
    assert!(resp.starts_with("HTTP/1.1 403 "), "{resp}");
    let hook = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let refused = wait_for(&events, "answered 403", |e| e.status == Some(403));
    assert_eq!(refused.kind, "answered");
    assert_eq!((refused.id, refused.peer), (hook.1, Some(peer)));
    assert_ne!(refused.id, Some(id));
    assert!(!refused.text.contains("wrong-secret"), "{}", refused.text);

    // A malformed head: 400, no request.
    let (peer, resp) = exchange(addr, "GET / HTTP/1.1\r\nHost : x\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 400 "), "{resp}");
    let bad = wait_for(&events, "answered 400", |e| e.status == Some(400));
    assert_eq!(bad.peer, Some(peer));
    assert!(bad.id.is_some());
    assert!(
        bad.text.ends_with("answered 400 Bad Request"),
        "{}",
        bad.text
    );

    // A silent client: the handshake fails with a timeout.
    let silent = TcpStream::connect(addr).unwrap();
    let peer = silent.local_addr().unwrap();
    let failed = wait_for(&events, "handshake failed", |e| e.kind == "failed");
    assert_eq!(failed.peer, Some(peer));
    assert!(failed.text.contains("handshake failed"), "{}", failed.text);

    // Every id is distinct and every connection event has a peer.
    let all = events.lock().unwrap().clone();
    assert!(
        all.iter().all(|e| e.peer.is_some() && e.id.is_some()),
        "{all:#?}"
    );
    server.shutdown();
    server.join().unwrap();
}

#[test]
fn a_refusal_at_the_connection_limit_is_an_event() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let server = Server::bind_with_config("127.0.0.1:0", Config::default().max_connections(1))
        .unwrap()
        .on_event(move |ev: &Event| sink.lock().unwrap().push(record(ev)))
        .spawn(|mut ws| while ws.read().is_ok() {})
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let (held, _) = ws6455::client::connect(&url).unwrap();
    wait_for(&events, "upgraded", |e| e.kind == "upgraded");
    match ws6455::client::connect(&url) {
        Err(Error::Handshake(HandshakeError::Rejected { status: 503, .. })) => {}
        other => panic!("expected 503, got {other:?}"),
    }
    let refused = wait_for(&events, "refused", |e| e.kind == "refused");
    assert_eq!(refused.status, Some(503));
    assert!(
        refused
            .text
            .ends_with(&format!("refused with 503: {}", Refusal::ConnectionLimit)),
        "{}",
        refused.text
    );
    drop(held);
    server.shutdown();
    server.join().unwrap();
    // The shutdown's own wake-up connection is not reported as a refusal.
    let refusals = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == "refused")
        .count();
    assert_eq!(refusals, 1, "{:#?}", events.lock().unwrap());
}

/// The child half of [`the_library_prints_nothing_by_default`]: a server without an event
/// hook, taken through refusals, bad requests, timeouts and a normal connection.
#[test]
fn silent_server_child() {
    if std::env::var_os("WS6455_SILENT_CHILD").is_none() {
        return;
    }
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(200)));
    let server = Server::bind_with_config("127.0.0.1:0", config)
        .unwrap()
        .on_upgrade(|req: &Request| match req.query_param("ok") {
            Some(_) => Decision::Accept(Accept::new()),
            None => Decision::Reject(Response::new(403)),
        })
        .spawn(|mut ws| while ws.read().is_ok() {})
        .unwrap();
    let addr = server.local_addr();
    let url = format!("ws://{addr}/?ok");
    assert!(exchange(addr, &upgrade_request("/"))
        .1
        .starts_with("HTTP/1.1 403"));
    assert!(exchange(addr, "GET / HTTP/1.1\r\nHost : x\r\n\r\n")
        .1
        .starts_with("HTTP/1.1 400"));
    assert!(exchange(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .1
        .starts_with("HTTP/1.1 400"));
    assert!(
        exchange(addr, "GET / HTTP/1.1\r\n").1.is_empty(),
        "timed out"
    );
    let (ws, _) = ws6455::client::connect(&url).unwrap();
    drop(ws);
    // At the connection limit (none allowed here): 503.
    let full = Server::bind_with_config("127.0.0.1:0", Config::default().max_connections(0))
        .unwrap()
        .spawn(|_ws| {})
        .unwrap();
    match ws6455::client::connect(&format!("ws://{}/", full.local_addr())) {
        Err(Error::Handshake(HandshakeError::Rejected { status: 503, .. })) => {}
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    for s in [server, full] {
        s.shutdown();
        s.join().unwrap();
    }
}

/// Issue 19: the library writes nothing to stderr (or stdout) unless asked. Runs
/// [`silent_server_child`] in a process of its own and checks its stderr is empty.
#[test]
fn the_library_prints_nothing_by_default() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "silent_server_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WS6455_SILENT_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert_eq!(stderr, "", "the library printed to stderr");
    assert!(
        !stdout.contains("ws6455"),
        "the library printed to stdout: {stdout}"
    );
}

#[test]
fn a_closed_event_names_the_close_codes_exchanged() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .on_event(move |ev: &Event| {
            if let Event::Closed { sent, received, .. } = ev {
                let _ = tx.lock().unwrap().send((*sent, *received, ev.to_string()));
            }
        })
        .spawn(|mut ws| while ws.read().is_ok() {})
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    use ws6455::CloseCode;

    // A clean close by the client: 1000 both ways.
    let (mut ws, _) = ws6455::client::connect(&url).unwrap();
    ws.close(CloseCode::Normal, "bye").unwrap();
    while ws.read().is_ok() {}
    let (sent, received, text) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(
        (sent, received),
        (Some(CloseCode::Normal), Some(CloseCode::Normal))
    );
    assert!(text.contains("close sent: 1000, received: 1000"), "{text}");

    // A protocol error (an unmasked client frame): we sent 1002, the peer sent nothing.
    let (mut ws, _) = ws6455::client::connect(&url).unwrap();
    ws.get_mut().write_all(&[0x81, 0x01, b'x']).unwrap();
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut raw = ws.into_inner();
    let mut sink = Vec::new();
    let _ = raw.read_to_end(&mut sink);
    let (sent, received, _) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(sent, Some(CloseCode::Protocol));
    assert_eq!(received, None);
    server.shutdown();
}

#[test]
fn a_panicking_handler_ends_its_connection_and_frees_its_slot() {
    // A handler that panics (an application bug) used to leave its connection registered:
    // the TCP connection stayed open until the server shut down, and its slot under
    // `max_connections` was never given back.
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let server = Server::bind_with_config("127.0.0.1:0", Config::default().max_connections(1))
        .unwrap()
        .on_event(move |ev: &Event| sink.lock().unwrap().push(record(ev)))
        .spawn(|mut ws| {
            if let Ok(ws6455::Message::Text(t)) = ws.read() {
                if t == "panic" {
                    panic!("a handler bug (this panic is part of the test)");
                }
                let _ = ws.send_text(t);
            }
            while ws.read().is_ok() {}
        })
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    for _ in 0..3 {
        let (mut ws, _) = ws6455::client::connect(&url).unwrap();
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        ws.send_text("panic").unwrap();
        // The connection ends (no close frame can be promised: the handler's state is
        // unknown), promptly rather than at the read timeout.
        let started = Instant::now();
        match ws.read() {
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("the connection stayed open after the handler panicked")
            }
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                panic!("the connection stayed open after the handler panicked")
            }
            Err(Error::Timeout) => panic!("the connection stayed open after the handler panicked"),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        // The event says it ended, without a close frame of ours.
        wait_for(&events, "closed", |e| e.kind == "closed");
        events.lock().unwrap().clear();
    }
    // The one slot is free again: a normal connection is served.
    let (mut ws, _) = ws6455::client::connect(&url).unwrap();
    ws.send_text("hi").unwrap();
    assert_eq!(ws.read().unwrap(), ws6455::Message::text("hi"));
    ws.close(ws6455::CloseCode::Normal, "").unwrap();
    while ws.read().is_ok() {}
    server.shutdown();
    server.join().unwrap();
}

#[test]
fn shutdown_returns_after_every_closed_event_was_reported() {
    // `Event::Closed` comes after a connection gives its slot back; a shutdown must still
    // wait for it, or a program that exits once `shutdown` returns would lose the last ends.
    // A slow event hook makes the window wide.
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .on_event(move |ev: &Event| {
            if matches!(ev, Event::Closed { .. }) {
                std::thread::sleep(Duration::from_millis(300));
            }
            sink.lock().unwrap().push(record(ev));
        })
        .spawn(|mut ws| while ws.read().is_ok() {})
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let (mut ws, _) = ws6455::client::connect(&url).unwrap();
    let client = std::thread::spawn(move || while ws.read().is_ok() {});
    wait_for(&events, "upgraded", |e| e.kind == "upgraded");
    assert_eq!(server.shutdown(), 0);
    let closed = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == "closed")
        .count();
    assert_eq!(
        closed, 1,
        "shutdown returned before the connection's end was reported"
    );
    client.join().unwrap();
    server.join().unwrap();
}
