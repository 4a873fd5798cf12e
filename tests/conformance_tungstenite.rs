//! Proof that `ws-conformance` tells strict from loose behaviour: it is run against tungstenite,
//! as a server (thread-per-connection echo server) and as a client (the ten-line adapter), and
//! its verdicts must match what is known about tungstenite.

mod conformance_support;

use std::net::{SocketAddr, TcpListener};
use std::thread;

use conformance_support::{ClientModeRun, RunResult};
use tungstenite::error::{Error, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

/// The close code that fits a tungstenite read error, if the connection should be failed with a
/// close frame (tungstenite itself only reports the error).
/// Generous time limits so that a loaded machine cannot turn a slow answer into a FAILED verdict
/// (they cost nothing when the peer answers); the fail-fast window stays at its default, since
/// tungstenite's NON-STRICT cases wait for all of it.
const ROBUST: &[&str] = &["--timeout", "20"];

fn close_code(e: &Error) -> Option<CloseCode> {
    match e {
        Error::Protocol(ProtocolError::InvalidCloseSequence) => Some(CloseCode::Protocol),
        Error::Protocol(_) => Some(CloseCode::Protocol),
        Error::Utf8(_) => Some(CloseCode::Invalid),
        Error::Capacity(_) => Some(CloseCode::Size),
        _ => None,
    }
}

/// Reads and echoes until the connection ends; fails with the right close code on errors.
fn echo_loop<S: std::io::Read + std::io::Write>(ws: &mut WebSocket<S>) {
    loop {
        match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(msg).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                if let Some(code) = close_code(&e) {
                    let frame = CloseFrame {
                        code,
                        reason: "".into(),
                    };
                    if ws.close(Some(frame)).is_ok() {
                        // Wait (bounded by the peer) for the close reply.
                        while ws.read().is_ok() {}
                    }
                }
                return;
            }
        }
    }
}

fn tungstenite_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                if let Ok(mut ws) = tungstenite::accept(stream) {
                    echo_loop(&mut ws);
                }
            });
        }
    });
    addr
}

/// The client adapter: case count, then one connection per case, echoing.
fn tungstenite_client_adapter(base: &str) {
    let (mut ws, _) = tungstenite::connect(format!("{base}/getCaseCount")).unwrap();
    let count: usize = loop {
        if let Message::Text(t) = ws.read().unwrap() {
            break t.parse().unwrap();
        }
    };
    while ws.read().is_ok() {}
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent=tungstenite");
        if let Ok((mut ws, _)) = tungstenite::connect(url) {
            echo_loop(&mut ws);
        }
    }
}

fn print_counts(label: &str, run: &RunResult) {
    eprintln!("{label}: {:?}\n{}", run.counts(), run.table());
    for c in &run.cases {
        if c.verdict != "OK" {
            eprintln!("  {}", c.json);
        }
    }
}

#[test]
fn tungstenite_server() {
    let addr = tungstenite_echo_server();
    let run = conformance_support::run_server_mode(&format!("ws://{addr}/"), ROBUST);
    print_counts("tungstenite server", &run);
    // Basic framing is right, in one write and in pieces.
    for g in ["frame.1.", "frame.2.", "frame.3.", "frame.4."] {
        run.assert_all(g, "OK");
    }
    run.assert_all("ping.1", "OK");
    // Empty frames and exact multiples of the fragment size (issue 15).
    run.assert_all("frag.4.", "OK");
    run.assert_all("utf8.1.", "OK");
    run.assert_all("utf8.2.", "OK");
    // tungstenite validates UTF-8 per complete frame: a frame cut after the invalid byte fails
    // only once the rest arrives (NON-STRICT); across fragments it fails at once (OK).
    run.assert_all("utf8.6.", "NON-STRICT");
    run.assert_all("utf8.7.", "OK");
    run.assert_all("utf8.4.", "OK");
    assert_eq!(run.verdict("limit.3.1"), "INFORMATIONAL");
    // The exit status is 1 exactly when some case is FAILED or NON-STRICT.
    let counts = run.counts();
    assert_eq!(
        run.exit_code,
        Some(i32::from(
            counts.contains_key("FAILED") || counts.contains_key("NON-STRICT")
        ))
    );
    assert!(run
        .summary
        .lines()
        .any(|l| l.starts_with("ws-conformance: FAIL mode=server cases=")));
    // Every verdict as recorded (and explained in docs/conformance.md).
    conformance_support::assert_matches_expected(
        &run,
        "tests/conformance_peers/tungstenite-server.txt",
    );
}

#[test]
fn tungstenite_client() {
    let tester = ClientModeRun::start(ROBUST);
    tungstenite_client_adapter(&tester.base_url);
    let run = tester.finish();
    print_counts("tungstenite client", &run);
    for g in ["frame.1.", "frame.2.", "frame.3.", "frame.4."] {
        run.assert_all(g, "OK");
    }
    run.assert_all("frag.4.", "OK");
    assert_eq!(run.verdict("frame.5.3"), "OK"); // masked server frame refused
    assert_eq!(run.verdict("frame.5.5"), "OK"); // fresh masking keys
    run.assert_all("utf8.6.", "NON-STRICT");
    run.assert_all("utf8.7.", "OK");
    assert_eq!(run.verdict("hs.4.1"), "OK");
    assert_eq!(run.verdict("hs.5.1"), "OK"); // wrong accept refused
    conformance_support::assert_matches_expected(
        &run,
        "tests/conformance_peers/tungstenite-client.txt",
    );
}
