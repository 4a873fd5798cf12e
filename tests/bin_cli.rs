//! Command-line behaviour of both binaries: help, bad flags, connection failures.

mod bin_common;

use std::process::Command;

use bin_common::*;

fn output(bin: &str, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(bin)
        .args(args)
        .env_remove("WS_AUTH_KEY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let read = |mut p: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = p.read_to_end(&mut v);
            v
        })
    };
    let (o, e) = (read(Box::new(out)), read(Box::new(err)));
    let mut guard = Guard(Some(child));
    let status = guard.wait(WAIT);
    std::process::Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    }
}

#[test]
fn server_help_documents_every_flag() {
    let out = output(server_bin(), &["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--app",
        "chat",
        "echo",
        "room",
        "--replies",
        "--match",
        "--auth-key",
        "WS_AUTH_KEY",
        "--origin",
        "--max-message-size",
        "--max-connections",
        "--idle-timeout",
        "--room-queue",
        "--verbose",
        "--quiet",
        "--help",
        "stdout",
        "stderr",
    ] {
        assert!(text.contains(flag), "help lacks {flag}");
    }
}

#[test]
fn server_help_shows_the_default_of_every_flag_that_has_one() {
    let out = output(server_bin(), &["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // Each option's block runs from its line to the next option's line.
    let block = |flag: &str| -> String {
        let start = text
            .find(&format!("\n    {flag} "))
            .unwrap_or_else(|| panic!("no {flag} line"));
        let rest = &text[start + 1..];
        let end = rest[4..].find("\n    -").map_or(rest.len(), |e| e + 4);
        rest[..end].to_string()
    };
    for (flag, default) in [
        ("--listen", "127.0.0.1:5000"),
        ("--app", "chat"),
        ("--replies", "the article's table"),
        ("--match", "word"),
        ("--auth-key", "the WS_AUTH_KEY"),
        ("--origin", "any origin"),
        ("--max-message-size", "64M"),
        ("--max-connections", "10000"),
        ("--idle-timeout", "0"),
        ("--room-queue", "256"),
    ] {
        let b = block(flag);
        assert!(
            b.contains(&format!("[default: {default}")),
            "{flag}: no [default: {default}] in {b:?}"
        );
    }
}

#[test]
fn a_bad_listen_value_names_the_expected_form() {
    for bad in ["5000", "localhost", "127.0.0.1:99999", ":5000"] {
        let out = output(server_bin(), &["--listen", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("HOST:PORT"), "{bad}: {err}");
        assert!(err.contains(bad), "{bad}: {err}");
        assert!(out.stdout.is_empty(), "{bad}: nothing may listen");
    }
    // The form it asks for is accepted.
    let server = Server::start(&["--listen", "127.0.0.1:0"]);
    assert!(server.addr.ip().is_loopback(), "{}", server.addr);
}

#[test]
fn client_help_documents_every_flag() {
    let out = output(client_bin(), &["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--header",
        "--subprotocol",
        "--binary",
        "--quiet",
        "--timeout",
        "--help",
        "not a terminal",
    ] {
        assert!(text.contains(flag), "help lacks {flag}");
    }
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    for (bin, args, needle) in [
        (server_bin(), &["--bogus"][..], "--bogus"),
        (server_bin(), &["--app", "telnet"], "--app"),
        (server_bin(), &["--listen"], "--listen"),
        (
            server_bin(),
            &["--max-connections", "many"],
            "--max-connections",
        ),
        (server_bin(), &["--verbose", "--quiet"], "--quiet"),
        (client_bin(), &[], "URL"),
        (client_bin(), &["ws://a", "--bogus"], "--bogus"),
        (client_bin(), &["ws://a", "--timeout", "never"], "--timeout"),
        (client_bin(), &["ws://a", "--header", "novalue"], "--header"),
    ] {
        let out = output(bin, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn server_reports_an_address_in_use() {
    let server = Server::start(&[]);
    let out = output(server_bin(), &["--listen", &server.addr.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on"), "{err}");
}

fn one_error_line(run: &ClientRun) -> String {
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", run.stderr);
    assert!(lines[0].starts_with("ws-client: "));
    lines[0].to_string()
}

#[test]
fn client_failures_are_one_line_and_nonzero() {
    // Refused: a port that was just free.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let line = one_error_line(&run_client(&[&format!("ws://127.0.0.1:{port}")], ""));
    assert!(line.to_lowercase().contains("refused"), "{line}");

    // Unknown host (.invalid never resolves).
    let line = one_error_line(&run_client(
        &["--timeout", "10", "ws://no-such-host.invalid:5000"],
        "",
    ));
    assert!(line.contains("no-such-host.invalid"), "{line}");

    // Bad URL.
    let line = one_error_line(&run_client(&["http://example.com"], ""));
    assert!(line.contains("URL"), "{line}");

    // Not a WebSocket server: a plain HTTP 404 comes back.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nno route\n",
            );
        }
    });
    let line = one_error_line(&run_client(&[&format!("ws://{addr}/")], ""));
    assert!(line.contains("404 Not Found"), "{line}");
    assert!(line.contains("no route"), "{line}");

    // A 101 with a wrong Sec-WebSocket-Accept.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
            );
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    let line = one_error_line(&run_client(&[&format!("ws://{addr}/")], ""));
    assert!(line.contains("Sec-WebSocket-Accept"), "{line}");
}
