//! Reuse of connection threads: a thread whose connection ended parks for a while, and the
//! server hands it the next connection instead of creating a thread. Creating and ending a
//! thread (stack mapping, `clone3`, exit, unmapping) was a third of the server's CPU time when
//! connections are short (perf, `examples/loadgen --scenario connrate`).
//!
//! A parked thread owns a one-slot channel whose sender sits in the pool's idle list; the
//! server pops a sender and sends the job. A thread that waited [`Config::idle_thread_timeout`]
//! removes its own sender and ends; if its sender was popped meanwhile, a job is on its way and
//! it takes it.
//!
//! [`Config::idle_thread_timeout`]: crate::Config::idle_thread_timeout

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Work for a connection thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Idle {
    /// Parked threads, most recently parked last (reused first: its stack is warm).
    parked: Vec<(u64, SyncSender<Job>)>,
    next_ticket: u64,
    closed: bool,
}

/// Parked connection threads of one server.
pub(crate) struct Pool {
    idle: Mutex<Idle>,
    max_idle: usize,
    idle_timeout: Duration,
    stack_size: usize,
    name: String,
}

impl Pool {
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration, stack_size: usize) -> Arc<Pool> {
        Arc::new(Pool {
            idle: Mutex::new(Idle {
                parked: Vec::new(),
                next_ticket: 0,
                closed: false,
            }),
            max_idle,
            idle_timeout,
            stack_size,
            name: "ws-conn".into(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Idle> {
        // Nothing a panic could leave half-done: the list only gains and loses whole entries.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `job` on a parked thread, or on a new one. `Err` gives the job back when no thread
    /// could be started (the caller refuses the connection).
    pub(crate) fn run(self: &Arc<Pool>, mut job: Job) -> std::io::Result<()> {
        loop {
            let parked = self.lock().parked.pop();
            let Some((_, slot)) = parked else { break };
            match slot.send(job) {
                Ok(()) => return Ok(()),
                // That thread is gone (it panicked while parking): try the next one.
                Err(e) => job = e.0,
            }
        }
        let pool = self.clone();
        std::thread::Builder::new()
            .name(self.name.clone())
            .stack_size(self.stack_size)
            .spawn(move || pool.work(job))
            .map(drop)
    }

    /// Ends every parked thread now, and those that finish a connection from now on.
    pub(crate) fn close(&self) {
        let mut idle = self.lock();
        idle.closed = true;
        idle.parked.clear(); // their receivers see the senders go and return
    }

    /// Number of parked threads.
    #[cfg(test)]
    fn parked(&self) -> usize {
        self.lock().parked.len()
    }

    fn work(&self, first: Job) {
        let mut job = first;
        loop {
            job();
            match self.park() {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    /// Waits for the next job; `None` when the thread should end.
    fn park(&self) -> Option<Job> {
        let (slot, next): (SyncSender<Job>, Receiver<Job>) = sync_channel(1);
        let ticket = {
            let mut idle = self.lock();
            if idle.closed || idle.parked.len() >= self.max_idle {
                return None;
            }
            let ticket = idle.next_ticket;
            idle.next_ticket += 1;
            idle.parked.push((ticket, slot));
            ticket
        };
        match next.recv_timeout(self.idle_timeout) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = self.lock();
                if let Some(i) = idle.parked.iter().position(|(t, _)| *t == ticket) {
                    idle.parked.remove(i);
                    return None;
                }
                drop(idle);
                // Popped just now: the job is being sent (or the pool closed).
                next.recv().ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::channel;
    use std::time::Instant;

    fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn thread_id_job(out: std::sync::mpsc::Sender<std::thread::ThreadId>) -> Job {
        Box::new(move || out.send(std::thread::current().id()).unwrap())
    }

    #[test]
    fn sequential_jobs_reuse_one_thread() {
        let pool = Pool::new(4, Duration::from_secs(10), 128 << 10);
        let (tx, rx) = channel();
        let mut ids = Vec::new();
        for _ in 0..20 {
            pool.run(thread_id_job(tx.clone())).unwrap();
            ids.push(rx.recv().unwrap());
            wait_until("the thread to park", || pool.parked() == 1);
        }
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "one thread did every job"
        );
        pool.close();
        assert_eq!(pool.parked(), 0);
    }

    #[test]
    fn idle_threads_are_bounded_and_time_out() {
        let pool = Pool::new(2, Duration::from_millis(100), 128 << 10);
        let started = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        // Five jobs at once need five threads...
        for _ in 0..5 {
            let (started, release_rx) = (started.clone(), release_rx.clone());
            pool.run(Box::new(move || {
                started.fetch_add(1, Ordering::SeqCst);
                let _ = release_rx.lock().unwrap().recv();
            }))
            .unwrap();
        }
        wait_until("five jobs running", || started.load(Ordering::SeqCst) == 5);
        for _ in 0..5 {
            release_tx.send(()).unwrap();
        }
        // ...but only two of them park, and those end after the idle timeout.
        wait_until("two parked", || pool.parked() == 2);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(pool.parked(), 2);
        wait_until("the parked threads to time out", || pool.parked() == 0);
    }

    #[test]
    fn a_closed_pool_still_runs_jobs_but_parks_nothing() {
        let pool = Pool::new(4, Duration::from_secs(10), 128 << 10);
        let (tx, rx) = channel();
        pool.run(thread_id_job(tx.clone())).unwrap();
        rx.recv().unwrap();
        wait_until("the thread to park", || pool.parked() == 1);
        pool.close();
        assert_eq!(pool.parked(), 0);
        pool.run(thread_id_job(tx)).unwrap();
        rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(pool.parked(), 0);
    }

    #[test]
    fn no_parking_when_the_limit_is_zero() {
        let pool = Pool::new(0, Duration::from_secs(10), 128 << 10);
        let (tx, rx) = channel();
        let first = {
            pool.run(thread_id_job(tx.clone())).unwrap();
            rx.recv().unwrap()
        };
        pool.run(thread_id_job(tx)).unwrap();
        assert_ne!(rx.recv().unwrap(), first, "a fresh thread each time");
        assert_eq!(pool.parked(), 0);
    }
}
