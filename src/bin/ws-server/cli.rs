//! Command-line parsing for `ws-server` (hand-written: the binary has no extra dependencies).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::chat::MatchMode;

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
    pub match_mode: MatchMode,
    pub max_message_size: Option<usize>,
    pub max_connections: Option<usize>,
    pub idle_timeout: Option<Duration>,
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Option<Duration>,
    /// `--handshake-timeout`: one deadline for a client's whole opening handshake.
    pub handshake_timeout: Option<Duration>,
    pub room_queue: usize,
    /// `--deflate on|off`: negotiate permessage-deflate (RFC 7692) when a client offers it.
    pub deflate: bool,
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
            match_mode: MatchMode::Word,
            max_message_size: None,
            max_connections: None,
            idle_timeout: None,
            ping_interval: ws6455::Config::default().ping_interval,
            ping_timeout: ws6455::Config::default().ping_timeout,
            handshake_timeout: Some(Duration::from_secs(10)),
            room_queue: DEFAULT_ROOM_QUEUE,
            deflate: true,
            verbosity: Verbosity::Normal,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Run(Box<Options>),
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

With no options it runs the chat bot of the article \"WebSockets (client &
server) in Deno\" (The JS runtimes) on ws://127.0.0.1:5000. A plain browser
GET / is answered with a chat page that talks to this server (it reconnects
by itself and asks for a token when the server wants one); any other plain
HTTP path gets 404.

OPTIONS:
    --listen HOST:PORT        Address to listen on [default: 127.0.0.1:5000];
                              HOST is an IP address or a name such as
                              localhost; use 127.0.0.1:0 for a free port
    --app APP                 Application: chat, echo or room [default: chat]
                                chat  the article's bot: greets, then answers
                                      each text message from the reply table
                                echo  sends every message back as it came
                                      (text as text, binary as binary)
                                room  broadcasts each text message to every
                                      client as `NAME: text`; the name comes
                                      from ?name= in the URL, else guest-N
    --replies FILE            Reply table for --app chat (format below)
                              [default: the article's table, shown below]
    --match MODE              How --app chat finds a key in a message
                              [default: word]
                                word       whole words, in any case: `HELP!`
                                           finds help, `something` does not
                                           find hi
                                substring  the article's rule: anywhere in
                                           the message, case-sensitive
    --auth-key KEY            Require `X-WS-AUTH-KEY: KEY` or `?accessToken=KEY`
                              on upgrades; others get 403 Forbidden
                              [default: the WS_AUTH_KEY environment variable;
                              unset or empty: no authentication]
    --origin ORIGIN           Allowed browser Origin, e.g. http://localhost:5000
                              (repeatable). When given, upgrades carrying an
                              Origin header not in the list get 403 Forbidden;
                              upgrades without an Origin header are allowed
                              [default: any origin]
    --max-message-size BYTES  Largest incoming message (suffixes K, M, G = KiB,
                              MiB, GiB); larger ones are closed with 1009
                              [default: 64M; a single frame: at most 16M]
    --max-connections N       Most concurrent connections; more get 503
                              [default: 10000]
    --idle-timeout SECS       Close connections silent for SECS seconds
                              (0 = never) [default: 0]
    --ping-interval SECS      Keepalive: ping a connection silent for SECS
                              seconds (0 = never) [default: 30]
    --ping-timeout SECS       Keepalive: close (1001) a connection that stays
                              silent SECS seconds after that ping
                              (0 = wait forever) [default: 30]
                              (0 = never, the default)
    --handshake-timeout SECS  Time a client has for its whole upgrade request
                              (0 = no limit) [default: 10]
    --room-queue N            Room app: messages queued for one client before
                              it is closed with 1008 as too slow [default: 256]
    --deflate on|off          Compress messages with permessage-deflate (RFC 7692)
                              when the client offers it (every browser does):
                              12-bit windows both ways, so an idle connection
                              keeps about 42 KiB of codec state [default: on]
    --verbose                 Also log diagnostics (rejected upgrades, close
                              codes, subprotocols, the compression agreed per
                              connection) and echo traffic
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
    the table is scanned in order and the reply of the LAST key found in the
    message wins: found as whole words in any case (--match word, the
    default), or anywhere, case-sensitively (--match substring, the
    article's rule, where `something else` gets the greeting since it
    contains `hi`). Special keys:
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

/// `HOST:PORT` with a non-empty host (an IPv6 address in brackets) and a port of 0-65535. Names
/// are resolved later, by the bind.
fn is_host_port(s: &str) -> bool {
    let Some((host, port)) = s.rsplit_once(':') else {
        return false;
    };
    let host_ok = match host.strip_prefix('[') {
        Some(v6) => v6
            .strip_suffix(']')
            .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok()),
        None => {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        }
    };
    host_ok
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

fn parse_count(flag: &str, v: &str) -> Result<usize, UsageError> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => err(format!(
            "invalid value '{v}' for {flag}: expected a positive whole number"
        )),
    }
}

fn parse_on_off(flag: &str, v: &str) -> Result<bool, UsageError> {
    match v {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => err(format!(
            "invalid value '{v}' for {flag}: expected on or off"
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
                | "--match"
                | "--max-message-size"
                | "--max-connections"
                | "--idle-timeout"
                | "--ping-interval"
                | "--ping-timeout"
                | "--handshake-timeout"
                | "--room-queue"
                | "--deflate"
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
                if !is_host_port(&value) {
                    return err(format!(
                        "invalid value '{value}' for --listen: expected HOST:PORT, \
                         e.g. 127.0.0.1:5000, [::1]:5000 or localhost:0"
                    ));
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
            "--match" => {
                o.match_mode = match value.as_str() {
                    "word" => MatchMode::Word,
                    "substring" => MatchMode::Substring,
                    _ => {
                        return err(format!(
                            "invalid value '{value}' for --match: expected word or substring"
                        ));
                    }
                }
            }
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
            "--ping-interval" => o.ping_interval = parse_secs(&flag, &value)?,
            "--ping-timeout" => o.ping_timeout = parse_secs(&flag, &value)?,
            "--handshake-timeout" => o.handshake_timeout = parse_secs(&flag, &value)?,
            "--room-queue" => o.room_queue = parse_count(&flag, &value)?,
            "--deflate" => o.deflate = parse_on_off(&flag, &value)?,
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
    if o.match_mode != MatchMode::Word && o.app != App::Chat {
        return err("--match only applies to --app chat");
    }
    if o.auth_key.is_none() {
        o.auth_key = env_auth_key.filter(|k| !k.is_empty());
    }
    Ok(Command::Run(Box::new(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(|s| s.to_string()), None)
    }

    fn opts(args: &[&str]) -> Options {
        match run(args) {
            Ok(Command::Run(o)) => *o,
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
        assert!(o.deflate);
        assert!(!opts(&["--deflate=off"]).deflate);
        assert!(opts(&["--deflate", "on"]).deflate);
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
            "--match",
            "--auth-key",
            "WS_AUTH_KEY",
            "--origin",
            "--max-message-size",
            "--max-connections",
            "--idle-timeout",
            "--room-queue",
            "--deflate",
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
            &["--deflate", "yes"],
            &["--deflate"],
            &["--verbose", "--quiet"],
            &["--quiet=yes"],
            &["--app", "echo", "--replies", "r.txt"],
            &["--listen", "5000"],
            &["--listen", "localhost"],
            &["--listen", ":5000"],
            &["--listen", "127.0.0.1:70000"],
            &["--listen", "127.0.0.1:"],
            &["--listen", "[::1:5000"],
            &["--listen", "a b:1"],
            &["--match", "fuzzy"],
            &["--app", "echo", "--match", "substring"],
        ] {
            let e = run(args).expect_err(&format!("{args:?} should fail"));
            assert!(!e.0.is_empty());
        }
        assert!(run(&["--bogus"]).unwrap_err().0.contains("--bogus"));
    }

    #[test]
    fn listen_takes_host_port_and_says_so() {
        for good in ["127.0.0.1:0", "0.0.0.0:5000", "[::1]:9001", "localhost:80"] {
            assert_eq!(opts(&["--listen", good]).listen, good);
        }
        let e = run(&["--listen", "5000"]).unwrap_err();
        assert!(e.0.contains("HOST:PORT"), "{e}");
        assert!(e.0.contains("'5000'"), "{e}");
    }

    #[test]
    fn match_mode_defaults_to_words() {
        assert_eq!(opts(&[]).match_mode, MatchMode::Word);
        assert_eq!(
            opts(&["--match", "substring"]).match_mode,
            MatchMode::Substring
        );
        assert_eq!(opts(&["--match=word"]).match_mode, MatchMode::Word);
    }

    /// The `[default: ...]` of the help text are the values the server really uses.
    #[test]
    fn help_defaults_are_the_real_ones() {
        let c = ws6455::Config::default();
        let o = Options::default();
        let in_help = |flag: &str, default: &str| {
            let start = HELP.find(&format!("    {flag} ")).expect(flag);
            let rest = &HELP[start..];
            let end = rest[4..].find("\n    --").map_or(rest.len(), |e| e + 4);
            assert!(
                rest[..end].contains(&format!("[default: {default}")),
                "{flag} should show [default: {default}...]"
            );
        };
        in_help("--listen", DEFAULT_LISTEN);
        in_help("--app", o.app.name());
        in_help("--match", o.match_mode.name());
        assert_eq!(c.max_message_size, 64 << 20);
        assert_eq!(c.max_frame_size, 16 << 20);
        in_help("--max-message-size", "64M; a single frame: at most 16M");
        in_help("--max-connections", &c.max_connections.to_string());
        assert_eq!(c.idle_timeout, None);
        in_help("--idle-timeout", "0");
        assert_eq!(c.ping_interval, Some(Duration::from_secs(30)));
        assert_eq!(c.ping_timeout, Some(Duration::from_secs(30)));
        in_help("--ping-interval", "30");
        in_help("--ping-timeout", "30");
        in_help("--room-queue", &DEFAULT_ROOM_QUEUE.to_string());
        in_help("--auth-key", "the WS_AUTH_KEY environment variable");
        in_help("--origin", "any origin");
        in_help("--replies", "the article's table");
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
