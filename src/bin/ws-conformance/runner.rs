//! Runs a script on a session and hands the record to the judge. Shared by both modes.

use std::time::{Duration, Instant};

use crate::case::{Ending, Expect, Script, Step};
use crate::judge::{judge_script, Judgement, RunFacts};
use crate::session::{Observed, Session};

/// How long a server peer gets to close TCP after the closing handshake when the case does not
/// check it (it only saves a little waiting; the dedicated case uses the full timeout).
const TCP_GRACE: Duration = Duration::from_millis(1000);
/// How long the tester, as a server, waits to see whether a client closes TCP first.
const CLIENT_TCP_WATCH: Duration = Duration::from_millis(500);

fn pongs_done(expect: &Expect, seen: &Observed) -> bool {
    seen.pongs.len() >= expect.pongs.len()
        || (expect.pongs_may_coalesce && seen.pongs.last().map(|(_, p)| p) == expect.pongs.last())
}

/// Plays `script` on `session` and judges the result.
pub fn run_script(session: &mut Session, script: Script, timeout: Duration) -> Judgement {
    let pause = script.ctx().pause;
    let max_message_size = script.ctx().max_message_size;
    let Script { steps, expect, .. } = script;
    let start = Instant::now();
    let mut checkpoint_end = None;
    let mut written = 0usize;
    for step in steps {
        match step {
            Step::Write { bytes, chunk } => {
                written += bytes.len();
                session.write(&bytes, chunk);
            }
            Step::Repeat { bytes, times } => {
                for _ in 0..times {
                    written += bytes.len();
                    session.write(&bytes, 0);
                }
            }
            Step::AwaitReplies(n) => {
                session.pump_until(Instant::now() + timeout, |o| {
                    o.replies.len() >= n || o.ended() || o.violation.is_some()
                });
            }
            Step::Checkpoint => {
                session.pump_until(Instant::now() + pause, Observed::ended);
                checkpoint_end = Some(Instant::now());
            }
        }
    }

    let deadline = Instant::now() + timeout;
    match expect.ending {
        Ending::Close => {
            let want = expect.replies.len();
            session.pump_until(deadline, |o| {
                o.ended()
                    || o.violation.is_some()
                    || (o.replies.len() >= want && pongs_done(&expect, o))
            });
            if !session.seen.ended() {
                session.send_close(Some(1000));
                session.pump_until(Instant::now() + timeout, Observed::ended);
            }
        }
        Ending::CloseReply(_) | Ending::Fail(_) => {
            session.pump_until(deadline, Observed::ended);
        }
        Ending::Limit(_) => {
            session.pump_until(deadline, |o| {
                o.ended() || o.violation.is_some() || !o.replies.is_empty()
            });
            if !session.seen.ended() {
                session.send_close(Some(1000));
                session.pump_until(Instant::now() + timeout, Observed::ended);
            }
        }
    }
    let throughput = expect.informational.then(|| {
        let last = session.seen.replies.last().map_or(start, |(t, _)| *t);
        let secs = (last - start).as_secs_f64().max(1e-6);
        format!(
            "{:.1} MiB/s round trip ({} bytes sent and echoed in {} ms)",
            written as f64 * 2.0 / secs / (1024.0 * 1024.0),
            written,
            (last - start).as_millis()
        )
    });

    let (server_closed_tcp, client_closed_tcp_first) = watch_tcp(session, &expect, timeout);
    let facts = RunFacts {
        start,
        checkpoint_end,
        timeout,
        server_closed_tcp,
        client_closed_tcp_first,
        throughput,
        max_message_size,
    };
    let mut judgement = judge_script(&expect, session, &facts);
    session.shutdown();
    judgement.wire = std::sync::Arc::new(session.take_wire());
    judgement
}

/// After the close: who closes TCP. A server peer must close first; a client peer must wait for
/// the tester (playing the server) to do it.
fn watch_tcp(
    session: &mut Session,
    expect: &Expect,
    timeout: Duration,
) -> (Option<bool>, Option<bool>) {
    let handshake_done = session.seen.close.is_some() && session.close_sent;
    if !handshake_done {
        return (None, None);
    }
    if session.is_client() {
        let wait = if expect.tcp_order { timeout } else { TCP_GRACE };
        let closed = session.pump_until(Instant::now() + wait, |o| o.tcp_closed.is_some());
        (Some(closed), None)
    } else if expect.tcp_order {
        let closed = session.pump_until(Instant::now() + CLIENT_TCP_WATCH, |o| {
            o.tcp_closed.is_some()
        });
        (None, Some(closed))
    } else {
        (None, None)
    }
}
