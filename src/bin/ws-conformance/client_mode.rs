//! Client mode: the tester plays the server and a small adapter around the client under test
//! drives the run. The contract (also in `--help` and docs/conformance.md):
//!
//! - `GET /getCaseCount` — over WebSocket: one text message with the number of cases N, then
//!   close 1000; as plain HTTP: `200 text/plain` with N.
//! - `GET /getCaseInfo?case=I` — one text message (or plain body) `{"id":"utf8.4.1","description":..}`.
//! - `GET /runCase?case=I&agent=NAME` — runs case I (1-based): the client echoes every text and
//!   binary message and reads until the connection ends; the tester closes it.
//! - `GET /updateReports?agent=NAME` — optional: ends the run now.
//!
//! The run ends when every case has run, on `/updateReports`, or after `--idle-timeout` without
//! a connection. Connections are handled one at a time, in arrival order.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::case::{Body, Case, Ctx, Script};
use crate::cases::client_handshake::{accept_response, run_client_check};
use crate::cli::Options;
use crate::http::{self, query_pairs, Head};
use crate::judge::Judgement;
use crate::report::{json_str, Outcome, Report};
use crate::runner::run_script;
use crate::session::Session;

/// What the run loop does after a connection.
enum Flow {
    Continue,
    Stop,
}

/// The state of a client-mode run.
struct Run<'a> {
    cases: &'a [Case],
    opts: &'a Options,
    ctx: Ctx,
    outcomes: Vec<Option<Outcome>>,
    agent: Option<String>,
    /// The key of the previous WebSocket connection (for the fresh-key case).
    last_key: Option<String>,
}

/// Listens on `listen` and tests the clients that connect.
pub fn run(listen: &str, cases: Vec<Case>, opts: &Options) -> Result<Report, String> {
    let listener =
        TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Listening on ws://{addr}");
    let _ = std::io::stdout().flush();
    if !opts.quiet {
        eprintln!(
            "ws-conformance: {} cases; run the client adapter against ws://{addr} \
             (getCaseCount, then runCase?case=1..{}&agent=NAME)",
            cases.len(),
            cases.len()
        );
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if tx.send(conn).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let mut run = Run {
        cases: &cases,
        opts,
        ctx: Ctx {
            client: false,
            max_message_size: opts.max_message_size,
            pause: opts.pause,
        },
        outcomes: (0..cases.len()).map(|_| None).collect(),
        agent: None,
        last_key: None,
    };
    while run.outcomes.iter().any(Option::is_none) {
        let stream = match rx.recv_timeout(opts.idle_timeout) {
            Ok(Ok(stream)) => stream,
            Ok(Err(_)) => continue,
            Err(_) => {
                eprintln!(
                    "ws-conformance: no connection for {} s; ending the run",
                    opts.idle_timeout.as_secs()
                );
                break;
            }
        };
        if let Flow::Stop = run.connection(stream) {
            break;
        }
    }
    let outcomes = run
        .outcomes
        .into_iter()
        .zip(&cases)
        .map(|(o, case)| {
            o.unwrap_or_else(|| {
                let mut j = Judgement::new("the client runs the case");
                j.observed = "never requested".into();
                j.fail("the client did not run this case");
                Outcome {
                    id: case.id.clone(),
                    description: case.description.clone(),
                    judgement: j,
                    duration: Duration::ZERO,
                }
            })
        })
        .collect();
    Ok(Report {
        mode: "client",
        target: format!("ws://{addr}"),
        agent: run.agent,
        outcomes,
        elapsed: started.elapsed(),
    })
}

impl Run<'_> {
    fn connection(&mut self, mut stream: TcpStream) -> Flow {
        let _ = stream.set_nodelay(true);
        let timeout = self.opts.timeout;
        let (head, rest) = match http::read_head(&mut stream, Instant::now() + timeout) {
            Ok(x) => x,
            Err(e) => {
                if self.opts.verbose {
                    eprintln!("ws-conformance: ignoring a connection: {e}");
                }
                return Flow::Continue;
            }
        };
        let target = head.start_line.split(' ').nth(1).unwrap_or("/").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let params = query_pairs(query);
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let key = head
            .header("Sec-WebSocket-Key")
            .filter(|_| head.has_token("Upgrade", "websocket"))
            .map(str::to_string);
        if let Some(agent) = param("agent") {
            self.agent = Some(agent);
        }
        let index = param("case").and_then(|c| c.parse::<usize>().ok());
        let case = index
            .and_then(|i| i.checked_sub(1))
            .filter(|i| *i < self.cases.len());
        let flow = match (path, case) {
            ("/getCaseCount", _) => {
                self.answer(stream, key.as_deref(), rest, &self.cases.len().to_string());
                Flow::Continue
            }
            ("/getCaseInfo", Some(i)) => {
                let c = &self.cases[i];
                let info = format!(
                    "{{\"id\": {}, \"description\": {}}}",
                    json_str(&c.id),
                    json_str(&c.description)
                );
                self.answer(stream, key.as_deref(), rest, &info);
                Flow::Continue
            }
            ("/runCase", Some(i)) => {
                self.run_case(i, stream, &head, key.as_deref(), rest);
                Flow::Continue
            }
            ("/updateReports", _) => {
                self.answer(stream, key.as_deref(), rest, "");
                Flow::Stop
            }
            _ => {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\
                      Connection: close\r\n\r\nnot found\n",
                );
                Flow::Continue
            }
        };
        if key.is_some() {
            self.last_key = key;
        }
        flow
    }

    /// Answers a control request: over WebSocket a text message then close 1000, else plain HTTP.
    fn answer(&self, mut stream: TcpStream, key: Option<&str>, rest: Vec<u8>, text: &str) {
        let Some(key) = key else {
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{text}",
                    text.len()
                )
                .as_bytes(),
            );
            return;
        };
        if stream.write_all(accept_response(key).as_bytes()).is_err() {
            return;
        }
        let timeout = self.opts.timeout;
        if let Ok(mut session) = Session::new(stream, rest, false, timeout, 1 << 20) {
            if !text.is_empty() {
                session.send(&crate::raw::RawFrame::text(text));
            }
            session.send_close(Some(1000));
            session.pump_until(Instant::now() + timeout.min(Duration::from_secs(2)), |o| {
                o.close.is_some() || o.tcp_closed.is_some()
            });
        }
    }

    fn run_case(
        &mut self,
        i: usize,
        mut stream: TcpStream,
        head: &Head,
        key: Option<&str>,
        rest: Vec<u8>,
    ) {
        let case = &self.cases[i];
        let started = Instant::now();
        let timeout = self.opts.timeout;
        let judgement = match (&case.body, key) {
            (Body::ClientHandshake(check), _) => run_client_check(
                *check,
                stream,
                head,
                rest,
                self.last_key.as_deref(),
                self.ctx,
                timeout,
            ),
            (Body::Script(build), Some(key)) => {
                let mut script = Script::new(self.ctx);
                build(&mut script);
                let max_frame = (self.opts.max_message_size * 2).max(64 << 20);
                let accepted = stream.write_all(accept_response(key).as_bytes());
                match accepted.map_err(|e| e.to_string()).and_then(|()| {
                    Session::new(stream, rest, false, timeout, max_frame).map_err(|e| e.to_string())
                }) {
                    Ok(mut session) => run_script(&mut session, script, timeout),
                    Err(e) => {
                        let mut j = Judgement::new(script.expect.describe());
                        j.fail(format!("cannot start the session: {e}"));
                        j
                    }
                }
            }
            (Body::Deflate(dc), Some(_)) => crate::cases::deflate::run_client(
                dc,
                stream,
                head,
                rest,
                self.ctx,
                timeout,
                (self.opts.max_message_size * 2).max(64 << 20),
            ),
            (Body::Script(_) | Body::Deflate(_), None) => {
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                let mut j = Judgement::new("a WebSocket opening request");
                j.fail(format!("`{}` is not a WebSocket upgrade", head.start_line));
                j
            }
            (Body::ServerHandshake(_), _) => {
                let mut j = Judgement::new("server mode only");
                j.fail("a server-mode case was selected in client mode");
                j
            }
        };
        let outcome = Outcome {
            id: case.id.clone(),
            description: case.description.clone(),
            judgement,
            duration: started.elapsed(),
        };
        if self.opts.verbose {
            eprintln!(
                "[{:>4}/{}] {:<14} {:<13} {} ms",
                i + 1,
                self.cases.len(),
                outcome.id,
                outcome.judgement.verdict.name(),
                outcome.duration.as_millis()
            );
        }
        self.outcomes[i] = Some(outcome);
    }
}
