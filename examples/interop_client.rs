//! Interop driver for ws6455's client: runs every interop case against an echo server (a peer's
//! server in `scripts/interop.sh`) and prints one line per case, `PASS name` or
//! `FAIL name: reason`.
//!
//! The server must echo text as text and binary as binary, answer pings, echo the close frame
//! and select the `chat` subprotocol when offered (and none for an unknown one).
//!
//! ```text
//! cargo run --release --example interop_client -- ws://127.0.0.1:PORT/ [--deflate-optional]
//! ```
//!
//! The `deflate` case needs permessage-deflate negotiated, unless `--deflate-optional` (for a
//! peer server that cannot compress, such as Deno's).
//!
//! Exits 0 when every case passed, 1 otherwise, 2 on bad usage.

use std::net::TcpStream;
use std::time::Duration;

use ws6455::client::ClientBuilder;
use ws6455::socket::WebSocket;
use ws6455::{CloseCode, Config, Message};

type Ws = WebSocket<TcpStream>;
type CaseResult = Result<(), String>;

/// `n` bytes of a fixed, non-trivial pattern, so shifted or truncated data is caught.
fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(31).wrapping_add(7)) as u8)
        .collect()
}

/// Every read is bounded: a silent peer makes the case fail instead of hanging the run.
fn config() -> Config {
    Config::default()
        .idle_timeout(Some(Duration::from_secs(30)))
        .max_message_size(64 << 20)
        .max_frame_size(64 << 20)
}

fn connect(url: &str, protocol: Option<&str>) -> Result<Ws, String> {
    connect_with_response(url, protocol).map(|(ws, _)| ws)
}

fn connect_with_response(
    url: &str,
    protocol: Option<&str>,
) -> Result<(Ws, ws6455::handshake::Response), String> {
    let mut builder = ClientBuilder::new(url).config(config());
    if let Some(p) = protocol {
        builder = builder.subprotocol(p);
    }
    builder.connect().map_err(|e| format!("connect: {e}"))
}

/// `n` characters of JSON-like chat traffic (compressible, like real messages).
fn chat_text(n: usize) -> String {
    let unit = r#"{"id":42,"user":"alice","text":"hello, how are you today?"},"#;
    unit.repeat(n / unit.len() + 1)[..n].to_string()
}

/// permessage-deflate (which our client offers by default): the peer server's answer in the
/// 101 is its view of what was agreed; then, on that one connection (context takeover), text
/// and binary of 0 B, 100 B, 10 KiB and 300 KiB, and a repeat, each echoed back. With
/// `optional` (a peer that cannot compress), no agreement passes with a NOTE.
fn deflate(url: &str, optional: bool) -> CaseResult {
    let (mut ws, response) = connect_with_response(url, None)?;
    let answer = response
        .get_header("sec-websocket-extensions")
        .unwrap_or("")
        .to_string();
    if !answer.starts_with("permessage-deflate") && !optional {
        return Err(format!(
            "permessage-deflate not negotiated (Sec-WebSocket-Extensions: {answer:?})"
        ));
    }
    let mut msgs = Vec::new();
    for n in [0, 100, 10 << 10, 300 << 10] {
        msgs.push(Message::text(chat_text(n)));
        msgs.push(Message::binary(pattern(n)));
    }
    msgs.push(Message::text(chat_text(100)));
    for m in msgs {
        ws.send(m.clone()).map_err(|e| format!("send: {e}"))?;
        let got = next_data(&mut ws)?;
        if got != m {
            return Err(format!("sent {}, got {}", describe(&m), describe(&got)));
        }
    }
    finish(ws);
    if answer.is_empty() {
        println!("NOTE deflate: the peer server negotiated no permessage-deflate; messages crossed uncompressed");
    } else {
        println!("NOTE deflate: negotiated {answer}");
    }
    Ok(())
}

/// The next data message, skipping pongs (and pings, which the socket answers itself).
fn next_data(ws: &mut Ws) -> Result<Message, String> {
    loop {
        match ws.read().map_err(|e| format!("read: {e}"))? {
            Message::Ping(_) | Message::Pong(_) => continue,
            m => return Ok(m),
        }
    }
}

/// Closes politely; the outcome does not matter to the case any more.
fn finish(mut ws: Ws) {
    if ws.close(CloseCode::Normal, "").is_ok() {
        for _ in 0..16 {
            match ws.read() {
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

fn describe(m: &Message) -> String {
    match m {
        Message::Text(s) => format!("text of {} bytes", s.len()),
        Message::Binary(b) => format!("binary of {} bytes", b.len()),
        Message::Ping(_) => "ping".into(),
        Message::Pong(_) => "pong".into(),
        Message::Close(c) => format!("close {c:?}"),
    }
}

fn echo(url: &str, msg: Message) -> CaseResult {
    let mut ws = connect(url, None)?;
    ws.send(msg.clone()).map_err(|e| format!("send: {e}"))?;
    let got = next_data(&mut ws)?;
    finish(ws);
    if got == msg {
        Ok(())
    } else {
        Err(format!("sent {}, got {}", describe(&msg), describe(&got)))
    }
}

fn order(url: &str) -> CaseResult {
    let mut ws = connect(url, None)?;
    for i in 0..1000 {
        ws.send(Message::text(format!("msg-{i}")))
            .map_err(|e| format!("send {i}: {e}"))?;
    }
    for i in 0..1000 {
        match next_data(&mut ws)? {
            Message::Text(s) if s == format!("msg-{i}") => {}
            other => return Err(format!("message {i}: got {}", describe(&other))),
        }
    }
    finish(ws);
    Ok(())
}

fn ping_pong(url: &str) -> CaseResult {
    let mut ws = connect(url, None)?;
    ws.ping(b"interop-ping").map_err(|e| format!("ping: {e}"))?;
    loop {
        match ws.read().map_err(|e| format!("read: {e}"))? {
            Message::Pong(p) if p == b"interop-ping" => break,
            Message::Pong(p) => return Err(format!("pong with payload {p:?}")),
            Message::Ping(_) => {}
            other => return Err(format!("expected a pong, got {}", describe(&other))),
        }
    }
    finish(ws);
    Ok(())
}

fn close_bye(url: &str) -> CaseResult {
    let mut ws = connect(url, None)?;
    ws.close(CloseCode::Normal, "bye")
        .map_err(|e| format!("close: {e}"))?;
    loop {
        match ws.read().map_err(|e| format!("read: {e}"))? {
            Message::Close(Some(f)) if f.code == CloseCode::Normal && f.reason == "bye" => {
                return Ok(())
            }
            Message::Close(other) => return Err(format!("peer answered close with {other:?}")),
            _ => {}
        }
    }
}

fn subprotocol(url: &str, offer: &str, expect: Option<&str>) -> CaseResult {
    let mut ws = connect(url, Some(offer))?;
    if ws.subprotocol() != expect {
        return Err(format!(
            "offered {offer}, server selected {:?}",
            ws.subprotocol()
        ));
    }
    ws.send(Message::text("sub"))
        .map_err(|e| format!("send: {e}"))?;
    let got = next_data(&mut ws)?;
    finish(ws);
    if got != Message::text("sub") {
        return Err(format!("echo differs: {}", describe(&got)));
    }
    Ok(())
}

fn main() {
    let url = match std::env::args().nth(1) {
        Some(u) => u,
        None => {
            eprintln!("usage: interop_client ws://HOST:PORT/ [--deflate-optional]");
            std::process::exit(2);
        }
    };
    let deflate_optional = std::env::args().nth(2).as_deref() == Some("--deflate-optional");
    let url = url.as_str();
    type Case<'a> = (&'a str, Box<dyn Fn() -> CaseResult + 'a>);
    let cases: Vec<Case> = vec![
        (
            "text",
            Box::new(|| echo(url, Message::text("Hello, WebSocket!"))),
        ),
        ("empty-text", Box::new(|| echo(url, Message::text("")))),
        (
            "binary-0-255",
            Box::new(|| echo(url, Message::binary((0..=255u8).collect::<Vec<u8>>()))),
        ),
        (
            "utf8",
            Box::new(|| {
                echo(
                    url,
                    Message::text("emoji 😀🎉👍🏽, CJK 漢字かなカナ한글, ½ € ∑"),
                )
            }),
        ),
        (
            "size-125",
            Box::new(|| echo(url, Message::binary(pattern(125)))),
        ),
        (
            "size-126",
            Box::new(|| echo(url, Message::binary(pattern(126)))),
        ),
        (
            "size-65535",
            Box::new(|| echo(url, Message::binary(pattern(65535)))),
        ),
        (
            "size-65536",
            Box::new(|| echo(url, Message::binary(pattern(65536)))),
        ),
        (
            "size-1MiB",
            Box::new(|| echo(url, Message::binary(pattern(1 << 20)))),
        ),
        (
            "size-16MiB",
            Box::new(|| echo(url, Message::binary(pattern(16 << 20)))),
        ),
        (
            "text-utf8-large",
            Box::new(|| echo(url, Message::text("ab€😀漢".repeat(50_000)))),
        ),
        ("order-1000", Box::new(|| order(url))),
        ("deflate", Box::new(|| deflate(url, deflate_optional))),
        ("ping-pong", Box::new(|| ping_pong(url))),
        ("close-1000-bye", Box::new(|| close_bye(url))),
        (
            "subprotocol-chat",
            Box::new(|| subprotocol(url, "chat", Some("chat"))),
        ),
        (
            "subprotocol-none",
            Box::new(|| subprotocol(url, "zzz", None)),
        ),
    ];
    let mut failed = 0;
    for (name, case) in &cases {
        match case() {
            Ok(()) => println!("PASS {name}"),
            Err(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
