//! `ws-client`: the Deno article's interactive client, on ws6455.
//! See `ws-client --help` (text in cli.rs) for flags and output formats.

mod cli;
mod console;

fn main() {
    let cmd = match cli::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ws-client: {e}\nTry 'ws-client --help' for more information.");
            std::process::exit(2);
        }
    };
    let _ = cmd;
}
