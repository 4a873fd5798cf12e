//! The reader's clocks: the close deadline (RFC 6455 §7.1.1 lets an endpoint stop waiting for
//! the peer's close) and keepalive (a ping after a silence, the connection closed when the
//! silence goes on). They cost nothing while data flows: the reader sets the stream's read
//! timeout at a few events only, and looks at the clock only when a read times out or while
//! a close is pending.

use std::io;
use std::time::{Duration, Instant};

use crate::Config;

/// Read-timeout control for a stream type that has one (a `TcpStream`): get and set.
pub(crate) struct TimeoutHooks<S> {
    pub(crate) get: fn(&S) -> io::Result<Option<Duration>>,
    pub(crate) set: fn(&S, Option<Duration>) -> io::Result<()>,
}

impl<S> Clone for TimeoutHooks<S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for TimeoutHooks<S> {}

impl TimeoutHooks<std::net::TcpStream> {
    /// The hooks of a TCP stream.
    pub(crate) fn tcp() -> Self {
        TimeoutHooks {
            get: |s| s.read_timeout(),
            set: |s, t| s.set_read_timeout(t),
        }
    }
}

/// What a read that timed out means.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Wake {
    /// The caller's own read timeout ran out: report [`crate::Error::Timeout`].
    Caller,
    /// A keepalive ping is due: send it and read on.
    Ping,
    /// The peer stayed silent after our keepalive ping: close the connection.
    PingUnanswered,
    /// The peer did not answer our close in time: end the connection.
    CloseOverdue,
    /// Nothing due yet (an early wake-up for one of our clocks): read on.
    Again,
}

#[derive(Debug)]
pub(super) struct Timers {
    ping_interval: Option<Duration>,
    ping_timeout: Option<Duration>,
    close_timeout: Option<Duration>,
    /// The read timeout the caller set on the stream, as last seen.
    caller: Option<Duration>,
    /// What we set the stream's read timeout to (`None`: we never set it).
    armed: Option<Option<Duration>>,
    /// Something changed what the read timeout should be: set it before the next read.
    dirty: bool,
    /// First timeout wake-up since data last arrived (the silence began one period earlier).
    quiet_since: Option<Instant>,
    /// First timeout wake-up of the current wait for input (for the caller's timeout).
    waiting_since: Option<Instant>,
    /// Our keepalive ping, unanswered since.
    ping_sent: Option<Instant>,
    /// Our close frame was queued; the peer's must come by then.
    close_deadline: Option<Instant>,
}

impl Timers {
    pub(super) fn new(config: &Config) -> Timers {
        Timers {
            ping_interval: config.ping_interval.filter(|d| !d.is_zero()),
            ping_timeout: config.ping_timeout.filter(|d| !d.is_zero()),
            close_timeout: config.close_timeout,
            caller: None,
            armed: None,
            dirty: true,
            quiet_since: None,
            waiting_since: None,
            ping_sent: None,
            close_deadline: None,
        }
    }

    /// Bytes arrived: the peer is alive.
    #[inline]
    pub(super) fn heard(&mut self) {
        self.quiet_since = None;
        self.waiting_since = None;
        if self.ping_sent.take().is_some() {
            self.dirty = true;
        }
    }

    /// Our close frame is queued (called on every read; starts the deadline once).
    #[inline]
    pub(super) fn close_queued(&mut self, queued: bool) {
        if queued && self.close_deadline.is_none() {
            self.close_deadline = Some(match self.close_timeout {
                Some(t) => Instant::now() + t,
                None => far_future(),
            });
            self.dirty = true;
        }
    }

    /// The close deadline has passed (looked at only while a close is pending).
    #[inline]
    pub(super) fn close_overdue(&self) -> bool {
        self.close_deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Before a blocking read: set the stream's read timeout so that the next due clock wakes
    /// us, keeping the caller's own timeout when it is shorter. Only after an event changed it.
    pub(super) fn arm<S>(&mut self, stream: &S, hooks: Option<TimeoutHooks<S>>) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let Some(hooks) = hooks else { return };
        self.adopt_caller_timeout(stream, hooks);
        let want = [self.caller, self.next_period()]
            .into_iter()
            .flatten()
            .min();
        if self.armed != Some(want) && (hooks.set)(stream, want).is_ok() {
            self.armed = Some(want);
        }
    }

    /// The stream's read timeout differs from what we set: the caller set it since.
    fn adopt_caller_timeout<S>(&mut self, stream: &S, hooks: TimeoutHooks<S>) {
        if let Ok(now) = (hooks.get)(stream) {
            if self.armed != Some(now) {
                self.caller = now;
            }
        }
    }

    /// The longest we may block before one of our clocks needs a look.
    fn next_period(&self) -> Option<Duration> {
        let keepalive = match self.ping_sent {
            Some(_) => self.ping_timeout,
            None => self.ping_interval,
        };
        let close = self.close_deadline.map(|d| {
            d.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        [keepalive, close].into_iter().flatten().min()
    }

    /// A read timed out: what it means.
    pub(super) fn on_timeout<S>(&mut self, stream: &S, hooks: Option<TimeoutHooks<S>>) -> Wake {
        if hooks.is_none() {
            // We never set the timeout: it is the caller's.
            return if self.close_overdue() {
                Wake::CloseOverdue
            } else {
                Wake::Caller
            };
        }
        if let Some(h) = hooks {
            self.adopt_caller_timeout(stream, h);
        }
        let now = Instant::now();
        let period = self.armed.flatten().unwrap_or_default();
        let quiet = now - *self.quiet_since.get_or_insert(now - period);
        let waited = now - *self.waiting_since.get_or_insert(now - period);
        if self.close_overdue() {
            return Wake::CloseOverdue;
        }
        match (self.ping_sent, self.ping_timeout, self.ping_interval) {
            (Some(sent), Some(limit), _) if now - sent >= limit => return Wake::PingUnanswered,
            (None, _, Some(interval)) if quiet >= interval => {
                self.ping_sent = Some(now);
                self.dirty = true;
                return Wake::Ping;
            }
            _ => {}
        }
        if self.caller.is_some_and(|t| waited >= t) {
            self.waiting_since = None;
            return Wake::Caller;
        }
        Wake::Again
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
