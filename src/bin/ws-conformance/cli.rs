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
    /// `--no-deflate`: leave out the permessage-deflate cases (`pmd.*`).
    pub no_deflate: bool,
    /// `--verbose`: one line per case as it finishes.
    pub verbose: bool,
    /// `--quiet`: only the summary line on stdout.
    pub quiet: bool,
    /// `--report DIR`.
    pub report: Option<PathBuf>,
    /// `--expect FILE`: compare the verdicts with a recorded expectation.
    pub expect: Option<PathBuf>,
}

/// The result of parsing.
#[derive(Debug)]
pub enum Parsed {
    /// `--help`.
    Help,
    /// `--version`.
    Version,
    /// Run with these options.
    Run(Options),
}

/// The `--help` text.
pub const HELP: &str = "\
ws-conformance - RFC 6455 conformance tester for WebSocket servers and clients

USAGE:
    ws-conformance server ws://HOST:PORT/PATH [OPTIONS]
    ws-conformance client [--listen ADDR] [OPTIONS]

SERVER MODE tests the echo server at the URL: it must echo every text message as
text and every binary message as binary. Each case opens its own connection; cases
run in parallel.

CLIENT MODE listens and tests a client driven by a small adapter that:
  1. connects to ws://ADDR/getCaseCount and reads one text message: the number of
     cases N (a plain HTTP GET of the same path returns N as text/plain too);
  2. for each case 1..=N connects to ws://ADDR/runCase?case=I&agent=NAME (I is
     1-based), echoes every text message as text and binary message as binary,
     and keeps reading until the connection ends (errors just end the case);
  3. optionally connects to ws://ADDR/updateReports?agent=NAME to end early.
ws://ADDR/getCaseInfo?case=I answers {\"id\":..,\"description\":..}. The run ends
when every case has run, on /updateReports, or after --idle-timeout without a
connection. The first line on stdout is `Listening on ws://ADDR`. Ready adapters
for Python websockets and Node ws: interop/conformance/ (docs/conformance.md).

OPTIONS:
    --cases LIST              Comma-separated case ids or patterns: `utf8.*`,
                              `close.1.*`, `frame.1.3`, or a bare prefix such as
                              `utf8` or `close.1`; the old numeric ids (`6.*`,
                              `7.1`) still work [default: all]
    --json FILE               Write every case's result as JSON to FILE
    --report DIR              Write DIR/index.html (one page, no external assets:
                              per-case verdict, rule, reason and wire log) and
                              DIR/report.json
    --expect FILE             Compare each verdict with FILE (lines `CASE-ID
                              VERDICT` for the non-OK cases; others must be OK);
                              prints every difference and
                              `ws-conformance: EXPECT MATCH|DIFFER differ=N file=F`,
                              and the exit status is that comparison's
    --timeout SECS            Time a peer gets to react in each case phase
                              [default: 5]
    --jobs N                  Server mode: cases run in parallel [default: 4]
    --max-message-size BYTES  The peer's message size limit, suffixes K, M, G
                              [default: 64M]; limit.1 sends messages over it and
                              expects 1009, pmd.5.2 a compression bomb past it
    --pause MS                Fail-fast window: how long the tester stops in the
                              middle of an invalid message [default: 1000]
    --listen ADDR             Client mode: address to listen on
                              [default: 127.0.0.1:9001]
    --idle-timeout SECS       Client mode: give up when no client connects for
                              this long [default: 30]
    --no-deflate              Leave out the permessage-deflate cases (pmd.*)
    --list                    Print the selected cases (id, description; with
                              --verbose also the rule quoted) and exit
    --verbose                 Print each case as it finishes (to stderr)
    --quiet                   Print only the summary line
    -V, --version             Print the version and exit
    -h, --help                Print this help and exit

VERDICTS:
    OK              the peer did what RFC 6455 requires
    INFORMATIONAL   a documented choice or limit (a limit met, a wait, a MAY),
                    or a measurement; never fails the run
    NON-STRICT      a SHOULD not followed (no close frame or another close code
                    when failing, TCP closing order), or a late UTF-8 failure
    FAILED          a MUST or MUST NOT broken, or no reaction within --timeout
    Every reason says what was expected, what was observed, and quotes the rule.

OUTPUT:
    A table of verdicts per section, the reasons of every case that is not OK,
    then one summary line in this fixed format:
    ws-conformance: PASS|FAIL mode=M cases=N ok=N info=N non_strict=N failed=N

EXIT STATUS:
    0 nothing FAILED or NON-STRICT, 1 some case FAILED or NON-STRICT (a peer that
    drops TCP without a close frame is at least NON-STRICT), 2 usage error or the
    run could not start. With --expect: 0 every verdict as expected, 1 otherwise
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
        no_deflate: false,
        verbose: false,
        quiet: false,
        report: None,
        expect: None,
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
            "-V" | "--version" => return Ok(Parsed::Version),
            "--report" => opts.report = Some(PathBuf::from(value(flag)?)),
            "--expect" => opts.expect = Some(PathBuf::from(value(flag)?)),
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
            "--no-deflate" => opts.no_deflate = true,
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
        assert!(matches!(parse(&args("-V")).unwrap(), Parsed::Version));
        let Parsed::Run(o) = parse(&args("server ws://x/ --report out")).unwrap() else {
            panic!()
        };
        assert_eq!(o.report, Some(PathBuf::from("out")));
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
