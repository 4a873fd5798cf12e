//! Verdicts: comparing what the peer did with what the case expected.

use std::time::{Duration, Instant};

use crate::case::{Ending, Expect};
use crate::session::{CloseBody, Session};

/// The verdict of one case, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// The peer did what the RFC requires.
    Ok,
    /// A documented choice or limit (a MAY, a limit met, a wait), or a measurement; never
    /// fails the run.
    Informational,
    /// A SHOULD not followed (no close frame or another code when failing, TCP closing order),
    /// and late UTF-8 failures (not fail-fast).
    NonStrict,
    /// A MUST or MUST NOT broken, or no reaction where the RFC requires one.
    Failed,
}

impl Verdict {
    /// All verdicts, best first.
    pub const ALL: [Verdict; 4] = [
        Verdict::Ok,
        Verdict::Informational,
        Verdict::NonStrict,
        Verdict::Failed,
    ];

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Failed => "FAILED",
        }
    }
}

/// A verdict with the reasons for it.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// The verdict (the worst of all findings).
    pub verdict: Verdict,
    /// What the case expected.
    pub expected: String,
    /// What the peer did, in a line.
    pub observed: String,
    /// Why the verdict is not OK (or the measurement, for INFORMATIONAL).
    pub reasons: Vec<String>,
    /// The frames both ways, for the HTML report (empty for handshake-only cases).
    pub wire: std::sync::Arc<crate::wire::WireLog>,
}

impl Judgement {
    /// An OK judgement for `expected`, until findings say otherwise.
    pub fn new(expected: impl Into<String>) -> Judgement {
        Judgement {
            verdict: Verdict::Ok,
            expected: expected.into(),
            observed: String::new(),
            reasons: Vec::new(),
            wire: Default::default(),
        }
    }

    /// Records a finding of the given severity.
    pub fn add(&mut self, verdict: Verdict, why: impl Into<String>) {
        self.verdict = self.verdict.max(verdict);
        self.reasons.push(why.into());
    }

    /// Records a failure.
    pub fn fail(&mut self, why: impl Into<String>) {
        self.add(Verdict::Failed, why);
    }

    /// Records a failure that is also all there is to observe (no connection, no response).
    pub fn fail_with(&mut self, what: String) {
        self.observed = what.clone();
        self.fail(what);
    }

    /// Records a non-strict behaviour.
    pub fn non_strict(&mut self, why: impl Into<String>) {
        self.add(Verdict::NonStrict, why);
    }
}

/// Facts about a script run besides the session's record.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// When the first byte was written.
    pub start: Instant,
    /// When the fail-fast window ended, if the script had one.
    pub checkpoint_end: Option<Instant>,
    /// The case timeout.
    pub timeout: Duration,
    /// Server peers: whether the server closed TCP after the closing handshake (None: not
    /// checked because the handshake did not complete).
    pub server_closed_tcp: Option<bool>,
    /// Client peers: whether the client closed TCP before the tester did.
    pub client_closed_tcp_first: Option<bool>,
    /// Throughput line for informational cases.
    pub throughput: Option<String>,
    /// The limit the tester assumes for the peer (`--max-message-size`).
    pub max_message_size: u64,
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// A one-line account of what the peer did.
pub fn summarize(s: &Session, f: &RunFacts) -> String {
    let seen = &s.seen;
    let mut parts = vec![format!("{} message(s) back", seen.replies.len())];
    if !seen.pongs.is_empty() {
        parts.push(format!("{} pong(s)", seen.pongs.len()));
    }
    match &seen.close {
        Some((at, body)) => parts.push(format!("{body} after {}", ms(*at - f.start))),
        None => parts.push("no close frame".into()),
    }
    match seen.tcp_closed {
        Some(at) => {
            let how = seen
                .tcp_error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            parts.push(format!("peer closed TCP after {}{how}", ms(at - f.start)));
        }
        None => parts.push("peer kept TCP open".into()),
    }
    if let Some(e) = &s.write_error {
        parts.push(format!("our writes stopped: {e}"));
    }
    parts.join("; ")
}

/// Judges a script run.
pub fn judge_script(expect: &Expect, s: &Session, f: &RunFacts) -> Judgement {
    let mut j = Judgement::new(expect.describe());
    j.observed = summarize(s, f);
    let seen = &s.seen;
    if let Some(v) = &seen.violation {
        j.fail(v.clone());
    }
    if let Some(first) = seen.after_close.first() {
        j.fail(format!("sent a frame after its close frame: {first}"));
    }

    // A large or long case the peer ended with "too big" or "policy": its own limit.
    let limit_met = match seen.close.as_ref().map(|(at, b)| (at, b.code())) {
        Some((at, Some(code @ (1008 | 1009)))) if expect.may_hit_limit => {
            let (bytes, frames) = s.written_by(*at);
            Some(format!(
                "limit met (a documented choice, §10.4: implementations with limits \
                 \"MUST protect themselves against exceeding those limits\"): the peer closed \
                 with {code} after {} ms, when {bytes} of {} bytes and {frames} of {} frames \
                 had been written; {} of {} echoes came back",
                at.saturating_duration_since(f.start).as_millis(),
                s.bytes_written(),
                s.frames_written(),
                seen.replies.len(),
                expect.replies.len()
            ))
        }
        _ => None,
    };

    // Echoes, in order.
    for (i, want) in expect.replies.iter().enumerate() {
        match seen.replies.get(i) {
            Some((_, got)) if got == want => {}
            Some((_, got)) => {
                j.fail(format!(
                    "message #{}: expected {want}, observed {got} (an echo server returns what \
                     it received)",
                    i + 1
                ));
                break;
            }
            None => {
                let missing = format!(
                    "expected {} echoes, observed {}; missing #{}: {want}",
                    expect.replies.len(),
                    seen.replies.len(),
                    i + 1
                );
                if let Some(limit) = &limit_met {
                    j.add(Verdict::Informational, limit.clone());
                } else if expect.replies_optional {
                    j.add(
                        Verdict::Informational,
                        format!(
                            "{missing}: the peer answered the close at once, which §5.5.1 \
                             permits (\"It SHOULD do so as soon as practical\")"
                        ),
                    );
                } else if matches!(expect.ending, Ending::Fail(_)) {
                    j.add(
                        Verdict::Informational,
                        format!(
                            "{missing}: the peer failed the connection without echoing the \
                             valid message that came just before the invalid frame; no rule \
                             requires that echo"
                        ),
                    );
                } else {
                    j.fail(missing);
                }
                break;
            }
        }
    }
    if let Some((_, extra)) = seen.replies.get(expect.replies.len()) {
        if let Ending::Limit(_) = expect.ending {
            j.add(
                Verdict::Informational,
                format!(
                    "the peer accepted a message over the assumed limit of {} bytes and echoed \
                     {extra}: its own limit is higher (a configuration choice; pass its limit \
                     with --max-message-size)",
                    f.max_message_size
                ),
            );
        } else {
            j.fail(format!(
                "expected {} message(s), observed an unexpected message #{}: {extra}",
                expect.replies.len(),
                expect.replies.len() + 1
            ));
        }
    }

    judge_pongs(expect, s, &mut j);
    judge_ending(expect, s, f, limit_met.is_some(), &mut j);

    if expect.tcp_order {
        if f.server_closed_tcp == Some(false) {
            j.non_strict(format!(
                "expected the server to close TCP first; it kept it open {} after the closing \
                 handshake (§7.1.1: \"the underlying TCP connection, in most normal cases, \
                 SHOULD be closed first by the server\")",
                ms(f.timeout)
            ));
        }
        if f.client_closed_tcp_first == Some(true) {
            j.non_strict(
                "expected the client to wait for the server to close TCP; it closed first \
                 (§7.1.1: the TCP connection \"SHOULD be closed first by the server\")",
            );
        }
    }
    if expect.fresh_masks {
        let keys = &seen.mask_keys;
        let mut distinct = keys.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if keys.len() >= 2 && distinct.len() == 1 {
            j.fail(format!(
                "the same masking key {:02x?} on all {} frames (§5.3, §10.3)",
                keys[0],
                keys.len()
            ));
        } else if distinct.len() < keys.len() {
            j.non_strict(format!(
                "{} distinct masking keys for {} frames",
                distinct.len(),
                keys.len()
            ));
        }
    }
    if expect.informational && j.verdict == Verdict::Ok {
        j.add(
            Verdict::Informational,
            f.throughput.clone().unwrap_or_else(|| "measured".into()),
        );
    }
    j
}

fn judge_pongs(expect: &Expect, s: &Session, j: &mut Judgement) {
    let got: Vec<&[u8]> = s.seen.pongs.iter().map(|(_, p)| p.as_slice()).collect();
    let want: Vec<&[u8]> = expect.pongs.iter().map(Vec::as_slice).collect();
    if got == want {
        return;
    }
    if expect.pongs_may_coalesce && !got.is_empty() && got.last() == want.last() {
        // Answering only the latest of several pings is allowed (§5.5.3); check the order.
        let mut rest = want.iter();
        if got.iter().all(|g| rest.any(|w| w == g)) {
            // A legal choice, not a loose one: note it without lowering the verdict.
            j.observed.push_str(&format!(
                "; answered {} of {} pings, the latest included (allowed by §5.5.3)",
                got.len(),
                want.len()
            ));
            return;
        }
    }
    if got.len() != want.len() {
        j.fail(format!(
            "expected {} pong(s), got {}",
            want.len(),
            got.len()
        ));
    } else {
        let i = got.iter().zip(&want).position(|(g, w)| g != w).unwrap_or(0);
        j.fail(format!(
            "pong #{} carries {} bytes that differ from the ping's {} bytes",
            i + 1,
            got[i].len(),
            want[i].len()
        ));
    }
}

fn judge_ending(expect: &Expect, s: &Session, f: &RunFacts, limit_met: bool, j: &mut Judgement) {
    let seen = &s.seen;
    let close = seen.close.as_ref().map(|(_, b)| b);
    let no_close = || {
        if seen.tcp_closed.is_some() {
            "dropped TCP without a close frame".to_string()
        } else {
            format!("no reaction within {}", ms(f.timeout))
        }
    };
    const FAIL_SHOULD: &str = "§7.1.7: the endpoint \"SHOULD send a Close frame with an \
                               appropriate status code (Section 7.4)\"";
    match expect.ending {
        Ending::Close => match close {
            Some(CloseBody::Code { code: 1000, .. }) => {}
            Some(CloseBody::Code { .. }) if limit_met => {}
            Some(CloseBody::Malformed(b)) => j.fail(format!(
                "expected close 1000, observed a malformed close payload {b:02x?} (§5.5.1: the \
                 body's first two bytes \"MUST be a 2-byte unsigned integer\")"
            )),
            Some(CloseBody::Empty) => j.add(
                Verdict::Informational,
                "expected close 1000 back, observed an empty close (§5.5.1: an endpoint \
                 \"typically echos the status code it received\"; not a requirement)",
            ),
            Some(other) if seen.peer_closed_first => j.fail(format!(
                "expected echoes then a clean close, observed the peer closing on valid input \
                 with {other}"
            )),
            Some(other) => j.add(
                Verdict::Informational,
                format!(
                    "expected close 1000 back, observed {other} (§5.5.1: an endpoint \
                     \"typically echos the status code it received\"; not a requirement)"
                ),
            ),
            None => j.fail(format!(
                "expected a close frame in reply, observed: {} (§5.5.1: \"the endpoint MUST \
                 send a Close frame in response\")",
                no_close()
            )),
        },
        Ending::CloseReply(want) => match (close, want) {
            (Some(CloseBody::Empty), None) => {}
            (Some(CloseBody::Code { code: 1000, .. }), None) => {}
            (Some(CloseBody::Code { code, .. }), Some(w)) if *code == w => {}
            (Some(CloseBody::Malformed(b)), _) => j.fail(format!(
                "expected a close reply, observed a malformed close payload {b:02x?} (§5.5.1: \
                 the body's first two bytes \"MUST be a 2-byte unsigned integer\")"
            )),
            (Some(other), _) => j.add(
                Verdict::Informational,
                format!(
                    "expected {}, observed {other} (§5.5.1: an endpoint \"typically echos the \
                     status code it received\"; not a requirement)",
                    want.map_or("an empty close or 1000".to_string(), |c| format!(
                        "close {c}"
                    ))
                ),
            ),
            (None, _) => j.fail(format!(
                "expected a close frame in reply, observed: {} (§5.5.1: \"the endpoint MUST \
                 send a Close frame in response\")",
                no_close()
            )),
        },
        Ending::Fail(want) => {
            match close {
                Some(CloseBody::Code { code, .. })
                    if *code == want || expect.also_codes.contains(code) => {}
                Some(CloseBody::Malformed(b)) => j.fail(format!(
                    "expected close {want}, observed a malformed close payload {b:02x?}"
                )),
                Some(other) => j.non_strict(format!(
                    "expected close {want}, observed {other} ({FAIL_SHOULD})"
                )),
                None if seen.tcp_closed.is_some() => j.non_strict(format!(
                    "expected close {want}, observed TCP dropped without a close frame \
                     ({FAIL_SHOULD})"
                )),
                None => j.fail(format!(
                    "expected the peer to fail the connection (close {want}), observed no \
                     reaction within {} (the rule says it \"MUST _Fail the WebSocket \
                     Connection_\")",
                    ms(f.timeout)
                )),
            }
            if let (Some(window), Some(end)) = (f.checkpoint_end, seen.end_time()) {
                if end > window {
                    j.non_strict(format!(
                        "expected a failure during the {} pause right after the invalid bytes, \
                         observed it only once the rest of the message arrived (not fail-fast; \
                         graded like the established suite, see docs/conformance.md)",
                        ms(window.saturating_duration_since(f.start).min(f.timeout))
                    ));
                }
            }
        }
        Ending::Limit(want) => match close {
            Some(CloseBody::Code { code, .. }) if *code == want => {}
            Some(CloseBody::Code { .. }) | Some(CloseBody::Empty)
                if !seen.peer_closed_first && expect.fully_sent =>
            {
                if seen.replies.is_empty() {
                    j.non_strict(format!(
                        "expected close {want} or an echo, observed neither: the whole message \
                         ({} bytes) had been sent, and the peer only answered the tester's close \
                         (§7.1.7: it \"SHOULD send a Close frame with an appropriate status \
                         code\" when it fails)",
                        s.bytes_written()
                    ));
                }
            }
            Some(CloseBody::Code { .. }) | Some(CloseBody::Empty) if !seen.peer_closed_first => {
                if seen.replies.is_empty() {
                    j.add(
                        Verdict::Informational,
                        format!(
                            "expected close {want} or a wait, observed a wait: the peer waited \
                             for the announced data and answered the tester's close; RFC 6455 \
                             does not require refusing a frame on its header alone \
                             ({} bytes were written)",
                            s.bytes_written()
                        ),
                    );
                }
            }
            Some(CloseBody::Malformed(b)) => j.fail(format!(
                "expected close {want}, observed a malformed close payload {b:02x?}"
            )),
            Some(other) => j.non_strict(format!(
                "expected close {want} (message too big), observed {other} ({FAIL_SHOULD})"
            )),
            None if seen.tcp_closed.is_some() => j.non_strict(format!(
                "expected close {want}, observed TCP dropped without a close frame \
                 ({FAIL_SHOULD})"
            )),
            None if expect.fully_sent => j.fail(format!(
                "expected close {want} or an echo, observed no reaction within {} although the \
                 whole message ({} bytes) had been sent (§10.4: implementations \"MUST protect \
                 themselves against exceeding those limits\")",
                ms(f.timeout),
                s.bytes_written()
            )),
            None => j.add(
                Verdict::Informational,
                format!(
                    "expected close {want} or a wait, observed a wait: no reaction within {} \
                     after {} bytes; the peer is waiting for the data the header announced \
                     (the tester's close then reads as payload to it). RFC 6455 does not require \
                     refusing a frame on its header alone; limit.1.4 sends the data",
                    ms(f.timeout),
                    s.bytes_written()
                ),
            ),
        },
    }
}
