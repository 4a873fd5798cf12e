//! The tester must not be fooled: broken echo servers get FAILED verdicts and exit status 1,
//! and a server that hangs cannot hang the run.

mod conformance_support;

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use tungstenite::Message;

/// Serves each connection on its own thread with `handle`, after a tungstenite handshake.
fn server(handle: fn(tungstenite::WebSocket<TcpStream>)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                if let Ok(ws) = tungstenite::accept(stream) {
                    handle(ws);
                }
            });
        }
    });
    addr
}

#[test]
fn text_echoed_as_binary_fails() {
    let addr = server(|mut ws| {
        while let Ok(msg) = ws.read() {
            let reply = match msg {
                Message::Text(t) => Message::Binary(t.as_bytes().to_vec().into()),
                Message::Binary(b) => Message::Binary(b),
                _ => continue,
            };
            if ws.send(reply).is_err() {
                return;
            }
        }
    });
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &["--cases", "frame.1.2,frame.2.2,utf8.1.*"],
    );
    assert_eq!(run.verdict("frame.1.2"), "FAILED");
    assert_eq!(run.verdict("frame.2.2"), "OK");
    run.assert_all("utf8.1.", "FAILED");
    assert_eq!(run.exit_code, Some(1));
    assert!(
        run.summary.contains("expected text (125 bytes)"),
        "{}",
        run.summary
    );
}

#[test]
fn mirror_sending_masked_frames_fails() {
    // Sends the client's masked frames straight back: a server must never mask.
    let addr = server(|ws| {
        let mut stream = ws.into_inner();
        let mut back = stream.try_clone().unwrap();
        let _ = std::io::copy(&mut stream, &mut back);
    });
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &["--cases", "frame.1.2", "--timeout", "1"],
    );
    let case = &run.cases[0];
    assert_eq!(case.verdict, "FAILED");
    assert!(case.json.contains("masked frame"), "{}", case.json);
}

#[test]
fn hung_server_times_out_instead_of_hanging() {
    // Completes the handshake, then reads and discards everything and never answers.
    let addr = server(|ws| {
        let mut stream = ws.into_inner();
        let mut sink = [0u8; 4096];
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    });
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &[
            "--cases",
            "frame.1.2,rsv.1.1,utf8.6.1",
            "--timeout",
            "1",
            "--pause",
            "100",
        ],
    );
    for c in &run.cases {
        assert_eq!(c.verdict, "FAILED", "{}", c.json);
    }
    assert!(run.cases.iter().any(|c| c.json.contains("no reaction")));
    assert_eq!(run.exit_code, Some(1));
}

#[test]
fn usage_errors_exit_with_2() {
    let tester = conformance_support::tester();
    for args in [
        &["server"][..],
        &["bogus"],
        &["server", "ws://127.0.0.1:9/", "--cases", "99.*"],
        &["client", "--jobs", "0"],
    ] {
        let out = std::process::Command::new(tester)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let help = std::process::Command::new(tester)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "/getCaseCount",
        "/runCase?case=",
        "--max-message-size",
        "NON-STRICT",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn server_dropping_tcp_on_empty_frames_fails_the_empty_frame_cases() {
    // Echoes like a correct server, but drops TCP (no close frame) on any empty data message:
    // the bug a frame-by-frame echo had with 0-byte frames.
    let addr = server(|mut ws| {
        while let Ok(msg) = ws.read() {
            let reply = match msg {
                Message::Text(t) if t.is_empty() => return,
                Message::Binary(b) if b.is_empty() => return,
                m @ (Message::Text(_) | Message::Binary(_)) => m,
                _ => continue,
            };
            if ws.send(reply).is_err() {
                return;
            }
        }
    });
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &[
            "--cases",
            "frag.4.1,frag.4.2,frag.4.3,frag.4.9",
            "--timeout",
            "5",
        ],
    );
    for id in ["frag.4.1", "frag.4.2"] {
        let c = run.cases.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, "FAILED", "{}", c.json);
        assert!(c.json.contains("without a close frame"), "{}", c.json);
    }
    // A non-empty message whose last fragment is empty, and an exact multiple of the fragment
    // size, are not empty messages: this server echoes them.
    assert_eq!(run.verdict("frag.4.3"), "OK");
    assert_eq!(run.verdict("frag.4.9"), "OK");
    assert_eq!(run.exit_code, Some(1));
}
