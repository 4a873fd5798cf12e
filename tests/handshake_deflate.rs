//! permessage-deflate negotiation (RFC 7692 §5, §7.1): the server's choice among offers, the
//! client's offer and its checks on the answer, and both over real sockets.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ws6455::client::ClientBuilder;
use ws6455::handshake::{
    accept_deflate_response, accept_key, deflate_offer, negotiate_deflate, server_handshake_with,
    Accept, Decision, HandshakeError, Request,
};
use ws6455::server::Server;
use ws6455::{Config, DeflateConfig, Error, Message, PerMessageDeflate};

fn pmd(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> PerMessageDeflate {
    PerMessageDeflate {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
    }
}

/// The server's answer to offers, with the default settings and with others.
#[test]
fn server_offer_table() {
    let d = DeflateConfig::default();
    let wide = DeflateConfig::default()
        .server_max_window_bits(15)
        .client_max_window_bits(15);
    // (what, header lines, settings, expected answer)
    let cases: &[(&str, &[&str], DeflateConfig, Option<&str>)] = &[
        ("no header", &[], d, None),
        ("empty header", &[""], d, None),
        ("other extension only", &["x-webkit-deflate-frame"], d, None),
        (
            "bare (Firefox)",
            &["permessage-deflate"],
            d,
            Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=12"),
        ),
        (
            "Chromium",
            &["permessage-deflate; client_max_window_bits"],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ),
        (
            "name case-insensitive",
            &["PerMessage-Deflate; Client_Max_Window_Bits"],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ),
        (
            "client_max_window_bits smaller than ours",
            &["permessage-deflate; client_max_window_bits=9"],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=9"),
        ),
        (
            "client_max_window_bits larger than ours",
            &["permessage-deflate; client_max_window_bits=15"],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ),
        (
            "quoted value",
            &["permessage-deflate; client_max_window_bits=\"10\""],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"),
        ),
        (
            "server_max_window_bits smaller",
            &["permessage-deflate; server_max_window_bits=8; client_max_window_bits"],
            d,
            Some("permessage-deflate; server_max_window_bits=8; client_max_window_bits=12"),
        ),
        (
            "server_max_window_bits larger than ours",
            &["permessage-deflate; server_max_window_bits=15; client_max_window_bits"],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ),
        (
            "server_max_window_bits=15 with 15-bit settings is answered",
            &["permessage-deflate; server_max_window_bits=15"],
            wide,
            Some("permessage-deflate; server_max_window_bits=15"),
        ),
        (
            "15-bit settings, Chromium",
            &["permessage-deflate; client_max_window_bits"],
            wide,
            Some("permessage-deflate; client_max_window_bits=15"),
        ),
        (
            "15-bit settings, Firefox",
            &["permessage-deflate"],
            wide,
            Some("permessage-deflate"),
        ),
        (
            "server_no_context_takeover is echoed",
            &["permessage-deflate; server_no_context_takeover; client_max_window_bits"],
            d,
            Some(
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; \
                 client_max_window_bits=12",
            ),
        ),
        (
            "client_no_context_takeover hint is answered",
            &["permessage-deflate; client_no_context_takeover; client_max_window_bits"],
            d,
            Some(
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; \
                 client_max_window_bits=12",
            ),
        ),
        (
            "settings add both no_context_takeover unasked",
            &["permessage-deflate; client_max_window_bits"],
            d.server_no_context_takeover(true)
                .client_no_context_takeover(true),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=12; client_max_window_bits=12",
            ),
        ),
        (
            "Autobahn 13.5",
            &[
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
               server_no_context_takeover; server_max_window_bits=9",
            ],
            d,
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=9; client_max_window_bits=12",
            ),
        ),
        (
            "other extensions before are ignored",
            &["x-foo; a=1, permessage-deflate; client_max_window_bits=11"],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=11"),
        ),
        (
            "offers over several header lines: the first line's first",
            &[
                "permessage-deflate; server_max_window_bits=9",
                "permessage-deflate",
            ],
            d,
            Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=9"),
        ),
        (
            "unknown parameter declines the first offer; the second is taken",
            &["permessage-deflate; foo, permessage-deflate; client_max_window_bits=10"],
            d,
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"),
        ),
        (
            "invalid first offer, next header line taken",
            &[
                "permessage-deflate; server_max_window_bits=16",
                "permessage-deflate; server_max_window_bits=10",
            ],
            d,
            Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=10"),
        ),
        (
            "empty list elements are skipped",
            &[" , permessage-deflate ,"],
            d,
            Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=12"),
        ),
        (
            "disabled",
            &["permessage-deflate"],
            DeflateConfig::off(),
            None,
        ),
    ];
    for (what, lines, cfg, want) in cases {
        let got = negotiate_deflate(lines.iter().copied(), cfg);
        assert_eq!(got.as_ref().map(|(_, h)| h.as_str()), *want, "{what}");
        // The agreement parses back from the answer as the client would see it.
        if let Some((agreement, header)) = got {
            let client = DeflateConfig::default();
            let seen = accept_deflate_response([header.as_str()], &client).unwrap();
            let seen = seen.unwrap();
            assert_eq!(
                (
                    seen.server_no_context_takeover,
                    seen.server_max_window_bits,
                    seen.client_max_window_bits
                        .min(agreement.client_max_window_bits)
                ),
                (
                    agreement.server_no_context_takeover,
                    agreement.server_max_window_bits,
                    agreement.client_max_window_bits
                ),
                "{what}"
            );
        }
    }
}

/// The agreement a server applies, not only its header.
#[test]
fn server_agreements() {
    let d = DeflateConfig::default();
    let a = |offer: &str| negotiate_deflate([offer], &d).unwrap().0;
    assert_eq!(a("permessage-deflate"), pmd(false, true, 12, 15));
    assert_eq!(
        a("permessage-deflate; client_max_window_bits"),
        pmd(false, false, 12, 12)
    );
    assert_eq!(
        a("permessage-deflate; server_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8"),
        pmd(true, false, 8, 8)
    );
    assert_eq!(
        a("permessage-deflate; client_no_context_takeover; client_max_window_bits"),
        pmd(false, true, 12, 12)
    );
}

/// Every offer that must be declined (the connection then goes on uncompressed).
#[test]
fn server_declines() {
    let d = DeflateConfig::default();
    let declined = [
        "permessage-deflate; unknown",
        "permessage-deflate; unknown=1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=0",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=9.0",
        "permessage-deflate; server_max_window_bits=\"\"",
        "permessage-deflate; server_max_window_bits=\" 9\"",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=09",
        "permessage-deflate; client_max_window_bits=a",
        "permessage-deflate; client_max_window_bits=\"1\"",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"\"",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; Client_No_Context_Takeover",
        "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
        // Malformed lines decline every offer in them.
        "permessage-deflate; client_max_window_bits, permessage-deflate;",
        "permessage-deflate; client_max_window_bits=\"10",
        "permessage-deflate client_max_window_bits",
        "permessage-deflate; =1",
    ];
    for offer in declined {
        assert_eq!(negotiate_deflate([offer], &d), None, "{offer}");
    }
    // Declined offers among acceptable ones: the first acceptable wins.
    let (_, h) = negotiate_deflate(
        [
            "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9, \
             permessage-deflate; x, permessage-deflate; server_max_window_bits=11",
        ],
        &d,
    )
    .unwrap();
    assert_eq!(
        h,
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=11"
    );
    // A malformed header line declines every offer, whatever the other lines say.
    assert_eq!(
        negotiate_deflate(["permessage-deflate", "permessage-deflate; a=\"x"], &d),
        None
    );
}

#[test]
fn client_offers() {
    let cases = [
        (
            DeflateConfig::default(),
            Some("permessage-deflate; client_max_window_bits"),
        ),
        (
            DeflateConfig::default().client_max_window_bits(10),
            Some("permessage-deflate; client_max_window_bits=10"),
        ),
        (
            DeflateConfig::default()
                .client_no_context_takeover(true)
                .server_no_context_takeover(true)
                .server_max_window_bits(9),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=9; client_max_window_bits",
            ),
        ),
        (DeflateConfig::off(), None),
    ];
    for (cfg, want) in cases {
        assert_eq!(deflate_offer(&cfg).as_deref(), want, "{cfg:?}");
        // Our server accepts every offer our client makes.
        if let Some(offer) = deflate_offer(&cfg) {
            assert!(negotiate_deflate([offer.as_str()], &DeflateConfig::default()).is_some());
        }
    }
}

/// The client's checks on the server's answer.
#[test]
fn client_response_table() {
    let d = DeflateConfig::default();
    let asked = DeflateConfig::default()
        .server_max_window_bits(10)
        .client_max_window_bits(11)
        .server_no_context_takeover(true);
    let invalid = |value: &str, reason: &'static str| {
        Err(HandshakeError::InvalidExtension {
            value: value.into(),
            reason,
        })
    };
    let unexpected = |value: &str| Err(HandshakeError::UnexpectedExtension(value.into()));
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &[&str],
        DeflateConfig,
        Result<Option<PerMessageDeflate>, HandshakeError>,
    )> = vec![
        (&[], d, Ok(None)),
        (&[""], d, Ok(None)),
        (&["permessage-deflate"], d, Ok(Some(pmd(false, false, 15, 15)))),
        (
            &["Permessage-Deflate; SERVER_MAX_WINDOW_BITS=12; client_max_window_bits=\"12\""],
            d,
            Ok(Some(pmd(false, false, 12, 12))),
        ),
        (
            &["permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
            d,
            Ok(Some(pmd(true, true, 15, 15))),
        ),
        (
            &["permessage-deflate; client_max_window_bits=8; server_max_window_bits=8"],
            d,
            Ok(Some(pmd(false, false, 8, 8))),
        ),
        // Our own client_no_context_takeover holds even unanswered.
        (
            &["permessage-deflate"],
            d.client_no_context_takeover(true),
            Ok(Some(pmd(false, true, 15, 15))),
        ),
        (
            &["permessage-deflate; server_no_context_takeover; server_max_window_bits=10"],
            asked,
            Ok(Some(pmd(true, false, 10, 11))),
        ),
        (
            &["permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11"],
            asked,
            Ok(Some(pmd(true, false, 9, 11))),
        ),
        // Not asked for.
        (&["permessage-deflate"], DeflateConfig::off(), unexpected("permessage-deflate")),
        (&["x-foo"], d, unexpected("x-foo")),
        (
            &["permessage-deflate, x-foo"],
            d,
            unexpected("permessage-deflate, x-foo"),
        ),
        (
            &["permessage-deflate", "permessage-deflate"],
            d,
            invalid(
                "permessage-deflate, permessage-deflate",
                "more than one permessage-deflate in the response",
            ),
        ),
        (
            &["permessage-deflate; foo"],
            d,
            invalid("permessage-deflate; foo", "unknown parameter"),
        ),
        (
            &["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
            d,
            invalid(
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                "duplicated parameter",
            ),
        ),
        (
            &["permessage-deflate; client_max_window_bits=10; client_max_window_bits=10"],
            d,
            invalid(
                "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
                "duplicated parameter",
            ),
        ),
        (
            &["permessage-deflate; client_max_window_bits"],
            d,
            invalid(
                "permessage-deflate; client_max_window_bits",
                "client_max_window_bits needs a value",
            ),
        ),
        (
            &["permessage-deflate; server_max_window_bits"],
            d,
            invalid(
                "permessage-deflate; server_max_window_bits",
                "server_max_window_bits needs a value",
            ),
        ),
        (
            &["permessage-deflate; server_max_window_bits=16"],
            d,
            invalid(
                "permessage-deflate; server_max_window_bits=16",
                "window bits must be 8..=15",
            ),
        ),
        (
            &["permessage-deflate; client_max_window_bits=08"],
            d,
            invalid(
                "permessage-deflate; client_max_window_bits=08",
                "window bits must be 8..=15",
            ),
        ),
        (
            &["permessage-deflate; client_no_context_takeover=1"],
            d,
            invalid(
                "permessage-deflate; client_no_context_takeover=1",
                "a *_no_context_takeover parameter takes no value",
            ),
        ),
        (
            &["permessage-deflate; server_max_window_bits=11; server_no_context_takeover"],
            asked,
            invalid(
                "permessage-deflate; server_max_window_bits=11; server_no_context_takeover",
                "server_max_window_bits is larger than the one offered",
            ),
        ),
        (
            &["permessage-deflate; server_no_context_takeover"],
            asked,
            invalid(
                "permessage-deflate; server_no_context_takeover",
                "server_max_window_bits was offered and not answered",
            ),
        ),
        (
            &["permessage-deflate; server_max_window_bits=10"],
            asked,
            invalid(
                "permessage-deflate; server_max_window_bits=10",
                "server_no_context_takeover was offered and not accepted",
            ),
        ),
        (
            &["permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"],
            asked,
            invalid(
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12",
                "client_max_window_bits is larger than the one offered",
            ),
        ),
        (
            &["permessage-deflate; server_max_window_bits=\"9"],
            d,
            invalid(
                "permessage-deflate; server_max_window_bits=\"9",
                "unterminated quoted string",
            ),
        ),
        (
            &["permessage-deflate;"],
            d,
            invalid("permessage-deflate;", "expected a parameter name after `;`"),
        ),
    ];
    for (lines, cfg, want) in cases {
        assert_eq!(
            accept_deflate_response(lines.iter().copied(), &cfg),
            want,
            "{lines:?} {cfg:?}"
        );
    }
}

fn upgrade_request(extensions: &[&str]) -> Request {
    let mut head = String::from(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    );
    for e in extensions {
        head.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    head.push_str("\r\n");
    Request::parse(head.as_bytes()).unwrap()
}

#[test]
fn server_handshake_carries_the_answer_and_the_hook_can_refuse() {
    let req = upgrade_request(&["x-foo", "permessage-deflate; client_max_window_bits"]);
    let accept = |_: &Request| Decision::Accept(Accept::new());
    let out = server_handshake_with(&req, &accept, &DeflateConfig::default());
    assert_eq!(out.deflate, Some(pmd(false, false, 12, 12)));
    let bytes = String::from_utf8(out.response.to_bytes()).unwrap();
    assert!(bytes.contains(
        "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; \
         client_max_window_bits=12\r\n"
    ));
    assert_eq!(bytes.matches("Sec-WebSocket-Extensions").count(), 1);
    // An application header cannot smuggle its own answer.
    let sneaky =
        |_: &Request| Decision::Accept(Accept::new().header("Sec-WebSocket-Extensions", "x"));
    let out = server_handshake_with(&req, &sneaky, &DeflateConfig::off());
    assert_eq!(out.response.get_header("sec-websocket-extensions"), None);
    // The hook refuses, or gives its own settings.
    let off = |_: &Request| Decision::Accept(Accept::new().deflate(false));
    let out = server_handshake_with(&req, &off, &DeflateConfig::default());
    assert_eq!(out.deflate, None);
    assert_eq!(out.response.get_header("sec-websocket-extensions"), None);
    let own = |_: &Request| {
        Decision::Accept(
            Accept::new().deflate_config(DeflateConfig::default().server_max_window_bits(9)),
        )
    };
    let out = server_handshake_with(&req, &own, &DeflateConfig::off());
    assert_eq!(out.deflate, Some(pmd(false, false, 9, 12)));
    // The plain form never negotiates.
    let out = ws6455::handshake::server_handshake(&req, &accept);
    assert!(out.accepted);
    assert_eq!(out.deflate, None);
}

/// Starts a server whose handler reports the request's offer and echoes one message.
fn server(config: Config) -> (std::net::SocketAddr, mpsc::Receiver<Option<String>>) {
    let server = Server::bind_with_config("127.0.0.1:0", config).unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        server
            .serve(move |mut ws| {
                let offer = ws
                    .request()
                    .and_then(|r| r.header("sec-websocket-extensions").map(str::to_owned));
                let _ = tx.send(offer);
                while let Ok(m) = ws.read() {
                    if matches!(m, Message::Close(_)) || ws.write(m).is_err() {
                        break;
                    }
                }
            })
            .unwrap();
    });
    (addr, rx)
}

/// Reads an HTTP head (up to the empty line) from a raw socket.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn our_client_and_our_server_negotiate_over_tcp() {
    let (addr, offers) = server(Config::default());
    let url = format!("ws://{addr}/");
    let (mut ws, resp) = ClientBuilder::new(&url).connect().unwrap();
    assert_eq!(
        resp.get_header("sec-websocket-extensions"),
        Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
    );
    let offer = offers.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        offer.as_deref(),
        Some("permessage-deflate; client_max_window_bits")
    );
    ws.close(ws6455::CloseCode::Normal, "").unwrap();

    // Client with compression off: no offer, no answer.
    let cfg = Config::default().deflate(DeflateConfig::off());
    let (mut ws, resp) = ClientBuilder::new(&url).config(cfg).connect().unwrap();
    assert_eq!(resp.get_header("sec-websocket-extensions"), None);
    assert_eq!(offers.recv_timeout(Duration::from_secs(10)).unwrap(), None);
    ws.close(ws6455::CloseCode::Normal, "").unwrap();

    // Server with compression off: the offer is made and declined.
    let (addr, offers) = server(Config::default().deflate(DeflateConfig::off()));
    let (mut ws, resp) = ClientBuilder::new(format!("ws://{addr}/"))
        .connect()
        .unwrap();
    assert_eq!(resp.get_header("sec-websocket-extensions"), None);
    assert!(offers
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .is_some());
    ws.close(ws6455::CloseCode::Normal, "").unwrap();
}

#[test]
fn our_server_answers_browser_offers_over_tcp() {
    let (addr, _offers) = server(Config::default());
    for (offer, answer) in [
        (
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        ),
        (
            "permessage-deflate",
            Some("permessage-deflate; client_no_context_takeover; server_max_window_bits=12"),
        ),
        ("permessage-deflate; bogus", None),
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Extensions: {offer}\r\n\r\n"
        )
        .unwrap();
        let head = read_head(&mut s);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let got = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "));
        assert_eq!(got, answer, "{offer}");
    }
}

/// A raw server that answers our client's request with `extensions`; returns the client's
/// result, its request head, and the bytes the client sent after it (none: a failed handshake
/// sends no frame).
fn against_raw_server(extensions: &str) -> (Result<(), Error>, String, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ext = extensions.to_owned();
    let peer = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let head = read_head(&mut s);
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .to_owned();
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{ext}\r\n",
            accept_key(key.as_bytes())
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        (head, rest)
    });
    let result = ClientBuilder::new(format!("ws://{addr}/"))
        .connect()
        .map(|(ws, _)| drop(ws));
    let (head, rest) = peer.join().unwrap();
    (result, head, rest)
}

#[test]
fn our_client_fails_the_connection_on_a_bad_answer_over_tcp() {
    for (ext, want_unexpected) in [
        ("Sec-WebSocket-Extensions: permessage-deflate; x=1\r\n", false),
        (
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
            false,
        ),
        (
            "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
            false,
        ),
        ("Sec-WebSocket-Extensions: x-foo\r\n", true),
    ] {
        let (result, head, rest) = against_raw_server(ext);
        assert!(head.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
        match result {
            Err(Error::Handshake(HandshakeError::UnexpectedExtension(_))) if want_unexpected => {}
            Err(Error::Handshake(HandshakeError::InvalidExtension { .. })) if !want_unexpected => {}
            other => panic!("{ext}: {other:?}"),
        }
        // Failed: the TCP connection was closed without a single frame (not even a close).
        assert!(rest.is_empty(), "{ext}: {rest:?}");
    }
    // A good answer is accepted.
    let (result, _, _) = against_raw_server(
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_max_window_bits=9\r\n",
    );
    result.unwrap();
}
