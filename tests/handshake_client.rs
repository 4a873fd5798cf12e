//! Client side of the opening handshake: URLs, the request, and the §4.1 response checks.

use ws6455::handshake::{
    accept_key, client_request, generate_key, parse_url, parse_url_for_stream, verify_response,
    ClientHandshake, HandshakeError, MAX_REJECTION_BODY,
};
use ws6455::http::{parse_request, parse_response, Limits};
use ws6455::Error;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

#[test]
fn url_table() {
    // (url, host, port, resource, Host header)
    let ok: &[(&str, &str, u16, &str, &str)] = &[
        ("ws://example.com", "example.com", 80, "/", "example.com"),
        ("ws://example.com/", "example.com", 80, "/", "example.com"),
        (
            "WS://Example.com:80/a/b",
            "Example.com",
            80,
            "/a/b",
            "Example.com",
        ),
        (
            "ws://example.com:9001/chat?x=1&y",
            "example.com",
            9001,
            "/chat?x=1&y",
            "example.com:9001",
        ),
        (
            "ws://example.com?x=1",
            "example.com",
            80,
            "/?x=1",
            "example.com",
        ),
        (
            "ws://127.0.0.1:5000",
            "127.0.0.1",
            5000,
            "/",
            "127.0.0.1:5000",
        ),
        ("ws://[::1]/", "::1", 80, "/", "[::1]"),
        ("ws://[::1]:9001/x", "::1", 9001, "/x", "[::1]:9001"),
        (
            "ws://[2001:db8::7]:81",
            "2001:db8::7",
            81,
            "/",
            "[2001:db8::7]:81",
        ),
        ("ws://h:/p", "h", 80, "/p", "h"),
        ("ws://h/a b/é", "h", 80, "/a%20b/%C3%A9", "h"),
    ];
    for (url, host, port, resource, host_header) in ok {
        let u = parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.resource.as_str(),
                u.host_header.as_str(),
                u.secure
            ),
            (*host, *port, *resource, *host_header, false),
            "{url}"
        );
    }
    // (url, words the error must contain)
    let bad: &[(&str, &str)] = &[
        ("wss://example.com", "client_with_stream"),
        ("http://example.com", "scheme"),
        ("https://example.com", "scheme"),
        ("example.com", "ws://"),
        ("ws://user@example.com/", "user"),
        ("ws://user:pw@example.com/", "user"),
        ("ws://example.com/#frag", "fragment"),
        ("ws://example.com/a?b#frag", "fragment"),
        ("ws://", "host"),
        ("ws:///path", "host"),
        ("ws://example.com:0/", "port"),
        ("ws://example.com:65536/", "port"),
        ("ws://example.com:+80/", "port"),
        ("ws://example.com:http/", "port"),
        ("ws://[::1/", "IPv6"),
        ("ws://[nonsense]/", "IPv6"),
        ("ws://[::1]x/", "after ]"),
        ("ws://exa mple.com/", "host"),
        ("ws://a:1:2/", "host"),
    ];
    for (url, words) in bad {
        match parse_url(url) {
            Err(Error::Url(msg)) => assert!(msg.contains(words), "{url}: {msg}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    let s = parse_url_for_stream("wss://example.com:8443/x").unwrap();
    assert!(s.secure);
    assert_eq!((s.port, s.host_header.as_str()), (8443, "example.com:8443"));
    assert_eq!(
        parse_url_for_stream("wss://example.com")
            .unwrap()
            .host_header,
        "example.com"
    );
}

#[test]
fn request_bytes() {
    let url = parse_url("ws://[::1]:9001/chat?room=1").unwrap();
    let req = client_request(
        &url,
        KEY,
        &["chat".into(), "superchat".into()],
        &[
            ("Origin".into(), "http://example.com".into()),
            ("X-Empty".into(), "".into()),
        ],
    )
    .unwrap();
    let text = String::from_utf8(req.clone()).unwrap();
    assert_eq!(
        text,
        "GET /chat?room=1 HTTP/1.1\r\nHost: [::1]:9001\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nOrigin: http://example.com\r\nX-Empty: \r\n\r\n"
    );
    let (parsed, used) = parse_request(&req, &Limits::default())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(used, req.len());
    assert_eq!(parsed.header("host"), Some(&b"[::1]:9001"[..]));
    let plain = client_request(&parse_url("ws://h").unwrap(), KEY, &[], &[]).unwrap();
    let plain = String::from_utf8(plain).unwrap();
    assert!(plain.contains("Host: h\r\n"));
    assert!(!plain.contains("Sec-WebSocket-Protocol"));
}

#[test]
fn request_header_injection_and_bad_protocols_are_errors() {
    let url = parse_url("ws://h/").unwrap();
    let bad_headers: &[(&str, &str)] = &[
        ("X-A", "1\r\nX-Injected: 2"),
        ("X-A", "1\nX"),
        ("X-A", "nul\0"),
        ("X A", "1"),
        ("X-A\r\n", "1"),
        ("", "1"),
        ("Host", "evil"),
        ("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAA=="),
        ("Connection", "close"),
    ];
    for (k, v) in bad_headers {
        match client_request(&url, KEY, &[], &[(k.to_string(), v.to_string())]) {
            Err(Error::Handshake(HandshakeError::InvalidHeader(name))) => assert_eq!(name, *k),
            other => panic!("{k:?}: {v:?}: {other:?}"),
        }
    }
    for p in ["", "a b", "a,b", "chat\r\n"] {
        assert!(matches!(
            client_request(&url, KEY, &[p.to_string()], &[]),
            Err(Error::Handshake(HandshakeError::InvalidProtocol(_)))
        ));
    }
    assert!(
        ClientHandshake::new(&url, &[], &[("X".into(), "\r".into())], Limits::default()).is_err()
    );
}

#[test]
fn generated_keys_are_base64_of_16_random_bytes() {
    use base64::Engine as _;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        let k = generate_key();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&k)
            .unwrap();
        assert_eq!(raw.len(), 16);
        assert!(seen.insert(k));
    }
}

fn resp101(extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
    )
}

#[test]
fn verification_table() {
    let offered = ["chat".to_string(), "superchat".to_string()];
    type Want = Result<Option<&'static str>, HandshakeError>;
    let table: Vec<(&str, String, &[String], Want)> = vec![
        ("plain", resp101(""), &[], Ok(None)),
        ("protocol chosen", resp101("Sec-WebSocket-Protocol: superchat\r\n"), &offered, Ok(Some("superchat"))),
        ("offered but none chosen", resp101(""), &offered, Ok(None)),
        (
            "protocol not offered",
            resp101("Sec-WebSocket-Protocol: mqtt\r\n"),
            &offered,
            Err(HandshakeError::UnexpectedProtocol("mqtt".into())),
        ),
        (
            "protocol when none offered",
            resp101("Sec-WebSocket-Protocol: chat\r\n"),
            &[],
            Err(HandshakeError::UnexpectedProtocol("chat".into())),
        ),
        (
            "two protocols",
            resp101("Sec-WebSocket-Protocol: chat, superchat\r\n"),
            &offered,
            Err(HandshakeError::UnexpectedProtocol("chat, superchat".into())),
        ),
        (
            "protocol case differs",
            resp101("Sec-WebSocket-Protocol: Chat\r\n"),
            &offered,
            Err(HandshakeError::UnexpectedProtocol("Chat".into())),
        ),
        (
            "extension",
            resp101("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            &[],
            Err(HandshakeError::UnexpectedExtension("permessage-deflate".into())),
        ),
        (
            "case-insensitive upgrade and connection list",
            "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n\
sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
                .into(),
            &[],
            Ok(None),
        ),
        (
            "no upgrade",
            "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".into(),
            &[],
            Err(HandshakeError::MissingUpgrade),
        ),
        (
            "upgrade h2c",
            "HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".into(),
            &[],
            Err(HandshakeError::MissingUpgrade),
        ),
        (
            "no connection",
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".into(),
            &[],
            Err(HandshakeError::MissingConnection),
        ),
        (
            "no accept",
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".into(),
            &[],
            Err(HandshakeError::MissingAccept),
        ),
        (
            "wrong accept",
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n".into(),
            &[],
            Err(HandshakeError::BadAccept),
        ),
        (
            "two accepts",
            resp101(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n")),
            &[],
            Err(HandshakeError::MissingAccept),
        ),
        (
            "refused",
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\n".into(),
            &[],
            Err(HandshakeError::Rejected { status: 403, reason: "Forbidden".into(), body: b"body".to_vec() }),
        ),
        (
            "200 is not 101",
            "HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".into(),
            &[],
            Err(HandshakeError::Rejected { status: 200, reason: "OK".into(), body: b"body".to_vec() }),
        ),
    ];
    for (name, head, protocols, want) in table {
        let (resp, _) = parse_response(head.as_bytes(), &Limits::default())
            .unwrap()
            .complete()
            .unwrap();
        let got = verify_response(&resp, b"body", KEY, protocols);
        let want = want.map(|p| p.map(str::to_string));
        assert_eq!(got, want, "{name}");
    }
    // The accept key is computed from the key we sent.
    assert_eq!(accept_key(KEY.as_bytes()), ACCEPT);
}

fn handshake(protocols: &[String]) -> ClientHandshake {
    let url = parse_url("ws://example.com/chat").unwrap();
    ClientHandshake::with_key(&url, KEY.into(), protocols, &[], Limits::default()).unwrap()
}

#[test]
fn driver_success_keeps_leftover_frames() {
    let mut bytes = resp101("Sec-WebSocket-Protocol: chat\r\n").into_bytes();
    bytes.extend_from_slice(b"\x81\x05hello\x89\x00");
    for chunk in [1, 3, 16, bytes.len()] {
        let mut hs = handshake(&["chat".into()]);
        let mut done = None;
        let mut rest = Vec::new();
        for piece in bytes.chunks(chunk) {
            if done.is_some() {
                rest.extend_from_slice(piece);
                continue;
            }
            done = hs.feed(piece).unwrap();
        }
        let mut out = done.expect("handshake done");
        out.leftover.extend_from_slice(&rest);
        assert_eq!(out.leftover, b"\x81\x05hello\x89\x00", "chunk {chunk}");
        assert_eq!(out.subprotocol.as_deref(), Some("chat"));
        assert_eq!(out.response.status, 101);
        assert_eq!(
            out.response.get_header("sec-websocket-accept"),
            Some(ACCEPT)
        );
    }
}

#[test]
fn driver_refusal_carries_the_body() {
    // With Content-Length: waits for exactly that many bytes.
    let mut hs = handshake(&[]);
    assert!(hs
        .feed(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 11\r\n\r\nmissing")
        .unwrap()
        .is_none());
    match hs.feed(b" key and more") {
        Err(Error::Handshake(HandshakeError::Rejected {
            status,
            reason,
            body,
        })) => {
            assert_eq!(
                (status, reason.as_str(), body.as_slice()),
                (401, "Unauthorized", &b"missing key"[..])
            );
        }
        other => panic!("{other:?}"),
    }
    // Content-Length, but the connection ends early: `finish` reports what came.
    let mut hs = handshake(&[]);
    assert!(hs
        .feed(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 50\r\n\r\nshort")
        .unwrap()
        .is_none());
    match hs.finish() {
        Error::Handshake(HandshakeError::Rejected { status, body, .. }) => {
            assert_eq!((status, body.as_slice()), (400, &b"short"[..]));
        }
        other => panic!("{other:?}"),
    }
    // Without Content-Length: fail at once (the server may keep the connection open), with the
    // bytes that came along with the head.
    let mut hs = handshake(&[]);
    match hs.feed(b"HTTP/1.1 200 OK\r\n\r\nnot a websocket server") {
        Err(Error::Handshake(HandshakeError::Rejected { status, body, .. })) => {
            assert_eq!(
                (status, body.as_slice()),
                (200, &b"not a websocket server"[..])
            );
        }
        other => panic!("{other:?}"),
    }
    let mut hs = handshake(&[]);
    assert!(matches!(
        hs.feed(b"HTTP/1.1 200 OK\r\n\r\n"),
        Err(Error::Handshake(HandshakeError::Rejected {
            status: 200,
            ..
        }))
    ));
    // No Content-Length but `Connection: close`: the body runs to the end of the stream.
    let mut hs = handshake(&[]);
    assert!(hs
        .feed(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbusy,")
        .unwrap()
        .is_none());
    assert!(hs.feed(b" try later").unwrap().is_none());
    match hs.finish() {
        Error::Handshake(HandshakeError::Rejected { status, body, .. }) => {
            assert_eq!((status, body.as_slice()), (503, &b"busy, try later"[..]));
        }
        other => panic!("{other:?}"),
    }
    // Huge bodies are cut at MAX_REJECTION_BODY, and not buffered beyond it.
    let mut hs = handshake(&[]);
    hs.feed(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10000000\r\n\r\n")
        .unwrap();
    let chunk = vec![b'x'; 8192];
    let mut result = Ok(None);
    for _ in 0..1000 {
        result = hs.feed(&chunk);
        if result.is_err() {
            break;
        }
    }
    match result {
        Err(Error::Handshake(HandshakeError::Rejected {
            status: 500, body, ..
        })) => {
            assert_eq!(body.len(), MAX_REJECTION_BODY);
        }
        other => panic!("{other:?}"),
    }
    // The message names status and body.
    let e = HandshakeError::Rejected {
        status: 403,
        reason: "Forbidden".into(),
        body: b"bad token\n".to_vec(),
    };
    assert_eq!(
        e.to_string(),
        "server refused the upgrade: 403 Forbidden: bad token"
    );
}

#[test]
fn driver_errors() {
    let mut hs = handshake(&[]);
    assert!(matches!(
        hs.feed(b"SSH-2.0-OpenSSH\r\n\r\n"),
        Err(Error::Http(_))
    ));
    let mut hs = handshake(&[]);
    assert!(matches!(
        hs.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
        Err(Error::Handshake(HandshakeError::MissingConnection))
    ));
    let mut hs = handshake(&[]);
    hs.feed(b"HTTP/1.1 101 Swi").unwrap();
    assert!(matches!(
        hs.finish(),
        Error::Handshake(HandshakeError::Incomplete)
    ));
    // A response head that never ends hits the head limit.
    let url = parse_url("ws://h/").unwrap();
    let mut hs = ClientHandshake::with_key(
        &url,
        KEY.into(),
        &[],
        &[],
        Limits {
            max_head_size: 256,
            max_headers: 8,
        },
    )
    .unwrap();
    hs.feed(b"HTTP/1.1 101 OK\r\n").unwrap();
    match hs.feed(&[b'a'; 300]) {
        Err(Error::Http(e)) => assert!(e.is_too_large()),
        other => panic!("{other:?}"),
    }
}
