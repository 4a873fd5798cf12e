//! Running a permessage-deflate case ([`super::deflate`]): the handshake with the case's offer
//! (server mode) or answer (client mode), the check of what the peer said, then the script over
//! a session that inflates the peer's messages with the agreed window and takeover.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::deflate::{Answer, DeflateCase, Flow, Nego};
use crate::case::{Ctx, Script};
use crate::cases::client_handshake::watch_refusal;
use crate::cases::handshake::{upgrade_problems, ServerEnv};
use crate::http::{self, accept_key, new_key, Head};
use crate::judge::{Judgement, Verdict};
use crate::pmd::{self, Agreement, Rx, Tx};
use crate::raw::RawFrame;
use crate::runner::run_script;
use crate::session::Session;

const NOT_SUPPORTED: &str = "permessage-deflate not supported or declined: RFC 7692 makes the \
                             extension optional and lets a server decline any offer (§5), so \
                             the case is informational";

/// All values of `Sec-WebSocket-Extensions`, joined (several header lines make one list).
fn extensions(head: &Head) -> Option<String> {
    let values: Vec<&str> = head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// The largest message the tester inflates from the peer.
fn rx_limit(ctx: &Ctx) -> usize {
    (ctx.max_message_size.saturating_mul(2)).max(64 << 20) as usize
}

/// Builds the script over `agreed` and runs it, judged into `j`.
fn exchange(
    case: &DeflateCase,
    j: &mut Judgement,
    mut session: Session,
    ctx: Ctx,
    agreed: Option<Agreement>,
    timeout: Duration,
) {
    let client = ctx.client;
    let mut script = Script::new(ctx);
    let mut flow = Flow {
        script: &mut script,
        tx: agreed.map(|a| Tx::new(a.sender(client))),
        skip: None,
    };
    (case.exchange)(&mut flow);
    let (skip, tx) = (flow.skip.take(), flow.tx.take());
    if let Some(why) = skip {
        j.add(Verdict::Informational, why);
        session.send_close(Some(1000));
        session.pump_until(Instant::now() + timeout, |o| o.ended());
        return;
    }
    j.expected = format!("{}; {}", j.expected, script.expect.describe());
    session.inflate = agreed.map(|a| Rx::new(a.sender(!client), rx_limit(&ctx)));
    let start = Instant::now();
    let inner = run_script(&mut session, script, timeout);
    let took = start.elapsed();
    let mut observed = inner.observed.clone();
    if let Some(rx) = &session.inflate {
        let (n, z, plain) = rx.compressed;
        observed.push_str(&format!(
            "; the peer's messages: {n} compressed ({z} → {plain} bytes), {} uncompressed",
            rx.plain
        ));
    }
    if let Some(tx) = &tx {
        observed.push_str(&format!(
            "; ours: {} → {} bytes compressed; {} ms",
            tx.bytes.0,
            tx.bytes.1,
            took.as_millis()
        ));
    }
    j.observed = if j.observed.is_empty() {
        observed
    } else {
        format!("{}; {observed}", j.observed)
    };
    let refused = case.may_refuse
        && !client
        && session.seen.replies.is_empty()
        && session.seen.close.is_none()
        && session.seen.tcp_closed.is_some();
    if refused {
        j.add(
            Verdict::Informational,
            "the client closed the connection at once: it cannot honour this (valid) answer, \
             and RFC 7692 §5 then requires it to fail the connection",
        );
    } else {
        for r in inner.reasons {
            j.add(inner.verdict, r);
        }
    }
    j.wire = inner.wire;
}

/// Server mode: offers, checks the answer, exchanges.
pub fn run_server(case: &DeflateCase, env: &ServerEnv) -> Judgement {
    let mut j = Judgement::new(match case.nego {
        Nego::Accept => format!("a valid answer to `{}` (or a decline)", case.offer),
        Nego::Decline => format!("`{}` declined (RFC 7692 §5)", case.offer),
        Nego::Plain => "no extension in the response (none offered)".to_string(),
    });
    let key = new_key();
    let extra: Vec<(&str, &str)> = if case.offer.is_empty() {
        Vec::new()
    } else {
        vec![("Sec-WebSocket-Extensions", case.offer)]
    };
    let connected = env.url.connect(env.timeout).and_then(|mut s| {
        s.set_write_timeout(Some(env.timeout))
            .map_err(|e| e.to_string())?;
        http::write_chunked(&mut s, env.url.request(&key, &extra).as_bytes(), 0)
            .map_err(|e| format!("sending the request: {e}"))?;
        let (head, rest) = http::read_head(&mut s, Instant::now() + env.timeout)?;
        Ok((s, head, rest))
    });
    let (stream, head, rest) = match connected {
        Ok(x) => x,
        Err(e) => {
            j.fail_with(e);
            return j;
        }
    };
    if head.status() != Some(101) {
        let what = format!("the server refused the handshake: `{}`", head.start_line);
        match case.nego {
            Nego::Decline => j.add(
                Verdict::Informational,
                format!("{what}; declining the offer would have been enough"),
            ),
            Nego::Accept => j.non_strict(format!(
                "{what}: a valid offer is accepted or declined (RFC 7692 §5: the server \
                 \"accepts\" an offer it supports, and declines the others, \"by not \
                 including\" them in the response), not a reason to refuse the connection"
            )),
            Nego::Plain => j.fail(format!("{what}: a plain opening request was refused")),
        }
        j.observed = what;
        return j;
    }
    for p in upgrade_problems(&head, &key) {
        j.fail(p);
    }
    let answer = extensions(&head);
    j.observed = format!(
        "response extensions: {}",
        answer.as_deref().unwrap_or("none")
    );
    let offers = pmd::parse_elements(case.offer);
    let agreed = match pmd::check_response(&offers, answer.as_deref()) {
        Ok(a) => a.map(|(_, a)| a),
        Err(e) => {
            j.fail(e);
            return j;
        }
    };
    if let Some(a) = &agreed {
        j.observed.push_str(&format!(" ({})", a.describe()));
    }
    let agreed = match (case.nego, agreed) {
        (Nego::Accept, None) => {
            j.add(Verdict::Informational, NOT_SUPPORTED);
            return j;
        }
        (Nego::Decline | Nego::Plain, Some(_)) => {
            j.fail(format!(
                "the server accepted permessage-deflate{} (RFC 7692 §5: a server MUST decline \
                 an offer with an unknown parameter, an invalid value or a duplicate)",
                if case.nego == Nego::Plain {
                    " although it was not offered"
                } else {
                    ""
                }
            ));
            return j;
        }
        (_, a) => a,
    };
    let max_frame = (env.ctx.max_message_size * 2).max(64 << 20);
    match Session::new(stream, rest, true, env.timeout, max_frame) {
        Ok(session) => exchange(case, &mut j, session, env.ctx, agreed, env.timeout),
        Err(e) => j.fail(format!("cannot start the session: {e}")),
    }
    j
}

fn response(key: &str, ext: Option<&str>) -> String {
    let ext = ext.map_or(String::new(), |e| {
        format!("Sec-WebSocket-Extensions: {e}\r\n")
    });
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{ext}\r\n",
        accept_key(key)
    )
}

/// A 101 without the extension, then a clean close: lets the client finish a case that does
/// not apply to it.
fn plain_close(mut stream: TcpStream, key: &str, rest: Vec<u8>, timeout: Duration) {
    if stream.write_all(response(key, None).as_bytes()).is_ok() {
        if let Ok(mut s) = Session::new(stream, rest, false, timeout, 1 << 20) {
            s.send_close(Some(1000));
            s.pump_until(Instant::now() + timeout.min(Duration::from_secs(2)), |o| {
                o.ended()
            });
        }
    }
}

/// Client mode: answers the client's offer as the case says, then exchanges.
pub fn run_client(
    case: &DeflateCase,
    mut stream: TcpStream,
    head: &Head,
    rest: Vec<u8>,
    ctx: Ctx,
    timeout: Duration,
    max_frame: u64,
) -> Judgement {
    let key = head.header("Sec-WebSocket-Key").unwrap_or("").to_string();
    let offered = extensions(head);
    let offer = pmd::client_offer(offered.as_deref());
    let mut j = Judgement::new("the client honours the agreement");
    j.observed = format!("client offer: {}", offered.as_deref().unwrap_or("none"));
    match case.answer {
        Answer::Bad(make) => {
            j.expected = "the client fails the connection: no frame back, TCP closed".into();
            let ext = match make(offer.as_ref()) {
                Ok(e) => e,
                Err(na) => {
                    j.add(Verdict::Informational, na);
                    plain_close(stream, &key, rest, timeout);
                    return j;
                }
            };
            j.observed.push_str(&format!("; answered: {ext}"));
            let mut bytes = response(&key, Some(&ext)).into_bytes();
            let z = Tx::new((15, false)).compress(b"must not be echoed");
            bytes.extend(RawFrame::text(z).rsv(4).encode(false));
            if let Err(e) = stream.write_all(&bytes) {
                j.observed
                    .push_str(&format!("; the client closed before the response ({e})"));
                return j;
            }
            let (seen, verdict) = watch_refusal(&mut stream, timeout);
            j.observed.push_str(&format!("; {seen}"));
            if verdict != Verdict::Ok {
                j.add(verdict, seen);
            }
            j
        }
        Answer::Accept(make) => {
            let Some(offer) = offer else {
                j.add(Verdict::Informational, NOT_SUPPORTED);
                plain_close(stream, &key, rest, timeout);
                return j;
            };
            let params = match make(&offer) {
                Ok(p) => p,
                Err(na) => {
                    j.add(Verdict::Informational, format!("not applicable: {na}"));
                    plain_close(stream, &key, rest, timeout);
                    return j;
                }
            };
            let problems = pmd::answer_problems(&offer, &params);
            if !problems.is_empty() {
                j.fail(format!(
                    "tester bug: invalid answer: {}",
                    problems.join("; ")
                ));
                return j;
            }
            let ext = params.header();
            j.observed.push_str(&format!("; answered: {ext}"));
            if let Err(e) = stream.write_all(response(&key, Some(&ext)).as_bytes()) {
                j.fail(format!("writing the 101 response: {e}"));
                return j;
            }
            let agreed = Agreement::from_response(&params);
            match Session::new(stream, rest, false, timeout, max_frame) {
                Ok(session) => exchange(case, &mut j, session, ctx, Some(agreed), timeout),
                Err(e) => j.fail(format!("cannot start the session: {e}")),
            }
            j
        }
        Answer::Plain => {
            if let Err(e) = stream.write_all(response(&key, None).as_bytes()) {
                j.fail(format!("writing the 101 response: {e}"));
                return j;
            }
            match Session::new(stream, rest, false, timeout, max_frame) {
                Ok(session) => exchange(case, &mut j, session, ctx, None, timeout),
                Err(e) => j.fail(format!("cannot start the session: {e}")),
            }
            j
        }
    }
}
