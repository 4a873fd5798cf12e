//! Interop driver for ws6455's client: runs every interop case against an echo server (a peer's
//! server in `scripts/interop.sh`) and prints one line per case, `PASS name` or
//! `FAIL name: reason`.
//!
//! The server must echo text as text and binary as binary, answer pings, echo the close frame
//! and select the `chat` subprotocol when offered (and none for an unknown one).
//!
//! ```text
//! cargo run --release --example interop_client -- ws://127.0.0.1:PORT/
//! ```
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
    let mut builder = ClientBuilder::new(url).config(config());
    if let Some(p) = protocol {
        builder = builder.subprotocol(p);
    }
    let (ws, _response) = builder.connect().map_err(|e| format!("connect: {e}"))?;
    Ok(ws)
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
            eprintln!("usage: interop_client ws://HOST:PORT/");
            std::process::exit(2);
        }
    };
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
