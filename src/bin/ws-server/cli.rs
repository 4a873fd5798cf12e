//! Command-line parsing for `ws-server` (hand-written: the binary has no extra dependencies).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address: the article's port, on loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";
/// Default bound on the per-client outgoing queue of the room app, in messages.
pub const DEFAULT_ROOM_QUEUE: usize = 256;

/// Which application the server runs on each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// The article's support bot.
    Chat,
    /// Echo every message back as it came.
    Echo,
    /// A chat room broadcasting to every connected client.
    Room,
}

impl App {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            App::Chat => "chat",
            App::Echo => "echo",
            App::Room => "room",
        }
    }
}

/// How much the server logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `--quiet`: only the `Listening on` line and errors.
    Quiet,
    /// Default: the article's transcript.
    Normal,
    /// `--verbose`: transcript plus diagnostics (and per-message logs for echo).
    Verbose,
}

/// Everything the command line configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub listen: String,
    pub app: App,
    pub auth_key: Option<String>,
    pub origins: Vec<String>,
    pub replies: Option<PathBuf>,
    pub max_message_size: Option<usize>,
    pub max_connections: Option<usize>,
    pub idle_timeout: Option<Duration>,
    /// `--handshake-timeout`: one deadline for a client's whole opening handshake.
    pub handshake_timeout: Option<Duration>,
    pub room_queue: usize,
    pub verbosity: Verbosity,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: DEFAULT_LISTEN.to_string(),
            app: App::Chat,
            auth_key: None,
            origins: Vec::new(),
            replies: None,
            max_message_size: None,
            max_connections: None,
            idle_timeout: None,
            handshake_timeout: Some(Duration::from_secs(10)),
            room_queue: DEFAULT_ROOM_QUEUE,
            verbosity: Verbosity::Normal,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
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
ws-server - WebSocket (RFC 6455) demo server built on the ws6455 crate

USAGE:
    ws-server [OPTIONS]

With no options it runs the chat bot from the Deno WebSockets article on
ws://127.0.0.1:5000. A plain browser GET / is answered with a small HTML chat
page that talks to this server; any other plain HTTP path gets 404.

OPTIONS:
    --listen ADDR             Address to listen on [default: 127.0.0.1:5000];
                              use 127.0.0.1:0 for a free port
    --app APP                 Application: chat, echo or room [default: chat]
                                chat  the article's bot: greets, then answers
                                      each text message from the reply table
                                echo  sends every message back as it came
                                      (text as text, binary as binary)
                                room  broadcasts each text message to every
                                      client as `NAME: text`; the name comes
                                      from ?name= in the URL, else guest-N
    --replies FILE            Reply table for --app chat (format below)
    --auth-key KEY            Require `X-WS-AUTH-KEY: KEY` or `?accessToken=KEY`
                              on upgrades; others get 403 Forbidden.
                              Default: the WS_AUTH_KEY environment variable
                              (unset or empty: no authentication)
    --origin ORIGIN           Allowed browser Origin, e.g. http://localhost:5000
                              (repeatable). When given, upgrades carrying an
                              Origin header not in the list get 403 Forbidden;
                              upgrades without an Origin header are allowed
    --max-message-size BYTES  Largest incoming message (suffixes K, M, G = KiB,
                              MiB, GiB); larger ones are closed with 1009
    --max-connections N       Most concurrent connections; more get 503
    --idle-timeout SECS       Close connections silent for SECS seconds
                              (0 = never, the default)
    --handshake-timeout SECS  Time a client has for its whole upgrade request
                              (0 = no limit) [default: 10]
    --room-queue N            Room app: messages queued for one client before
                              it is closed with 1008 as too slow [default: 256]
    --verbose                 Also log diagnostics (rejected upgrades, close
                              codes, subprotocols) and echo traffic
    --quiet                   Log nothing but the `Listening on` line and errors
    -h, --help                Print this help and exit
    -V, --version             Print the version and exit

Flags take their value as `--flag VALUE` or `--flag=VALUE`.

SUBPROTOCOLS:
    If the client offers `chat` or `echo` (Sec-WebSocket-Protocol), the first
    offered one is selected, whatever the app; otherwise none.

OUTPUT:
    stdout: first line `Listening on ws://ADDR` (the real bound address),
            then the article's transcript, each connection's lines prefixed
            with its connection id (the one the `ws-server: [ID]`
            lines on stderr use too):
              Waiting for clients ...
              [1] Incoming connection from client ...
              [1] Connection established with client ...
              [1] SERVER >> Hi, how can I help you today?
              [1] CLIENT >> hello
              [1] Connection closed by client ...
            The room app also logs `[N] * NAME joined` / `[N] * NAME left`;
            the echo app logs messages only with --verbose. Message text is
            shown with control characters escaped (a newline as \\n) and cut
            after 200 characters with `...`. A connection ends with one of
            `Connection closed by client ...`, `Connection closed by server ...`
            (shutdown, idle timeout, limit, slow room client) or
            `Connection lost ...` (no close handshake).
            --quiet keeps only the `Listening on` line.
    stderr: errors, warnings (e.g. a room client dropped as too slow) and,
            with --verbose, diagnostics. Lines start with `ws-server: `, or
            `ws6455: ` for those of the library (handshake failures, refusals).

REPLY TABLE (--replies FILE):
    One `key = reply` per line; blank lines and lines starting with `#` are
    ignored; spaces around key and reply are trimmed. For each text message
    the table is scanned in order and the reply of the LAST key contained in
    the message (case-sensitive) wins. Special keys:
        * = REPLY          reply when no key matches
        @greeting = TEXT   sent on connect
    Without `*` the article's `Sorry, I am unable to understand you.` is used;
    without `@greeting` the reply of `hi` is the greeting (none if no `hi`).
    A malformed line stops the server at startup with its line number (exit 2).
    The built-in table is the article's:
        help = Sure, I am here to help. Can you briefly describe the problem.
        hi = Hi, how can I help you today?
        hello = Hi, how can I help you today?
        unknown = Sorry, I am unable to understand you.
        * = Sorry, I am unable to understand you.

SIGNALS:
    Ctrl-C (SIGINT) or SIGTERM: stop accepting, close every connection with
    1001 (going away), exit 0. A second signal exits at once with status 130.

EXIT STATUS:
    0 after a graceful shutdown, 1 on a runtime error (e.g. the address is in
    use), 2 on a usage error or a bad --replies file.
";

/// Parses a size like `65536`, `64K`, `16M`, `1G` (binary multiples).
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult): (&str, u64) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let total = n.checked_mul(mult)?;
    usize::try_from(total).ok()
}

fn parse_count(flag: &str, v: &str) -> Result<usize, UsageError> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => err(format!(
            "invalid value '{v}' for {flag}: expected a positive whole number"
        )),
    }
}

fn parse_secs(flag: &str, v: &str) -> Result<Option<Duration>, UsageError> {
    match v.parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Some(Duration::from_secs_f64(s))),
        _ => err(format!(
            "invalid value '{v}' for {flag}: expected a number of seconds"
        )),
    }
}

/// Parses the arguments (without the program name). `env_auth_key` is the value of
/// `WS_AUTH_KEY`, used when `--auth-key` is absent (empty means unset).
pub fn parse<I>(args: I, env_auth_key: Option<String>) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = String>,
{
    let mut o = Options::default();
    let mut verbose = false;
    let mut quiet = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--listen"
                | "--app"
                | "--auth-key"
                | "--origin"
                | "--replies"
                | "--max-message-size"
                | "--max-connections"
                | "--idle-timeout"
                | "--handshake-timeout"
                | "--room-queue"
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
            "--verbose" | "-v" => verbose = true,
            "--quiet" | "-q" => quiet = true,
            "--listen" => {
                if value.trim().is_empty() {
                    return err("--listen needs an address such as 127.0.0.1:5000");
                }
                o.listen = value;
            }
            "--app" => {
                o.app = match value.as_str() {
                    "chat" => App::Chat,
                    "echo" => App::Echo,
                    "room" => App::Room,
                    _ => {
                        return err(format!(
                            "invalid value '{value}' for --app: expected chat, echo or room"
                        ))
                    }
                }
            }
            "--auth-key" => {
                if value.is_empty() {
                    return err("--auth-key must not be empty");
                }
                o.auth_key = Some(value);
            }
            "--origin" => {
                if value.trim().is_empty() {
                    return err("--origin must not be empty");
                }
                o.origins.push(value.trim().to_string());
            }
            "--replies" => o.replies = Some(PathBuf::from(value)),
            "--max-message-size" => match parse_size(&value) {
                Some(n) if n > 0 => o.max_message_size = Some(n),
                _ => {
                    return err(format!(
                        "invalid value '{value}' for --max-message-size: expected bytes, e.g. 65536 or 16M"
                    ))
                }
            },
            "--max-connections" => o.max_connections = Some(parse_count(&flag, &value)?),
            "--idle-timeout" => o.idle_timeout = parse_secs(&flag, &value)?,
            "--handshake-timeout" => o.handshake_timeout = parse_secs(&flag, &value)?,
            "--room-queue" => o.room_queue = parse_count(&flag, &value)?,
            other if other.starts_with('-') => {
                return err(format!("unknown option '{other}'"));
            }
            other => return err(format!("unexpected argument '{other}'")),
        }
    }
    if verbose && quiet {
        return err("--verbose and --quiet cannot be used together");
    }
    o.verbosity = if verbose {
        Verbosity::Verbose
    } else if quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    if o.replies.is_some() && o.app != App::Chat {
        return err("--replies only applies to --app chat");
    }
    if o.auth_key.is_none() {
        o.auth_key = env_auth_key.filter(|k| !k.is_empty());
    }
    Ok(Command::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(|s| s.to_string()), None)
    }

    fn opts(args: &[&str]) -> Options {
        match run(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("expected options, got {other:?}"),
        }
    }

    #[test]
    fn defaults_match_the_article() {
        let o = opts(&[]);
        assert_eq!(o.listen, "127.0.0.1:5000");
        assert_eq!(o.app, App::Chat);
        assert_eq!(o.auth_key, None);
        assert_eq!(o.verbosity, Verbosity::Normal);
    }

    #[test]
    fn every_flag_parses_in_both_forms() {
        let o = opts(&[
            "--listen",
            "0.0.0.0:9000",
            "--app=room",
            "--auth-key",
            "s3cret",
            "--origin",
            "http://a",
            "--origin=http://b",
            "--max-message-size",
            "16M",
            "--max-connections=7",
            "--idle-timeout",
            "2.5",
            "--room-queue",
            "4",
            "--verbose",
        ]);
        assert_eq!(o.listen, "0.0.0.0:9000");
        assert_eq!(o.app, App::Room);
        assert_eq!(o.auth_key.as_deref(), Some("s3cret"));
        assert_eq!(o.origins, vec!["http://a", "http://b"]);
        assert_eq!(o.max_message_size, Some(16 << 20));
        assert_eq!(o.max_connections, Some(7));
        assert_eq!(o.idle_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(o.room_queue, 4);
        assert_eq!(o.verbosity, Verbosity::Verbose);
        let o = opts(&["--replies", "r.txt", "--quiet", "--idle-timeout=0"]);
        assert_eq!(o.replies, Some(PathBuf::from("r.txt")));
        assert_eq!(o.verbosity, Verbosity::Quiet);
        assert_eq!(o.idle_timeout, None);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        assert_eq!(run(&["-h"]), Ok(Command::Help));
        assert_eq!(run(&["--app", "echo", "--version"]), Ok(Command::Version));
    }

    #[test]
    fn help_mentions_every_flag() {
        for flag in [
            "--listen",
            "--app",
            "--replies",
            "--auth-key",
            "WS_AUTH_KEY",
            "--origin",
            "--max-message-size",
            "--max-connections",
            "--idle-timeout",
            "--room-queue",
            "--verbose",
            "--quiet",
            "--help",
            "--version",
        ] {
            assert!(HELP.contains(flag), "help lacks {flag}");
        }
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &["--bogus"][..],
            &["stray"],
            &["--listen"],
            &["--app", "telnet"],
            &["--max-message-size", "lots"],
            &["--max-message-size", "0"],
            &["--max-message-size", "99999999999999999999G"],
            &["--max-connections", "-1"],
            &["--max-connections", "0"],
            &["--idle-timeout", "soon"],
            &["--idle-timeout", "-3"],
            &["--auth-key", ""],
            &["--verbose", "--quiet"],
            &["--quiet=yes"],
            &["--app", "echo", "--replies", "r.txt"],
        ] {
            let e = run(args).expect_err(&format!("{args:?} should fail"));
            assert!(!e.0.is_empty());
        }
        assert!(run(&["--bogus"]).unwrap_err().0.contains("--bogus"));
    }

    #[test]
    fn auth_key_from_env_unless_flag_given() {
        let from_env = parse(Vec::<String>::new(), Some("k1".into())).unwrap();
        assert!(matches!(from_env, Command::Run(o) if o.auth_key.as_deref() == Some("k1")));
        let empty = parse(Vec::<String>::new(), Some(String::new())).unwrap();
        assert!(matches!(empty, Command::Run(o) if o.auth_key.is_none()));
        let flag = parse(
            vec!["--auth-key".to_string(), "k2".to_string()],
            Some("k1".into()),
        )
        .unwrap();
        assert!(matches!(flag, Command::Run(o) if o.auth_key.as_deref() == Some("k2")));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("64k"), Some(65536));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size("1.5M"), None);
        assert_eq!(parse_size(""), None);
    }
}
