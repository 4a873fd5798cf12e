//! The HTTP/1.1 head parser: every rule of the issue, plus the split-anywhere property.

use ws6455::http::{parse_request, parse_response, HttpErrorKind, Limits, Status};

const BROWSER: &[u8] = b"GET /chat?room=1 HTTP/1.1\r\n\
Host: localhost:5000\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:5000\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn browser_request_parses_zero_copy() {
    let (req, used) = parse_request(BROWSER, &limits())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(used, BROWSER.len());
    assert_eq!(req.method, "GET");
    assert_eq!(req.target, "/chat?room=1");
    assert_eq!(req.version, 1);
    assert_eq!(req.headers.len(), 12);
    // Borrowed: the slices point into the buffer.
    let range = BROWSER.as_ptr_range();
    for h in &req.headers {
        assert!(range.contains(&h.name.as_ptr()));
        assert!(h.value.is_empty() || range.contains(&h.value.as_ptr()));
    }
    assert!(range.contains(&req.target.as_ptr()));
}

#[test]
fn header_names_are_case_insensitive_and_duplicates_kept_in_order() {
    let buf = b"GET / HTTP/1.1\r\nX-Tag: a\r\nHost: h\r\nx-tag: b\r\nX-TAG: c\r\n\r\n";
    let (req, _) = parse_request(buf, &limits()).unwrap().complete().unwrap();
    assert_eq!(req.header("x-TaG"), Some(&b"a"[..]));
    assert_eq!(req.header("HOST"), Some(&b"h"[..]));
    let all: Vec<&[u8]> = req
        .headers
        .iter()
        .filter(|h| h.is("X-Tag"))
        .map(|h| h.value)
        .collect();
    assert_eq!(all, [&b"a"[..], b"b", b"c"]);
    // Original case is kept.
    assert_eq!(req.headers[2].name, "x-tag");
}

/// List values (RFC 9110 §5.6.1): several fields count as one list, tokens match whole.
#[test]
fn token_lists_follow_rfc9110_list_rules() {
    let buf = b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: , UPGRADE\r\n\r\n";
    let (req, _) = parse_request(buf, &limits()).unwrap().complete().unwrap();
    assert!(req.has_token("connection", "upgrade"));
    assert!(!req.has_token("connection", "close"));
    // A token is matched whole, not as a substring.
    let buf = b"GET / HTTP/1.1\r\nConnection: Upgraded\r\n\r\n";
    let (req, _) = parse_request(buf, &limits()).unwrap().complete().unwrap();
    assert!(!req.has_token("connection", "upgrade"));
}

#[test]
fn crlf_and_bare_lf_give_the_same_request() {
    let crlf = b"GET /x HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
    let lf = b"GET /x HTTP/1.1\nHost: a\nUpgrade: websocket\n\n";
    let mixed = b"GET /x HTTP/1.1\r\nHost: a\nUpgrade: websocket\r\n\n";
    let a = parse_request(crlf, &limits()).unwrap().complete().unwrap();
    let b = parse_request(lf, &limits()).unwrap().complete().unwrap();
    let c = parse_request(mixed, &limits()).unwrap().complete().unwrap();
    assert_eq!(a.0, b.0);
    assert_eq!(a.0, c.0);
    assert_eq!((a.1, b.1, c.1), (crlf.len(), lf.len(), mixed.len()));
}

#[test]
fn bytes_after_the_head_are_left_alone() {
    let mut buf = BROWSER.to_vec();
    buf.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let (_, used) = parse_request(&buf, &limits()).unwrap().complete().unwrap();
    assert_eq!(
        &buf[used..],
        b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
    );
    // Even when those bytes look like a head terminator or garbage.
    let buf = b"GET / HTTP/1.1\r\n\r\n\r\n\r\n\x00\xff";
    let (_, used) = parse_request(buf, &limits()).unwrap().complete().unwrap();
    assert_eq!(used, 18);
}

#[test]
fn rejections_name_the_problem_and_the_offset() {
    use HttpErrorKind::*;
    let table: &[(&[u8], HttpErrorKind, usize)] = &[
        (b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", ObsFold, 22),
        (b"GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", ObsFold, 22),
        (
            b"GET / HTTP/1.1\r\nA\t: b\r\n\r\n",
            WhitespaceBeforeColon,
            17,
        ),
        (
            b"GET / HTTP/1.1\r\nA : b\r\n\r\n",
            WhitespaceBeforeColon,
            17,
        ),
        (b"GET / HTTP/1.1\r\nA\x00: b\r\n\r\n", InvalidHeaderName, 17),
        (b"GET / HTTP/1.1\r\nA\x7f: b\r\n\r\n", InvalidHeaderName, 17),
        (b"GET / HTTP/1.1\r\nA@B: b\r\n\r\n", InvalidHeaderName, 17),
        (
            b"GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n",
            InvalidHeaderValue,
            20,
        ),
        (
            b"GET / HTTP/1.1\r\nA: b\x1bc\r\n\r\n",
            InvalidHeaderValue,
            20,
        ),
        (b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", BareCr, 20),
        (
            b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
            WhitespaceBeforeColon,
            18,
        ),
        (b"GET / HTTP/1.1\r\nnocolon\r\n\r\n", MissingColon, 23),
        (b"G\x00T / HTTP/1.1\r\n\r\n", InvalidMethod, 1),
        (b"GET\t/ HTTP/1.1\r\n\r\n", InvalidMethod, 3),
        (b"GET /a b HTTP/1.1\r\n\r\n", InvalidVersion, 7),
        (b"GET /\x01 HTTP/1.1\r\n\r\n", InvalidTarget, 5),
        (b"GET / HTTP/1.1x\r\n\r\n", InvalidVersion, 14),
        (b"GET / HTTP/11\r\n\r\n", InvalidVersion, 12),
        (b"GET / \r\n\r\n", InvalidVersion, 6),
    ];
    for (buf, kind, offset) in table {
        let e = parse_request(buf, &limits()).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (*kind, *offset),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
        let msg = e.to_string();
        assert!(msg.ends_with(&format!("at byte {offset}")), "{msg}");
    }
}

#[test]
fn head_size_and_header_count_are_bounded() {
    let l = Limits {
        max_head_size: 100,
        max_headers: 4,
    };
    // No end of head within 100 bytes: error at once, whatever follows.
    let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
    long.resize(5000, b'a');
    let e = parse_request(&long, &l).unwrap_err();
    assert_eq!(e.kind, HttpErrorKind::HeadTooLarge { limit: 100 });
    assert_eq!(e.offset, 100);
    assert!(e.is_too_large());
    // Within the limit but not finished: partial.
    assert_eq!(parse_request(&long[..99], &l).unwrap(), Status::Partial);
    // A terminator beyond the limit does not help.
    let mut late = long[..150].to_vec();
    late.extend_from_slice(b"\r\n\r\n");
    assert!(parse_request(&late, &l).unwrap_err().is_too_large());
    // Header count.
    let four = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert!(parse_request(four, &l).unwrap().is_complete());
    let five = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n";
    let e = parse_request(five, &l).unwrap_err();
    assert_eq!(e.kind, HttpErrorKind::TooManyHeaders { limit: 4 });
    assert!(e.is_too_large());
    // Defaults.
    assert_eq!(limits().max_head_size, 16 * 1024);
    assert_eq!(limits().max_headers, 64);
    let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
    while huge.len() < 20_000 {
        huge.extend_from_slice(b"X-Filler: 0123456789\r\n");
    }
    assert!(parse_request(&huge, &limits()).unwrap_err().is_too_large());
}

#[test]
fn leading_empty_lines_are_skipped_and_count_toward_the_limit() {
    let buf = b"\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    let (r, used) = parse_request(buf, &limits()).unwrap().complete().unwrap();
    assert_eq!((r.target, used), ("/", buf.len()));
    let l = Limits {
        max_head_size: 8,
        max_headers: 4,
    };
    assert!(parse_request(b"\r\n\r\n\r\n\r\n\r\n", &l)
        .unwrap_err()
        .is_too_large());
}

#[test]
fn responses_parse_with_body_left_over() {
    let buf =
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nbad token";
    let (r, used) = parse_response(buf, &limits()).unwrap().complete().unwrap();
    assert_eq!((r.version, r.status, r.reason), (1, 403, "Forbidden"));
    assert_eq!(r.content_length(), Some(9));
    assert_eq!(&buf[used..], b"bad token");
    let (r, _) = parse_response(b"HTTP/1.0 101 Switching Protocols\n\n", &limits())
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!((r.version, r.status), (0, 101));
    for bad in [
        &b"HTTP/1.1 99 Low\r\n\r\n"[..],
        b"HTTP/1.1 abc\r\n\r\n",
        b"HTTP/1.1  200 OK\r\n\r\n",
        b"HTTP/1.1 200OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
    ] {
        assert!(
            parse_response(bad, &limits()).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

/// Splitting a valid head at every byte boundary: every prefix is Partial, and the whole
/// buffer (however it arrived) gives the same parse.
#[test]
fn split_at_every_boundary_is_partial_then_identical() {
    let heads: &[&[u8]] = &[
        BROWSER,
        b"GET / HTTP/1.1\r\n\r\n",
        b"\r\nGET /a?b HTTP/1.0\nHost: x\n\n",
        b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Empty:\r\nX-Sp:   \r\n\r\n",
    ];
    for head in heads {
        let mut buf = head.to_vec();
        buf.extend_from_slice(b"\x81\x80\x00\x00\x00\x00");
        let whole = parse_request(&buf, &limits()).unwrap();
        let Status::Complete((_, used)) = &whole else {
            panic!("complete")
        };
        assert_eq!(*used, head.len());
        for cut in 0..head.len() {
            assert_eq!(
                parse_request(&buf[..cut], &limits()).unwrap(),
                Status::Partial,
                "cut at {cut}"
            );
            // Simulate two reads: the second completes it, same result.
            let mut acc = buf[..cut].to_vec();
            acc.extend_from_slice(&buf[cut..]);
            assert_eq!(parse_request(&acc, &limits()).unwrap(), whole);
        }
        for cut in head.len()..=buf.len() {
            let got = parse_request(&buf[..cut], &limits()).unwrap();
            assert_eq!(got, parse_request(&buf, &limits()).unwrap());
        }
    }
    let resp =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    for cut in 0..resp.len() {
        assert_eq!(
            parse_response(&resp[..cut], &limits()).unwrap(),
            Status::Partial
        );
    }
    assert!(parse_response(resp, &limits()).unwrap().is_complete());
}
