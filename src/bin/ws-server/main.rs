//! `ws-server`: the Deno article's chat bot, an echo server and a chat room, on ws6455.
//! See `ws-server --help` (text in cli.rs) for flags and output formats.

mod chat;
mod cli;
mod log;
mod policy;
mod room;
mod signal;

fn main() {
    let args = std::env::args().skip(1);
    let cmd = match cli::parse(args, std::env::var("WS_AUTH_KEY").ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ws-server: {e}\nTry 'ws-server --help' for more information.");
            std::process::exit(2);
        }
    };
    let _ = cmd;
}
