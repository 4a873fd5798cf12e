//! Verdicts: comparing what the peer did with what the case expected.

use std::time::{Duration, Instant};

use crate::case::{Ending, Expect};
use crate::session::{CloseBody, Session};

/// The verdict of one case, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// The peer did what the RFC requires.
    Ok,
    /// Nothing to judge, or correct with a measurement to report.
    Informational,
    /// Acceptable but not the strict behaviour (wrong close code, late failure, ...).
    NonStrict,
    /// The peer broke a rule, hung, or echoed what it should have refused.
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
}

impl Judgement {
    /// An OK judgement for `expected`, until findings say otherwise.
    pub fn new(expected: impl Into<String>) -> Judgement {
        Judgement {
            verdict: Verdict::Ok,
            expected: expected.into(),
            observed: String::new(),
            reasons: Vec::new(),
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

    // Echoes, in order.
    for (i, want) in expect.replies.iter().enumerate() {
        match seen.replies.get(i) {
            Some((_, got)) if got == want => {}
            Some((_, got)) => {
                j.fail(format!("message #{}: expected {want}, got {got}", i + 1));
                break;
            }
            None => {
                j.fail(format!(
                    "got {} of {} echoes; missing #{}: {want}",
                    seen.replies.len(),
                    expect.replies.len(),
                    i + 1
                ));
                break;
            }
        }
    }
    if let Some((_, extra)) = seen.replies.get(expect.replies.len()) {
        j.fail(format!(
            "unexpected message #{}: {extra}",
            expect.replies.len() + 1
        ));
    }

    judge_pongs(expect, s, &mut j);
    judge_ending(expect, s, f, &mut j);

    if expect.tcp_order {
        if f.server_closed_tcp == Some(false) {
            j.fail(format!(
                "the server did not close TCP within {} after the closing handshake (§7.1.1)",
                ms(f.timeout)
            ));
        }
        if f.client_closed_tcp_first == Some(true) {
            j.non_strict("the client closed TCP before the server did (§7.1.1)");
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

fn judge_ending(expect: &Expect, s: &Session, f: &RunFacts, j: &mut Judgement) {
    let seen = &s.seen;
    let close = seen.close.as_ref().map(|(_, b)| b);
    let no_close = || {
        if seen.tcp_closed.is_some() {
            "dropped TCP without a close frame".to_string()
        } else {
            format!("no reaction within {}", ms(f.timeout))
        }
    };
    match expect.ending {
        Ending::Close => match close {
            Some(CloseBody::Code { code: 1000, .. }) => {}
            Some(CloseBody::Empty) => j.non_strict("answered close 1000 with an empty close"),
            Some(other) => j.fail(format!("expected a clean close, got {other}")),
            None => j.fail(no_close()),
        },
        Ending::CloseReply(want) => match (close, want) {
            (Some(CloseBody::Empty), None) => {}
            (Some(CloseBody::Code { code: 1000, .. }), None) => {}
            (Some(CloseBody::Code { code, .. }), Some(w)) if *code == w => {}
            (Some(CloseBody::Malformed(b)), _) => {
                j.fail(format!("malformed close payload {b:02x?}"))
            }
            (Some(other), _) => j.non_strict(format!("answered with {other}")),
            (None, _) => j.fail(no_close()),
        },
        Ending::Fail(want) => {
            match close {
                Some(CloseBody::Code { code, .. }) if *code == want => {}
                Some(CloseBody::Malformed(b)) => {
                    j.fail(format!("malformed close payload {b:02x?}"))
                }
                Some(other) => j.non_strict(format!("failed with {other}, expected {want}")),
                None if seen.tcp_closed.is_some() => j.non_strict(format!(
                    "dropped TCP without a close frame (expected close {want})"
                )),
                None => j.fail(format!(
                    "did not fail the connection within {}",
                    ms(f.timeout)
                )),
            }
            if let (Some(window), Some(end)) = (f.checkpoint_end, seen.end_time()) {
                if end > window {
                    j.non_strict(
                        "failed only once the rest of the message arrived, not as soon as the \
                         invalid bytes did (not fail-fast)",
                    );
                }
            }
        }
    }
}
