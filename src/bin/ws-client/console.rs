//! The client's stdout, shared by the reading and the typing thread.
//!
//! One lock guards the output and a little state, so lines never interleave mid-line: the
//! reader prints `SERVER >> ...` lines, the typing thread prints prompts, and a prompt left
//! on screen is cleared before a message is printed and shown again after it.

use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::escape::escape;

/// Text of the prompt, as in the article.
pub const PROMPT: &str = "Client >> ";

/// How input and output interact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// stdin is a terminal: a prompt waits on screen while the user types.
    Interactive,
    /// stdin is a pipe or file: each line read is printed after its prompt.
    Piped,
    /// `--quiet`: only message payloads.
    Quiet,
}

struct State<W> {
    out: W,
    /// `Client >> ` is on screen without a line ending (interactive mode).
    prompt_shown: bool,
    /// Data messages received so far.
    received: u64,
    /// The connection is over.
    closed: bool,
}

/// Shared stdout.
pub struct Console<W> {
    mode: Mode,
    /// stdout is a terminal: a prompt can be erased with `\r` + clear-line.
    tty_out: bool,
    state: Mutex<State<W>>,
    changed: Condvar,
}

impl<W: Write> Console<W> {
    /// A console writing to `out`.
    pub fn new(out: W, mode: Mode, tty_out: bool) -> Console<W> {
        Console {
            mode,
            tty_out,
            state: Mutex::new(State {
                out,
                prompt_shown: false,
                received: 0,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn lock(&self) -> MutexGuard<'_, State<W>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes a prompt left on screen, so the next line starts at column 0.
    fn clear_prompt(&self, s: &mut State<W>) {
        if s.prompt_shown {
            let _ = if self.tty_out {
                s.out.write_all(b"\r\x1b[K")
            } else {
                s.out.write_all(b"\n")
            };
            s.prompt_shown = false;
        }
    }

    /// A status line such as `Connected to server ...` (not in quiet mode).
    pub fn status(&self, line: &str) {
        if self.mode == Mode::Quiet {
            return;
        }
        let mut s = self.lock();
        let reprompt = s.prompt_shown;
        self.clear_prompt(&mut s);
        let _ = writeln!(s.out, "{line}");
        if reprompt {
            let _ = s.out.write_all(PROMPT.as_bytes());
            s.prompt_shown = true;
        }
        let _ = s.out.flush();
    }

    /// Output that goes to a person rather than a program: server text is then printed with
    /// control characters escaped, so that it cannot drive the terminal. Only `--quiet` into a
    /// pipe or file prints payloads exactly as they came.
    fn for_people(&self) -> bool {
        self.mode != Mode::Quiet || self.tty_out
    }

    /// A text message from the server.
    pub fn text(&self, text: &str) {
        let shown = if self.for_people() {
            escape(text)
        } else {
            text.into()
        };
        self.message(|out, quiet| {
            if quiet {
                writeln!(out, "{shown}")
            } else {
                writeln!(out, "SERVER >> {shown}")
            }
        });
    }

    /// A binary message from the server: raw in quiet mode into a pipe or file, else a hex
    /// summary.
    pub fn binary(&self, data: &[u8]) {
        let raw = !self.for_people();
        self.message(|out, quiet| {
            if raw {
                out.write_all(data)?;
                out.write_all(b"\n")
            } else if quiet {
                writeln!(out, "{}", describe_binary(data))
            } else {
                writeln!(out, "SERVER >> {}", describe_binary(data))
            }
        });
    }

    fn message(&self, print: impl FnOnce(&mut W, bool) -> std::io::Result<()>) {
        let mut s = self.lock();
        let reprompt = s.prompt_shown;
        self.clear_prompt(&mut s);
        let _ = print(&mut s.out, self.mode == Mode::Quiet);
        if reprompt {
            let _ = s.out.write_all(PROMPT.as_bytes());
            s.prompt_shown = true;
        }
        let _ = s.out.flush();
        s.received += 1;
        self.changed.notify_all();
    }

    /// Interactive mode: shows `Client >> ` and leaves it on screen while the user types.
    pub fn show_prompt(&self) {
        if self.mode != Mode::Interactive {
            return;
        }
        let mut s = self.lock();
        if s.closed || s.prompt_shown {
            return;
        }
        let _ = s.out.write_all(PROMPT.as_bytes());
        let _ = s.out.flush();
        s.prompt_shown = true;
    }

    /// A line was read from stdin. Interactive: the terminal already echoed it and the line
    /// break, so the prompt is gone. Piped: prints `Client >> LINE`.
    pub fn input(&self, line: &str) {
        let mut s = self.lock();
        match self.mode {
            Mode::Interactive => s.prompt_shown = false,
            Mode::Piped => {
                let _ = writeln!(s.out, "{PROMPT}{line}");
                let _ = s.out.flush();
            }
            Mode::Quiet => {}
        }
    }

    /// An empty line was read and `sent` goes out instead. Piped: prints `Client >> SENT`, as
    /// the server logs it. Interactive: the terminal shows the empty line the user entered,
    /// so a note `(empty line: sent SENT)` follows it.
    pub fn input_replaced(&self, sent: &str) {
        let mut s = self.lock();
        match self.mode {
            Mode::Interactive => {
                s.prompt_shown = false;
                let _ = writeln!(s.out, "(empty line: sent {sent})");
            }
            Mode::Piped => {
                let _ = writeln!(s.out, "{PROMPT}{sent}");
            }
            Mode::Quiet => return,
        }
        let _ = s.out.flush();
    }

    /// stdin ended: ends a prompt line left on screen.
    pub fn input_ended(&self) {
        let mut s = self.lock();
        if s.prompt_shown {
            let _ = s.out.write_all(b"\n");
            let _ = s.out.flush();
            s.prompt_shown = false;
        }
    }

    /// Messages received so far.
    pub fn received(&self) -> u64 {
        self.lock().received
    }

    /// Waits until more than `seen` messages arrived, the connection ended or `timeout`
    /// passed. True if a message arrived.
    pub fn wait_for_message(&self, seen: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if s.received > seen {
                return true;
            }
            if s.closed {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = match self.changed.wait_timeout(s, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Waits until the connection ended or `timeout` passed. True if it ended.
    pub fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        while !s.closed {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            s = match self.changed.wait_timeout(s, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// The connection is over: prints `Disconnected from server ...` (not in quiet mode)
    /// and wakes any waiter.
    pub fn disconnected(&self) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        self.clear_prompt(&mut s);
        if self.mode != Mode::Quiet {
            let _ = writeln!(s.out, "Disconnected from server ...");
        }
        let _ = s.out.flush();
        s.closed = true;
        self.changed.notify_all();
    }

    /// Test helper: the output so far.
    #[cfg(test)]
    pub fn with_out<R>(&self, f: impl FnOnce(&W) -> R) -> R {
        f(&self.lock().out)
    }
}

/// `[binary, N bytes] HEX` with at most 64 bytes of hex.
pub fn describe_binary(data: &[u8]) -> String {
    const SHOWN: usize = 64;
    let mut s = format!("[binary, {} bytes]", data.len());
    if !data.is_empty() {
        s.push(' ');
        for b in data.iter().take(SHOWN) {
            s.push_str(&format!("{b:02x}"));
        }
        if data.len() > SHOWN {
            s.push_str("...");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: &Console<Vec<u8>>) -> String {
        c.with_out(|v| String::from_utf8(v.clone()).unwrap())
    }

    #[test]
    fn piped_transcript_reads_like_the_article() {
        let c = Console::new(Vec::new(), Mode::Piped, false);
        c.status("Connecting to server ...");
        c.status("Connected to server ...");
        c.text("Hi, how can I help you today?");
        c.show_prompt(); // no-op when piped
        c.input("hello");
        c.text("Hi, how can I help you today?");
        c.input("exit");
        c.disconnected();
        c.disconnected(); // once only
        assert_eq!(
            text(&c),
            "Connecting to server ...\nConnected to server ...\n\
             SERVER >> Hi, how can I help you today?\nClient >> hello\n\
             SERVER >> Hi, how can I help you today?\nClient >> exit\n\
             Disconnected from server ...\n"
        );
        assert_eq!(c.received(), 2);
    }

    #[test]
    fn interactive_prompt_is_redrawn_around_messages() {
        let c = Console::new(Vec::new(), Mode::Interactive, false);
        c.show_prompt();
        c.show_prompt();
        c.text("greeting");
        c.input("hello"); // typed; terminal echoed it
        c.show_prompt();
        c.input_ended();
        c.disconnected();
        assert_eq!(
            text(&c),
            "Client >> \nSERVER >> greeting\nClient >> Client >> \nDisconnected from server ...\n"
        );
        let c = Console::new(Vec::new(), Mode::Interactive, true);
        c.show_prompt();
        c.text("x");
        assert_eq!(text(&c), "Client >> \r\x1b[KSERVER >> x\nClient >> ");
    }

    #[test]
    fn quiet_prints_payloads_only() {
        let c = Console::new(Vec::new(), Mode::Quiet, false);
        c.status("Connected to server ...");
        c.text("hi");
        c.binary(b"\x00raw");
        c.input("typed");
        c.disconnected();
        assert_eq!(c.with_out(|v| v.clone()), b"hi\n\x00raw\n");
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let evil = "\x1b[2J\x1b[31mred\u{9b}0m\nforged line";
        for (mode, tty) in [
            (Mode::Piped, false),
            (Mode::Interactive, true),
            (Mode::Quiet, true),
        ] {
            let c = Console::new(Vec::new(), mode, tty);
            c.text(evil);
            c.binary(b"\x1b[2J");
            let out = text(&c);
            assert!(
                !out.contains('\x1b') && !out.contains('\u{9b}'),
                "{mode:?}: {out:?}"
            );
            assert!(
                out.contains("\\u{1b}[2J\\u{1b}[31mred\\u{9b}0m\\nforged line\n"),
                "{out:?}"
            );
            assert!(out.contains("[binary, 4 bytes] 1b5b324a\n"), "{out:?}");
            assert_eq!(out.matches('\n').count(), 2, "{mode:?}: {out:?}");
        }
        // --quiet into a pipe is for programs: payloads exactly as they came.
        let c = Console::new(Vec::new(), Mode::Quiet, false);
        c.text(evil);
        assert_eq!(text(&c), format!("{evil}\n"));
    }

    #[test]
    fn an_empty_line_shows_what_is_sent() {
        let c = Console::new(Vec::new(), Mode::Piped, false);
        c.input_replaced("No reply");
        assert_eq!(text(&c), "Client >> No reply\n");
        let c = Console::new(Vec::new(), Mode::Interactive, false);
        c.show_prompt();
        c.input_replaced("No reply");
        c.text("x");
        assert_eq!(
            text(&c),
            "Client >> (empty line: sent No reply)\nSERVER >> x\n"
        );
        let c = Console::new(Vec::new(), Mode::Quiet, false);
        c.input_replaced("No reply");
        assert_eq!(text(&c), "");
    }

    #[test]
    fn binary_summary() {
        assert_eq!(describe_binary(b""), "[binary, 0 bytes]");
        assert_eq!(describe_binary(b"\x01\xff"), "[binary, 2 bytes] 01ff");
        let long = describe_binary(&[0u8; 100]);
        assert!(long.starts_with("[binary, 100 bytes] 0000"));
        assert!(long.ends_with("..."));
    }

    #[test]
    fn waits_are_bounded_and_woken() {
        let c = std::sync::Arc::new(Console::new(Vec::new(), Mode::Piped, false));
        assert!(!c.wait_for_message(0, Duration::from_millis(10)));
        assert!(!c.wait_closed(Duration::from_millis(10)));
        let c2 = c.clone();
        let t = std::thread::spawn(move || c2.text("late"));
        assert!(c.wait_for_message(0, Duration::from_secs(30)));
        t.join().unwrap();
        let c2 = c.clone();
        let t = std::thread::spawn(move || c2.disconnected());
        assert!(c.wait_closed(Duration::from_secs(30)));
        assert!(!c.wait_for_message(1, Duration::from_secs(30)));
        t.join().unwrap();
    }
}
