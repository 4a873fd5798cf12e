//! A minimal echo server on [`ws6455::server::Server`]: every text or binary message is sent
//! back as it came. Used by `scripts/bench-servers.sh` as a stand-in for `ws-server --app echo`.
//!
//! ```text
//! cargo run --release --example echo_server -- --listen 127.0.0.1:9001
//! ```
//!
//! It prints `Listening on ws://ADDR` first (with the real port for `--listen 127.0.0.1:0`).
//! Options: `--listen ADDR` (default 127.0.0.1:9001), `--max-connections N` (default 20 000).

use std::io::Write;

use ws6455::server::Server;
use ws6455::{Config, Error, Message};

fn main() -> std::io::Result<()> {
    let mut listen = String::from("127.0.0.1:9001");
    let mut max_connections = 20_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().expect("--listen needs an address"),
            "--max-connections" => {
                max_connections = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--max-connections needs a number")
            }
            other => {
                eprintln!("usage: echo_server [--listen ADDR] [--max-connections N] (got {other})");
                std::process::exit(2);
            }
        }
    }
    let config = Config::default().max_connections(max_connections);
    let server = Server::bind_with_config(listen.as_str(), config)?;
    let mut out = std::io::stdout();
    writeln!(out, "Listening on ws://{}", server.local_addr()?)?;
    out.flush()?;
    Ok(server.serve(|mut ws| loop {
        match ws.read() {
            // `write` only queues: the next `read` flushes before it blocks, so a burst of
            // pipelined messages is answered with one system call.
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.write(msg).is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(Error::ConnectionClosed) | Err(_) => break,
        }
    })?)
}
