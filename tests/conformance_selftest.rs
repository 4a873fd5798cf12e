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

/// A tungstenite echo server that, on any read error, just drops TCP (no close frame).
fn dropping_echo(mut ws: tungstenite::WebSocket<TcpStream>) {
    while let Ok(msg) = ws.read() {
        if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).is_err() {
            return;
        }
    }
}

fn run_tester(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(conformance_support::tester())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_non_strict_verdict_alone_fails_the_run_with_the_summary_line() {
    // Failing a connection by dropping TCP without a close frame breaks §7.1.7's SHOULD.
    let addr = server(dropping_echo);
    let url = format!("ws://{addr}/");
    let (code, stdout) = run_tester(&["server", &url, "--cases", "rsv.1.1,frame.1.2"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l
                == "ws-conformance: FAIL mode=server cases=2 ok=1 info=0 non_strict=1 failed=0"),
        "{stdout}"
    );
    assert!(stdout.contains("dropped without a close frame") || stdout.contains("TCP dropped"));
    // Quiet still prints the one summary line, and only it.
    let (_, quiet) = run_tester(&["server", &url, "--cases", "frame.1.2", "--quiet"]);
    assert_eq!(
        quiet.trim(),
        "ws-conformance: PASS mode=server cases=1 ok=1 info=0 non_strict=0 failed=0"
    );
}

#[test]
fn html_report_has_verdicts_rules_and_wire_logs_without_external_assets() {
    let addr = server(dropping_echo);
    let dir = std::env::temp_dir().join(format!("ws-conformance-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (code, _) = run_tester(&[
        "server",
        &format!("ws://{addr}/"),
        "--cases",
        "frame.1.2,frag.4.3,rsv.1.1",
        "--report",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let json = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in ["frame.1.2", "frag.4.3", "rsv.1.1"] {
        assert!(html.contains(&format!("<details id=\"{id}\"")), "{id}");
    }
    // The NON-STRICT case is open, with its rule and the frames of both directions.
    assert!(html.contains("<details id=\"rsv.1.1\" open>"));
    assert!(html.contains("MUST _Fail the WebSocket Connection_"));
    assert!(html.contains("<td>tester →</td><td>TEXT</td><td>FIN MASK</td><td>125</td>"));
    assert!(html.contains("<td>← peer</td><td>TEXT</td><td>FIN</td><td>125</td>"));
    assert!(html.contains("<td>CONT</td><td>FIN MASK</td><td>0</td>"));
    // rsv.1.1's peer drops TCP without a close frame: the log ends with that.
    assert!(
        html.contains("<td colspan=\"4\">the peer closed TCP</td>")
            || html.contains("<td colspan=\"4\">TCP ended: "),
        "no TCP end in the wire log"
    );
    // Links only to the page's own cases.
    assert!(html.contains("<a class=\"ns\" href=\"#rsv.1.1\">rsv.1.1</a>"));
    for external in [
        "<script",
        "src=",
        "href=\"http",
        "href=\"/",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(external), "external asset: {external}");
    }
    assert!(json.contains("\"rule\": \"§5.2"));
}

#[test]
fn expect_file_fails_on_a_changed_verdict_and_passes_on_the_recorded_ones() {
    let addr = server(dropping_echo);
    let url = format!("ws://{addr}/");
    let file =
        std::env::temp_dir().join(format!("ws-conformance-expect-{}.txt", std::process::id()));
    std::fs::write(&file, "# recorded\nrsv.1.1 NON-STRICT\n").unwrap();
    let args = |f: &std::path::Path| {
        vec![
            "server".to_string(),
            url.clone(),
            "--cases".into(),
            "rsv.1.1,frame.1.2".into(),
            "--quiet".into(),
            "--expect".into(),
            f.display().to_string(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        run_tester(&a)
    };
    let (code, stdout) = run(args(&file));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("ws-conformance: EXPECT MATCH differ=0"),
        "{stdout}"
    );
    // frame.1.2 is OK, so a file claiming FAILED (or a missing NON-STRICT line) differs.
    std::fs::write(&file, "frame.1.2 FAILED\n").unwrap();
    let (code, stdout) = run(args(&file));
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("ws-conformance: EXPECT DIFFER differ=2"),
        "{stdout}"
    );
    assert!(stdout.contains("differs: frame.1.2: expected FAILED, got OK"));
    assert!(stdout.contains("differs: rsv.1.1: expected OK, got NON-STRICT"));
}

#[test]
fn version_help_and_old_numeric_patterns() {
    let (code, out) = run_tester(&["--version"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out.trim(),
        format!("ws-conformance {}", env!("CARGO_PKG_VERSION"))
    );
    let (_, help) = run_tester(&["-h"]);
    for needle in [
        "USAGE:",
        "OPTIONS:",
        "[default: 5]",
        "--report DIR",
        "-V, --version",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
    // --list needs no peer; the old numeric id selects the renamed case.
    let (code, list) = run_tester(&["server", "ws://127.0.0.1:9/", "--list", "--cases", "5.4.1"]);
    assert_eq!(code, Some(0));
    assert!(list.starts_with("frag.4.1 "), "{list}");
    assert_eq!(list.lines().count(), 1);
}

/// A tungstenite echo server with the given limits that fails the connection with 1009 when a
/// message is over them, as a careful server does.
fn limited_server(limit: Option<usize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let config = tungstenite::protocol::WebSocketConfig::default()
                    .max_message_size(limit)
                    .max_frame_size(limit);
                let Ok(mut ws) = tungstenite::accept_with_config(stream, Some(config)) else {
                    return;
                };
                loop {
                    match ws.read() {
                        Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                            if ws.send(m).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(tungstenite::Error::Capacity(_)) => {
                            let frame = tungstenite::protocol::CloseFrame {
                                code: tungstenite::protocol::frame::coding::CloseCode::Size,
                                reason: "".into(),
                            };
                            if ws.close(Some(frame)).is_ok() {
                                while ws.read().is_ok() {}
                            }
                            return;
                        }
                        Err(_) => return,
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn limits_met_and_waits_for_announced_data_are_info_not_failures() {
    // A 1 MiB limit: 16 MiB messages are refused with 1009, reported as a limit met, with where.
    let addr = limited_server(Some(1 << 20));
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &[
            "--cases",
            "frame.2.8,limit.4.7,limit.1.2,limit.1.4",
            "--max-message-size",
            "1M",
        ],
    );
    for id in ["frame.2.8", "limit.4.7"] {
        let c = run.cases.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, "INFORMATIONAL", "{}", c.json);
        assert!(
            c.json.contains("limit met") && c.json.contains("closed with 1009"),
            "{}",
            c.json
        );
        assert!(
            c.json.contains("bytes had been written") || c.json.contains("frames had been written")
        );
    }
    assert_eq!(run.verdict("limit.1.2"), "OK");
    assert_eq!(run.verdict("limit.1.4"), "OK");
    assert_eq!(run.exit_code, Some(0), "INFO never fails the run");

    // No limit at all: a header announcing more than the assumed limit is waited on (INFO),
    // and a message over it is accepted and echoed (INFO: the peer's limit is higher).
    let addr = limited_server(None);
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &[
            "--cases",
            "limit.1.2,limit.1.4",
            "--max-message-size",
            "1M",
            "--timeout",
            "1",
        ],
    );
    let wait = run.cases.iter().find(|c| c.id == "limit.1.2").unwrap();
    assert_eq!(wait.verdict, "INFORMATIONAL", "{}", wait.json);
    assert!(wait.json.contains("observed a wait"), "{}", wait.json);
    let accepted = run.cases.iter().find(|c| c.id == "limit.1.4").unwrap();
    assert_eq!(accepted.verdict, "INFORMATIONAL", "{}", accepted.json);
    assert!(
        accepted.json.contains("its own limit is higher"),
        "{}",
        accepted.json
    );
    assert_eq!(run.exit_code, Some(0));
}

/// A raw HTTP server answering every request with `respond(request head)` and closing.
fn http_server(respond: fn(&str) -> String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 16384 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let reply = respond(&String::from_utf8_lossy(&head));
                let _ = std::io::Write::write_all(&mut stream, reply.as_bytes());
            });
        }
    });
    addr
}

/// A 101 for a request head (the accept key of its `Sec-WebSocket-Key`, §4.2.2).
fn upgrade_101(head: &str) -> String {
    use base64::Engine as _;
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap_or("")
        .trim();
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
}

fn versions_run(respond: fn(&str) -> String) -> conformance_support::RunResult {
    let addr = http_server(respond);
    conformance_support::run_server_mode(&format!("ws://{addr}/"), &["--cases", "hs.2.6,hs.2.7"])
}

#[test]
fn version_refusals_are_graded_by_section_4_2_2() {
    // Version 8 refused with 426 and `Sec-WebSocket-Version: 13, 8` (the versions it would
    // understand, §4.2.2), a missing version with 400 (§4.2.1's own example): both OK.
    let run = versions_run(|head| {
        if head.contains("Sec-WebSocket-Version: 8") {
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13, 8\r\n\r\n".into()
        } else if !head.contains("Sec-WebSocket-Version") {
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".into()
        } else {
            upgrade_101(head)
        }
    });
    assert_eq!(run.verdict("hs.2.6"), "OK", "{:?}", run.cases);
    assert_eq!(run.verdict("hs.2.7"), "OK", "{:?}", run.cases);

    // A 400 without any Sec-WebSocket-Version header breaks §4.2.2's MUST; the reason names the
    // header. Accepting version 8 (a server that understands it) is INFO.
    let run = versions_run(|head| {
        if head.contains("Sec-WebSocket-Version: 8") {
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".into()
        } else {
            upgrade_101(head)
        }
    });
    let c = run.cases.iter().find(|c| c.id == "hs.2.6").unwrap();
    assert_eq!(c.verdict, "FAILED", "{}", c.json);
    assert!(c
        .json
        .contains("expected a Sec-WebSocket-Version header in the 400 response"));
    assert_eq!(run.verdict("hs.2.7"), "FAILED"); // a 101 to a request without a version
                                                 // Accepting version 8 (a server that understands it) is INFO.
    let run = versions_run(|head| {
        if head.contains("Sec-WebSocket-Version") {
            upgrade_101(head) // versions 13 and 8 alike
        } else {
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".into()
        }
    });
    let c = run.cases.iter().find(|c| c.id == "hs.2.6").unwrap();
    assert_eq!(c.verdict, "INFORMATIONAL", "{}", c.json);
    assert!(
        c.json.contains("it understands that version too"),
        "{}",
        c.json
    );
    assert_eq!(run.exit_code, Some(0));
}

/// A raw echo server for the permessage-deflate cases: it answers every opening request that
/// mentions permessage-deflate with `extensions`, whatever was offered, and reflects data frames
/// as they came (RSV1 and compressed payload included), so its echoes are exactly what the
/// tester compressed: right when the agreement is symmetric, wrong when `extensions` claims a
/// smaller window or no context takeover for the server.
fn reflecting_server(extensions: &'static str) -> SocketAddr {
    deflate_server(extensions, false)
}

/// [`reflecting_server`], or with `silent` one that reads everything and never answers.
fn deflate_server(extensions: &'static str, silent: bool) -> SocketAddr {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut s = stream;
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s.read_exact(&mut byte).is_err() || head.len() > 16384 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_string())
                    })
                };
                let Some(key) = header("Sec-WebSocket-Key") else {
                    return;
                };
                let mut sha = sha1_smol::Sha1::new();
                sha.update(key.as_bytes());
                sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
                use base64::Engine as _;
                let accept = base64::engine::general_purpose::STANDARD.encode(sha.digest().bytes());
                let ext = match header("Sec-WebSocket-Extensions") {
                    Some(v) if v.contains("permessage-deflate") => {
                        format!("Sec-WebSocket-Extensions: {extensions}\r\n")
                    }
                    _ => String::new(),
                };
                let response = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{ext}\r\n"
                );
                if s.write_all(response.as_bytes()).is_err() {
                    return;
                }
                if silent {
                    let _ = std::io::copy(&mut s, &mut std::io::sink());
                } else {
                    reflect_frames(&mut s, false);
                }
            });
        }
    });
    addr
}

/// Reads frames and sends each data frame back as it came (FIN, RSV bits, opcode, payload),
/// masked when `client`; answers pings; returns after echoing a close.
fn reflect_frames(s: &mut TcpStream, client: bool) {
    use std::io::Write;
    loop {
        let mut h = [0u8; 2];
        if s.read_exact(&mut h).is_err() {
            return;
        }
        let mut len = u64::from(h[1] & 0x7f);
        if len >= 126 {
            let mut ext = vec![0u8; if len == 126 { 2 } else { 8 }];
            if s.read_exact(&mut ext).is_err() {
                return;
            }
            len = ext.iter().fold(0, |a, &b| a << 8 | u64::from(b));
        }
        let mut key = [0u8; 4];
        if h[1] & 0x80 != 0 && s.read_exact(&mut key).is_err() {
            return;
        }
        let mut payload = vec![0u8; len as usize];
        if s.read_exact(&mut payload).is_err() {
            return;
        }
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
        let opcode = h[0] & 0x0f;
        let first = match opcode {
            0..=2 | 8 => h[0],
            9 => 0x8a,
            _ => continue,
        };
        let mask_bit = if client { 0x80 } else { 0 };
        let mut out = vec![first];
        match payload.len() {
            n @ 0..=125 => out.push(mask_bit | n as u8),
            n @ 126..=65535 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if client {
            let key = [0x37, 0xfa, 0x21, 0x3d];
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend_from_slice(&payload);
        }
        if s.write_all(&out).is_err() || opcode == 8 {
            return;
        }
    }
}

/// A raw client for client mode: offers `permessage-deflate; client_max_window_bits` on every
/// case, ignores what the server answers, and reflects its frames: it carries on after
/// responses it must refuse, and its echoes use the server's window, not the one agreed for it.
fn reflecting_client(base: &str) {
    use std::io::Write;
    let addr = base
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /getCaseCount HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let count: usize = text
        .rsplit("\r\n\r\n")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for case in 1..=count {
        let Ok(mut s) = TcpStream::connect(&addr) else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
        let request = format!(
            "GET /runCase?case={case}&agent=reflector HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        );
        if s.write_all(request.as_bytes()).is_err() {
            continue;
        }
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read_exact(&mut byte).is_err() {
                break;
            }
            head.push(byte[0]);
        }
        reflect_frames(&mut s, true);
    }
}

#[test]
fn deflate_client_carrying_on_or_overusing_its_window_fails() {
    let tester = conformance_support::ClientModeRun::start(&[
        "--cases",
        "pmd.1.1,pmd.1.8,pmd.6.1,pmd.6.6",
        "--timeout",
        "5",
    ]);
    reflecting_client(&tester.base_url);
    let run = tester.finish();
    // Reflecting is a right echo when both directions agreed on the same window.
    assert_eq!(run.verdict("pmd.1.1"), "OK", "{}", run.summary);
    // client_max_window_bits=9 answered, but the echoes use the tester's 15-bit window.
    let c = run.cases.iter().find(|c| c.id == "pmd.1.8").unwrap();
    assert_eq!(c.verdict, "FAILED", "{}", c.json);
    assert!(c.json.contains("negotiated window"), "{}", c.json);
    for id in ["pmd.6.1", "pmd.6.6"] {
        let c = run.cases.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, "FAILED", "{}", c.json);
    }
}

#[test]
fn deflate_peer_using_a_larger_window_than_agreed_fails() {
    // It says server_max_window_bits=9 but echoes what the tester compressed with 15 bits.
    let addr = reflecting_server("permessage-deflate; server_max_window_bits=9");
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &["--cases", "pmd.3.9,pmd.1.1", "--timeout", "5"],
    );
    for id in ["pmd.3.9", "pmd.1.1"] {
        let c = run.cases.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, "FAILED", "{}", c.json);
        assert!(c.json.contains("negotiated window"), "{}", c.json);
    }
    assert_eq!(run.exit_code, Some(1));
}

#[test]
fn deflate_peer_keeping_context_against_the_agreement_fails() {
    // It says server_no_context_takeover but echoes a stream that refers to earlier messages.
    let addr = reflecting_server("permessage-deflate; server_no_context_takeover");
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &["--cases", "pmd.3.7", "--timeout", "5"],
    );
    let c = &run.cases[0];
    assert_eq!(c.verdict, "FAILED", "{}", c.json);
    assert!(c.json.contains("no context takeover"), "{}", c.json);
}

#[test]
fn deflate_peer_accepting_what_it_must_decline_fails() {
    // It accepts every offer with a bare `permessage-deflate`: right for a plain offer (its
    // reflected echoes are then correct), wrong for an offer with an unknown parameter, and
    // not a valid answer to an offer asking for server_no_context_takeover.
    let addr = reflecting_server("permessage-deflate");
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &[
            "--cases",
            "pmd.1.1,pmd.2.1,pmd.2.2,pmd.1.3",
            "--timeout",
            "5",
        ],
    );
    assert_eq!(run.verdict("pmd.1.1"), "OK", "{}", run.summary);
    for id in ["pmd.2.1", "pmd.2.2", "pmd.1.3"] {
        let c = run.cases.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, "FAILED", "{}", c.json);
    }
    let c = run.cases.iter().find(|c| c.id == "pmd.2.1").unwrap();
    assert!(c.json.contains("MUST decline"), "{}", c.json);
}

#[test]
fn a_peer_without_deflate_is_informational_not_failed() {
    let addr = server(dropping_echo);
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &["--cases", "pmd.1.1,pmd.3.1,pmd.2.1", "--timeout", "5"],
    );
    assert_eq!(run.verdict("pmd.1.1"), "INFORMATIONAL", "{}", run.summary);
    assert_eq!(run.verdict("pmd.3.1"), "INFORMATIONAL", "{}", run.summary);
    assert_eq!(run.verdict("pmd.2.1"), "OK", "{}", run.summary);
    assert!(run.cases[0].json.contains("not supported"));
}

#[test]
fn deflate_peer_swallowing_a_bomb_without_reacting_fails() {
    // Unlike a header announcing data (limit.1), the bomb is sent whole: silence is no answer.
    let addr = deflate_server("permessage-deflate", true);
    let run = conformance_support::run_server_mode(
        &format!("ws://{addr}/"),
        &[
            "--cases",
            "pmd.5.2",
            "--timeout",
            "2",
            "--max-message-size",
            "1M",
        ],
    );
    let c = &run.cases[0];
    assert_eq!(c.verdict, "FAILED", "{}", c.json);
    assert!(c.json.contains("whole message"), "{}", c.json);
}
