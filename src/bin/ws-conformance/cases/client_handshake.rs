//! Section 9 for clients, the opening handshake (§4.1): the client's request and a fresh key per
//! connection (`hs.4`), and broken responses it must refuse (`hs.5`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::case::{Applies, Body, Case, Ctx, Script};
use crate::http::{accept_key, is_valid_key, Head};
use crate::judge::{Judgement, Verdict};
use crate::raw::RawFrame;
use crate::runner::run_script;
use crate::session::Session;

/// What the tester does with a client's opening request in a client-mode handshake case.
#[derive(Debug, Clone, Copy)]
pub enum ClientCheck {
    /// Check the request (§4.1), accept, then an echo.
    Request,
    /// The key must differ from the previous connection's.
    FreshKey,
    /// 101 and the first frame in the same write; the client must echo it.
    EagerServer,
    /// Answer with a broken response; the client must not go on.
    BadResponse(fn(&str) -> String),
}

fn client_case(id: &str, description: &str, check: ClientCheck) -> Case {
    Case {
        id: id.into(),
        description: description.into(),
        applies: Applies::Client,
        body: Body::ClientHandshake(check),
    }
}

/// Section 9's client cases.
pub fn cases() -> Vec<Case> {
    const OK_HEADERS: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    vec![
        client_case(
            "hs.4.1",
            "the client's opening request is valid (§4.1)",
            ClientCheck::Request,
        ),
        client_case(
            "hs.4.2",
            "the client uses a fresh Sec-WebSocket-Key per connection",
            ClientCheck::FreshKey,
        ),
        client_case(
            "hs.4.3",
            "eager server: the first frame arrives with the 101 response",
            ClientCheck::EagerServer,
        ),
        client_case(
            "hs.5.1",
            "101 with a wrong Sec-WebSocket-Accept: the client must fail",
            ClientCheck::BadResponse(|_| {
                format!("HTTP/1.1 101 Switching Protocols\r\n{OK_HEADERS}Sec-WebSocket-Accept: {}\r\n\r\n", accept_key("AQIDBAUGBwgJCgsMDQ4PEA=="))
            }),
        ),
        client_case(
            "hs.5.2",
            "101 without Sec-WebSocket-Accept: the client must fail",
            ClientCheck::BadResponse(|_| {
                format!("HTTP/1.1 101 Switching Protocols\r\n{OK_HEADERS}\r\n")
            }),
        ),
        client_case(
            "hs.5.3",
            "101 without the Upgrade header: the client must fail",
            ClientCheck::BadResponse(|a| {
                format!("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {a}\r\n\r\n")
            }),
        ),
        client_case(
            "hs.5.4",
            "101 without the Connection header: the client must fail",
            ClientCheck::BadResponse(|a| {
                format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {a}\r\n\r\n")
            }),
        ),
        client_case(
            "hs.5.5",
            "200 instead of 101: the client must fail",
            ClientCheck::BadResponse(|a| {
                format!("HTTP/1.1 200 OK\r\n{OK_HEADERS}Sec-WebSocket-Accept: {a}\r\n\r\n")
            }),
        ),
        client_case(
            "hs.5.6",
            "a subprotocol the client did not offer: the client must fail",
            ClientCheck::BadResponse(|a| {
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\n{OK_HEADERS}Sec-WebSocket-Accept: {a}\r\n\
                     Sec-WebSocket-Protocol: x-conformance-not-offered\r\n\r\n"
                )
            }),
        ),
        client_case(
            "hs.5.7",
            "an extension the client did not offer: the client must fail",
            ClientCheck::BadResponse(|a| {
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\n{OK_HEADERS}Sec-WebSocket-Accept: {a}\r\n\
                     Sec-WebSocket-Extensions: x-conformance-not-offered\r\n\r\n"
                )
            }),
        ),
    ]
}

/// Problems with a client's opening request (§4.1).
pub fn request_problems(head: &Head) -> Vec<String> {
    let mut problems = Vec::new();
    let parts: Vec<&str> = head.start_line.split(' ').collect();
    if parts.len() != 3 || parts[0] != "GET" || !parts[1].starts_with('/') {
        problems.push(format!(
            "request line `{}` is not `GET /path HTTP/1.1`",
            head.start_line
        ));
    } else if parts[2] != "HTTP/1.1" {
        problems.push(format!("HTTP version `{}`", parts[2]));
    }
    if head.header("Host").is_none() {
        problems.push("no Host header".into());
    }
    if !head.has_token("Upgrade", "websocket") {
        problems.push("no `Upgrade: websocket`".into());
    }
    if !head.has_token("Connection", "Upgrade") {
        problems.push("no `Connection: Upgrade`".into());
    }
    match head.header("Sec-WebSocket-Key") {
        Some(k) if is_valid_key(k) => {}
        Some(k) => problems.push(format!("Sec-WebSocket-Key `{k}` is not base64 of 16 bytes")),
        None => problems.push("no Sec-WebSocket-Key".into()),
    }
    if head.count("Sec-WebSocket-Key") > 1 {
        problems.push("several Sec-WebSocket-Key headers".into());
    }
    if head.header("Sec-WebSocket-Version") != Some("13") {
        problems.push("Sec-WebSocket-Version is not 13".into());
    }
    problems
}

/// The correct 101 response to a client request with `key`.
pub fn accept_response(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    )
}

/// Runs a client-mode handshake case on a connection whose request has been read.
pub fn run_client_check(
    check: ClientCheck,
    mut stream: TcpStream,
    head: &Head,
    rest: Vec<u8>,
    previous_key: Option<&str>,
    ctx: Ctx,
    timeout: Duration,
) -> Judgement {
    let key = head.header("Sec-WebSocket-Key").unwrap_or("").to_string();
    match check {
        ClientCheck::BadResponse(make) => {
            let mut j =
                Judgement::new("the client fails the connection: no frame back, TCP closed");
            let mut bytes = make(&accept_key(&key)).into_bytes();
            bytes.extend(RawFrame::text("must not be echoed").encode(false));
            if let Err(e) = stream.write_all(&bytes) {
                j.observed = format!("the client closed before the response was written ({e})");
                return j;
            }
            let (observed, verdict) = watch_refusal(&mut stream, timeout);
            j.observed = observed.clone();
            match verdict {
                Verdict::Ok => {}
                v => j.add(v, observed),
            }
            j
        }
        ClientCheck::Request | ClientCheck::FreshKey | ClientCheck::EagerServer => {
            let mut j = Judgement::new(match check {
                ClientCheck::Request => "a valid opening request, then an echo",
                ClientCheck::FreshKey => "a key never used before, then an echo",
                _ => "the frame sent with the 101 response echoed",
            });
            if matches!(check, ClientCheck::Request) {
                for p in request_problems(head) {
                    j.fail(p);
                }
            }
            if matches!(check, ClientCheck::FreshKey) && previous_key == Some(key.as_str()) {
                j.fail(format!(
                    "the same Sec-WebSocket-Key `{key}` as on the previous connection"
                ));
            }
            let mut bytes = accept_response(&key).into_bytes();
            let mut script = Script::new(ctx);
            if matches!(check, ClientCheck::EagerServer) {
                bytes.extend(RawFrame::text("eager server").encode(false));
                script.expect_text("eager server");
            } else {
                script.echo(RawFrame::text("after the handshake"));
            }
            if let Err(e) = stream.write_all(&bytes) {
                j.fail(format!("writing the 101 response: {e}"));
                return j;
            }
            match Session::new(stream, rest, false, timeout, 1 << 30) {
                Ok(mut session) => {
                    let inner = run_script(&mut session, script, timeout);
                    j.observed = inner.observed;
                    for r in inner.reasons {
                        j.add(inner.verdict, r);
                    }
                }
                Err(e) => j.fail(format!("cannot start the session: {e}")),
            }
            j
        }
    }
}

/// After a bad response: the client must close without sending frames.
pub fn watch_refusal(stream: &mut TcpStream, timeout: Duration) -> (String, Verdict) {
    let mut buf = [0u8; 1024];
    let got = match stream.set_read_timeout(Some(timeout)) {
        Ok(()) => stream.read(&mut buf),
        Err(e) => Err(e),
    };
    match got {
        Ok(0) => ("the client closed the connection".into(), Verdict::Ok),
        Ok(n) if buf[0] & 0x0f == crate::raw::CLOSE => (
            format!(
                "the client sent a close frame ({n} bytes) on a connection that was never \
                 established, instead of just closing TCP (harmless; no rule asks for it)"
            ),
            Verdict::Informational,
        ),
        Ok(n) => (describe_frames(&buf[..n]), Verdict::Failed),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            (
                format!(
                    "expected the client to close TCP; it sent nothing but kept the connection \
                     open for {} ms (§4.1: the client \"MUST _Fail the WebSocket \
                     Connection_\", which closes it, §7.1.7)",
                    timeout.as_millis()
                ),
                Verdict::Failed,
            )
        }
        Err(_) => ("the client reset the connection".into(), Verdict::Ok),
    }
}

fn describe_frames(bytes: &[u8]) -> String {
    let op = bytes[0] & 0x0f;
    format!(
        "the client went on and sent {} bytes (first frame opcode {op})",
        bytes.len()
    )
}
