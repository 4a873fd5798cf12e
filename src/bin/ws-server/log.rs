//! Where the server's lines go.
//!
//! stdout: the `Listening on` line, then the article's transcript (`[ID] CLIENT >> ...`).
//! stderr: `ws-server: ` + warnings, errors and (with `--verbose`) diagnostics.
//! Write errors (a closed pipe) are ignored: logging never takes the server down.

use std::io::Write;
use std::sync::OnceLock;

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
