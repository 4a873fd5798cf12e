//! Shared bits of the peer echo servers: argument parsing and the `Listening on` line.

use std::io::Write;

/// The `--listen ADDR` argument (default `127.0.0.1:0`).
pub fn listen_arg() -> String {
    let mut args = std::env::args().skip(1);
    let mut listen = String::from("127.0.0.1:0");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().expect("--listen needs an address"),
            other => {
                eprintln!("unknown argument {other}; usage: --listen 127.0.0.1:0");
                std::process::exit(2);
            }
        }
    }
    listen
}

/// Prints `Listening on ws://ADDR` and flushes, as the bench script expects.
pub fn announce(addr: std::net::SocketAddr) {
    let mut out = std::io::stdout();
    writeln!(out, "Listening on ws://{addr}").unwrap();
    out.flush().unwrap();
}

/// `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2).
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine;
    let mut h = sha1_smol::Sha1::new();
    h.update(key);
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.digest().bytes())
}

/// Finds the `Sec-WebSocket-Key` value in a request head.
pub fn find_key(head: &[u8]) -> Option<&[u8]> {
    let text = std::str::from_utf8(head).ok()?;
    for line in text.split("\r\n") {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("sec-websocket-key") {
                return Some(value.trim().as_bytes());
            }
        }
    }
    None
}

/// Adds `bytes` just read (none: the end of input) to a request head being gathered: `Some(true)`
/// once it is complete, `Some(false)` while more is needed, `None` at the end of input or
/// past 16 KiB.
pub fn gather_head(head: &mut Vec<u8>, bytes: &[u8]) -> Option<bool> {
    if bytes.is_empty() || head.len() + bytes.len() > 16 << 10 {
        return None;
    }
    head.extend_from_slice(bytes);
    Some(head.windows(4).any(|w| w == b"\r\n\r\n"))
}

/// The 101 response for a request head, or `None` if it has no key.
pub fn switching_response(head: &[u8]) -> Option<Vec<u8>> {
    let key = find_key(head)?;
    Some(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key)
        )
        .into_bytes(),
    )
}
