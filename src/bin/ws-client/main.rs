//! `ws-client`: the Deno article's interactive client, on ws6455.
//!
//! See `ws-client --help` (text in cli.rs) for flags, output formats and exit codes. The main
//! thread reads messages from the server; a second thread reads stdin and sends; a third
//! waits for Ctrl-C to close cleanly. All print through [`console::Console`], which keeps
//! lines whole and redraws the prompt.

mod cli;
mod console;
// Control characters in the server's text are printed escaped, as in ws-server's log.
#[path = "../ws-server/escape.rs"]
mod escape;
// The server's SIGINT/SIGTERM catcher (its only `unsafe`), shared rather than repeated.
#[path = "../ws-server/signal.rs"]
mod signal;

use std::io::{BufRead, IsTerminal};
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ws6455::client::ClientBuilder;
use ws6455::handshake::HandshakeError;
use ws6455::socket::WsWriter;
use ws6455::{CloseCode, CloseFrame, Config, DeflateConfig, Error, Message};

use cli::{Command, Options};
use console::{Console, Mode};

/// With piped input, how long to wait for a greeting before sending the first line.
const GREETING_WAIT: Duration = Duration::from_secs(1);
/// What an empty input line sends (not with --quiet), as the article's client does.
const EMPTY_LINE_TEXT: &str = "No reply";
/// Exit status after Ctrl-C (SIGINT) or SIGTERM: 128 + SIGINT, as shells report it.
const INTERRUPTED: i32 = 130;

type Out = Console<std::io::Stdout>;

/// Prints one error line on stderr and exits with `code`.
fn fail(msg: &str, code: i32) -> ! {
    let one_line: String = msg
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    eprintln!("ws-client: {}", one_line.trim_end());
    exit(code);
}

/// A one-line explanation of a failed connection attempt.
fn describe_connect_error(url: &str, timeout: Duration, e: &Error) -> String {
    match e {
        Error::Url(why) => format!("bad URL: {why}"),
        Error::Io(io) => io.to_string(),
        Error::Timeout => format!("no answer from {url} within {} s", timeout.as_secs_f64()),
        Error::Handshake(HandshakeError::Rejected {
            status,
            reason,
            body,
        }) => describe_refusal(*status, reason, body),
        Error::Handshake(h) => format!("handshake with {url} failed: {h}"),
        other => format!("cannot connect to {url}: {other}"),
    }
}

/// `the server refused the connection: 403 Forbidden (why)`: the status line once, then the
/// body's explanation if it has one. A body that starts by repeating the reason phrase (as
/// `Forbidden: send the key ...` does) is not shown twice; server text is escaped.
fn describe_refusal(status: u16, reason: &str, body: &[u8]) -> String {
    let body = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let mut why = body.trim();
    let reason = reason.trim();
    let repeats_reason = why
        .get(..reason.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(reason));
    if !reason.is_empty() && repeats_reason {
        why = why[reason.len()..].trim_start_matches([':', '.', '-', ' ']);
    }
    let why = escape::escape(why.trim());
    let head = format!(
        "the server refused the connection: {status} {}",
        escape::escape(reason)
    );
    if why.is_empty() {
        head.trim_end().to_string()
    } else {
        format!("{} ({why})", head.trim_end())
    }
}

fn main() {
    // Before any other thread exists, so that every thread has the signals blocked; until the
    // connection is up, Ctrl-C ends the client at once.
    let signals = signal::install();
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(o)) => o,
        Ok(Command::Help) => {
            print!("{}", cli::HELP);
            exit(0);
        }
        Ok(Command::Version) => {
            println!("ws-client {}", env!("CARGO_PKG_VERSION"));
            exit(0);
        }
        Err(e) => {
            eprintln!("ws-client: {e}\nTry 'ws-client --help' for more information.");
            exit(2);
        }
    };
    let stdin_tty = std::io::stdin().is_terminal();
    let mode = if opts.quiet {
        Mode::Quiet
    } else if stdin_tty {
        Mode::Interactive
    } else {
        Mode::Piped
    };
    let console: Arc<Out> = Arc::new(Console::new(
        std::io::stdout(),
        mode,
        std::io::stdout().is_terminal(),
    ));

    console.status("Connecting to server ...");
    let config = Config::default()
        .connect_timeout(Some(opts.timeout))
        .handshake_timeout(Some(opts.timeout))
        .close_timeout(Some(opts.timeout))
        .deflate(if opts.deflate {
            DeflateConfig::default()
        } else {
            DeflateConfig::off()
        });
    let mut builder = ClientBuilder::new(opts.url.as_str()).config(config);
    for (k, v) in &opts.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    for p in &opts.subprotocols {
        builder = builder.subprotocol(p.as_str());
    }
    let (ws, response) = match builder.connect() {
        Ok(pair) => pair,
        Err(e) => fail(&describe_connect_error(&opts.url, opts.timeout, &e), 1),
    };
    console.status("Connected to server ...");
    if opts.verbose {
        // The answer was checked against our offer: it is what both sides apply.
        let agreed = match response.get_header("sec-websocket-extensions") {
            Some(v) if !v.trim().is_empty() => v.trim().to_string(),
            _ if opts.deflate => "none (the server declined)".to_string(),
            _ => "none (not offered: --deflate off)".to_string(),
        };
        eprintln!("ws-client: compression: {agreed}");
    }
    if !opts.subprotocols.is_empty() && !opts.quiet {
        eprintln!(
            "ws-client: subprotocol: {}",
            ws.subprotocol().unwrap_or("(none selected)")
        );
    }
    let (mut reader, writer) = match ws.split() {
        Ok(halves) => halves,
        Err(e) => fail(&format!("cannot use the connection: {e}"), 1),
    };

    let we_closed = Arc::new(AtomicBool::new(false));
    if signals {
        let (writer, console, we_closed) = (writer.clone(), console.clone(), we_closed.clone());
        let timeout = opts.timeout;
        let spawned = std::thread::Builder::new()
            .name("signal".into())
            .spawn(move || on_interrupt(writer, &console, &we_closed, timeout));
        if let Err(e) = spawned {
            fail(&format!("cannot start the signal thread: {e}"), 1);
        }
    }
    {
        let console = console.clone();
        let we_closed = we_closed.clone();
        let spawned = std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || typing(writer, &console, &opts, stdin_tty, &we_closed));
        if let Err(e) = spawned {
            fail(&format!("cannot start the input thread: {e}"), 1);
        }
    }

    let code = loop {
        match reader.read() {
            Ok(Message::Text(t)) => console.text(&t),
            Ok(Message::Binary(b)) => console.binary(&b),
            Ok(Message::Close(frame)) => break close_status(frame, &we_closed),
            Ok(_) => {} // ping (answered automatically) or pong
            Err(Error::ConnectionClosed) => break 0,
            Err(e) => {
                console.disconnected();
                let why = match &e {
                    Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                        "connection lost: the server closed it without a close frame".to_string()
                    }
                    Error::Protocol(p) => {
                        format!(
                            "protocol error from the server ({p}); closed with {}",
                            p.close_code()
                        )
                    }
                    other => format!("connection lost: {other}"),
                };
                fail(&why, 1);
            }
        }
    };
    console.disconnected();
    exit(if signal::received() > 0 {
        INTERRUPTED
    } else {
        code
    });
}

/// The signal thread: on Ctrl-C (SIGINT) or SIGTERM, sends close 1000 and waits (up to
/// `timeout`) for the server's answer, which ends the reader loop in `main`; a second signal,
/// or no answer, exits at once. Exit status 130 either way.
fn on_interrupt(writer: WsWriter, console: &Out, we_closed: &AtomicBool, timeout: Duration) {
    signal::arm();
    signal::wait_beyond(0);
    console.input_ended();
    we_closed.store(true, Ordering::SeqCst);
    if writer.close(CloseCode::Normal, "").is_ok() {
        let deadline = std::time::Instant::now() + timeout;
        while signal::received() == 1 && std::time::Instant::now() < deadline {
            if console.wait_closed(Duration::from_millis(20)) {
                // The reader saw the close reply and is exiting.
                return;
            }
        }
    }
    console.disconnected();
    exit(INTERRUPTED);
}

/// Exit status after a close frame from the server: 0 for our own close or a server close
/// with 1000/1001/no code, 1 (with a stderr line) otherwise.
fn close_status(frame: Option<CloseFrame>, we_closed: &AtomicBool) -> i32 {
    if we_closed.load(Ordering::SeqCst) {
        return 0;
    }
    match frame {
        None => 0,
        Some(f) if matches!(f.code, CloseCode::Normal | CloseCode::Away) => 0,
        Some(f) => {
            let reason = escape::escape(&f.reason);
            if reason.is_empty() {
                eprintln!("ws-client: server closed the connection with {}", f.code);
            } else {
                eprintln!(
                    "ws-client: server closed the connection with {} ({reason})",
                    f.code
                );
            }
            1
        }
    }
}

/// The typing thread: reads stdin lines and sends them; `exit` or end of input closes.
fn typing(
    writer: WsWriter,
    console: &Out,
    opts: &Options,
    stdin_tty: bool,
    we_closed: &AtomicBool,
) {
    let lock_step = !stdin_tty;
    if console.mode() == Mode::Piped {
        console.wait_for_message(0, GREETING_WAIT);
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    loop {
        console.show_prompt();
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => {
                console.input_ended();
                break;
            }
            Ok(_) => {}
            Err(e) => {
                console.input_ended();
                eprintln!("ws-client: cannot read stdin: {e}");
                break;
            }
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let line = String::from_utf8_lossy(&buf).into_owned();
        if line == "exit" {
            console.input(&line);
            break;
        }
        let payload: &[u8] = if buf.is_empty() && console.mode() != Mode::Quiet {
            // The article's client sends this for an empty answer; show what goes out.
            console.input_replaced(EMPTY_LINE_TEXT);
            EMPTY_LINE_TEXT.as_bytes()
        } else {
            console.input(&line);
            &buf
        };
        let seen = console.received();
        let sent = if opts.binary {
            writer.send_binary(payload)
        } else {
            writer.send_text(String::from_utf8_lossy(payload))
        };
        match sent {
            Ok(()) => {}
            // The server closed meanwhile: the reader reports it.
            Err(Error::AlreadyClosed) | Err(Error::ConnectionClosed) => return,
            Err(e) => {
                eprintln!("ws-client: cannot send: {e}");
                return;
            }
        }
        if lock_step {
            console.wait_for_message(seen, opts.timeout);
        }
    }
    we_closed.store(true, Ordering::SeqCst);
    if writer.close(CloseCode::Normal, "").is_err() {
        return; // already closing or closed: the reader finishes
    }
    if !console.wait_closed(opts.timeout) {
        console.disconnected();
        fail(
            &format!(
                "the server did not answer our close within {} s",
                opts.timeout.as_secs_f64()
            ),
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::describe_refusal;

    #[test]
    fn a_refusal_names_the_status_once() {
        let said = |status, reason, body: &str| describe_refusal(status, reason, body.as_bytes());
        assert_eq!(
            said(403, "Forbidden", "Forbidden: send the key\n"),
            "the server refused the connection: 403 Forbidden (send the key)"
        );
        assert_eq!(
            said(403, "Forbidden", "forbidden"),
            "the server refused the connection: 403 Forbidden"
        );
        assert_eq!(
            said(503, "Service Unavailable", "too many connections"),
            "the server refused the connection: 503 Service Unavailable (too many connections)"
        );
        assert_eq!(said(418, "", ""), "the server refused the connection: 418");
        assert_eq!(
            said(400, "Bad\x1bRequest", "bad\x1b[2Jbody"),
            "the server refused the connection: 400 Bad\\u{1b}Request (bad\\u{1b}[2Jbody)"
        );
        // A body that is not UTF-8 or starts inside a character does not trip it up.
        assert_eq!(
            describe_refusal(403, "Forbidden", "é".as_bytes()),
            "the server refused the connection: 403 Forbidden (é)"
        );
    }
}
