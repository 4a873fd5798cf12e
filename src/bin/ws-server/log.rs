//! Where the server's lines go.
//!
//! stdout: the `Listening on` line, then the article's transcript (`[ID] CLIENT >> ...`).
//! stderr: `ws-server: ` + warnings, errors and (with `--verbose`) diagnostics.
//! Write errors (a closed pipe) are ignored: logging never takes the server down.
//! The library's [`Event`]s come here through [`event`]; nothing is logged twice, and no
//! credential is logged (request targets are redacted).

use std::io::Write;
use std::sync::OnceLock;

use ws6455::server::Event;

use crate::cli::Verbosity;

static LEVEL: OnceLock<Verbosity> = OnceLock::new();

/// Sets the level once at startup.
pub fn init(v: Verbosity) {
    let _ = LEVEL.set(v);
}

fn level() -> Verbosity {
    *LEVEL.get().unwrap_or(&Verbosity::Normal)
}

/// True when `--verbose` was given.
pub fn verbose() -> bool {
    level() >= Verbosity::Verbose
}

/// Writes one line to stdout, whatever the level (used for `Listening on`).
pub fn always(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A transcript line on stdout (not with `--quiet`).
pub fn transcript(line: &str) {
    if level() >= Verbosity::Normal {
        always(line);
    }
}

/// A transcript line of connection `id` on stdout: `[ID] line`.
pub fn conn(id: u64, line: &str) {
    if level() >= Verbosity::Normal {
        always(&format!("[{id}] {line}"));
    }
}

fn stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "ws-server: {line}");
}

/// A warning on stderr (not with `--quiet`).
pub fn warn(line: &str) {
    if level() >= Verbosity::Normal {
        stderr(line);
    }
}

/// A diagnostic on stderr (only with `--verbose`).
pub fn debug(line: &str) {
    if verbose() {
        stderr(line);
    }
}

/// An error on stderr (always).
pub fn error(line: &str) {
    stderr(line);
}

/// `text` with control characters escaped, so that what a peer sent cannot forge log lines.
pub fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// The server's events, each logged once: a refused upgrade (or malformed request) on stdout
/// in the transcript, with its status and reason; `503` refusals, failed handshakes and
/// failed accepts on stderr; plain HTTP requests with `--verbose`. Upgrades and closes are
/// logged by the apps.
pub fn event(ev: &Event<'_>) {
    match ev {
        Event::Answered {
            id,
            request,
            response,
            ..
        } if response.status >= 400 && request.is_none_or(|r| r.is_websocket_upgrade()) => {
            let why = String::from_utf8_lossy(&response.body);
            let why = escape(why.trim());
            let mut line = format!(
                "Connection refused with {} {}",
                response.status, response.reason
            );
            if !why.is_empty() {
                line.push_str(": ");
                line.push_str(&why);
            }
            conn(*id, &line);
        }
        Event::Answered { .. } => debug(&ev.to_string()),
        Event::Refused { .. } | Event::HandshakeFailed { .. } | Event::AcceptFailed { .. } => {
            warn(&escape(&ev.to_string()))
        }
        _ => {}
    }
}
