//! Chat-room bookkeeping, independent of sockets.
//!
//! Every member owns a bounded queue (`sync_channel`) drained by its own writer thread. A
//! broadcast only ever `try_send`s under the room lock, so it never waits for a client: a member
//! whose queue is full is removed on the spot and flagged as lagging; its writer thread sees the
//! flag, closes the connection with 1008 and stops. The lock also gives every member the same
//! order of messages.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

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
}

impl Mailbox {
    /// True once the member was dropped as too slow.
    pub fn is_lagging(&self) -> bool {
        self.lagging.load(Ordering::Acquire)
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

#[derive(Default)]
struct Inner {
    members: BTreeMap<u64, Member>,
    guests: u64,
}

/// A chat room.
pub struct Room {
    inner: Mutex<Inner>,
    queue: usize,
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

impl Room {
    /// An empty room whose members may each have `queue` lines waiting.
    pub fn new(queue: usize) -> Room {
        Room {
            inner: Mutex::new(Inner::default()),
            queue: queue.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the whole room down: the data stays consistent
        // because every critical section only inserts/removes whole entries.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds member `id` (named `requested` if usable, else `guest-N`) and announces
    /// `* NAME joined` to everyone, the newcomer included. Returns the name, the mailbox and
    /// the members dropped while announcing.
    pub fn join(&self, id: u64, requested: Option<&str>) -> (String, Mailbox, Vec<Dropped>) {
        let (tx, rx) = sync_channel(self.queue);
        let lagging = Arc::new(AtomicBool::new(false));
        let mut inner = self.lock();
        let name = match requested.and_then(clean_name) {
            Some(n) => n,
            None => {
                inner.guests += 1;
                format!("guest-{}", inner.guests)
            }
        };
        inner.members.insert(
            id,
            Member {
                name: name.clone(),
                tx,
                lagging: lagging.clone(),
            },
        );
        let dropped = broadcast(&mut inner, format!("* {name} joined"));
        (name, Mailbox { lines: rx, lagging }, dropped)
    }

    /// Broadcasts `NAME: text` from member `id` to every member (the sender included).
    /// Nothing happens if `id` is no longer a member.
    pub fn say(&self, id: u64, text: &str) -> Vec<Dropped> {
        let mut inner = self.lock();
        let Some(name) = inner.members.get(&id).map(|m| m.name.clone()) else {
            return Vec::new();
        };
        broadcast(&mut inner, format!("{name}: {text}"))
    }

    /// Queues `text` for member `id` only. Returns the member if that dropped it.
    pub fn tell(&self, id: u64, text: &str) -> Vec<Dropped> {
        let mut inner = self.lock();
        let full = match inner.members.get(&id) {
            Some(m) => matches!(m.tx.try_send(Arc::from(text)), Err(TrySendError::Full(_))),
            None => false,
        };
        if !full {
            return Vec::new();
        }
        let mut dropped = Vec::new();
        if let Some(d) = evict(&mut inner, id) {
            dropped.push(d.clone());
            dropped.extend(broadcast(&mut inner, format!("* {} left", d.name)));
        }
        dropped
    }

    /// Removes member `id` and announces `* NAME left`. Returns the name (None if it was
    /// not a member any more, e.g. already dropped as too slow) and the members dropped while
    /// announcing.
    pub fn leave(&self, id: u64) -> (Option<String>, Vec<Dropped>) {
        let mut inner = self.lock();
        match inner.members.remove(&id) {
            Some(m) => {
                let dropped = broadcast(&mut inner, format!("* {} left", m.name));
                (Some(m.name), dropped)
            }
            None => (None, Vec::new()),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.lock().members.len()
    }
}

fn evict(inner: &mut Inner, id: u64) -> Option<Dropped> {
    let m = inner.members.remove(&id)?;
    m.lagging.store(true, Ordering::Release);
    Some(Dropped { id, name: m.name })
}

/// Sends `line` to every member; members with a full queue are evicted and their departure
/// announced in turn (which may evict more). Returns everyone evicted.
fn broadcast(inner: &mut Inner, line: String) -> Vec<Dropped> {
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
        let room = Room::new(16);
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
    fn a_full_queue_evicts_only_the_slow_member() {
        let room = Room::new(3);
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
    fn tell_reaches_one_member() {
        let room = Room::new(2);
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
