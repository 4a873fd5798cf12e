//! Ctrl-C / SIGTERM: graceful shutdown with close 1001 to every client, then exit 0.
//! Exercises the hand-declared `signal(2)` binding in src/bin/ws-server/signal.rs.
#![cfg(unix)]

mod bin_common;

use std::process::Command;

use bin_common::*;
use ws6455::{client, CloseCode, Message};

fn expect_going_away(ws: &mut ws6455::socket::WebSocket<std::net::TcpStream>) {
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(f.code, CloseCode::Away, "{f:?}");
                return;
            }
            Ok(Message::Close(None)) => panic!("close without a code"),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
}

#[test]
fn sigint_closes_chat_clients_with_1001_and_exits_0() {
    let mut server = Server::start(&[]);
    let (mut ws, _) = client::connect(&server.url()).unwrap();
    ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(HI));

    // A ws-client process too, its stdin left open (a user who is still typing).
    let (mut client_proc, mut client_out, _stdin) = spawn_client(&server.url());
    server
        .stdout
        .wait_line("[2] Connection established with client ...");

    server.signal("INT");
    expect_going_away(&mut ws);
    let status = server.guard.wait(WAIT);
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
    let out = server.stdout.until_end();
    assert!(
        out.contains(&"[1] Connection closed by server ...".to_string()),
        "{out:#?}"
    );
    server
        .stderr
        .wait_for("shutdown logged", |l| l.contains("shutting down"));

    assert_eq!(client_proc.wait(WAIT).code(), Some(0));
    let lines = client_out.until_end();
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Disconnected from server ...")
    );
}

#[test]
fn sigterm_closes_room_clients_with_1001() {
    let mut server = Server::start(&["--app", "room"]);
    let mut clients = Vec::new();
    for name in ["a", "b"] {
        let (mut ws, _) = client::connect(&format!("{}/?name={name}", server.url())).unwrap();
        ws.get_ref().set_read_timeout(Some(WAIT)).unwrap();
        assert_eq!(
            ws.read().unwrap(),
            Message::text(format!("* {name} joined"))
        );
        clients.push(ws);
    }
    server.signal("TERM");
    for ws in &mut clients {
        expect_going_away(ws);
    }
    assert_eq!(server.guard.wait(WAIT).code(), Some(0));
    // The room's writers said 1001 themselves; the transcript knows the server closed.
    let out = server.stdout.until_end();
    for id in [1, 2] {
        let line = format!("[{id}] Connection closed by server ...");
        assert!(out.contains(&line), "{out:#?}");
    }
}

#[test]
fn sigint_with_no_clients_exits_0() {
    let mut server = Server::start(&["--app", "echo", "--quiet"]);
    server.signal("INT");
    assert_eq!(server.guard.wait(WAIT).code(), Some(0));
    assert_eq!(
        server.stdout.until_end(),
        vec![format!("Listening on {}", server.url())]
    );
}

#[test]
fn a_second_signal_exits_at_once_with_130() {
    use std::io::Write;
    let mut server = Server::start(&[]);
    // A client that upgrades and then never answers anything: the graceful shutdown has to
    // wait for its close reply, which never comes.
    let mut silent = std::net::TcpStream::connect(server.addr).unwrap();
    silent
        .write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    server
        .stdout
        .wait_line("[1] Connection established with client ...");
    server.signal("INT");
    server
        .stderr
        .wait_for("shutdown started", |l| l.contains("shutting down"));
    server.signal("INT");
    assert_eq!(server.guard.wait(WAIT).code(), Some(130));
    drop(silent);
}

/// Sends a signal to a process with the `kill` utility.
fn kill(sig: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Starts `ws-client` against a one-connection
/// server that greets it and then reports what the client sent. `answer_close`: whether the
/// server answers the client's close frame.
fn client_against_recording_server(
    answer_close: bool,
) -> (
    Guard,
    Lines,
    std::process::ChildStdin,
    std::thread::JoinHandle<Option<ws6455::CloseFrame>>,
) {
    use ws6455::handshake::{Accept, Decision};
    use ws6455::server::accept;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let config = ws6455::Config::default();
        let mut ws = accept(stream, config, |_| Decision::Accept(Accept::default())).unwrap();
        ws.send_text(HI).unwrap();
        loop {
            match ws.get_mut().peek(&mut [0u8; 1]) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            if !answer_close {
                // The client's close has arrived; never answer it.
                std::thread::sleep(WAIT);
                return None;
            }
            match ws.read() {
                Ok(Message::Close(frame)) => {
                    // Wait for the client to close TCP after our echoed close.
                    while ws.read().is_ok() {}
                    return frame;
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    });
    let (client, out, stdin) = spawn_client(&url);
    (client, out, stdin, server)
}

/// Starts `ws-client` on `url` with its stdin left open (a user who is still typing) and waits
/// for the chat greeting.
fn spawn_client(url: &str) -> (Guard, Lines, std::process::ChildStdin) {
    let mut child = spawn_client_process(&[url]);
    let mut out = Lines::new(child.stdout.take().unwrap());
    let stdin = child.stdin.take().unwrap();
    out.wait_line(&format!("SERVER >> {HI}"));
    (Guard(Some(child)), out, stdin)
}

#[test]
fn client_sigint_closes_with_1000_and_exits_130() {
    let (client, out, _stdin, server) = client_against_recording_server(true);
    interrupt_client(client, out, server);
}

/// Sends SIGINT to a client started by [`client_against_recording_server`] (answering the
/// close): it closes with 1000, says it disconnected and exits 130.
fn interrupt_client(
    mut client: Guard,
    mut out: Lines,
    server: std::thread::JoinHandle<Option<ws6455::CloseFrame>>,
) {
    kill("INT", client.id());
    let frame = server
        .join()
        .unwrap()
        .expect("a close frame from ws-client");
    assert_eq!(frame.code, CloseCode::Normal);
    assert_eq!(client.wait(WAIT).code(), Some(130));
    assert_eq!(
        out.until_end().last().map(String::as_str),
        Some("Disconnected from server ...")
    );
}

#[test]
fn client_second_sigint_exits_at_once() {
    // The server never answers the close: a second Ctrl-C must not wait for the timeout.
    let (mut client, _out, _stdin, server) = client_against_recording_server(false);
    kill("INT", client.id());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    kill("INT", client.id());
    assert_eq!(client.wait(WAIT).code(), Some(130));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    drop(server); // detached: it sleeps out its wait
}

/// Context switches of every thread of process `pid` so far (voluntary and not): each time
/// one of its threads woke up, or was put to sleep.
#[cfg(target_os = "linux")]
fn switches(pid: u32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status =
            std::fs::read_to_string(task.unwrap().path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches:")
                || line.starts_with("nonvoluntary_ctxt_switches:")
            {
                total += line
                    .split(':')
                    .nth(1)
                    .unwrap()
                    .trim()
                    .parse::<u64>()
                    .unwrap();
            }
        }
    }
    total
}

// Signals are taken by a thread blocked in sigwait and waited for on a condition variable:
// nothing polls. (The old watcher slept 50 ms at a time, 20 wake-ups a second in ws-server
// and 50 in ws-client, connected or not.)

#[test]
#[cfg(target_os = "linux")]
fn an_idle_server_does_not_wake_up_and_still_shuts_down_on_sigint() {
    let mut server = Server::start(&["--app", "echo", "--quiet"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = switches(server.guard.id());
    std::thread::sleep(std::time::Duration::from_secs(1));
    let woke = switches(server.guard.id()) - before;
    assert!(
        woke <= 3,
        "an idle ws-server woke up {woke} times in a second"
    );
    server.signal("INT");
    assert_eq!(server.guard.wait(WAIT).code(), Some(0));
}

#[test]
#[cfg(target_os = "linux")]
fn an_idle_client_does_not_wake_up_and_still_closes_on_sigint() {
    let (client, out, _stdin, server) = client_against_recording_server(true);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = switches(client.id());
    std::thread::sleep(std::time::Duration::from_secs(1));
    let woke = switches(client.id()) - before;
    assert!(
        woke <= 3,
        "an idle ws-client woke up {woke} times in a second"
    );
    interrupt_client(client, out, server);
}

#[test]
fn sigint_before_the_client_is_connected_ends_it_at_once() {
    // A server that accepts TCP but never answers the handshake: the client waits in its
    // opening handshake, where Ctrl-C must still end it (not wait for the handshake timeout).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let mut client = Guard(Some(spawn_client_process(&[&url])));
    let (_conn, _) = listener.accept().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    kill("INT", client.id());
    let started = std::time::Instant::now();
    assert_eq!(client.wait(WAIT).code(), Some(130));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
