//! Fuzz target logic for the HTTP head parser and the opening handshake, shared by the
//! cargo-fuzz binaries (fuzz/fuzz_targets/*.rs) and by `cargo test`, which replays every file of
//! fuzz/corpus/<target>/ through the same functions (tests/handshake_fuzz_corpus.rs).
//!
//! Each function must never panic for any input except on a broken invariant:
//! - incremental == whole buffer: every prefix parses to `Partial` or to exactly the result of
//!   the whole buffer; the head's length, minus one byte, is `Partial`;
//! - bounded: heads never exceed `max_head_size`, header lists never exceed `max_headers`;
//! - round trips: what we generate (responses, client requests) parses back.
#![allow(dead_code)]

use std::fmt::Debug;

use ws6455::handshake::{
    self, Accept, ClientHandshake, Decision, HandshakeError, Request, Response, ServerHandshake,
};
use ws6455::http::{self, HttpError, Limits, Status};
use ws6455::Error;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn limit_sets(data: &[u8]) -> [Limits; 2] {
    [
        Limits::default(),
        Limits {
            max_head_size: data.len() / 2 + 1,
            max_headers: 3,
        },
    ]
}

/// Cut points: all of them for short inputs, a spread for long ones.
fn cuts(len: usize) -> Vec<usize> {
    if len <= 300 {
        (0..len).collect()
    } else {
        let mut v: Vec<usize> = (0..64).map(|i| i * len / 64).collect();
        v.extend(len.saturating_sub(8)..len);
        v
    }
}

fn check_incremental<'a, T: PartialEq + Debug>(
    data: &'a [u8],
    limits: &Limits,
    parse: impl Fn(&'a [u8]) -> Result<Status<(T, usize)>, HttpError>,
    count: impl Fn(&T) -> usize,
) {
    let whole = parse(data);
    match &whole {
        Ok(Status::Complete((v, used))) => {
            assert!(*used <= data.len() && *used <= limits.max_head_size);
            assert!(count(v) <= limits.max_headers);
            assert_eq!(parse(&data[..*used]), whole, "the head alone");
            assert_eq!(
                parse(&data[..*used - 1]),
                Ok(Status::Partial),
                "head minus one"
            );
        }
        Ok(Status::Partial) => assert!(data.len() < limits.max_head_size),
        Err(e) => {
            assert!(e.offset <= data.len(), "{e}");
            assert!(!e.to_string().is_empty());
        }
    }
    for cut in cuts(data.len()) {
        let part = parse(&data[..cut]);
        if part != Ok(Status::Partial) {
            assert_eq!(part, whole, "prefix of {cut} bytes");
        }
    }
}

/// Target `http_request`: the request parser, then the server side on what it parsed.
pub fn http_request(data: &[u8]) {
    for limits in limit_sets(data) {
        check_incremental(
            data,
            &limits,
            |b| http::parse_request(b, &limits),
            |r| r.headers.len(),
        );
        // The sans-IO driver agrees with the parser, fed in two pieces.
        let split = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
        let mut hs = ServerHandshake::new(limits);
        let mut got = hs.feed(&data[..split]);
        match &mut got {
            Ok(None) => got = hs.feed(&data[split..]),
            // Completed in the first piece: the rest arrives as more leftover.
            Ok(Some(incoming)) => incoming.leftover.extend_from_slice(&data[split..]),
            Err(_) => {}
        }
        match (http::parse_request(data, &limits), got) {
            (Ok(Status::Complete((req, used))), Ok(Some(incoming))) => {
                assert_eq!(incoming.request, Request::from_http(&req));
                assert_eq!(incoming.leftover, &data[used..]);
                serve(&incoming.request);
            }
            (Ok(Status::Partial), Ok(None)) => {}
            (Err(e), Err(bad)) => {
                assert_eq!(e, bad.error);
                assert!(matches!(bad.response.status, 400 | 431));
                check_response_bytes(&bad.response);
            }
            (a, b) => panic!("parser {a:?} but driver {b:?}"),
        }
    }
}

fn serve(req: &Request) {
    let _ = (
        req.path(),
        req.query(),
        req.query_param("accessToken"),
        req.protocols(),
    );
    let _ = req.is_websocket_upgrade();
    let offered: Vec<String> = req.protocols().iter().map(|s| s.to_string()).collect();
    let hook = |r: &Request| {
        if r.header("x-reject").is_some() {
            Decision::Reject(Response::text(403, "no").header("X-Why", "a\r\nb"))
        } else {
            let mut a = Accept::new().header("X-Extra", "1");
            if let Some(p) = r.protocols().first() {
                a = a.subprotocol(*p);
            }
            Decision::Accept(a)
        }
    };
    let out = handshake::server_handshake(req, &hook);
    assert_eq!(out.accepted, out.response.status == 101);
    if let Some(p) = &out.subprotocol {
        assert!(offered.contains(p));
    }
    let bytes = check_response_bytes(&out.response);
    if out.accepted {
        // Our own client accepts our own 101.
        let key = handshake::check_request(req).expect("accepted implies valid");
        let (resp, _) = http::parse_response(&bytes, &Limits::default())
            .unwrap()
            .complete()
            .unwrap();
        let chosen = handshake::verify_response(&resp, b"", &key, &offered).unwrap();
        assert_eq!(chosen, out.subprotocol);
    }
}

/// Whatever response we build parses back, with the body delimited by Content-Length.
fn check_response_bytes(r: &Response) -> Vec<u8> {
    let bytes = r.to_bytes();
    let limits = Limits {
        max_head_size: usize::MAX,
        max_headers: usize::MAX,
    };
    let (parsed, used) = http::parse_response(&bytes, &limits)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&bytes)))
        .complete()
        .expect("complete response");
    assert_eq!(parsed.status, r.status.clamp(100, 999));
    assert_eq!(&bytes[used..], &r.body[..]);
    if r.status >= 200 && r.status != 204 {
        assert_eq!(parsed.content_length(), Some(r.body.len() as u64));
    }
    bytes
}

/// Target `http_response`: the response parser, and our response writer on what it parsed.
pub fn http_response(data: &[u8]) {
    for limits in limit_sets(data) {
        check_incremental(
            data,
            &limits,
            |b| http::parse_response(b, &limits),
            |r| r.headers.len(),
        );
        if let Ok(Status::Complete((resp, used))) = http::parse_response(data, &limits) {
            let _ = resp.content_length();
            let _ = handshake::verify_response(&resp, &data[used..], KEY, &["chat".into()]);
            let owned = Response::from_http(&resp, &data[used..]);
            check_response_bytes(&owned);
        }
    }
}

/// What a client run ended with: a refusal (status, reason, body) or anything else as text.
#[derive(Debug, PartialEq)]
enum ClientEnd {
    Refused(u16, String, Vec<u8>),
    Other(String),
}

/// Same outcome, whether the bytes came at once or in pieces. A refusal without
/// Content-Length ends with the bytes that came along with the head, so the body of a
/// piecewise run is a prefix of the whole-buffer body.
fn same_end(piecewise: &ClientEnd, whole: &ClientEnd) -> bool {
    match (piecewise, whole) {
        (ClientEnd::Refused(s1, r1, b1), ClientEnd::Refused(s2, r2, b2)) => {
            s1 == s2 && r1 == r2 && b2.starts_with(b1)
        }
        (a, b) => a == b,
    }
}

fn end_of(e: Error) -> ClientEnd {
    match e {
        Error::Handshake(HandshakeError::Rejected {
            status,
            reason,
            body,
        }) => {
            assert!(body.len() <= handshake::MAX_REJECTION_BODY);
            ClientEnd::Refused(status, reason, body)
        }
        e => ClientEnd::Other(format!("{e:?}")),
    }
}

fn run_client(data: &[u8], chunk: usize, limits: Limits) -> ClientEnd {
    let url = handshake::parse_url("ws://example.com:9001/chat?x=1").unwrap();
    let protocols = ["chat".to_string(), "superchat".to_string()];
    let mut hs = ClientHandshake::with_key(&url, KEY.into(), &protocols, &[], limits).unwrap();
    let mut fed = 0;
    while fed < data.len() {
        let end = (fed + chunk).min(data.len());
        match hs.feed(&data[fed..end]) {
            Ok(None) => fed = end,
            Ok(Some(mut outcome)) => {
                // The socket layer keeps reading after the head: model it.
                outcome.leftover.extend_from_slice(&data[end..]);
                if let Some(p) = &outcome.subprotocol {
                    assert!(protocols.contains(p));
                }
                return ClientEnd::Other(format!("{outcome:?}"));
            }
            Err(e) => return end_of(e),
        }
    }
    end_of(hs.finish())
}

/// Target `client_handshake`: the client's response handling, whole vs in pieces, plus URL
/// parsing and request building on the same bytes.
pub fn client_handshake(data: &[u8]) {
    for limits in limit_sets(data) {
        let whole = run_client(data, usize::MAX, limits);
        let step = data.first().map_or(1, |&b| b as usize % 17 + 1);
        let pieces = run_client(data, step, limits);
        assert!(
            same_end(&pieces, &whole),
            "chunks of {step}: {pieces:?} vs {whole:?}"
        );
        if data.len() <= 512 {
            let bytes = run_client(data, 1, limits);
            assert!(
                same_end(&bytes, &whole),
                "byte by byte: {bytes:?} vs {whole:?}"
            );
        }
    }
    // URL parsing and the request built from it.
    let text = String::from_utf8_lossy(data);
    let line = text.lines().next().unwrap_or("");
    for parse in [handshake::parse_url, handshake::parse_url_for_stream] {
        if let Ok(url) = parse(line) {
            let req = handshake::client_request(&url, KEY, &[], &[]).unwrap();
            let (parsed, used) = http::parse_request(
                &req,
                &Limits {
                    max_head_size: usize::MAX,
                    max_headers: 64,
                },
            )
            .unwrap()
            .complete()
            .unwrap();
            assert_eq!(used, req.len());
            assert_eq!(parsed.target, url.resource);
            assert_eq!(parsed.header("host"), Some(url.host_header.as_bytes()));
            let owned = Request::from_http(&parsed);
            assert!(handshake::check_request(&owned).is_ok());
        }
    }
}
