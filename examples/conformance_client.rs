//! The `ws-conformance` client-mode adapter for the ws6455 client.
//!
//! ```text
//! cargo run --bin ws-conformance -- client --listen 127.0.0.1:9001 &
//! cargo run --example conformance_client -- ws://127.0.0.1:9001
//! ```
//!
//! It fetches the number of cases, then opens one connection per case and echoes every text and
//! binary message until the tester ends the connection. Errors only end the current case: the
//! tester judges how the client reacted.

use ws6455::{client, Message};

fn main() -> ws6455::Result<()> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_string());
    let (mut ws, _) = client::connect(&format!("{base}/getCaseCount"))?;
    let count: usize = match ws.read()? {
        Message::Text(n) => n.trim().parse().unwrap_or(0),
        _ => 0,
    };
    while ws.read().is_ok() {}
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent=ws6455");
        let Ok((mut ws, _)) = client::connect(&url) else {
            continue; // a refused handshake is what some cases expect
        };
        while let Ok(msg) = ws.read() {
            if matches!(msg, Message::Text(_) | Message::Binary(_)) && ws.send(msg).is_err() {
                break;
            }
        }
    }
    Ok(())
}
