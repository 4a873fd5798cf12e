//! Command-line parsing and the `--help` text.

use std::path::PathBuf;
use std::time::Duration;

/// What to test.
#[derive(Debug, Clone)]
pub enum Command {
    /// Test the echo server at this `ws://` URL.
    Server {
        /// The URL.
        url: String,
    },
    /// Listen and test the clients that connect.
    Client {
        /// The address to listen on.
        listen: String,
    },
}

/// Parsed options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Mode and target.
    pub command: Command,
    /// `--cases` patterns (empty: all).
    pub cases: Vec<String>,
    /// `--json FILE`.
    pub json: Option<PathBuf>,
    /// `--timeout SECS`.
    pub timeout: Duration,
    /// `--jobs N`.
    pub jobs: usize,
    /// `--max-message-size BYTES`.
    pub max_message_size: u64,
    /// `--pause MS`: the fail-fast window.
    pub pause: Duration,
    /// `--idle-timeout SECS` (client mode).
    pub idle_timeout: Duration,
    /// `--list`: print the selected cases and exit.
    pub list: bool,
    /// `--verbose`: one line per case as it finishes.
    pub verbose: bool,
    /// `--quiet`: no summary on stdout.
    pub quiet: bool,
}

/// The result of parsing.
#[derive(Debug)]
pub enum Parsed {
    /// `--help`.
    Help,
    /// Run with these options.
    Run(Options),
}

/// The `--help` text.
pub const HELP: &str = "\
ws-conformance: RFC 6455 conformance tester for WebSocket servers and clients

USAGE:
    ws-conformance server ws://HOST:PORT/PATH [OPTIONS]
    ws-conformance client [--listen ADDR] [OPTIONS]

SERVER MODE
    Tests the echo server at the URL: it must echo every text message as text and every
    binary message as binary. Each case opens its own connection; cases run in parallel.

CLIENT MODE
    Listens (default 127.0.0.1:9001) and tests a client driven by a small adapter that:
      1. connects to ws://ADDR/getCaseCount and reads one text message: the number of cases N
         (a plain HTTP GET of the same path returns N as text/plain too);
      2. for each case 1..=N connects to ws://ADDR/runCase?case=I&agent=NAME (I is 1-based),
         echoes every text message as text and binary message as binary, and keeps reading
         until the connection ends (the tester closes it; errors just end the case);
      3. optionally connects to ws://ADDR/updateReports?agent=NAME to end the run early.
    ws://ADDR/getCaseInfo?case=I answers one text message {\"id\":..,\"description\":..}.
    The run ends when every case has run, on /updateReports, or after --idle-timeout
    without a connection. The first line on stdout is `Listening on ws://ADDR`.

OPTIONS
    --cases LIST            Comma-separated case ids or patterns: `utf8.*`, `close.1.*`,
                            `frame.1.3`, or a bare prefix such as `utf8` or `close.1`; the
                            old numeric ids (`6.*`, `7.1`) still work [all]
    --json FILE             Write every case's result as JSON to FILE
    --timeout SECS          Time a peer gets to react in each case phase (default 5)
    --jobs N                Server mode: cases run in parallel (default 4)
    --max-message-size N    The peer's message size limit in bytes, K/M/G suffixes allowed
                            (default 64M); section 8 sends messages over it and expects 1009
    --pause MS              Fail-fast window: how long the tester stops in the middle of an
                            invalid message waiting for the peer to fail (default 1000)
    --listen ADDR           Client mode: address to listen on (default 127.0.0.1:9001)
    --idle-timeout SECS     Client mode: give up when no client connects for this long (30)
    --list                  Print the selected cases and exit
    --verbose               Print each case as it finishes (to stderr)
    --quiet                 Do not print the summary
    -h, --help              This help

VERDICTS
    OK              the peer did what RFC 6455 requires
    NON-STRICT      acceptable but loose: another close code than the expected one, dropping
                    TCP without a close frame, failing only at the end of a frame or message
                    instead of as soon as invalid bytes arrive (not fail-fast)
    INFORMATIONAL   correct; a measurement is reported (throughput)
    FAILED          wrong echo, missing reaction within --timeout, a rule broken by the peer

EXIT STATUS
    0 nothing FAILED, 1 some case FAILED, 2 usage error or the run could not start
";

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, mult) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => {
            let suffix = t[i..].to_ascii_lowercase();
            let mult = match suffix.trim_end_matches("ib").trim_end_matches('b') {
                "" => 1,
                "k" => 1 << 10,
                "m" => 1 << 20,
                "g" => 1 << 30,
                _ => return Err(format!("bad size `{s}`")),
            };
            (&t[..i], mult)
        }
        None => (t, 1),
    };
    let n: u64 = digits.parse().map_err(|_| format!("bad size `{s}`"))?;
    n.checked_mul(mult)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("bad size `{s}`"))
}

fn parse_secs(name: &str, s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1e6 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!(
            "{name}: expected a positive number of seconds, got `{s}`"
        )),
    }
}

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut mode: Option<String> = None;
    let mut url: Option<String> = None;
    let mut opts = Options {
        command: Command::Client {
            listen: "127.0.0.1:9001".into(),
        },
        cases: Vec::new(),
        json: None,
        timeout: Duration::from_secs(5),
        jobs: 4,
        max_message_size: 64 << 20,
        pause: Duration::from_millis(1000),
        idle_timeout: Duration::from_secs(30),
        list: false,
        verbose: false,
        quiet: false,
    };
    let mut listen: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--cases" => opts.cases.extend(
                value(flag)?
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            ),
            "--json" => opts.json = Some(PathBuf::from(value(flag)?)),
            "--timeout" => opts.timeout = parse_secs(flag, &value(flag)?)?,
            "--idle-timeout" => opts.idle_timeout = parse_secs(flag, &value(flag)?)?,
            "--jobs" => {
                opts.jobs = value(flag)?
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or("--jobs: expected a number from 1 to 64")?
            }
            "--max-message-size" => opts.max_message_size = parse_size(&value(flag)?)?,
            "--pause" => {
                let ms: u64 = value(flag)?
                    .parse()
                    .map_err(|_| "--pause: expected milliseconds")?;
                opts.pause = Duration::from_millis(ms.max(1));
            }
            "--listen" => listen = Some(value(flag)?),
            "--list" => opts.list = true,
            "--verbose" | "-v" => opts.verbose = true,
            "--quiet" | "-q" => opts.quiet = true,
            f if f.starts_with('-') => return Err(format!("unknown option `{f}`")),
            positional if mode.is_none() => mode = Some(positional.to_string()),
            positional if url.is_none() => url = Some(positional.to_string()),
            positional => return Err(format!("unexpected argument `{positional}`")),
        }
    }
    opts.command = match mode.as_deref() {
        Some("server") => {
            if listen.is_some() {
                return Err("--listen is for client mode".into());
            }
            Command::Server {
                url: url.ok_or("server mode needs the URL of an echo server")?,
            }
        }
        Some("client") => {
            if let Some(u) = url {
                return Err(format!("unexpected argument `{u}` in client mode"));
            }
            Command::Client {
                listen: listen.unwrap_or_else(|| "127.0.0.1:9001".into()),
            }
        }
        Some(other) => {
            return Err(format!(
                "unknown mode `{other}` (expected server or client)"
            ))
        }
        None => return Err("missing mode: `server URL` or `client`".into()),
    };
    Ok(Parsed::Run(opts))
}

/// Whether case `id` matches a `--cases` pattern: `*` matches any run of characters; a pattern
/// without `*` matches the id itself and every id below it (`7.1` matches `7.1.3`).
pub fn matches(pattern: &str, id: &str) -> bool {
    let pattern = &modern_pattern(pattern);
    if !pattern.contains('*') {
        return id == pattern
            || id
                .strip_prefix(pattern)
                .is_some_and(|rest| rest.starts_with('.'));
    }
    glob(pattern.as_bytes(), id.as_bytes())
}

/// Translates a pattern written with the old numeric ids (`6.4.*`, `9.2.6`) into the current
/// ones (`utf8.4.*`, `hs.2.6`): the section number becomes the section's prefix.
pub fn modern_pattern(pattern: &str) -> String {
    let (first, rest) = match pattern.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (pattern, None),
    };
    match first.parse::<usize>() {
        Ok(n @ 1..=9) => {
            let prefix = crate::report::SECTIONS[n - 1].0;
            match rest {
                Some(r) => format!("{prefix}.{r}"),
                None => prefix.to_string(),
            }
        }
        _ => pattern.to_string(),
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_modes_and_options() {
        let Parsed::Run(o) = parse(&args(
            "server ws://127.0.0.1:1/ --cases utf8.*,close.1.* --timeout 2 --max-message-size 1M --json=out.json",
        ))
        .unwrap() else {
            panic!()
        };
        assert!(matches!(o.command, Command::Server { ref url } if url == "ws://127.0.0.1:1/"));
        assert_eq!(o.cases, ["utf8.*", "close.1.*"]);
        assert_eq!(o.timeout, Duration::from_secs(2));
        assert_eq!(o.max_message_size, 1 << 20);
        assert_eq!(o.json, Some(PathBuf::from("out.json")));
        assert!(parse(&args("client --listen 127.0.0.1:0")).is_ok());
        assert!(matches!(parse(&args("--help")).unwrap(), Parsed::Help));
        for bad in [
            "",
            "server",
            "client ws://x",
            "server ws://x --jobs 0",
            "bogus",
            "client --frob",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("12x").is_err());
    }

    #[test]
    fn patterns() {
        assert!(matches("utf8.*", "utf8.1.2"));
        assert!(!matches("utf8.*", "xutf8.1"));
        assert!(matches("close.1.*", "close.1.10"));
        assert!(!matches("close.1.*", "close.10.1"));
        assert!(matches("close.1", "close.1.3"));
        assert!(!matches("close.1", "close.10"));
        assert!(matches("frame.1.3", "frame.1.3"));
        assert!(matches("*.1", "ping.1"));
        assert!(matches("utf8", "utf8.6.1"));
        assert!(!matches("utf8", "utf8x.6.1"));
        // The old numeric ids still select the same cases.
        assert!(matches("6.*", "utf8.1.2"));
        assert!(matches("7.1", "close.1.3"));
        assert!(matches("9.2.6", "hs.2.6"));
        assert!(!matches("6.*", "close.1.1"));
        assert_eq!(modern_pattern("5.4.*"), "frag.4.*");
        assert_eq!(modern_pattern("42.1"), "42.1");
    }
}
