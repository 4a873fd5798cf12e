//! Section 9 for servers, the opening handshake (§4.2): correct upgrades (`hs.1`), the table of bad
//! requests (`hs.2`), subprotocol and extension negotiation (`hs.3`). The client side is in
//! [`super::client_handshake`].

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::case::{Body, Case, Ctx, Script};
use crate::http::{self, accept_key, new_key, Head, Url};
use crate::judge::{Judgement, Verdict};
use crate::raw::RawFrame;
use crate::runner::run_script;
use crate::session::Session;

/// What a server handshake case gets to work with.
pub struct ServerEnv {
    /// The server's URL.
    pub url: Url,
    /// Per-phase timeout.
    pub timeout: Duration,
    /// Script settings, for cases that go on to exchange messages.
    pub ctx: Ctx,
}

/// An editable opening request.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    version: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// A correct request for `url` with `key`.
    fn new(url: &Url, key: &str) -> Request {
        Request {
            method: "GET".into(),
            version: "HTTP/1.1".into(),
            target: url.resource.clone(),
            headers: [
                ("Host", url.host_header.as_str()),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13"),
            ]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        }
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.headers.push((name.into(), value.into()));
    }

    fn add(&mut self, name: &str, value: &str) {
        self.headers.push((name.into(), value.into()));
    }

    fn bytes(&self) -> Vec<u8> {
        let mut s = format!("{} {} {}\r\n", self.method, self.target, self.version);
        for (n, v) in &self.headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }
}

/// Sends `bytes` (in pieces of `chunk`) on a new connection and reads the response head.
fn exchange(
    env: &ServerEnv,
    bytes: &[u8],
    chunk: usize,
) -> Result<(TcpStream, Head, Vec<u8>), String> {
    let mut stream = env.url.connect(env.timeout)?;
    stream
        .set_write_timeout(Some(env.timeout))
        .map_err(|e| e.to_string())?;
    http::write_chunked(&mut stream, bytes, chunk)
        .map_err(|e| format!("sending the request: {e}"))?;
    let (head, rest) = http::read_head(&mut stream, Instant::now() + env.timeout)?;
    Ok((stream, head, rest))
}

/// Problems with a 101 response to a request with `key` (§4.2.2, §4.1).
pub fn upgrade_problems(head: &Head, key: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if head.status() != Some(101) {
        problems.push(format!("expected status 101, got `{}`", head.start_line));
        return problems;
    }
    if !head.has_token("Upgrade", "websocket") {
        problems.push("no `Upgrade: websocket` in the response".into());
    }
    if !head.has_token("Connection", "Upgrade") {
        problems.push("no `Connection: Upgrade` in the response".into());
    }
    let want = accept_key(key);
    match head.header("Sec-WebSocket-Accept") {
        Some(got) if got == want => {}
        Some(got) => problems.push(format!(
            "Sec-WebSocket-Accept is `{got}`, expected `{want}`"
        )),
        None => problems.push("no Sec-WebSocket-Accept".into()),
    }
    problems
}

/// Completes a successful upgrade with a short echo exchange, judged into `j`.
fn echo_after_upgrade(
    env: &ServerEnv,
    stream: TcpStream,
    rest: Vec<u8>,
    script: Script,
    j: &mut Judgement,
) {
    match Session::new(stream, rest, true, env.timeout, 1 << 30) {
        Ok(mut session) => {
            let inner = run_script(&mut session, script, env.timeout);
            j.observed = inner.observed;
            j.wire = inner.wire;
            for r in inner.reasons {
                j.add(inner.verdict, r);
            }
        }
        Err(e) => j.fail(format!("cannot start the session: {e}")),
    }
}

fn upgrade_case(id: &str, description: &str, make: fn(&Url, &str) -> (Vec<u8>, usize)) -> Case {
    server_case(id, description, move |env| {
        let key = new_key();
        let (bytes, chunk) = make(&env.url, &key);
        let mut j = Judgement::new("101 with the right Sec-WebSocket-Accept, then an echo");
        match exchange(env, &bytes, chunk) {
            Ok((stream, head, rest)) => {
                j.observed = head.start_line.clone();
                let problems = upgrade_problems(&head, &key);
                if problems.is_empty() {
                    let mut script = Script::new(env.ctx);
                    script.echo(RawFrame::text("after the handshake"));
                    echo_after_upgrade(env, stream, rest, script, &mut j);
                }
                for p in problems {
                    j.fail(p);
                }
            }
            Err(e) => j.fail_with(e),
        }
        j
    })
}

fn server_case(
    id: &str,
    description: &str,
    f: impl Fn(&ServerEnv) -> Judgement + Send + Sync + 'static,
) -> Case {
    Case {
        id: id.into(),
        description: description.into(),
        applies: crate::case::Applies::Server,
        body: Body::ServerHandshake(Box::new(f)),
    }
}

/// A request the server must refuse.
struct Bad {
    what: &'static str,
    edit: fn(&mut Request),
    /// Statuses that are right.
    ok: &'static [u16],
    /// The response must carry `Sec-WebSocket-Version: 13`.
    version_header: bool,
}

static BAD_REQUESTS: &[Bad] = &[
    Bad {
        what: "no Sec-WebSocket-Key",
        edit: |r| r.remove("Sec-WebSocket-Key"),
        ok: &[400],
        version_header: false,
    },
    Bad {
        what: "two Sec-WebSocket-Key headers",
        edit: |r| r.add("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA=="),
        ok: &[400],
        version_header: false,
    },
    Bad {
        what: "Sec-WebSocket-Key that is not base64",
        edit: |r| r.set("Sec-WebSocket-Key", "!!not*base64!!"),
        ok: &[400],
        version_header: false,
    },
    Bad {
        what: "Sec-WebSocket-Key of 15 bytes",
        edit: |r| r.set("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4P"),
        ok: &[400],
        version_header: false,
    },
    Bad {
        what: "Sec-WebSocket-Key of 17 bytes",
        edit: |r| r.set("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEBE="),
        ok: &[400],
        version_header: false,
    },
    Bad {
        what: "Sec-WebSocket-Version: 8",
        edit: |r| r.set("Sec-WebSocket-Version", "8"),
        ok: &[426, 400],
        version_header: true,
    },
    Bad {
        what: "no Sec-WebSocket-Version",
        edit: |r| r.remove("Sec-WebSocket-Version"),
        ok: &[400, 426],
        version_header: false,
    },
    Bad {
        what: "no Host",
        edit: |r| r.remove("Host"),
        ok: &[400],
        version_header: false,
    },
    Bad {
        what: "POST instead of GET",
        edit: |r| r.method = "POST".into(),
        ok: &[405, 400],
        version_header: false,
    },
    Bad {
        what: "no Upgrade header",
        edit: |r| r.remove("Upgrade"),
        ok: &[400, 426],
        version_header: false,
    },
    Bad {
        what: "Upgrade: h2c instead of websocket",
        edit: |r| r.set("Upgrade", "h2c"),
        ok: &[400, 426],
        version_header: false,
    },
    Bad {
        what: "no Connection header",
        edit: |r| r.remove("Connection"),
        ok: &[400, 426],
        version_header: false,
    },
    Bad {
        what: "HTTP/1.0",
        edit: |r| r.version = "HTTP/1.0".into(),
        ok: &[400, 505],
        version_header: false,
    },
];

/// §4.2.1's rule for requests that do not match the handshake, quoted in reasons.
const BAD_REQUEST_RULE: &str = "§4.2.1: the server \"MUST stop processing the client's \
                                handshake and return an HTTP response with an appropriate \
                                error code (such as 400 Bad Request)\"";

fn judge_refusal(
    bad: &Bad,
    result: Result<(TcpStream, Head, Vec<u8>), String>,
    timeout: Duration,
) -> Judgement {
    let codes: Vec<String> = bad.ok.iter().map(u16::to_string).collect();
    let mut j = Judgement::new(format!(
        "refused with {}{}",
        codes.join(" or "),
        if bad.version_header {
            " and a Sec-WebSocket-Version header listing 13"
        } else {
            ""
        }
    ));
    match result {
        Ok((_, head, _)) => {
            j.observed = head.start_line.clone();
            let versions = head.tokens("Sec-WebSocket-Version");
            match head.status() {
                Some(101) if bad.version_header => j.add(
                    Verdict::Informational,
                    format!(
                        "the server accepted {} with 101: it understands that version too, \
                         which §4.2.2 leaves to the server (it must refuse only \"a version \
                         [not] understood by the server\")",
                        bad.what
                    ),
                ),
                Some(101) => j.fail(format!(
                    "expected a refusal, observed 101 Switching Protocols ({BAD_REQUEST_RULE})"
                )),
                Some(s) if bad.version_header && (400..500).contains(&s) => {
                    if versions.is_empty() {
                        j.fail(format!(
                            "expected a Sec-WebSocket-Version header in the {s} response, \
                             observed none (§4.2.2: the server MUST send \"an appropriate HTTP \
                             error code (such as 426 Upgrade Required) and a \
                             |Sec-WebSocket-Version| header field indicating the version(s) \
                             the server is capable of understanding\")"
                        ));
                    } else if !versions.iter().any(|v| v == "13") {
                        j.fail(format!(
                            "expected Sec-WebSocket-Version to list 13, observed {versions:?}"
                        ));
                    } else if !bad.ok.contains(&s) {
                        j.add(
                            Verdict::Informational,
                            format!("refused with {s} (§4.2.2 names 426 only as an example)"),
                        );
                    }
                }
                Some(s) if bad.ok.contains(&s) => {}
                Some(s) if (400..600).contains(&s) => j.add(
                    Verdict::Informational,
                    format!(
                        "expected {}, observed {s}: an error code of the server's choosing \
                         ({BAD_REQUEST_RULE})",
                        codes.join(" or ")
                    ),
                ),
                _ => j.fail(format!(
                    "expected an HTTP error status, observed `{}` ({BAD_REQUEST_RULE})",
                    head.start_line
                )),
            }
        }
        Err(e) if e.contains("in time") => {
            j.observed = e.clone();
            j.fail(format!(
                "expected an HTTP error response, observed none within {} ms and the \
                 connection still open ({BAD_REQUEST_RULE})",
                timeout.as_millis()
            ));
        }
        Err(e) => {
            j.observed = e.clone();
            j.add(
                Verdict::Informational,
                format!(
                    "expected an HTTP error response, observed the connection closed without \
                     one ({e}); §10.7 allows it: on \"an opening handshake that does not \
                     correspond to the values it is expecting ..., the endpoint MAY drop the \
                     TCP connection\""
                ),
            );
        }
    }
    j
}

/// Section 9's cases.
pub fn cases() -> Vec<Case> {
    let mut cases = vec![
        upgrade_case("hs.1.1", "correct opening request", |url, key| {
            (Request::new(url, key).bytes(), 0)
        }),
        server_case(
            "hs.1.2",
            "the RFC's sample key dGhlIHNhbXBsZSBub25jZQ== (§1.3)",
            |env| {
                let key = "dGhlIHNhbXBsZSBub25jZQ==";
                let mut j =
                    Judgement::new("101 with Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
                match exchange(env, &Request::new(&env.url, key).bytes(), 0) {
                    Ok((_, head, _)) => {
                        j.observed = format!(
                            "{}; accept {}",
                            head.start_line,
                            head.header("Sec-WebSocket-Accept").unwrap_or("(none)")
                        );
                        for p in upgrade_problems(&head, key) {
                            j.fail(p);
                        }
                    }
                    Err(e) => j.fail_with(e),
                }
                j
            },
        ),
        upgrade_case(
            "hs.1.3",
            "lower-case header names, mixed-case tokens, `Connection: keep-alive, Upgrade`",
            |url, key| {
                let mut r = Request::new(url, key);
                r.headers = r
                    .headers
                    .into_iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v))
                    .collect();
                r.set("upgrade", "WebSocket");
                r.set("connection", "keep-alive, Upgrade");
                (r.bytes(), 0)
            },
        ),
        server_case(
            "hs.1.4",
            "opening request written in 1-byte pieces",
            chopped_request,
        ),
        server_case(
            "hs.1.5",
            "eager client: the first frame in the same write as the request",
            |env| {
                let key = new_key();
                let mut bytes = Request::new(&env.url, &key).bytes();
                bytes.extend(RawFrame::text("eager").encode(true));
                let mut j = Judgement::new(
                    "101, then the eager frame echoed; anything else is INFO (§4.1 forbids the \
                     client to send it, so the server owes it nothing)",
                );
                const OWES_NOTHING: &str = "§4.1: the client \"MUST NOT\" send data before \
                                            it receives the server's handshake response, so the \
                                            server owes this client nothing";
                match exchange(env, &bytes, 0) {
                    Ok((stream, head, rest)) if head.status() == Some(101) => {
                        let problems = upgrade_problems(&head, &key);
                        if problems.is_empty() {
                            let mut script = Script::new(env.ctx);
                            script.expect_text("eager");
                            let mut inner = Judgement::new("");
                            echo_after_upgrade(env, stream, rest, script, &mut inner);
                            j.observed = inner.observed;
                            j.wire = inner.wire;
                            if inner.verdict != Verdict::Ok {
                                j.add(
                                    Verdict::Informational,
                                    format!(
                                        "accepted the eager client, then: {} ({OWES_NOTHING})",
                                        inner.reasons.join("; ")
                                    ),
                                );
                            }
                        }
                        for p in problems {
                            j.fail(p);
                        }
                    }
                    Ok((_, head, _)) => {
                        j.observed = head.start_line.clone();
                        j.add(
                            Verdict::Informational,
                            format!(
                                "refused the eager client with `{}` ({OWES_NOTHING})",
                                head.start_line
                            ),
                        );
                    }
                    Err(e) => {
                        j.observed = e.clone();
                        j.add(
                            Verdict::Informational,
                            format!("no 101 for the eager client: {e} ({OWES_NOTHING})"),
                        );
                    }
                }
                j
            },
        ),
    ];
    for (i, bad) in BAD_REQUESTS.iter().enumerate() {
        cases.push(server_case(
            &format!("hs.2.{}", i + 1),
            &format!("bad request: {}", bad.what),
            move |env| {
                let mut r = Request::new(&env.url, &new_key());
                (bad.edit)(&mut r);
                judge_refusal(bad, exchange(env, &r.bytes(), 0), env.timeout)
            },
        ));
    }
    cases.push(server_case(
        "hs.3.1",
        "unsupported subprotocol offered: not echoed back (§4.2.2)",
        |env| negotiation(env, "Sec-WebSocket-Protocol", "x-conformance-unknown"),
    ));
    cases.push(server_case(
        "hs.3.2",
        "two subprotocols offered: at most one chosen, from the offer",
        |env| {
            negotiation(
                env,
                "Sec-WebSocket-Protocol",
                "x-conformance-one, x-conformance-two",
            )
        },
    ));
    cases.push(server_case(
        "hs.3.3",
        "unknown extension offered: not accepted (§9.1)",
        |env| {
            negotiation(
                env,
                "Sec-WebSocket-Extensions",
                "x-conformance-ext; level=1",
            )
        },
    ));
    cases
}

/// Offers `value` in header `name`; the response may only pick one offered token (protocols) or
/// none (the tester's extensions are never supported).
fn negotiation(env: &ServerEnv, name: &str, value: &str) -> Judgement {
    let key = new_key();
    let mut r = Request::new(&env.url, &key);
    r.set(name, value);
    let mut j = Judgement::new(format!("101 without echoing `{name}: {value}` blindly"));
    match exchange(env, &r.bytes(), 0) {
        Ok((_, head, _)) => {
            j.observed = format!(
                "{}; {name}: {}",
                head.start_line,
                head.header(name).unwrap_or("(none)")
            );
            if head.status() != Some(101) {
                j.add(
                    Verdict::Informational,
                    format!(
                        "refused the handshake: `{}` (§4.2.2: a server that chooses not to \
                         accept the connection replies with an HTTP error code; a choice)",
                        head.start_line
                    ),
                );
                return j;
            }
            for p in upgrade_problems(&head, &key) {
                j.fail(p);
            }
            let got = head.tokens(name);
            let offered: Vec<&str> = value.split(',').map(|t| t.trim()).collect();
            let is_ext = name.eq_ignore_ascii_case("Sec-WebSocket-Extensions");
            if is_ext && !got.is_empty() {
                j.fail(format!(
                    "accepted an extension the tester cannot support: {got:?}"
                ));
            } else if got.len() > 1 || head.count(name) > 1 {
                j.fail(format!("answered with several subprotocols: {got:?}"));
            } else if let Some(p) = got.first() {
                if !offered.contains(&p.as_str()) {
                    j.fail(format!("chose `{p}`, which was not offered"));
                } else if offered.len() == 1 {
                    j.add(
                        Verdict::Informational,
                        format!("the server claims to support `{p}`"),
                    );
                }
            }
        }
        Err(e) => j.fail_with(e),
    }
    j
}

/// `hs.1.4`: the request one byte per write. A server that resets such a slow request (an
/// anti-flood policy) is reported as INFO with how far the request got.
fn chopped_request(env: &ServerEnv) -> Judgement {
    let key = new_key();
    let bytes = Request::new(&env.url, &key).bytes();
    let mut j = Judgement::new("101 with the right Sec-WebSocket-Accept, then an echo");
    let mut stream = match env.url.connect(env.timeout) {
        Ok(s) => s,
        Err(e) => {
            j.fail_with(e);
            return j;
        }
    };
    let _ = stream.set_write_timeout(Some(env.timeout));
    let _ = stream.set_nodelay(true);
    for (i, b) in bytes.iter().enumerate() {
        if let Err(e) = std::io::Write::write_all(&mut stream, std::slice::from_ref(b)) {
            j.observed = format!("writes failed after {i} of {} bytes: {e}", bytes.len());
            j.add(
                Verdict::Informational,
                format!(
                    "expected a 101, observed the server ending the connection after {i} of \
                     the request's {} bytes, written one byte per write ({e}): a policy \
                     against slow or byte-by-byte requests; RFC 6455 has no rule on how a \
                     request is split",
                    bytes.len()
                ),
            );
            return j;
        }
    }
    match http::read_head(&mut stream, Instant::now() + env.timeout) {
        Ok((head, rest)) => {
            j.observed = head.start_line.clone();
            let problems = upgrade_problems(&head, &key);
            if problems.is_empty() {
                let mut script = Script::new(env.ctx);
                script.echo(RawFrame::text("after the handshake"));
                echo_after_upgrade(env, stream, rest, script, &mut j);
            }
            for p in problems {
                j.fail(p);
            }
        }
        Err(e) => j.fail_with(format!(
            "expected a 101 to the whole request written one byte per write, observed: {e}"
        )),
    }
    j
}
