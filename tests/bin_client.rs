//! What `ws-client` prints, run as a process against real servers: a refused upgrade, an
//! empty input line, and server text that tries to drive the terminal.

mod bin_common;

use std::io::Read;
use std::net::TcpListener;

use bin_common::*;
use ws6455::handshake::{Accept, Decision};
use ws6455::{CloseCode, Config};

#[test]
fn a_refused_upgrade_is_reported_once_and_plainly() {
    let server = Server::start(&["--auth-key", "s3cret"]);
    let run = run_client(&[&server.url()], "hello\n");
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert_eq!(run.stdout, "Connecting to server ...\n");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {:?}", run.stderr);
    let line = lines[0];
    assert!(
        line.starts_with("ws-client: the server refused the connection: 403 Forbidden ("),
        "{line}"
    );
    // The status is said once: the body's leading `Forbidden:` is not repeated.
    assert_eq!(line.matches("Forbidden").count(), 1, "{line}");
    assert!(
        line.contains("X-WS-AUTH-KEY") && line.ends_with(')'),
        "{line}"
    );
}

#[test]
fn an_empty_line_sends_no_reply_and_shows_it() {
    let mut server = Server::start(&[]);
    let run = run_client(&[&server.url()], "\nexit\n");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "Connecting to server ...\nConnected to server ...\n\
             SERVER >> {HI}\n\
             Client >> No reply\nSERVER >> {UNKNOWN}\n\
             Client >> exit\nDisconnected from server ...\n"
        )
    );
    // What the client showed is what the server got.
    server.stdout.wait_line("[1] CLIENT >> No reply");

    // --quiet sends an empty message, as its help says: the echo app sends it back.
    let echo = Server::start(&["--app", "echo"]);
    let run = run_client(&["--quiet", &echo.url()], "\nx\n");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, "\nx\n");
}

#[test]
fn control_characters_in_echoed_text_are_escaped() {
    let server = Server::start(&["--app", "echo"]);
    let line = "\x1b[2J\x1b[31mred\u{9b}0m\ttab \u{202e}evil";
    let run = run_client(&[&server.url()], &format!("{line}\nexit\n"));
    assert!(run.status.success(), "{run:?}");
    let shown = "\\u{1b}[2J\\u{1b}[31mred\\u{9b}0m\\ttab \\u{202e}evil";
    assert!(
        run.stdout.contains(&format!("SERVER >> {shown}\n")),
        "{:?}",
        run.stdout
    );
    // Only the line typed by the user (echoed back on the `Client >> ` line) is raw.
    let server_lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("SERVER >> "))
        .collect();
    assert_eq!(server_lines.len(), 1, "{:?}", run.stdout);
    assert!(
        !server_lines[0].contains(['\x1b', '\u{9b}', '\u{202e}', '\t']),
        "{server_lines:?}"
    );

    // --quiet into a pipe is for programs: the payload exactly as it came.
    let run = run_client(&["--quiet", &server.url()], &format!("{line}\n"));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, format!("{line}\n"));
}

/// A server that sends what ws-server never would: a line break and escape sequences in a
/// message, then a close whose reason carries one.
#[test]
fn a_hostile_servers_text_and_close_reason_cannot_forge_lines() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = ws6455::server::accept(stream, Config::default(), |_| {
            Decision::Accept(Accept::default())
        })
        .unwrap();
        ws.send_text("first\nSERVER >> forged\x1b]0;title\x07")
            .unwrap();
        ws.close(CloseCode::Other(4000), "bye\x1b[2K\r").unwrap();
        // Wait for the client's close reply (or its end).
        while ws.read().is_ok() {}
    });
    // stdin stays open, so that the close is the server's.
    let mut child = spawn_client_process(&[&format!("ws://{addr}/")]);
    let _stdin = child.stdin.take().unwrap();
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.stdout.take().unwrap()));
    let err = read_all(Box::new(child.stderr.take().unwrap()));
    let status = Guard(Some(child)).wait(WAIT);
    server.join().unwrap();
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    assert_eq!(status.code(), Some(1), "{stdout:?} {stderr:?}");
    assert_eq!(
        stdout,
        "Connecting to server ...\nConnected to server ...\n\
         SERVER >> first\\nSERVER >> forged\\u{1b}]0;title\\u{7}\n\
         Disconnected from server ...\n"
    );
    assert_eq!(
        stderr,
        "ws-client: server closed the connection with 4000 (bye\\u{1b}[2K\\r)\n"
    );
}
