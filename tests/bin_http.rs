//! Plain HTTP on the WebSocket port: the chat page on `GET /`, 404 elsewhere.

mod bin_common;

use bin_common::*;

fn header_value<'a>(resp: &'a str, name: &str) -> Option<&'a str> {
    let head = resp.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn get_root_serves_the_chat_page() {
    let server = Server::start(&[]);
    let resp = http(server.addr, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert_eq!(
        header_value(&resp, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let body = resp.split_once("\r\n\r\n").unwrap().1;
    let len: usize = header_value(&resp, "content-length")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(body.len(), len);
    for needle in [
        "<!DOCTYPE html>",
        "<input id=\"input\"",
        "id=\"log\"",
        "id=\"status\"",
        "new WebSocket(",
        "accessToken",
    ] {
        assert!(body.contains(needle), "page lacks {needle}");
    }
    assert!(!body.contains("src=\"http"), "no external assets");
}

#[test]
fn other_paths_are_404_and_the_server_keeps_serving() {
    let server = Server::start(&[]);
    for path in ["/nope", "/favicon.ico", "/index.htm"] {
        let resp = http(
            server.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        );
        assert!(
            resp.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{path}: {resp}"
        );
    }
    let resp = http(
        server.addr,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 405 "), "{resp}");
    let run = run_client(&[&server.url()], "hello\n");
    assert!(run.status.success(), "{run:?}");
}

/// Defect 6 (request smuggling): an upgrade request that announces a body gets 400 and the
/// connection is closed; the "body" (here a masked text frame) is never run as a frame.
#[test]
fn an_upgrade_with_a_body_gets_400_and_its_body_is_not_echoed() {
    use std::io::{Read, Write};
    let server = Server::start(&["--app", "echo"]);
    // A masked text frame "hi" (mask 0): what a smuggler would hide in the body.
    let frame: &[u8] = b"\x81\x82\0\0\0\0hi";
    for framing in [
        format!("Content-Length: {}\r\n", frame.len()),
        "Transfer-Encoding: chunked\r\n".to_string(),
        "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n".to_string(),
    ] {
        let mut request = format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             {framing}\r\n"
        )
        .into_bytes();
        request.extend_from_slice(frame);
        let mut s = std::net::TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(&request).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let resp = String::from_utf8_lossy(&out);
        assert!(resp.starts_with("HTTP/1.1 400 "), "{framing}: {resp}");
        assert_eq!(header_value(&resp, "connection"), Some("close"));
        // Nothing after the 400's body: no echoed frame.
        let body_len: usize = header_value(&resp, "content-length")
            .unwrap()
            .parse()
            .unwrap();
        let head_len = resp.find("\r\n\r\n").unwrap() + 4;
        assert_eq!(out.len(), head_len + body_len, "{resp:?}");
    }
    // The same upgrade without a body is accepted.
    let run = run_client(&[&server.url()], "hello\n");
    assert!(run.status.success(), "{run:?}");
}
