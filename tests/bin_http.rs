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
