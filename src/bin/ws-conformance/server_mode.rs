//! Server mode: the tester plays the client against an echo server, one connection per case,
//! cases spread over a few threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::case::{Body, Case, Ctx, Script};
use crate::cases::handshake::ServerEnv;
use crate::cli::Options;
use crate::http::{self, new_key, Url};
use crate::judge::Judgement;
use crate::report::{id_key, Outcome, Report};
use crate::runner::run_script;
use crate::session::Session;

/// Connects and upgrades: returns the stream and the bytes read past the 101 response.
fn open(url: &Url, timeout: Duration) -> Result<(std::net::TcpStream, Vec<u8>), String> {
    let mut stream = url.connect(timeout)?;
    let key = new_key();
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    http::write_chunked(&mut stream, url.request(&key, &[]).as_bytes(), 0)
        .map_err(|e| format!("sending the opening request: {e}"))?;
    let (head, rest) = http::read_head(&mut stream, Instant::now() + timeout)?;
    if head.status() != Some(101) {
        return Err(format!("handshake refused: `{}`", head.start_line));
    }
    let want = http::accept_key(&key);
    if head.header("Sec-WebSocket-Accept") != Some(want.as_str()) {
        return Err("handshake: wrong Sec-WebSocket-Accept".into());
    }
    Ok((stream, rest))
}

/// Runs one case against the server.
fn run_case(case: &Case, url: &Url, opts: &Options, ctx: Ctx) -> Judgement {
    match &case.body {
        Body::Script(build) => {
            let mut script = Script::new(ctx);
            build(&mut script);
            let expected = script.expect.describe();
            let max_frame = (opts.max_message_size * 2).max(64 << 20);
            match open(url, opts.timeout).and_then(|(s, rest)| {
                Session::new(s, rest, true, opts.timeout, max_frame).map_err(|e| e.to_string())
            }) {
                Ok(mut session) => run_script(&mut session, script, opts.timeout),
                Err(e) => {
                    let mut j = Judgement::new(expected);
                    j.fail_with(e);
                    j
                }
            }
        }
        Body::ServerHandshake(check) => check(&ServerEnv {
            url: url.clone(),
            timeout: opts.timeout,
            ctx,
        }),
        Body::Deflate(case) => crate::cases::deflate::run_server(
            case,
            &ServerEnv {
                url: url.clone(),
                timeout: opts.timeout,
                ctx,
            },
        ),
        Body::ClientHandshake(_) => {
            let mut j = Judgement::new("client mode only");
            j.fail("a client-mode case was selected in server mode");
            j
        }
    }
}

/// Tests the echo server at `url` with `cases`.
pub fn run(url: &str, cases: Vec<Case>, opts: &Options) -> Result<Report, String> {
    let url = Url::parse(url)?;
    // Fail early and clearly when nothing there completes a handshake, rather than letting
    // every case time out.
    drop(open(&url, opts.timeout).map_err(|e| format!("{}: {e}", url_string(&url)))?);
    let ctx = Ctx {
        client: true,
        max_message_size: opts.max_message_size,
        pause: opts.pause,
    };
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::with_capacity(cases.len()));
    let total = cases.len();
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.min(total.max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { return };
                let t = Instant::now();
                let judgement = run_case(case, &url, opts, ctx);
                let outcome = Outcome {
                    id: case.id.clone(),
                    description: case.description.clone(),
                    judgement,
                    duration: t.elapsed(),
                };
                if opts.verbose {
                    eprintln!(
                        "[{:>4}/{total}] {:<14} {:<13} {} ms",
                        i + 1,
                        outcome.id,
                        outcome.judgement.verdict.name(),
                        outcome.duration.as_millis()
                    );
                }
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(outcome);
            });
        }
    });
    let mut outcomes = results.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|o| id_key(&o.id));
    Ok(Report {
        mode: "server",
        target: url_string(&url),
        agent: None,
        outcomes,
        elapsed: started.elapsed(),
    })
}

fn url_string(url: &Url) -> String {
    format!("ws://{}{}", url.host_header, url.resource)
}
