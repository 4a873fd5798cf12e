//! Chat-room bookkeeping, independent of sockets.
//!
//! Every member owns a bounded queue (`sync_channel`) drained by its own writer thread. One
//! fan-out thread owns the room ([`RoomState`]) and takes joins, messages and departures from a
//! single bounded inbox, in arrival order: nobody waits on a room lock (a busy room cannot
//! starve a newcomer's join), every member sees the same order, and a busy room pushes back on
//! its talkers through the inbox. A broadcast only ever `try_send`s, so it never waits for a
//! client: a member whose queue is full is removed on the spot and flagged as lagging; its
//! writer thread sees the flag, closes the connection with 1008 and stops.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// Commands waiting for the fan-out thread at most.
const INBOX: usize = 1024;

/// Longest accepted `?name=` value, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// What a member's writer thread receives.
pub type Line = Arc<str>;

/// The receiving side handed to a member's writer thread.
pub struct Mailbox {
    /// Lines to send, in room order.
    pub lines: Receiver<Line>,
    /// Set when the member was dropped for falling behind: the writer must close with 1008
    /// instead of sending what is left.
    pub lagging: Arc<AtomicBool>,
    /// Set when the whole room closed (server shutdown): the writer sends what is queued, then
    /// close 1001.
    pub room_closed: Arc<AtomicBool>,
}

impl Mailbox {
    /// True once the member was dropped as too slow.
    pub fn is_lagging(&self) -> bool {
        self.lagging.load(Ordering::Acquire)
    }

    /// True once the room closed for a server shutdown.
    pub fn is_room_closed(&self) -> bool {
        self.room_closed.load(Ordering::Acquire)
    }
}

/// A member removed because its queue was full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Connection id.
    pub id: u64,
    /// Display name.
    pub name: String,
}

struct Member {
    name: String,
    tx: SyncSender<Line>,
    lagging: Arc<AtomicBool>,
}

/// The room itself: members and their queues. Driven by one thread (see [`Room`]).
pub struct RoomState {
    members: BTreeMap<u64, Member>,
    guests: u64,
    queue: usize,
    closed: Arc<AtomicBool>,
}

/// Turns a requested `?name=` into a display name: trimmed, 1 to [`MAX_NAME_CHARS`] characters,
/// no control characters. `None` when unusable.
pub fn clean_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return None;
    }
    Some(name.to_string())
}

impl RoomState {
    /// An empty room whose members may each have `queue` lines waiting.
    pub fn new(queue: usize) -> RoomState {
        RoomState {
            members: BTreeMap::new(),
            guests: 0,
            queue: queue.max(1),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Adds member `id` (named `requested` if usable, else `guest-N`) and announces
    /// `* NAME joined` to everyone, the newcomer included. Returns the name, the mailbox and
    /// the members dropped while announcing.
    /// After [`RoomState::close`] nobody joins: the mailbox is already closed.
    pub fn join(&mut self, id: u64, requested: Option<&str>) -> (String, Mailbox, Vec<Dropped>) {
        let (tx, rx) = sync_channel(self.queue);
        let lagging = Arc::new(AtomicBool::new(false));
        let mailbox = Mailbox {
            lines: rx,
            lagging: lagging.clone(),
            room_closed: self.closed.clone(),
        };
        let name = match requested.and_then(clean_name) {
            Some(n) => n,
            None => {
                self.guests += 1;
                format!("guest-{}", self.guests)
            }
        };
        if self.closed.load(Ordering::Acquire) {
            return (name, mailbox, Vec::new());
        }
        self.members.insert(
            id,
            Member {
                name: name.clone(),
                tx,
                lagging: lagging.clone(),
            },
        );
        let dropped = broadcast(self, format!("* {name} joined"));
        (name, mailbox, dropped)
    }

    /// Closes the room for a server shutdown: every member is removed without a `left`
    /// announcement, so each writer sends what is already queued and then sees its mailbox
    /// end. Returns how many members there were.
    pub fn close(&mut self) -> usize {
        self.closed.store(true, Ordering::Release);
        let n = self.members.len();
        self.members.clear();
        n
    }

    /// Broadcasts `NAME: text` from member `id` to every member (the sender included).
    /// Nothing happens if `id` is no longer a member.
    pub fn say(&mut self, id: u64, text: &str) -> Vec<Dropped> {
        let Some(name) = self.members.get(&id).map(|m| m.name.clone()) else {
            return Vec::new();
        };
        broadcast(self, format!("{name}: {text}"))
    }

    /// Queues `text` for member `id` only. Returns the member if that dropped it.
    pub fn tell(&mut self, id: u64, text: &str) -> Vec<Dropped> {
        let full = match self.members.get(&id) {
            Some(m) => matches!(m.tx.try_send(Arc::from(text)), Err(TrySendError::Full(_))),
            None => false,
        };
        if !full {
            return Vec::new();
        }
        let mut dropped = Vec::new();
        if let Some(d) = evict(self, id) {
            dropped.push(d.clone());
            dropped.extend(broadcast(self, format!("* {} left", d.name)));
        }
        dropped
    }

    /// Removes member `id` and announces `* NAME left`. Returns the name (None if it was
    /// not a member any more, e.g. already dropped as too slow) and the members dropped while
    /// announcing.
    pub fn leave(&mut self, id: u64) -> (Option<String>, Vec<Dropped>) {
        match self.members.remove(&id) {
            Some(m) => {
                let dropped = broadcast(self, format!("* {} left", m.name));
                (Some(m.name), dropped)
            }
            None => (None, Vec::new()),
        }
    }

    /// True once [`RoomState::close`] was called.
    #[cfg(test)]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Number of members.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.members.len()
    }
}

/// Something the fan-out thread reports, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A member left (its connection ended).
    Left(Dropped),
    /// A member was removed because its queue was full.
    Dropped(Dropped),
}

enum Command {
    Join {
        id: u64,
        requested: Option<String>,
        reply: SyncSender<(String, Mailbox)>,
    },
    Say(u64, String),
    Tell(u64, String),
    Leave(u64),
    /// Makes a waiting fan-out thread look at the close flag.
    Close,
}

/// A chat room run by its own fan-out thread; cheap to share (`&Room` from any thread).
pub struct Room {
    inbox: SyncSender<Command>,
    closed: Arc<AtomicBool>,
}

impl Room {
    /// Starts the room's fan-out thread. `on_event` runs on that thread for every departure
    /// and every member dropped as too slow.
    pub fn start(queue: usize, on_event: impl Fn(Event) + Send + 'static) -> std::io::Result<Room> {
        let mut state = RoomState::new(queue);
        let closed = state.closed.clone();
        let (inbox, commands) = sync_channel::<Command>(INBOX);
        std::thread::Builder::new()
            .name("room".into())
            .spawn(move || {
                let report = |dropped: Vec<Dropped>| {
                    for d in dropped {
                        on_event(Event::Dropped(d));
                    }
                };
                for cmd in commands {
                    // A close takes effect at once, not behind the commands already waiting:
                    // what they would say is dropped with the room.
                    if state.closed.load(Ordering::Acquire) && !state.members.is_empty() {
                        state.close();
                    }
                    match cmd {
                        Command::Join {
                            id,
                            requested,
                            reply,
                        } => {
                            let (name, mailbox, dropped) = state.join(id, requested.as_deref());
                            let _ = reply.send((name, mailbox));
                            report(dropped);
                        }
                        Command::Say(id, text) => report(state.say(id, &text)),
                        Command::Tell(id, text) => report(state.tell(id, &text)),
                        Command::Leave(id) => {
                            let (name, dropped) = state.leave(id);
                            if let Some(name) = name {
                                on_event(Event::Left(Dropped { id, name }));
                            }
                            report(dropped);
                        }
                        Command::Close => {}
                    }
                }
            })?;
        Ok(Room { inbox, closed })
    }

    /// Adds member `id` (named `requested` if usable, else `guest-N`); everyone, the newcomer
    /// included, is told `* NAME joined`. Waits its turn in the inbox, never for a lock. `None`
    /// if the fan-out thread is gone.
    pub fn join(&self, id: u64, requested: Option<&str>) -> Option<(String, Mailbox)> {
        let (reply, answer) = sync_channel(1);
        let requested = requested.map(str::to_string);
        self.inbox
            .send(Command::Join {
                id,
                requested,
                reply,
            })
            .ok()?;
        answer.recv().ok()
    }

    /// Broadcasts `NAME: text` from member `id` to every member (the sender included).
    pub fn say(&self, id: u64, text: &str) {
        let _ = self.inbox.send(Command::Say(id, text.to_string()));
    }

    /// Queues `text` for member `id` only.
    pub fn tell(&self, id: u64, text: &str) {
        let _ = self.inbox.send(Command::Tell(id, text.to_string()));
    }

    /// Removes member `id`; the others are told `* NAME left`.
    pub fn leave(&self, id: u64) {
        let _ = self.inbox.send(Command::Leave(id));
    }

    /// Closes the room for a server shutdown (see [`RoomState::close`]). Takes effect before
    /// any command already waiting in the inbox; returns at once.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.inbox.try_send(Command::Close);
    }

    /// True once the room closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

fn evict(inner: &mut RoomState, id: u64) -> Option<Dropped> {
    let m = inner.members.remove(&id)?;
    m.lagging.store(true, Ordering::Release);
    Some(Dropped { id, name: m.name })
}

/// Sends `line` to every member; members with a full queue are evicted and their departure
/// announced in turn (which may evict more). Returns everyone evicted.
fn broadcast(inner: &mut RoomState, line: String) -> Vec<Dropped> {
    let mut dropped = Vec::new();
    let mut pending = vec![line];
    while let Some(line) = pending.pop() {
        let line: Line = Arc::from(line);
        let mut full = Vec::new();
        for (&id, m) in &inner.members {
            match m.tx.try_send(line.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => full.push(id),
                // The writer is gone; its reader will call leave() soon.
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
        for id in full {
            if let Some(d) = evict(inner, id) {
                pending.push(format!("* {} left", d.name));
                dropped.push(d);
            }
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(m: &Mailbox) -> Vec<String> {
        m.lines.try_iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn names() {
        assert_eq!(clean_name(" alice "), Some("alice".into()));
        assert_eq!(clean_name(""), None);
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name("a\nb"), None);
        assert_eq!(clean_name(&"x".repeat(33)), None);
        assert_eq!(clean_name(&"é".repeat(32)), Some("é".repeat(32)));
    }

    #[test]
    fn joins_messages_and_leaves_reach_everyone_in_order() {
        let mut room = RoomState::new(16);
        let (a, ma, _) = room.join(1, Some("alice"));
        let (b, mb, _) = room.join(2, None);
        let (c, mc, _) = room.join(3, Some(""));
        assert_eq!(
            (a.as_str(), b.as_str(), c.as_str()),
            ("alice", "guest-1", "guest-2")
        );
        assert!(room.say(1, "hi").is_empty());
        assert!(room.say(2, "hello").is_empty());
        assert_eq!(room.leave(3), (Some("guest-2".into()), vec![]));
        assert_eq!(room.leave(3), (None, vec![]));
        assert_eq!(
            drain(&ma),
            [
                "* alice joined",
                "* guest-1 joined",
                "* guest-2 joined",
                "alice: hi",
                "guest-1: hello",
                "* guest-2 left"
            ]
        );
        assert_eq!(
            drain(&mb),
            [
                "* guest-1 joined",
                "* guest-2 joined",
                "alice: hi",
                "guest-1: hello",
                "* guest-2 left"
            ]
        );
        assert_eq!(
            drain(&mc),
            ["* guest-2 joined", "alice: hi", "guest-1: hello"]
        );
        assert_eq!(room.len(), 2);
        // A message from someone who left goes nowhere.
        assert!(room.say(3, "ghost").is_empty());
        assert!(drain(&ma).is_empty());
    }

    #[test]
    fn closing_keeps_what_is_queued_then_ends_every_mailbox() {
        let mut room = RoomState::new(8);
        let (_, a, _) = room.join(1, Some("a"));
        let (_, b, _) = room.join(2, Some("b"));
        assert!(room.say(1, "last words").is_empty());
        assert!(!a.is_room_closed());
        assert!(!room.is_closed());
        assert_eq!(room.close(), 2);
        assert!(room.is_closed());
        assert!(a.is_room_closed() && b.is_room_closed());
        assert!(!a.is_lagging());
        // What was queued before the close is still delivered, then the mailbox ends.
        assert_eq!(
            a.lines.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
            ["* a joined", "* b joined", "a: last words"]
        );
        assert_eq!(b.lines.iter().count(), 2);
        // Nothing more is said, and a late joiner gets an already closed mailbox.
        assert!(room.say(1, "after").is_empty());
        let (_, late, dropped) = room.join(3, Some("late"));
        assert!(dropped.is_empty());
        assert!(late.is_room_closed());
        assert!(late.lines.recv().is_err());
        assert_eq!(room.len(), 0);
        assert_eq!(room.leave(1), (None, vec![]));
    }

    #[test]
    fn a_full_queue_evicts_only_the_slow_member() {
        let mut room = RoomState::new(3);
        let (_, fast, _) = room.join(1, Some("fast"));
        let (_, slow, _) = room.join(2, Some("slow"));
        let mut seen = drain(&fast);
        let mut dropped = Vec::new();
        for i in 0..10 {
            dropped.extend(room.say(1, &format!("m{i}")));
            seen.extend(drain(&fast)); // the fast member keeps up
        }
        assert_eq!(
            dropped,
            vec![Dropped {
                id: 2,
                name: "slow".into()
            }]
        );
        assert!(slow.is_lagging());
        assert!(!fast.is_lagging());
        assert_eq!(room.len(), 1);
        let expected: Vec<String> = ["* fast joined", "* slow joined"]
            .iter()
            .map(|s| s.to_string())
            .chain((0..3).map(|i| format!("m{i}")))
            .chain(["* slow left".to_string()])
            .chain((3..10).map(|i| format!("m{i}")))
            .map(|s| {
                if s.starts_with('m') {
                    format!("fast: {s}")
                } else {
                    s
                }
            })
            .collect();
        assert_eq!(seen, expected);
        // The slow member's queue stays bounded and the sender side is gone.
        assert_eq!(drain(&slow).len(), 3);
        assert!(slow.lines.recv().is_err());
        // Leaving after eviction announces nothing more.
        assert_eq!(room.leave(2), (None, vec![]));
    }

    #[test]
    fn the_fan_out_thread_keeps_one_order_and_reports_departures() {
        let (events_tx, events) = std::sync::mpsc::channel();
        let room = Room::start(2, move |e| {
            let _ = events_tx.send(e);
        })
        .unwrap();
        let (a, ma) = room.join(1, Some("a")).unwrap();
        let (b, mb) = room.join(2, None).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("a", "guest-1"));
        let next = |m: &Mailbox| m.lines.recv().unwrap().to_string();
        assert_eq!(next(&ma), "* a joined");
        assert_eq!(next(&ma), "* guest-1 joined");
        assert_eq!(next(&mb), "* guest-1 joined");
        // b stops reading: its queue (2 lines) fills and the room drops it. (a reads each line
        // before the next is said, so only b falls behind.)
        room.say(1, "one");
        assert_eq!(next(&ma), "a: one");
        room.say(1, "two");
        assert_eq!(next(&ma), "a: two");
        room.say(1, "three");
        assert_eq!(next(&ma), "a: three");
        assert_eq!(
            events.recv().unwrap(),
            Event::Dropped(Dropped {
                id: 2,
                name: "guest-1".into()
            })
        );
        assert!(mb.is_lagging());
        assert_eq!(next(&ma), "* guest-1 left");
        room.tell(1, "private");
        assert_eq!(next(&ma), "private");
        room.close();
        assert!(room.is_closed() && ma.is_room_closed());
        assert!(ma.lines.recv().is_err(), "the mailbox ends");
        room.leave(1);
        let (_, late) = room.join(3, Some("late")).unwrap();
        assert!(late.lines.recv().is_err());
        assert!(events.try_recv().is_err(), "no departure after the close");
    }

    #[test]
    fn tell_reaches_one_member() {
        let mut room = RoomState::new(2);
        let (_, a, _) = room.join(1, Some("a"));
        let (_, b, _) = room.join(2, Some("b"));
        drain(&a);
        drain(&b);
        assert!(room.tell(1, "note").is_empty());
        assert_eq!(drain(&a), ["note"]);
        assert!(drain(&b).is_empty());
        room.tell(1, "1");
        room.tell(1, "2");
        let d = room.tell(1, "3");
        assert_eq!(d[0].name, "a");
        assert_eq!(drain(&b), ["* a left"]);
    }
}
