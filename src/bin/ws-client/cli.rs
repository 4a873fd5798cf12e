//! Command-line parsing for `ws-client` (hand-written: no extra dependencies).

use std::fmt;
use std::time::Duration;

/// Default for `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the command line configures.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub subprotocols: Vec<String>,
    pub binary: bool,
    pub quiet: bool,
    pub timeout: Duration,
    /// `--deflate on|off`: offer permessage-deflate (RFC 7692).
    pub deflate: bool,
    /// `--verbose`: diagnostics on stderr (the compression agreed at connect).
    pub verbose: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Connect and chat.
    Run(Options),
    /// Print the help text and exit 0.
    Help,
    /// Print the version and exit 0.
    Version,
}

/// A usage error: printed with a hint to `--help`, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(msg.into()))
}

pub const HELP: &str = "\
ws-client - interactive WebSocket (RFC 6455) client built on the ws6455 crate

USAGE:
    ws-client [OPTIONS] URL

URL is ws://HOST[:PORT][/PATH][?QUERY], e.g. ws://localhost:5000 or
ws://localhost:5000/?accessToken=KEY&name=alice (wss:// is not supported).

Like the client of the article \"WebSockets (client & server) in Deno\" (The
JS runtimes): every message from the server is printed as `SERVER >> ...`,
each line you type is sent as a message, and the line `exit` (or end of
input) closes the connection cleanly (code 1000), and so does Ctrl-C (a
second Ctrl-C quits without waiting for the server).

OPTIONS:
    --header 'NAME: VALUE'    Extra request header (repeatable), e.g.
                              --header 'X-WS-AUTH-KEY: secret'
    --subprotocol P           Offer subprotocol P (repeatable, in order)
    --binary                  Send each line as a binary message (without
                              its line ending) instead of text
    --quiet                   Print only the received messages, one per line,
                              for scripts (exactly as received, binary ones
                              raw, when stdout is a pipe or file):
                              echo hi | ws-client --quiet ws://localhost:5000
    --timeout SECS            Limit for connecting plus the handshake, for the
                              server's answer to our close, and, with piped
                              input, for each reply (see below) [default: 10]
    --deflate on|off          Offer permessage-deflate (RFC 7692) compression:
                              `permessage-deflate; client_max_window_bits`,
                              used when the server accepts [default: on]
    --verbose                 Print diagnostics on stderr: the compression
                              agreed at connect (`ws-client: compression: ...`)
    -h, --help                Print this help and exit
    -V, --version             Print the version and exit

Flags take their value as `--flag VALUE` or `--flag=VALUE`.

OUTPUT (stdout):
    Connecting to server ...
    Connected to server ...
    SERVER >> Hi, how can I help you today?
    Client >> hello
    SERVER >> Hi, how can I help you today?
    Client >> exit
    Disconnected from server ...
A binary message is shown as `SERVER >> [binary, N bytes] HEX`. Control
characters in the server's text (escape sequences, line breaks, bidi
overrides) are shown escaped, e.g. `\u{1b}[2J` or `\n`, so a server cannot
drive your terminal or fake a line. With --quiet only the message payloads
are printed, unchanged when stdout is not a terminal.

INPUT:
    From a terminal, `Client >> ` is shown whenever the client waits for you,
    and messages are printed as they arrive.
    When stdin is not a terminal (a pipe or a file) the prompts are still
    printed, each followed by the line read, so the output reads like the
    terminal session; the conversation then goes in lock-step: the client
    first waits up to 1 s for a greeting, and after sending each line waits
    (up to --timeout) for at least one message before reading the next line.
    With --quiet there are no prompts and no greeting wait, but piped lines
    still wait for a reply, so that replies are not cut off by the close.
    An empty line is sent as the text `No reply`, like the article's client,
    and shown as sent: `Client >> No reply` when piped, a line
    `(empty line: sent No reply)` in a terminal. With --quiet an empty line
    is sent as an empty message.

ERRORS:
    Failures print one line on stderr starting with `ws-client: `: refused
    connection, unknown host, a non-101 answer, e.g.
      ws-client: the server refused the connection: 403 Forbidden (send
      the key in an X-WS-AUTH-KEY header or ?accessToken=)
    (status, then the server's explanation from the body, if any), an
    invalid handshake, a timeout. A close from the server with a code other
    than 1000 or 1001 is reported on stderr too.

EXIT STATUS:
    0 after a clean close (ours, or the server's with 1000/1001), 1 on a
    failure or any other close code, 2 on a usage error, 130 after Ctrl-C
    (SIGINT) or SIGTERM.
";

fn parse_secs(flag: &str, v: &str) -> Result<Duration, UsageError> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => err(format!(
            "invalid value '{v}' for {flag}: expected a positive number of seconds"
        )),
    }
}

/// Splits `NAME: VALUE` (or `NAME:VALUE`) into a validated header.
pub fn parse_header(v: &str) -> Result<(String, String), UsageError> {
    let Some((name, value)) = v.split_once(':') else {
        return err(format!(
            "invalid value '{v}' for --header: expected 'NAME: VALUE'"
        ));
    };
    let name = name.trim();
    let value = value.trim();
    let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token_char) {
        return err(format!("invalid header name '{name}' in --header"));
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return err(format!("header value for '{name}' contains a line break"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Parses the arguments (without the program name).
pub fn parse<I>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = String>,
{
    let mut url: Option<String> = None;
    let mut o = Options {
        url: String::new(),
        headers: Vec::new(),
        subprotocols: Vec::new(),
        binary: false,
        quiet: false,
        timeout: DEFAULT_TIMEOUT,
        deflate: true,
        verbose: false,
    };
    let mut args = args.into_iter();
    let mut only_positional = false;
    while let Some(arg) = args.next() {
        if only_positional || !arg.starts_with('-') || arg == "-" {
            if url.is_some() {
                return err(format!("unexpected argument '{arg}' (only one URL)"));
            }
            url = Some(arg);
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--header" | "--subprotocol" | "--timeout" | "--deflate"
        );
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => match args.next() {
                    Some(v) => v,
                    None => return err(format!("{flag} needs a value")),
                },
            }
        } else {
            if inline.is_some() {
                return err(format!("{flag} does not take a value"));
            }
            String::new()
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--binary" => o.binary = true,
            "--quiet" | "-q" => o.quiet = true,
            "--verbose" | "-v" => o.verbose = true,
            "--deflate" => {
                o.deflate = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => {
                        return err(format!(
                            "invalid value '{value}' for --deflate: expected on or off"
                        ))
                    }
                }
            }
            "--header" | "-H" => o.headers.push(parse_header(&value)?),
            "--subprotocol" => {
                let p = value.trim();
                let token_char =
                    |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
                if p.is_empty() || !p.chars().all(token_char) {
                    return err(format!(
                        "invalid value '{value}' for --subprotocol: expected a token such as chat"
                    ));
                }
                o.subprotocols.push(p.to_string());
            }
            "--timeout" => o.timeout = parse_secs(&flag, &value)?,
            other => return err(format!("unknown option '{other}'")),
        }
    }
    match url {
        Some(u) => o.url = u,
        None => return err("missing URL, e.g. ws-client ws://localhost:5000"),
    }
    Ok(Command::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn url_and_flags() {
        let Ok(Command::Run(o)) = run(&[
            "--header",
            "X-WS-AUTH-KEY: k",
            "ws://localhost:5000",
            "--header=A:b",
            "--subprotocol",
            "chat",
            "--subprotocol=echo",
            "--binary",
            "--quiet",
            "--timeout",
            "2.5",
        ]) else {
            panic!("should parse")
        };
        assert_eq!(o.url, "ws://localhost:5000");
        assert_eq!(
            o.headers,
            vec![
                ("X-WS-AUTH-KEY".to_string(), "k".to_string()),
                ("A".to_string(), "b".to_string())
            ]
        );
        assert_eq!(o.subprotocols, vec!["chat", "echo"]);
        assert!(o.binary && o.quiet);
        assert_eq!(o.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn defaults() {
        let Ok(Command::Run(o)) = run(&["ws://h"]) else {
            panic!()
        };
        assert!(!o.binary && !o.quiet && o.headers.is_empty());
        assert_eq!(o.timeout, DEFAULT_TIMEOUT);
        assert!(o.deflate && !o.verbose);
        let Ok(Command::Run(o)) = run(&["--deflate=off", "--verbose", "ws://h"]) else {
            panic!()
        };
        assert!(!o.deflate && o.verbose);
    }

    #[test]
    fn help_version_and_errors() {
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        assert_eq!(run(&["ws://h", "-V"]), Ok(Command::Version));
        for bad in [
            &[][..],
            &["ws://a", "ws://b"],
            &["--bogus", "ws://a"],
            &["ws://a", "--header"],
            &["ws://a", "--header", "novalue"],
            &["ws://a", "--header", "bad name: v"],
            &["ws://a", "--header", ": v"],
            &["ws://a", "--subprotocol", "a b"],
            &["ws://a", "--timeout", "0"],
            &["ws://a", "--timeout", "x"],
            &["ws://a", "--binary=1"],
            &["ws://a", "--deflate", "maybe"],
            &["ws://a", "--deflate"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn help_mentions_every_flag() {
        for f in [
            "--header",
            "--subprotocol",
            "--binary",
            "--quiet",
            "--timeout",
            "--deflate",
            "--verbose",
            "--help",
        ] {
            assert!(HELP.contains(f), "{f}");
        }
    }
}
